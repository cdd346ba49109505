"""Rotated boxes and convex polygons on the host: the checked options of a call
(:class:`RotatedCall`, :func:`check_rotated_call`), shape and value checks, and the
geometry rows the kernels read. Shared by the CPU path (:mod:`.rotated`) and the CUDA
path (:mod:`.rotated_cuda`), which import it and not each other."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core import dispatch
from .._core import validate as check
from .._core.dtypes import float_types

ROTATED_FORMATS = ("cxcywha", "cxcywhr")
#: ``box_convert`` targets from a rotated format: the other rotated format, the
#: corner polygon (..., N, 4, 2) and the axis-aligned bounding box.
CONVERT_TARGETS = ROTATED_FORMATS + ("corners", "xyxy")
METRICS = ("iou", "ioa", "giou")
OVERS = ("a", "b", "min")
#: a polygon vertex turns the wrong way only beyond this (relative) cross product
CONVEXITY_TOLERANCE = 1e-9


def _kernels() -> Any:
    from ..kernels import cpu_rotated

    return cpu_rotated


def _parallel(kernel: Any, *args: Any) -> Any:
    from .._core.jit import parallel_call

    return parallel_call(kernel, *args)


# ----------------------------------------------------------------------- the options


@dataclass(frozen=True)
class RotatedCall:
    """The checked options of one rotated-box or polygon call (see :func:`check_rotated_call`)."""

    func: str
    metric: str
    fmt: str | None
    aligned: bool
    over: str
    validate: bool
    threshold: float | None


def check_rotated_call(
    func: str, metric: Any, fmt: Any, *, aligned: Any = False, over: Any = "a",
    validate: Any = True, threshold: Any = None,
) -> RotatedCall:  # fmt: skip
    """Every option of a rotated-box (``fmt`` a rotated format) or polygon (``fmt=None``)
    call checked once, for every backend: ValueError / TypeError naming the option.

    ``threshold`` (the sparse result) needs ``metric="iou"`` without ``aligned``.

    Examples
    --------
    >>> check_rotated_call("box_iou", "iou", "cxcywha", threshold=0.5).threshold
    0.5
    >>> check_rotated_call("box_iou", "diou", "cxcywha")
    Traceback (most recent call last):
    ValueError: box_iou: metric='diou' is not one of 'iou', 'ioa', 'giou'
    """
    check.check_choice(metric, METRICS, "metric", func)
    if fmt is not None:
        check.check_choice(fmt, ROTATED_FORMATS, "fmt", func)
    check.check_choice(over, OVERS, "over", func)
    for name, flag in (("aligned", aligned), ("validate", validate)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{func}: {name} must be True or False, got {flag!r}")
    if threshold is not None:
        if metric != "iou" or aligned:
            raise ValueError(f"{func}: threshold= needs box_iou without aligned=")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
            raise TypeError(f"{func}: threshold must be a number, got {threshold!r}")
        if not 0 < threshold <= 1:
            raise ValueError(f"{func}: threshold must be in (0, 1], got {threshold!r}")
        threshold = float(threshold)
    return RotatedCall(func, metric, fmt, bool(aligned), over, bool(validate), threshold)


# ----------------------------------------------------------------------- validation


def host_array(x: Any, name: str, func: str) -> np.ndarray:
    """A NumPy view of a host array-like holding real numbers."""
    arr = dispatch.to_numpy(x, name, func)
    check.check_numeric(arr, name, func)
    return arr


def check_rotated_shape(arr: np.ndarray, name: str, func: str) -> None:
    """ValueError unless ``arr`` has shape ``(..., N, 5)``."""
    if arr.ndim < 2 or arr.shape[-1] != 5:
        hint = f" (for one box use {name}[None])" if arr.shape == (5,) else ""
        raise ValueError(
            f"{func}: argument {name!r} must have shape (..., N, 5) for rotated boxes "
            f"(cx, cy, w, h, angle), got {arr.shape}{hint}"
        )


def check_rotated_values(arr: np.ndarray, fmt: str, name: str, func: str) -> None:
    """ValueError at the first rotated box that is NaN/inf or has a negative side."""
    if arr.size == 0:
        return
    flat = arr.reshape(-1, 5)
    bad_value = ~np.isfinite(flat).all(axis=1)
    bad_side = (flat[:, 2] < 0) | (flat[:, 3] < 0)
    bad = bad_value | bad_side
    if not bad.any():
        return
    row = int(np.argmax(bad))
    why = (
        "not finite"
        if bad_value[row]
        else "negative width"
        if flat[row, 2] < 0
        else "negative height"
    )
    where = check.format_index(row, arr.shape[:-1])
    values = [float(v) for v in flat[row]]
    raise ValueError(
        f"{func}: argument {name!r} has an invalid {fmt} box at row {where}: {values} ({why})"
    )


def rotated_boxes(x: Any, fmt: str, dtype: Any, validate: bool, name: str, func: str) -> np.ndarray:
    """``x`` as a validated C-contiguous ``(..., N, 5)`` array of ``dtype``."""
    arr = x if isinstance(x, np.ndarray) and x.dtype == dtype else host_array(x, name, func)
    check_rotated_shape(arr, name, func)
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if validate:
        check_rotated_values(arr, fmt, name, func)
    return arr


def check_polygon_shape(arr: np.ndarray, name: str, func: str) -> None:
    """ValueError unless ``arr`` has shape ``(..., N, K, 2)`` with ``K >= 3``."""
    if arr.ndim < 3 or arr.shape[-1] != 2 or arr.shape[-2] < 3:
        raise ValueError(
            f"{func}: argument {name!r} must have shape (..., N, K, 2) with K >= 3 vertices "
            f"per polygon, got {arr.shape}"
        )


def oriented_polygons(arr: np.ndarray, validate: bool, name: str, func: str) -> np.ndarray:
    """Convex polygons ``(..., N, K, 2)`` (float64, C order) turned counter-clockwise;
    ValueError naming the first non-finite, non-convex or self-intersecting one."""
    poly = np.ascontiguousarray(arr, dtype=np.float64)
    flat = poly.reshape((-1,) + poly.shape[-2:])
    if validate and flat.shape[0]:
        row, reason = _kernels().first_bad_polygon(flat, CONVEXITY_TOLERANCE)
        if row >= 0:
            where = check.format_index(int(row), poly.shape[:-2])
            what = {1: "is not finite", 2: "is not convex", 3: "is self-intersecting"}[int(reason)]
            raise ValueError(
                f"{func}: argument {name!r} polygon at row {where} {what}; polygon_iou "
                "takes convex polygons (K vertices in order around the boundary)"
            )
    x, y = flat[..., 0], flat[..., 1]
    signed = (x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1)
    clockwise = signed < 0
    if clockwise.any():
        flat = flat.copy()
        flat[clockwise] = flat[clockwise, ::-1]
    return flat.reshape(poly.shape)


# ----------------------------------------------------------------------- geometry


def box_geometry(boxes: np.ndarray, fmt: str) -> np.ndarray:
    """Geometry rows ``(B, N, 12)`` of rotated boxes ``(B, N, 5)`` (see ``cpu_rotated``)."""
    k = _kernels()
    geo = np.empty(boxes.shape[:2] + (k.HEAD + 8,), dtype=np.float64)
    if boxes.shape[0] * boxes.shape[1]:
        _parallel(k.box_geometry, boxes, k.ROTATED_FORMAT_CODES[fmt], geo)
    return geo


def polygon_geometry(poly: np.ndarray) -> np.ndarray:
    """Geometry rows ``(B, N, 4 + 2K)`` of counter-clockwise polygons ``(B, N, K, 2)``."""
    k = _kernels()
    geo = np.empty(poly.shape[:2] + (k.HEAD + 2 * poly.shape[2],), dtype=np.float64)
    if poly.shape[0] * poly.shape[1]:
        _parallel(k.polygon_geometry, poly, geo)
    return geo


def _batched(arr: np.ndarray, batch: tuple[int, ...], core: int) -> np.ndarray:
    """``arr`` with its batch axes flattened to one (1 when it has none of its own)."""
    own = arr.shape[: arr.ndim - core]
    if math.prod(own) == 1:
        return np.ascontiguousarray(arr.reshape((1,) + arr.shape[arr.ndim - core :]))
    if own != batch:
        arr = np.broadcast_to(arr, batch + arr.shape[arr.ndim - core :])
    return np.ascontiguousarray(arr.reshape((math.prod(batch),) + arr.shape[arr.ndim - core :]))


def host_geometry(a: Any, b: Any, call: RotatedCall) -> tuple:
    """Host inputs of a checked call as geometry rows: ``(ga, gb, ka, kb, batch, n, m,
    compute)``; ``ga`` is ``(B, N, 4 + 2 ka)`` with the batch axes flattened (1 when
    shared). Shapes and values checked, polygons turned counter-clockwise."""
    func = call.func
    a_np, b_np = host_array(a, "a", func), host_array(b, "b", func)
    compute, _result = float_types(a_np.dtype, b_np.dtype)
    if call.fmt is None:
        check_polygon_shape(a_np, "a", func)
        check_polygon_shape(b_np, "b", func)
        pa = oriented_polygons(a_np, call.validate, "a", func)
        pb = oriented_polygons(b_np, call.validate, "b", func)
        core, ka, kb = 3, pa.shape[-2], pb.shape[-2]
    else:
        pa = rotated_boxes(a_np, call.fmt, compute, call.validate, "a", func)
        pb = rotated_boxes(b_np, call.fmt, compute, call.validate, "b", func)
        core, ka, kb = 2, 4, 4
    if call.threshold is not None and (pa.ndim != core or pb.ndim != core):
        raise ValueError(f"{func}: threshold= needs 2-D (N, 5) inputs")
    batch = check.broadcast_batch(pa.shape[:-core], pb.shape[:-core], func)
    n, m = pa.shape[-core], pb.shape[-core]
    if call.aligned:
        check.check_same_length(n, m, func)
    if call.fmt is None:
        ga, gb = (polygon_geometry(_batched(p, batch, 3)) for p in (pa, pb))
    else:
        ga, gb = (box_geometry(_batched(p, batch, 2), call.fmt) for p in (pa, pb))
    return ga, gb, ka, kb, batch, n, m, compute


def measure_host(a: Any, b: Any, call: RotatedCall) -> Any:
    """:func:`~ioukit._boxes.rotated.measure` of host arrays: the metric in the compute
    dtype, or with ``threshold`` the SciPy CSR of the pairs with IoU >= t (also the
    CUDA path's fallback for polygons too large for the device kernel)."""
    ga, gb, ka, kb, batch, n, m, compute = host_geometry(a, b, call)
    if call.threshold is not None:
        from .rotated_sparse import sparse_shape_iou

        return sparse_shape_iou(ga[0], gb[0], ka, kb, call.threshold, compute)
    k = _kernels()
    shape = batch + ((n,) if call.aligned else (n, m))
    out = np.empty(shape, dtype=compute)
    if out.size:
        target = out.reshape((math.prod(batch),) + shape[len(batch) :])
        kernel = k.aligned if call.aligned else k.pairwise
        codes = k.METRIC_CODES[call.metric], k.OVER_CODES[call.over]
        _parallel(kernel, *codes, ka, kb, ga, gb, target)
    return out
