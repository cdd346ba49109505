"""Box IoU and its relatives: the public front-end.

Each function validates and normalises its inputs, picks the kernel for the
input's kind (NumPy and array-likes here; CUDA and Dask through their backends)
and gives the result back in the caller's library.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np

from ._boxes import inputs as prep
from ._core import dispatch
from ._core import validate as check
from ._core.dtypes import float_types

_loaded: dict[str, Any] = {}

SERIAL_PAIRS = 1 << 15
"""Pairwise IoU of at most this many pairs runs in one thread (waking the pool costs more)."""


def _kernels() -> Any:
    """The CPU box kernels, imported on first use (importing ioukit compiles nothing)."""
    if "cpu" not in _loaded:
        from ._core import jit as _numba
        from .kernels import cpu_boxes

        _loaded["cpu"], _loaded["parallel_call"] = cpu_boxes, _numba.parallel_call
    return _loaded["cpu"]


def _parallel_call(kernel: Any, *args: Any) -> Any:
    _kernels()
    return _loaded["parallel_call"](kernel, *args)


def _features(boxes: np.ndarray, fmt: str, offset: Any) -> np.ndarray:
    kernels = _kernels()
    feats = np.empty((boxes.shape[0], kernels.N_FEATURES, boxes.shape[1]), dtype=boxes.dtype)
    kernels.box_features(boxes, kernels.FORMAT_CODES[fmt], offset, feats)
    return feats


def _pairwise(
    func: str,
    metric: str,
    a: Any,
    b: Any,
    *,
    fmt: str,
    aligned: bool,
    pixel_offset: int,
    out: Any,
    validate: bool,
    crowd: Any = None,
    over: str = "a",
    eps: float = 1e-7,
    threshold: float | None = None,
) -> Any:
    kind = dispatch.common_kind(func, a=a, b=b, out=out)  # crowd flags may come from the host
    if kind != dispatch.NUMPY:
        options = dict(
            fmt=fmt,
            aligned=aligned,
            pixel_offset=pixel_offset,
            out=out,
            validate=validate,
            crowd=crowd,
            over=over,
            eps=eps,
        )
        if threshold is not None:
            options["threshold"] = threshold
        return dispatch.backend(kind, func).pairwise_boxes(func, metric, a, b, **options)
    check.check_choice(fmt, check.BOX_FORMATS, "fmt", func)
    offset_value = check.check_pixel_offset(pixel_offset, func)
    a_np = prep.host_boxes(a, "a", func)
    b_np = prep.host_boxes(b, "b", func)
    compute, result = float_types(a_np.dtype, b_np.dtype)
    a_np, big_a = prep.checked(a_np, compute, fmt, validate, "a", func)
    b_np, big_b = prep.checked(b_np, compute, fmt, validate, "b", func)
    batch = check.broadcast_batch(a_np.shape[:-2], b_np.shape[:-2], func)
    n, m = a_np.shape[-2], b_np.shape[-2]
    if aligned:
        check.check_same_length(n, m, func)
    shape = batch + ((n,) if aligned else (n, m))
    flags = None
    if crowd is not None:
        flags = check.check_flags(crowd, batch + (m,), "crowd", func)
        metric = "crowd_iou"
    compute, scale = prep.overflow_guard(compute, max(big_a, big_b))

    if threshold is not None:
        return _thresholded(
            a_np, b_np, flags, fmt, offset_value, compute, scale, threshold, aligned, out, func
        )
    buffer, copy_into = prep.result_buffer(out, shape, result, compute, func)
    n_batch = math.prod(batch)
    if buffer.size:
        offset = compute.type(offset_value * scale)
        eps_value = compute.type(eps * scale * scale)
        fa = _features(prep.scaled(prep.batched(a_np, batch, compute), scale), fmt, offset)
        fb = _features(prep.scaled(prep.batched(b_np, batch, compute), scale), fmt, offset)
        target = buffer.reshape((n_batch,) + shape[len(batch) :])
        _run_kernel(metric, aligned, fa, fb, flags, n_batch, m, over, offset, eps_value, target)
    if copy_into is not None:
        copy_into[...] = buffer
        return out
    if out is not None:
        return out
    return dispatch.restore(buffer.astype(result, copy=False), a, b)


def _thresholded(
    a_np, b_np, flags, fmt, offset_value, compute, scale, threshold, aligned, out, func
):
    """The sparse path of ``box_iou(..., threshold=t)``."""
    if aligned or out is not None or a_np.ndim != 2 or b_np.ndim != 2:
        raise ValueError(f"{func}: threshold= needs 2-D (N, 4) inputs, without aligned= or out=")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.integer, np.floating))
        or not 0 < threshold <= 1
    ):
        raise ValueError(f"{func}: threshold must be in (0, 1], got {threshold!r}")
    from ._boxes.sparse_grid import sparse_box_iou

    offset = compute.type(offset_value * scale)
    fa = _features(prep.scaled(prep.batched(a_np, (), compute), scale), fmt, offset)[0]
    fb = _features(prep.scaled(prep.batched(b_np, (), compute), scale), fmt, offset)[0]
    crowd = (
        prep.flat_flags(flags, 1, b_np.shape[0])[0]
        if flags is not None
        else np.zeros(b_np.shape[0], bool)
    )
    result = sparse_box_iou(fa, fb, np.ascontiguousarray(crowd), offset, float(threshold))
    _, result_dtype = float_types(a_np.dtype, b_np.dtype)
    return result.astype(result_dtype, copy=False)


def _run_kernel(
    metric: str,
    aligned: bool,
    fa: np.ndarray,
    fb: np.ndarray,
    flags: np.ndarray | None,
    n_batch: int,
    m: int,
    over: str,
    offset: Any,
    eps: Any,
    target: np.ndarray,
) -> None:
    k = _kernels()
    over_code = k.OVER_CODES[over]
    if aligned:
        crowd = prep.flat_flags(flags, n_batch, m)
        _parallel_call(
            k.aligned_metric, k.METRIC_CODES[metric], fa, fb, crowd, over_code, offset, eps, target
        )
    elif metric == "iou" and target.size <= SERIAL_PAIRS:  # compile-time: no pool wake-up
        k.pairwise_iou_serial(fa, fb, offset, target)
    elif metric == "iou":
        _parallel_call(k.pairwise_iou, fa, fb, offset, target)
    elif metric == "crowd_iou":
        _parallel_call(
            k.pairwise_crowd_iou, fa, fb, prep.flat_flags(flags, n_batch, m), offset, target
        )
    elif metric == "ioa":
        _parallel_call(k.pairwise_ioa, fa, fb, over_code, offset, target)
    elif metric == "giou":
        _parallel_call(k.pairwise_giou, fa, fb, offset, target)
    elif metric == "diou":
        _parallel_call(k.pairwise_diou, fa, fb, offset, eps, target)
    else:
        _parallel_call(k.pairwise_ciou, fa, fb, offset, eps, target)


_COMMON_PARAMETERS = """
    a : array_like, shape (..., N, 4)
        Boxes: NumPy arrays, lists, torch CPU tensors or anything with
        ``__array__`` / ``__dlpack__``. Leading batch dimensions broadcast against
        those of ``b``.
    b : array_like, shape (..., M, 4)
        The second set of boxes.
    fmt : {"xyxy", "xywh", "cxcywh"}, default "xyxy"
        Box format of both inputs.
    aligned : bool, default False
        If True, compare ``a[..., i]`` with ``b[..., i]`` only (N == M) and return
        shape ``(..., N)``; else every pair, shape ``(..., N, M)``.
    pixel_offset : {0, 1}, default 0
        1 for the legacy Pascal VOC / cython_bbox convention, width = x2 - x1 + 1.
    out : ndarray, optional
        Preallocated NumPy array (or torch CPU tensor) of the result's shape and
        dtype, filled in place and returned. Anything else is a TypeError.
    validate : bool, default True
        Check that every box is finite with non-negative extent (an O(N + M)
        pass); False skips it, and invalid boxes then give unspecified values."""

_RETURNS = """
    Returns
    -------
    ndarray or tensor
        The metric, shape ``(..., N, M)`` (``(..., N)`` when aligned): float32
        for float32 or half (float16, bfloat16) input, float64 for float64 or
        integer input; a torch tensor when an input was one. With ``threshold``,
        a ``scipy.sparse.csr_array``. Finite boxes never give NaN or inf,
        however large.

    Raises
    ------
    ValueError
        Wrong shape, a non-finite box or negative extent (naming the argument and
        row), batch shapes that do not broadcast, a bad option, ``out`` of the
        wrong shape.
    TypeError
        Non-numeric input, inputs from different libraries/devices, a torch
        tensor that requires grad, ``out`` that is not an array of the result's
        dtype."""


def box_iou(
    a: Any,
    b: Any,
    *,
    fmt: str = "xyxy",
    aligned: bool = False,
    pixel_offset: int = 0,
    out: Any = None,
    validate: bool = True,
    crowd: Any = None,
    threshold: float | None = None,
) -> Any:
    """Intersection over union of boxes.

    Parameters
    ----------
    {common}
    crowd : array_like of bool, shape (M,) or (..., M), optional
        Marks crowd regions among ``b``: exactly one flag per box of ``b`` (a
        single flag is not spread over every box). Against a crowd box the union
        is the area of the ``a`` box (pycocotools' rule: ``a`` are detections,
        ``b`` ground truth).
    threshold : float in (0, 1], optional
        Return only the pairs with IoU >= threshold, as a ``scipy.sparse.csr_array``
        (N, M), found through a spatial grid without forming the N x M matrix: a
        million boxes against a million fit in memory. 2-D inputs only.

    {returns}

    Examples
    --------
    >>> import ioukit
    >>> ioukit.box_iou([[0, 0, 10, 10]], [[5, 5, 15, 15], [0, 0, 10, 10]])
    array([[0.14285714, 1.        ]])
    >>> ioukit.box_iou([[0, 0, 10, 10]], [[0, 0, 20, 20]], crowd=[True])
    array([[1.]])
    >>> ioukit.box_iou([[0, 0, 10, 10]], [[5, 5, 15, 15], [0, 0, 10, 9]], threshold=0.5).toarray()
    array([[0. , 0.9]])
    """
    return _pairwise(
        "box_iou",
        "iou",
        a,
        b,
        fmt=fmt,
        aligned=aligned,
        pixel_offset=pixel_offset,
        out=out,
        validate=validate,
        crowd=crowd,
        threshold=threshold,
    )


def box_giou(
    a: Any,
    b: Any,
    *,
    fmt: str = "xyxy",
    aligned: bool = False,
    pixel_offset: int = 0,
    out: Any = None,
    validate: bool = True,
) -> Any:
    """Generalised IoU: ``IoU - (C - U) / C`` with C the smallest enclosing box.

    Values lie in [-1, 1]. A zero-area enclosing box contributes no penalty.

    Parameters
    ----------
    {common}

    {returns}

    Examples
    --------
    >>> import ioukit
    >>> ioukit.box_giou([[0, 0, 1, 1]], [[1, 1, 2, 2]])
    array([[-0.5]])
    """
    return _pairwise(
        "box_giou",
        "giou",
        a,
        b,
        fmt=fmt,
        aligned=aligned,
        pixel_offset=pixel_offset,
        out=out,
        validate=validate,
    )


def box_diou(
    a: Any,
    b: Any,
    *,
    fmt: str = "xyxy",
    aligned: bool = False,
    pixel_offset: int = 0,
    out: Any = None,
    validate: bool = True,
    eps: float = 1e-7,
) -> Any:
    """Distance IoU: ``IoU - d^2 / (c^2 + eps)``.

    ``d`` is the distance between the box centres and ``c`` the diagonal of the
    smallest enclosing box, as in ``torchvision.ops.distance_box_iou``.

    Parameters
    ----------
    {common}
    eps : float, default 1e-7
        Added to ``c^2`` as torchvision does.

    {returns}

    Examples
    --------
    >>> import ioukit
    >>> ioukit.box_diou([[0, 0, 100, 100]], [[0, 0, 50, 50]])
    array([[0.1875]])
    """
    return _pairwise(
        "box_diou",
        "diou",
        a,
        b,
        fmt=fmt,
        aligned=aligned,
        pixel_offset=pixel_offset,
        out=out,
        validate=validate,
        eps=eps,
    )


def box_ciou(
    a: Any,
    b: Any,
    *,
    fmt: str = "xyxy",
    aligned: bool = False,
    pixel_offset: int = 0,
    out: Any = None,
    validate: bool = True,
    eps: float = 1e-7,
) -> Any:
    """Complete IoU: ``DIoU - alpha * v`` with the aspect-ratio term ``v``.

    ``v = 4 / pi^2 * (atan(w_a / h_a) - atan(w_b / h_b))^2`` and
    ``alpha = v / (1 - IoU + v + eps)``, as in ``torchvision.ops.complete_box_iou``;
    the angle is computed as ``atan2(w, h)`` so zero-height boxes stay finite.

    Parameters
    ----------
    {common}
    eps : float, default 1e-7
        As in torchvision.

    {returns}

    Examples
    --------
    >>> import ioukit
    >>> ioukit.box_ciou([[0, 0, 2, 1]], [[0, 0, 1, 2]]).round(4)
    array([[0.2371]])
    """
    return _pairwise(
        "box_ciou",
        "ciou",
        a,
        b,
        fmt=fmt,
        aligned=aligned,
        pixel_offset=pixel_offset,
        out=out,
        validate=validate,
        eps=eps,
    )


def box_ioa(
    a: Any,
    b: Any,
    *,
    fmt: str = "xyxy",
    aligned: bool = False,
    pixel_offset: int = 0,
    out: Any = None,
    validate: bool = True,
    over: str = "a",
) -> Any:
    """Intersection over area (IoA / IoF): intersection divided by one box's area.

    Parameters
    ----------
    {common}
    over : {"a", "b", "min"}, default "a"
        Divide by the area of the ``a`` box, of the ``b`` box (detectron2's
        ``pairwise_ioa``), or of the smaller of the two (supervision's IoS).

    {returns}

    Examples
    --------
    >>> import ioukit
    >>> ioukit.box_ioa([[0, 0, 10, 10]], [[2, 2, 8, 8]])
    array([[0.36]])
    >>> ioukit.box_ioa([[0, 0, 10, 10]], [[2, 2, 8, 8]], over="min")
    array([[1.]])
    """
    check.check_choice(over, ("a", "b", "min"), "over", "box_ioa")
    return _pairwise(
        "box_ioa",
        "ioa",
        a,
        b,
        fmt=fmt,
        aligned=aligned,
        pixel_offset=pixel_offset,
        out=out,
        validate=validate,
        over=over,
    )


def _splice(doc: str, **blocks: str) -> str:
    """``doc`` with each line that holds only ``{name}`` replaced by ``blocks[name]``,
    re-indented to that line's indentation (docstrings are indented in the source
    before Python 3.13 and dedented by the compiler from 3.13 on)."""
    lines = []
    for line in doc.splitlines():
        key = line.strip()
        if key.startswith("{") and key.endswith("}") and key[1:-1] in blocks:
            indent = line[: len(line) - len(line.lstrip())]
            block = textwrap.dedent(blocks[key[1:-1]]).strip("\n")
            lines.extend(indent + row if row else "" for row in block.splitlines())
        else:
            lines.append(line)
    return "\n".join(lines) + ("\n" if doc.endswith("\n") else "")


for _f in (box_iou, box_giou, box_diou, box_ciou, box_ioa):
    _f.__doc__ = _splice(_f.__doc__, common=_COMMON_PARAMETERS, returns=_RETURNS)
del _f


def _single_set(
    func: str, a: Any, fmt: str, pixel_offset: int, validate: bool
) -> tuple[np.ndarray, tuple[int, ...], np.dtype, np.dtype, float]:
    """``(boxes as a (B, N, 4) array of the compute dtype, the input's shape, result
    dtype, the coordinate scale)``: see :func:`_overflow_guard` for the last two."""
    kind = dispatch.common_kind(func, a=a)
    if kind != dispatch.NUMPY:
        raise TypeError(f"{func}: {kind} inputs are not supported")
    check.check_choice(fmt, check.BOX_FORMATS, "fmt", func)
    check.check_pixel_offset(pixel_offset, func)
    arr = prep.host_boxes(a, "a", func)
    compute, result = float_types(arr.dtype)
    arr, magnitude = prep.checked(arr, compute, fmt, validate, "a", func)
    compute, scale = prep.overflow_guard(compute, magnitude)
    n_batch = math.prod(arr.shape[:-2])
    boxes = prep.scaled(np.asarray(arr.reshape((n_batch,) + arr.shape[-2:]), dtype=compute), scale)
    return boxes, arr.shape, result, scale


def box_area(a: Any, *, fmt: str = "xyxy", pixel_offset: int = 0, validate: bool = True) -> Any:
    """Area of each box.

    Parameters
    ----------
    a : array_like, shape (..., N, 4)
        Boxes.
    fmt : {"xyxy", "xywh", "cxcywh"}, default "xyxy"
        Box format.
    pixel_offset : {0, 1}, default 0
        1 for the legacy convention, area = (x2 - x1 + 1) * (y2 - y1 + 1).
    validate : bool, default True
        Check that every box is finite with non-negative extent.

    Returns
    -------
    ndarray, shape (..., N)
        Areas, with the dtype rules of :func:`box_iou` (float16 boxes give float32
        areas). An area past the result dtype's largest value is inf (IEEE
        overflow, as torchvision); finite boxes never give NaN.

    Examples
    --------
    >>> import ioukit
    >>> ioukit.box_area([[0, 0, 100, 100], [0, 0, 0, 0]])
    array([10000.,     0.])
    """
    boxes, shape, result, scale = _single_set("box_area", a, fmt, pixel_offset, validate)
    areas = np.empty(boxes.shape[:2], dtype=boxes.dtype)
    if areas.size:
        k = _kernels()
        offset = boxes.dtype.type(pixel_offset * scale)
        _parallel_call(k.box_area, boxes, k.FORMAT_CODES[fmt], offset, areas)
    return dispatch.restore(prep.unscaled(areas, scale, 2, result).reshape(shape[:-1]), a)


def box_convert(
    a: Any,
    src: str | None = None,
    dst: str | None = None,
    *,
    in_fmt: str | None = None,
    out_fmt: str | None = None,
    validate: bool = True,
) -> Any:
    """Convert boxes between the ``xyxy``, ``xywh`` and ``cxcywh`` formats.

    Parameters
    ----------
    a : array_like, shape (..., N, 4)
        Boxes in format ``src``.
    src, dst : {"xyxy", "xywh", "cxcywh"}
        Source and destination formats.
    in_fmt, out_fmt : {"xyxy", "xywh", "cxcywh"}, optional
        torchvision's names for ``src`` and ``dst`` (``box_convert(boxes, in_fmt=,
        out_fmt=)``); giving both spellings of one is a TypeError.
    validate : bool, default True
        Check that every box is finite with non-negative extent.

    Returns
    -------
    ndarray, shape (..., N, 4)
        Floating point boxes (integers become float64, half precision float32).
        A coordinate past the dtype's range is inf.

    Examples
    --------
    >>> import ioukit
    >>> ioukit.box_convert([[10, 20, 30, 40]], "xywh", "xyxy")
    array([[10., 20., 40., 60.]])
    >>> ioukit.box_convert([[10, 20, 40, 60]], in_fmt="xyxy", out_fmt="cxcywh")
    array([[25., 40., 30., 40.]])
    """
    func = "box_convert"
    src = prep.one_spelling(src, in_fmt, "src", "in_fmt", func)
    dst = prep.one_spelling(dst, out_fmt, "dst", "out_fmt", func)
    check.check_choice(src, check.BOX_FORMATS, "src" if in_fmt is None else "in_fmt", func)
    check.check_choice(dst, check.BOX_FORMATS, "dst" if out_fmt is None else "out_fmt", func)
    boxes, shape, result, scale = _single_set(func, a, src, 0, validate)
    converted = np.empty_like(boxes)
    if converted.size:
        k = _kernels()
        _parallel_call(k.box_convert, boxes, k.FORMAT_CODES[src], k.FORMAT_CODES[dst], converted)
    return dispatch.restore(prep.unscaled(converted, scale, 1, result).reshape(shape), a)
