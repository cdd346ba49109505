"""Every backend module provides the declared interface (``ioukit.backends``): the same
names with the same parameters, and a clean error for an option it refuses. No GPU
needed: the modules import without one (numba-cuda runs its simulator in tests)."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

import ioukit
from ioukit import backends
from ioukit._boxes.job import BoxJob, pairwise_job
from ioukit._core import dispatch


def _modules() -> list[str]:
    names = ["ioukit.backends.cpu"]
    for kind, (module, _extra) in dispatch.BACKEND_MODULES.items():
        pytest.importorskip({"cuda": "numba.cuda", "dask": "dask.array"}[kind])
        names.append(module)
    return names


@pytest.mark.parametrize(
    "module_name", ["ioukit.backends.cpu", "ioukit.backends.cuda", "ioukit.backends.dask"]
)
def test_backend_provides_the_interface(module_name):
    if module_name != "ioukit.backends.cpu":
        pytest.importorskip("numba.cuda" if module_name.endswith("cuda") else "dask.array")
    module = importlib.import_module(module_name)
    for name in backends.ATTRIBUTES:
        assert hasattr(module, name), f"{module_name} lacks {name}"
    assert isinstance(module.NAME, str) and module.NAME
    assert all(
        isinstance(k, str) and isinstance(v, str) for k, v in module.UNSUPPORTED_BOX_OPTIONS.items()
    )
    assert set(module.UNSUPPORTED_BOX_OPTIONS) <= {
        f.name for f in BoxJob.__dataclass_fields__.values()
    }
    for name, params in backends.INTERFACE.items():
        fn = getattr(module, name, None)
        assert callable(fn), f"{module_name} lacks {name}"
        got = tuple(inspect.signature(fn).parameters)
        assert got == params, f"{module_name}.{name}{got}, declared {params}"


def test_every_backend_has_the_same_signatures():
    signatures = {}
    for module_name in _modules():
        module = importlib.import_module(module_name)
        for name in backends.INTERFACE:
            sig = inspect.signature(getattr(module, name))
            shape = [(p.name, p.kind, p.default) for p in sig.parameters.values()]
            signatures.setdefault(name, {})[module_name] = shape
    for name, by_module in signatures.items():
        first = next(iter(by_module.values()))
        assert all(shape == first for shape in by_module.values()), (name, by_module)


def test_dispatch_knows_every_backend_module():
    assert set(dispatch.BACKEND_MODULES) == {dispatch.CUDA, dispatch.DASK}
    for module, extra in dispatch.BACKEND_MODULES.values():
        assert module.startswith("ioukit.backends.") and extra


def test_unsupported_option_names_option_and_backend():
    pytest.importorskip("dask.array")
    import dask.array as da

    a = da.from_array(np.array([[0.0, 0, 1, 1]]), chunks=1)
    with pytest.raises(
        TypeError, match=r"box_giou: out= is not supported for Dask inputs \(the result is lazy\)"
    ):
        ioukit.box_giou(a, a, out=np.zeros((1, 1)))


def test_job_checks_options_before_dispatch():
    """The job is the one place that checks options: a bad option fails before any
    backend is imported or any array is read."""
    unreadable = object()
    with pytest.raises(ValueError, match="fmt='xyz' is not one of"):
        pairwise_job("box_iou", "iou", unreadable, unreadable, "xyz", False, 0, None, True)
    with pytest.raises(ValueError, match="validate must be True or False, got 'no'"):
        pairwise_job("box_iou", "iou", unreadable, unreadable, "xyxy", False, 0, None, "no")
    with pytest.raises(
        ValueError, match=r"threshold= needs 2-D \(N, 4\) inputs, without aligned= or out="
    ):
        pairwise_job(
            "box_iou", "iou", unreadable, unreadable, "xyxy", True, 0, None, True, threshold=0.5
        )
    job = pairwise_job(
        "box_iou",
        "iou",
        [[0, 0, 2, 2]],
        [[0, 0, 1, 1]] * 3,
        "xywh",
        False,
        1,
        None,
        True,
        crowd=[0, 1, 0],
    )
    assert job.kind == "numpy" and job.metric == "crowd_iou" and job.offset == 1
    assert job.result_shape == (1, 3) and job.crowd.tolist() == [False, True, False]
    assert isinstance(job.a, np.ndarray) and job.inputs[0] == [[0, 0, 2, 2]]
