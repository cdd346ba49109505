"""One box call, validated once: the options and the inputs a runner needs.

The front-end (:mod:`ioukit.boxes`) builds a :class:`BoxJob` with :func:`pairwise_job`
or :func:`single_job` and hands it to the runner of its array kind (the CPU runner
in :mod:`ioukit._boxes.cpu`, or ``run_boxes`` of a backend in :mod:`ioukit.backends`).
Everything that does not need the values of the boxes is checked here, before any
dispatch: the options, the shapes, the batch broadcast, ``aligned`` lengths, the
crowd flags and the options a backend does not support. The runners check the
values (finite, non-negative extent) on their own device.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from .._core import dispatch
from .._core import validate as check
from . import inputs as prep

OVER_CHOICES = ("a", "b", "min")


@dataclass(slots=True)  # not frozen: a frozen dataclass costs microseconds to build
class BoxJob:
    """A validated box call (see the module docstring).

    ``a`` and ``b`` are NumPy arrays of shape ``(..., N, 4)`` (numeric, not yet cast)
    for host calls and the caller's arrays for other kinds; ``inputs`` keeps the
    caller's objects to give the result back in their library. ``crowd`` is None or
    bool flags of shape ``batch + (M,)`` (host), or a lazy Dask array of shape (M,).
    """

    func: str  #: public name, for messages
    metric: str  #: "iou", "crowd_iou", "giou", "diou", "ciou", "ioa", "area" or "convert"
    kind: str  #: dispatch kind of the inputs: "numpy", "cuda" or "dask"
    a: Any
    b: Any = None  #: None for the one-set metrics (area, convert)
    inputs: tuple = ()
    fmt: str = "xyxy"  #: format of the inputs
    dst: str = "xyxy"  #: box_convert's target format
    aligned: bool = False
    offset: int = 0  #: pixel_offset, 0 or 1
    eps: float = 1e-7
    over: str = "a"
    crowd: Any = None
    threshold: float | None = None
    out: Any = None
    validate: bool = True
    batch: tuple[int, ...] = ()  #: broadcast batch shape of a and b

    @property
    def result_shape(self) -> tuple[int, ...]:
        """Shape of the dense result of a pairwise job."""
        n, m = _rows(self.a), _rows(self.b)
        return self.batch + ((n,) if self.aligned else (n, m))


def _rows(x: Any) -> int:
    return dispatch.shape_of(x)[-2]


def _check_bool(value: Any, name: str, func: str) -> bool:
    if value is True or value is False or (isinstance(value, np.bool_)):
        return bool(value)
    raise ValueError(f"{func}: {name} must be True or False, got {value!r}")


def _check_threshold(threshold: Any, aligned: bool, out: Any, func: str) -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.integer, np.floating))
        or not 0 < threshold <= 1
    ):
        raise ValueError(f"{func}: threshold must be in (0, 1], got {threshold!r}")
    if aligned or out is not None:
        raise ValueError(f"{func}: threshold= needs 2-D (N, 4) inputs, without aligned= or out=")
    return float(threshold)


def _boxes(x: Any, kind: str, name: str, func: str) -> Any:
    """A host array checked for dtype and shape, or the caller's array with its shape checked."""
    if kind == dispatch.NUMPY:
        return prep.host_boxes(x, name, func)
    try:
        shape = dispatch.shape_of(x)
    except (AttributeError, KeyError, TypeError, ValueError):
        raise TypeError(
            f"{func}: argument {name!r} ({type(x).__name__}) has no shape that the {kind} "
            "backend can read"
        ) from None
    check.check_box_shape(SimpleNamespace(shape=shape, ndim=len(shape)), name, func)
    return x


