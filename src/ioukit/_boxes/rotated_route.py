"""The box front-end's route for rotated formats (``fmt="cxcywha" | "cxcywhr"``).

``box_iou``, ``box_ioa``, ``box_giou``, ``box_area`` and ``box_convert`` hand a call
whose format is rotated to this module instead of building a :class:`BoxJob`: the
rotated kernels measure convex polygons, so the axis-aligned job's options that have
no rotated meaning (``crowd=``, ``pixel_offset=1``, DIoU/CIoU) are refused here by
name, and the result comes back as the axis-aligned path gives it (NumPy or torch,
``out=`` filled in place, a CSR matrix with ``threshold=``; for Dask inputs a lazy
array, or a ``dask.delayed`` CSR matrix with ``threshold=``, from
:func:`ioukit.backends.dask.run_shapes`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import dispatch
from . import rotated

ROTATED_FORMATS = rotated.ROTATED_FORMATS


def is_rotated(fmt: Any) -> bool:
    """Whether ``fmt`` names a rotated box format."""
    return isinstance(fmt, str) and fmt in ROTATED_FORMATS


def _refuse(func: str, fmt: str, metric: str, crowd: Any, pixel_offset: Any) -> None:
    if metric not in rotated.METRICS:
        raise ValueError(
            f"{func}: fmt={fmt!r} (rotated boxes) supports IoU, IoA and GIoU, not {metric}"
        )
    if crowd is not None:
        raise ValueError(f"{func}: crowd= is not supported for rotated boxes (fmt={fmt!r})")
    if pixel_offset != 0:
        raise ValueError(
            f"{func}: pixel_offset={pixel_offset!r} is not supported for rotated boxes "
            f"(fmt={fmt!r}); the +1 pixel convention has no rotated meaning"
        )


def _into_out(result: np.ndarray, out: Any, func: str) -> Any:
    view = dispatch.out_view(out, func)
    if view.shape != result.shape:
        raise ValueError(f"{func}: argument 'out' has shape {view.shape}, expected {result.shape}")
    if view.dtype != result.dtype:
        raise TypeError(f"{func}: argument 'out' has dtype {view.dtype}, expected {result.dtype}")
    view[...] = result
    return out


def pairwise(func: str, metric: str, a: Any, b: Any, fmt: str, *args: Any, **options: Any) -> Any:
    """``metric`` of rotated boxes ``a`` against ``b``, pairwise or aligned.

    ``args`` and ``options`` are those of :func:`ioukit._boxes.job.pairwise_job`, the
    one place that spells them out: ``aligned, pixel_offset, out, validate`` and
    ``crowd=``, ``over=``, ``eps=`` (unused here), ``threshold=``.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit._boxes import rotated_route
    >>> box = np.array([[0.0, 0.0, 2.0, 2.0, 0.0]])
    >>> turned = np.array([[0.0, 0.0, 2.0, 2.0, 90.0]])
    >>> rotated_route.pairwise("box_iou", "iou", box, turned, "cxcywha", False, 0, None, True)
    array([[1.]])
    """
    aligned, pixel_offset, out, validate = args
    crowd, over, threshold = (
        options.get("crowd"),
        options.get("over", "a"),
        options.get("threshold"),
    )
    _refuse(func, fmt, metric, crowd, pixel_offset)
    kind = dispatch.common_kind(func, a=a, b=b, out=out)
    if kind in (dispatch.CUDA, dispatch.DASK):
        if out is not None:
            where = "CUDA inputs" if kind == dispatch.CUDA else "Dask inputs (the result is lazy)"
            raise TypeError(f"{func}: out= is not supported for rotated boxes on {where}")
        options = dict(aligned=aligned, over=over, validate=validate, threshold=threshold)
        return rotated.measure(a, b, rotated.check_rotated_call(func, metric, fmt, **options))
    if kind != dispatch.NUMPY:
        raise TypeError(f"{func}: rotated boxes (fmt={fmt!r}) are not supported for {kind} inputs")
    if threshold is not None:
        if metric != "iou" or aligned or out is not None:
            raise ValueError(f"{func}: threshold= needs box_iou without aligned= or out=")
        if not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
            raise ValueError(f"{func}: threshold must be in (0, 1], got {threshold!r}")
        return rotated.rotated_sparse(
            a, b, fmt=fmt, threshold=float(threshold), validate=validate, func=func
        )
    result = rotated.rotated_pairwise(
        metric, a, b, fmt=fmt, aligned=aligned, over=over, validate=validate, func=func
    )
    if out is not None:
        return _into_out(result, out, func)
    return dispatch.restore(result, a, b)


def area(a: Any, *, fmt: str, pixel_offset: Any, validate: bool) -> Any:
    """Areas of rotated boxes (``box_area`` with a rotated ``fmt``)."""
    if pixel_offset != 0:
        raise ValueError(
            f"box_area: pixel_offset={pixel_offset!r} is not supported for fmt={fmt!r}"
        )
    if dispatch.array_kind(a) != dispatch.NUMPY:
        raise TypeError(f"box_area: rotated boxes are supported for host arrays only (fmt={fmt!r})")
    return dispatch.restore(rotated.rotated_area(a, fmt=fmt, validate=validate), a)


def convert(a: Any, src: str, dst: str, *, validate: bool) -> Any:
    """``box_convert`` from or to a rotated format (``dst`` may also be "corners")."""
    if dispatch.array_kind(a) != dispatch.NUMPY:
        raise TypeError(f"box_convert: rotated boxes are supported for host arrays only ({src!r})")
    return dispatch.restore(rotated.rotated_convert(a, src, dst, validate=validate), a)
