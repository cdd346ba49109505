"""Rotated boxes and convex polygons: validation, conversion and the hooks the box
front-end calls for ``fmt="cxcywha" | "cxcywhr"``.

Every call's options are checked once by :func:`check_rotated_call` (a
:class:`RotatedCall`); :func:`measure` runs a checked call on host arrays (NumPy
out; the caller restores torch) or on CUDA arrays (``rotated_cuda``). Hooks:

* :func:`rotated_pairwise` ``(metric, a, b, fmt=, aligned=, over=)``: IoU / IoA / GIoU.
* :func:`rotated_sparse` ``(a, b, fmt=, threshold=)``: the CSR of pairs with IoU >= t.
* :func:`rotated_area`, :func:`rotated_convert` (host arrays).
* :func:`polygon_pairwise`: the same metrics on convex polygons ``(..., N, K, 2)``.

The angle conventions: ``cxcywha`` is detectron2's XYWHA (degrees, counter-clockwise
on screen, y down); ``cxcywhr`` is mmcv / mmrotate (radians, the opposite sense),
so ``cxcywhr`` angle ``r`` is ``cxcywha`` angle ``-degrees(r)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import dispatch
from .._core import validate as check
from .._core.dtypes import float_types
from .rotated_inputs import (  # noqa: F401  (re-exported: the rotated hooks' names)
    CONVERT_TARGETS,
    CONVEXITY_TOLERANCE,
    METRICS,
    OVERS,
    ROTATED_FORMATS,
    RotatedCall,
    _batched,
    _kernels,
    _parallel,
    box_geometry,
    check_polygon_shape,
    check_rotated_call,
    check_rotated_shape,
    check_rotated_values,
    host_array,
    host_geometry,
    measure_host,
    oriented_polygons,
    polygon_geometry,
    rotated_boxes,
)


def measure(a: Any, b: Any, call: RotatedCall) -> Any:
    """The result of a checked call on host or CUDA arrays: the metric ``(..., N, M)``
    (``(..., N)`` when aligned) in the compute dtype, or with ``threshold`` a SciPy CSR
    array ``(N, M)`` of the pairs with IoU >= t. Host arrays give NumPy (the caller
    restores torch); CUDA arrays give an array of their library on their device (the
    CSR comes back on the host); Dask arrays a lazy array (a ``dask.delayed`` CSR)."""
    kind = dispatch.common_kind(call.func, a=a, b=b)
    if kind == dispatch.CUDA:
        from .rotated_cuda import measure_cuda

        return measure_cuda(a, b, call)
    if kind == dispatch.DASK:  # lazy, blockwise over row tiles that come back here
        return dispatch.backend(kind, call.func).run_shapes(a, b, call)
    if kind != dispatch.NUMPY:
        raise TypeError(f"{call.func}: rotated boxes and polygons are not supported for {kind}")
    return measure_host(a, b, call)


def rotated_pairwise(metric: str, a: Any, b: Any, *, fmt: str, **options: Any) -> Any:
    """The front-end hook: ``metric`` ("iou" | "ioa" | "giou") of rotated boxes.

    ``a``, ``b``: arrays ``(..., N, 5)``, ``(..., M, 5)`` (batch axes broadcast; on CUDA
    they must be equal or absent on one side). ``options``: ``aligned=``, ``over=``,
    ``validate=`` and ``func=`` (the name in messages, default "box_iou"), checked by
    :func:`check_rotated_call`, the one place that spells them out. Returns
    ``(..., N, M)`` (``(..., N)`` when ``aligned``) in the result dtype of the box
    functions (float32 in, float32 out; float64 / integers give float64; half precision
    gives float32 here, cast by the caller if wanted): NumPy for host arrays, the
    input's library for CUDA arrays.

    Examples
    --------
    >>> box = np.array([[0.0, 0.0, 2.0, 2.0, 0.0]])
    >>> rotated_pairwise("iou", box, box + [1, 0, 0, 0, 90], fmt="cxcywha").round(6)
    array([[0.333333]])
    """
    func = options.pop("func", "box_iou")
    return measure(a, b, check_rotated_call(func, metric, fmt, **options))


def polygon_pairwise(metric: str, a: Any, b: Any, **options: Any) -> Any:
    """``metric`` of convex polygons ``(..., N, K, 2)`` and ``(..., M, L, 2)``; ``options``
    are those of :func:`rotated_pairwise` but ``fmt`` (``func`` defaults to "polygon_iou")."""
    func = options.pop("func", "polygon_iou")
    return measure(a, b, check_rotated_call(func, metric, None, **options))


def rotated_sparse(a: Any, b: Any, *, fmt: str, threshold: Any, **options: Any) -> Any:
    """The hook for ``box_iou(a, b, fmt=<rotated>, threshold=t)``: a SciPy CSR array
    ``(N, M)`` of the pairs with IoU >= t (culled by circumscribed circles); ``options``:
    ``validate=``, ``func=``."""
    func = options.pop("func", "box_iou")
    return measure(a, b, check_rotated_call(func, "iou", fmt, threshold=threshold, **options))


# ----------------------------------------------------------------------- area, conversion


def rotated_area(a: Any, *, fmt: str, validate: bool = True, func: str = "box_area") -> np.ndarray:
    """``w * h`` of rotated boxes ``(..., N, 5)``: ``(..., N)`` in the compute dtype."""
    check.check_choice(fmt, ROTATED_FORMATS, "fmt", func)
    arr = host_array(a, "a", func)
    compute, _result = float_types(arr.dtype)
    arr = rotated_boxes(arr, fmt, compute, validate, "a", func)
    return arr[..., 2] * arr[..., 3]


def rotated_convert(
    a: Any, src: str, dst: str, *, validate: bool = True, func: str = "box_convert"
) -> np.ndarray:
    """Convert rotated boxes ``(..., N, 5)`` from ``src`` to ``dst``.

    ``dst``: the other rotated format (the angle is negated and rescaled), ``"corners"``
    (``(..., N, 4, 2)`` vertex polygons, counter-clockwise in x-y order) or ``"xyxy"``
    (the axis-aligned bounding box).
    """
    check.check_choice(src, ROTATED_FORMATS, "src", func)
    check.check_choice(dst, CONVERT_TARGETS, "dst", func)
    arr = host_array(a, "a", func)
    compute, _result = float_types(arr.dtype)
    arr = rotated_boxes(arr, src, compute, validate, "a", func)
    if dst == src:
        return arr.copy()
    if dst in ROTATED_FORMATS:
        out = arr.copy()
        if src == "cxcywha":
            out[..., 4] = -np.deg2rad(arr[..., 4].astype(np.float64)).astype(compute)
        else:
            out[..., 4] = -np.rad2deg(arr[..., 4].astype(np.float64)).astype(compute)
        return out
    k = _kernels()
    flat = arr.reshape((1, -1, 5))
    geo = box_geometry(flat, src)
    pts = np.empty((1, flat.shape[1], 4, 2), dtype=np.float64)
    if pts.size:
        _parallel(k.corners, geo, pts)
    pts = pts.reshape(arr.shape[:-1] + (4, 2))
    if dst == "corners":
        return pts.astype(compute, copy=False)
    lo, hi = pts.min(axis=-2), pts.max(axis=-2)
    return np.concatenate([lo, hi], axis=-1).astype(compute, copy=False)