def _refuse_unsupported(kind: str, func: str, **options: Any) -> None:
    """Import the backend of ``kind`` (a clear error when it is missing) and raise a
    TypeError for the first given option it does not support."""
    if kind == dispatch.NUMPY:
        return
    backend = dispatch.backend(kind, func)
    for name, why in backend.UNSUPPORTED_BOX_OPTIONS.items():
        if options.get(name) is not None:
            reason = f" ({why})" if why else ""
            raise TypeError(f"{func}: {name}= is not supported for {backend.NAME} inputs{reason}")


def _crowd_flags(crowd: Any, batch: tuple[int, ...], m: int, func: str) -> Any:
    """Exactly one flag per box of ``b`` (``(M,)`` or batch dimensions that broadcast)."""
    if dispatch.is_dask(crowd):  # values are checked block by block when computed
        if tuple(crowd.shape) != (m,):
            raise ValueError(
                f"{func}: crowd has shape {tuple(crowd.shape)}, expected one flag per box of 'b' "
                f"(shape ({m},))"
            )
        return crowd
    return check.check_flags(dispatch.small_to_host(crowd), batch + (m,), "crowd", func)


def pairwise_job(  # (duplicates lists this parameter list beside others: alike in shape only)
    func: str,
    metric: str,
    a: Any,
    b: Any,
    fmt: str,
    aligned: bool,
    pixel_offset: int,
    out: Any,
    validate: bool,
    *,
    crowd: Any = None,
    over: str = "a",
    eps: float = 1e-7,
    threshold: float | None = None,
) -> BoxJob:
    """The job of a pairwise metric (``box_iou`` and relatives), every option checked."""
    check.check_choice(fmt, check.BOX_FORMATS, "fmt", func)
    offset = check.check_pixel_offset(pixel_offset, func)
    check.check_choice(over, OVER_CHOICES, "over", func)
    aligned = _check_bool(aligned, "aligned", func)
    validate = _check_bool(validate, "validate", func)
    if threshold is not None:
        threshold = _check_threshold(threshold, aligned, out, func)
    if type(a) is np.ndarray and type(b) is np.ndarray and (out is None or type(out) is np.ndarray):
        kind = dispatch.NUMPY  # the common case, without asking every backend
    else:  # crowd flags may come from the host
        kind = dispatch.common_kind(func, a=a, b=b, out=out)
        _refuse_unsupported(kind, func, threshold=threshold, out=out)
    a_in, b_in = _boxes(a, kind, "a", func), _boxes(b, kind, "b", func)
    shape_a, shape_b = dispatch.shape_of(a_in), dispatch.shape_of(b_in)
    if len(shape_a) == 2 and len(shape_b) == 2:  # the common case, without NumPy's broadcast
        batch = ()
    else:
        batch = check.broadcast_batch(shape_a[:-2], shape_b[:-2], func)
    if aligned:
        check.check_same_length(shape_a[-2], shape_b[-2], func)
    if threshold is not None and (len(shape_a) != 2 or len(shape_b) != 2):
        raise ValueError(f"{func}: threshold= needs 2-D (N, 4) inputs, without aligned= or out=")
    if crowd is not None:
        crowd = _crowd_flags(crowd, batch, shape_b[-2], func)
        metric = "crowd_iou"
    job = BoxJob(func, metric, kind, a_in, b_in, (a, b), fmt=fmt, aligned=aligned, offset=offset)
    job.eps, job.over, job.crowd, job.threshold = eps, over, crowd, threshold
    job.out, job.validate, job.batch = out, validate, batch
    return job


def single_job(
    func: str, metric: str, a: Any, fmt: str, pixel_offset: int, validate: bool, dst: str = "xyxy"
) -> BoxJob:
    """The job of a one-set function (``box_area``, ``box_convert``)."""
    offset = check.check_pixel_offset(pixel_offset, func)
    validate = _check_bool(validate, "validate", func)
    kind = dispatch.common_kind(func, a=a)
    _refuse_unsupported(kind, func)
    a_in = _boxes(a, kind, "a", func)
    return BoxJob(
        func, metric, kind, a_in, None, (a,), fmt=fmt, dst=dst, offset=offset, validate=validate
    )
