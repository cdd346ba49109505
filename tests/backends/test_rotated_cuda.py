"""The CUDA twins of the rotated-box kernels (numba's simulator in CI) agree with the
CPU kernels; a PTX compile check catches typing errors the simulator cannot."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ioukit._boxes import rotated as R
from tests.helpers.rotated import random_rotated

cuda = pytest.importorskip("numba.cuda", reason="numba-cuda (ioukit[cuda]) is not installed")
if not cuda.is_available():  # pragma: no cover
    pytest.skip("no CUDA GPU and the simulator is off", allow_module_level=True)

from ioukit._boxes.rotated_cuda import rotated_pairwise_cuda  # noqa: E402


@pytest.mark.parametrize("metric", ["iou", "ioa", "giou"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise_and_aligned_match_cpu(metric, dtype):
    rng = np.random.default_rng(1)
    a, b = (
        random_rotated(rng, 9, scale=20).astype(dtype),
        random_rotated(rng, 6, scale=20).astype(dtype),
    )
    got = rotated_pairwise_cuda(metric, cuda.to_device(a), cuda.to_device(b), fmt="cxcywha")
    want = R.rotated_pairwise(metric, a, b, fmt="cxcywha")
    assert got.copy_to_host().dtype == want.dtype
    np.testing.assert_allclose(got.copy_to_host(), want, rtol=1e-6, atol=1e-7)
    got = rotated_pairwise_cuda(
        metric, cuda.to_device(a[:6]), cuda.to_device(b), fmt="cxcywha", aligned=True, over="min"
    )
    want = R.rotated_pairwise(metric, a[:6], b, fmt="cxcywha", aligned=True, over="min")
    np.testing.assert_allclose(got.copy_to_host(), want, rtol=1e-6, atol=1e-7)


def test_batches_radians_and_errors():
    rng = np.random.default_rng(2)
    a, b = (
        random_rotated(rng, 8, fmt="cxcywhr").reshape(2, 4, 5),
        random_rotated(rng, 3, fmt="cxcywhr"),
    )
    got = rotated_pairwise_cuda("iou", cuda.to_device(a), cuda.to_device(b), fmt="cxcywhr")
    np.testing.assert_allclose(
        got.copy_to_host(), R.rotated_pairwise("iou", a, b, fmt="cxcywhr"), atol=1e-12
    )
    bad = b.copy()
    bad[2, 3] = -1
    with pytest.raises(
        ValueError, match=r"argument 'b' has an invalid cxcywhr box at row 2: .*negative height"
    ):
        rotated_pairwise_cuda("iou", cuda.to_device(a), cuda.to_device(bad), fmt="cxcywhr")
    with pytest.raises(ValueError, match=r"must have shape \(\.\.\., N, 5\)"):
        rotated_pairwise_cuda(
            "iou", cuda.to_device(np.zeros((2, 4))), cuda.to_device(b), fmt="cxcywha"
        )
    empty = rotated_pairwise_cuda(
        "iou", cuda.to_device(np.zeros((0, 5))), cuda.to_device(b), fmt="cxcywha"
    )
    assert empty.shape == (0, 3)


COMPILE_CHECK = """
    from numba import cuda, types as t
    from ioukit.kernels import cuda_rotated as r
    f3, d3 = t.float32[:, :, ::1], t.float64[:, :, ::1]
    sigs = [
        (r.first_invalid, (f3, t.int64[::1])),
        (r.box_geometry, (f3, t.int64, d3)),
        (r.box_geometry, (d3, t.int64, d3)),
        (r.pairwise, (t.int64, t.int64, d3, d3, f3)),
        (r.aligned, (t.int64, t.int64, d3, d3, t.float64[:, ::1])),
    ]
    for kernel, sig in sigs:
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(8, 0))
        assert ".entry" in ptx
    print("compiled", len(sigs))
"""


def test_ptx_compile_check():
    """Real NVVM compilation (no GPU needed); skipped without the CUDA compiler libraries."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(COMPILE_CHECK)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    missing = (
        "DynamicLibNotFoundError",
        "NvvmSupportError",
        "libnvvm",
        "libNVVM",
        "nvrtc",
        "CudaSupportError",
    )
    if proc.returncode and any(word in proc.stderr for word in missing):
        pytest.skip(
            "CUDA compiler libraries not installed: " + proc.stderr.strip().splitlines()[-1][:200]
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "compiled" in proc.stdout
