"""Preparing box inputs and outputs for the front-end (``ioukit.boxes``).

Host conversion and validation, the overflow guard for huge coordinates (a rare
path that never touches ordinary inputs), batching, the ``out=`` buffer, and the
spelling of options.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._core import dispatch
from .._core import validate as check


def host_boxes(x: Any, name: str, func: str) -> np.ndarray:
    """A NumPy view of a host box array, with a numeric dtype and shape (..., N, 4)."""
    arr = dispatch.to_numpy(x, name, func)
    check.check_numeric(arr, name, func)
    check.check_box_shape(arr, name, func)
    return arr


def checked(
    arr: np.ndarray, dtype: np.dtype, fmt: str, validate: bool, name: str, func: str
) -> tuple[np.ndarray, float]:
    """``(arr as C-contiguous dtype (a view when it already is), its largest |value|)``,
    validated when ``validate``."""
    converted = np.ascontiguousarray(arr, dtype=dtype)
    return converted, check.check_box_values(converted, fmt, name, func, validate)


#: Largest |coordinate| for which no product in the formulas can overflow: corners
#: reach 2x, sides 4x, and squared diagonals 2 * (4x + 1)^2 < 2^128 (float32) or
#: 2^1024 (float64).
SAFE_MAGNITUDE = {np.dtype(np.float32): 2.0**60, np.dtype(np.float64): 2.0**508}


def overflow_guard(compute: np.dtype, magnitude: float) -> tuple[np.dtype, float]:
    """``(dtype to compute in, power-of-two scale for the coordinates)``.

    The common case returns ``(compute, 1.0)`` and changes nothing. Coordinates so
    large that an area or squared diagonal could overflow (float32 past 2^60,
    float64 past 2^508) take a rare path: float32 boxes are computed in float64
    (exact, then rounded once), float64 boxes are multiplied by a power of two
    (exact, the metrics are ratios) so that the largest becomes about 1.
    """
    if magnitude <= SAFE_MAGNITUDE[compute]:
        return compute, 1.0
    if compute == np.float32:
        return np.dtype(np.float64), 1.0
    return compute, math.ldexp(1.0, 1 - math.frexp(magnitude)[1])


def scaled(arr: np.ndarray, scale: float) -> np.ndarray:
    return arr if scale == 1.0 else arr * arr.dtype.type(scale)


def batched(arr: np.ndarray, batch: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``arr`` as a C-contiguous ``(B, N, 4)`` array of ``dtype``; B is 1 when ``arr``
    has no batch axes of its own (it is then shared by every batch)."""
    own = arr.shape[:-2]
    if math.prod(own) == 1:
        flat = arr.reshape((1,) + arr.shape[-2:])
    else:
        if own != batch:
            arr = np.broadcast_to(arr, batch + arr.shape[-2:])
        flat = arr.reshape((math.prod(batch),) + arr.shape[-2:])
    return np.ascontiguousarray(flat, dtype=dtype)


def result_buffer(
    out: Any, shape: tuple[int, ...], result: np.dtype, compute: np.dtype, func: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(buffer the kernel writes, caller's array to copy into or None)``."""
    view = dispatch.out_view(out, func)
    if view is None:
        return np.empty(shape, dtype=compute), None
    if view.shape != shape:
        raise ValueError(f"{func}: argument 'out' has shape {view.shape}, expected {shape}")
    if view.dtype != result:
        raise TypeError(f"{func}: argument 'out' has dtype {view.dtype}, expected {result}")
    if view.dtype == compute and view.flags.c_contiguous:
        return view, None
    return np.empty(shape, dtype=compute), view


def flat_flags(flags: np.ndarray | None, n_batch: int, m: int) -> np.ndarray:
    """Crowd flags as a C-contiguous, writeable ``(n_batch or 1, m)`` bool array (a
    read-only view, as ``np.broadcast_to`` gives, would be another kernel signature)."""
    if flags is None:
        return np.zeros((1, m), dtype=bool)
    flat = np.ascontiguousarray(flags).reshape(n_batch, m)
    return flat if flat.flags.writeable else flat.copy()


def unscaled(values: np.ndarray, scale: float, power: int, result: np.dtype) -> np.ndarray:
    """``values / scale**power`` as ``result``: inf where the true value exceeds the
    dtype's range (IEEE overflow, as torchvision), never NaN."""
    with np.errstate(over="ignore"):
        for _ in range(power if scale != 1.0 else 0):
            values = values * values.dtype.type(1.0 / scale)
        return values.astype(result, copy=False)


def one_spelling(value: Any, alias: Any, name: str, alias_name: str, func: str) -> Any:
    if value is not None and alias is not None:
        raise TypeError(f"{func}: give {name}= or {alias_name}=, not both")
    if value is None and alias is None:
        raise TypeError(f"{func}: missing the box format {name}= (or {alias_name}=)")
    return value if value is not None else alias
