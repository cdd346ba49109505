"""Every CPU box kernel compiles once per compute dtype (float32, float64), whatever the
input: a new specialisation is seconds of compile time for every new process (issue 12).
This fails when a kernel gains a signature (a Python float where a typed constant is
meant, a non-contiguous array, an int index of another width...)."""

from __future__ import annotations

import numpy as np
from numba.core.registry import CPUDispatcher

import ioukit
from ioukit._boxes.cpu import SERIAL_PAIRS
from ioukit._core import jit
from ioukit.kernels import cpu_boxes

PAIRWISE = (ioukit.box_iou, ioukit.box_giou, ioukit.box_diou, ioukit.box_ciou, ioukit.box_ioa)
BOXES = np.array([[0, 0, 2, 2], [1, 1, 3, 4], [2, 0, 5, 1]])


def _calls(a: np.ndarray) -> None:
    """Every route of the CPU box front-end for the boxes ``a``."""
    for fn in PAIRWISE:
        fn(a, a)
        fn(a, a, aligned=True)
        fn(a[None], np.stack([a, a]), fmt="xywh", pixel_offset=1)
        fn(a[::-1], np.asfortranarray(a), validate=False)
    ioukit.box_ioa(a, a, over="min")
    ioukit.box_iou(a, a, crowd=np.arange(len(a)) % 2 == 0)
    ioukit.box_iou(a, a, aligned=True, crowd=np.ones(len(a), bool))
    result = ioukit.box_iou(a, a)
    ioukit.box_iou(a, a, out=np.empty_like(result))
    ioukit.box_area(a, fmt="cxcywh", pixel_offset=1)
    ioukit.box_convert(a, "xywh", "cxcywh")


def test_box_kernels_compile_once_per_float_dtype():
    big = np.tile(BOXES, (int(SERIAL_PAIRS**0.5) // 3 + 1, 1))  # past SERIAL_PAIRS: parallel
    for dtype in ("float16", "float32", "float64", "int32", "int64", "uint8"):
        _calls(BOXES.astype(dtype))
        for fn in (ioukit.box_iou, ioukit.box_ciou):
            fn(big.astype(dtype), big.astype(dtype))
        ioukit.box_iou(big.astype(dtype), big.astype(dtype), crowd=np.zeros(len(big), bool))
    huge = (BOXES * 1e300).astype(np.float64)  # the overflow guard's rescaled path
    ioukit.box_giou(huge, huge)
    kernels = {name: obj for name, obj in vars(cpu_boxes).items() if isinstance(obj, CPUDispatcher)}
    kernels |= {f"{k.py_func.__name__} (serial twin)": t for k, t in jit._twins.items()}
    assert {"prepare_small", "pairwise_iou_serial", "pairwise_ciou"} <= set(kernels)
    for name, kernel in kernels.items():
        if kernel.py_func.__module__ != cpu_boxes.__name__:
            continue  # another family's twin
        dtypes = {str(sig[-1].dtype) for sig in kernel.signatures if hasattr(sig[-1], "dtype")}
        assert len(kernel.signatures) <= 2, (name, kernel.signatures)
        assert dtypes <= {"float32", "float64"}, (name, kernel.signatures)
