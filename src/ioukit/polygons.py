"""Convex polygons and rotated-box corners: ``polygon_iou`` and ``rotated_box_corners``.

Rotated boxes themselves go through the box functions (``fmt="cxcywha"`` or
``"cxcywhr"``); this module holds what has no axis-aligned counterpart.
"""

from __future__ import annotations

from typing import Any

from ._boxes import rotated as _rotated
from ._core import dispatch
from ._core.dtypes import float_types


def polygon_iou(a: Any, b: Any, *, aligned: bool = False, validate: bool = True) -> Any:
    """IoU of every convex polygon of ``a`` with every convex polygon of ``b``.

    Exact intersection areas by convex polygon clipping (as ``mmcv.ops.box_iou_quadri``
    for DOTA quadrilaterals, for any vertex count). Vertices may run clockwise or
    counter-clockwise; repeated vertices and collinear runs are allowed.

    Parameters
    ----------
    a, b : array_like, shapes (..., N, K, 2) and (..., M, L, 2)
        Polygons of ``K >= 3`` and ``L >= 3`` vertices in boundary order (batch axes
        broadcast as in :func:`ioukit.box_iou`).
    aligned : bool, default False
        Pair polygon ``i`` of ``a`` with polygon ``i`` of ``b`` only (N == M).
    validate : bool, default True
        Check that every polygon is finite, convex and not self-intersecting.

    Returns
    -------
    ndarray, shape (..., N, M) or (..., N)
        float32 for float32 input, else float64 (torch in, torch out). 0 where the
        union is empty; never NaN. CUDA arrays (CuPy, torch CUDA, numba device
        arrays) give an array of their library on their device: the polygons are
        checked on the host (a copy of the N x K vertices), the clipping runs on the GPU.

    Raises
    ------
    ValueError
        A wrong shape, or a polygon that is not finite, not convex or self-intersecting
        (the message names the argument and the row).

    Examples
    --------
    >>> import ioukit
    >>> square = [[[0, 0], [2, 0], [2, 2], [0, 2]]]
    >>> diamond = [[[1, -1], [3, 1], [1, 3], [-1, 1]]]
    >>> ioukit.polygon_iou(square, diamond).round(4)
    array([[0.5]])
    """
    result = _rotated.polygon_pairwise("iou", a, b, aligned=aligned, validate=validate)
    if dispatch.array_kind(a) == dispatch.CUDA:
        return result  # already in the input's library, on its device
    return dispatch.restore(result, a, b)


def rotated_box_corners(boxes: Any, fmt: str = "cxcywha", *, validate: bool = True) -> Any:
    """The four corners of rotated boxes, as a polygon array for :func:`polygon_iou`.

    Parameters
    ----------
    boxes : array_like, shape (..., N, 5)
        ``(cx, cy, w, h, angle)``.
    fmt : {"cxcywha", "cxcywhr"}, default "cxcywha"
        ``cxcywha``: degrees, counter-clockwise on screen with y pointing down
        (detectron2); the corner ``(+w/2, +h/2)`` sits at ``(cx + w/2 cos a + h/2 sin a,
        cy + h/2 cos a - w/2 sin a)``. ``cxcywhr``: radians, the opposite sense
        (mmcv / mmrotate).
    validate : bool, default True

    Returns
    -------
    ndarray, shape (..., N, 4, 2)
        Corners ``(+w/2, +h/2), (-w/2, +h/2), (-w/2, -h/2), (+w/2, -h/2)`` of the box
        frame, in the dtype rule of the box functions.

    Examples
    --------
    >>> import ioukit
    >>> ioukit.rotated_box_corners([[0, 0, 4, 2, 90]]).round(6)
    array([[[ 1., -2.],
            [ 1.,  2.],
            [-1.,  2.],
            [-1., -2.]]])
    """
    arr = _rotated.host_array(boxes, "boxes", "rotated_box_corners")
    _compute, result = float_types(arr.dtype)
    corners = _rotated.rotated_convert(arr, fmt, "corners", validate=validate,
                                       func="rotated_box_corners")  # fmt: skip
    return dispatch.restore(corners.astype(result, copy=False), boxes)
