"""Shared helpers of the CUDA tests (numba's simulator in CI, a GPU in
benchmarks/gpu/check.sh): the module guard, a host copy of any result, the PTX compile
check, and a fake torch CUDA tensor for torch-in / torch-out under the simulator."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

#: words in the error of a PTX compile that lacks the CUDA compiler libraries
MISSING_COMPILER = (
    "DynamicLibNotFoundError",
    "NvvmSupportError",
    "libnvvm",
    "libNVVM",
    "nvrtc",
    "CudaSupportError",
)


def require_cuda():
    """``numba.cuda``, or skip the calling test module (no numba-cuda, no GPU/simulator)."""
    cuda = pytest.importorskip("numba.cuda", reason="numba-cuda (ioukit[cuda]) is not installed")
    if not cuda.is_available():  # pragma: no cover
        pytest.skip("no CUDA GPU and the simulator is off", allow_module_level=True)
    return cuda


def host(x):
    """A NumPy copy of a device result (numba device array, fake torch CUDA tensor)."""
    if isinstance(x, FakeCudaTensor):
        return x.device_array.copy_to_host()
    return x.copy_to_host() if hasattr(x, "copy_to_host") else np.asarray(x)


def ptx_compile_check(script: str) -> None:
    """Run ``script`` (``cuda.compile_ptx`` of kernel signatures; prints "compiled") with
    the simulator off: real NVVM compilation, no GPU needed. Skipped when the CUDA
    compiler libraries (NVVM, NVRTC) are not installed."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if proc.returncode and any(word in proc.stderr for word in MISSING_COMPILER):
        pytest.skip(
            "CUDA compiler libraries not installed: " + proc.stderr.strip().splitlines()[-1][:200]
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "compiled" in proc.stdout


class FakeCudaTensor:
    """What ioukit reads of a torch CUDA tensor: the module, ``__cuda_array_interface__``
    (its presence), ``device``, ``cpu()``; the data live in a simulator device array."""

    __module__ = "torch"

    def __init__(self, device_array):
        self.device_array = device_array
        self.device = "cuda:0"
        self.shape = tuple(device_array.shape)
        self.dtype = f"torch.{device_array.dtype}"

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.device_array.dtype.str, "version": 3}

    def detach(self):
        return self

    def cpu(self):
        return self.device_array.copy_to_host()


@pytest.fixture
def fake_torch_cuda(fake_torch, monkeypatch):
    """The shared fake ``torch`` module, extended with what the CUDA backend calls of a
    CUDA tensor (``torch.empty(..., device=)``, the current stream); ``tensor(x)``
    makes a fake CUDA tensor of a host array."""
    from numba import cuda

    monkeypatch.setattr(cuda, "as_cuda_array", lambda x: x.device_array, raising=False)
    monkeypatch.setattr(cuda, "external_stream", lambda ptr: cuda.default_stream())
    for name in ("float32", "float64", "int64"):
        setattr(fake_torch, name, np.dtype(name))
    fake_torch.empty = lambda shape, dtype, device: FakeCudaTensor(
        cuda.device_array(shape, dtype=dtype)
    )
    fake_torch.cuda = type("FakeTorchCuda", (), {})()
    fake_torch.cuda.current_stream = lambda device: type("S", (), {"cuda_stream": 0})()
    fake_torch.tensor = lambda x: FakeCudaTensor(cuda.to_device(np.ascontiguousarray(x)))
    return fake_torch
