"""Box IoU and its relatives: the public front-end.

Each function validates and normalises its inputs, picks the kernel for the
input's kind (NumPy and array-likes here; CUDA and Dask through their backends)
and gives the result back in the caller's library.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from ._boxes import cpu, rotated_route
from ._boxes import inputs as prep
from ._boxes.cpu import SERIAL_PAIRS  # noqa: F401 (documented as boxes.SERIAL_PAIRS)
from ._boxes.job import BoxJob, pairwise_job, single_job
from ._core import dispatch
from ._core import validate as check


def _pairwise(func: str, metric: str, a: Any, b: Any, fmt: Any, *args: Any, **options: Any) -> Any:
    """Rotated formats take their own route; every other call builds one job."""
    if rotated_route.is_rotated(fmt):
        return rotated_route.pairwise(func, metric, a, b, fmt, *args, **options)
    return _run(pairwise_job(func, metric, a, b, fmt, *args, **options))


def _run(job: BoxJob) -> Any:
    """Hand ``job`` to the runner of its kind once, and give the result back once."""
    if job.kind != dispatch.NUMPY:
        return dispatch.backend(job.kind, job.func).run_boxes(job)
    result = cpu.run_boxes(job)
    if job.out is not None or job.threshold is not None:  # the caller's array / a sparse matrix
        return result
    if all(type(x) is np.ndarray for x in job.inputs):
        return result
    return dispatch.restore(result, *job.inputs)


_COMMON_PARAMETERS = """
    a : array_like, shape (..., N, 4)
        Boxes: NumPy arrays, lists, torch CPU tensors or anything with
        ``__array__`` / ``__dlpack__``. Leading batch dimensions broadcast against
        those of ``b``.
    b : array_like, shape (..., M, 4)
        The second set of boxes.
    fmt : {"xyxy", "xywh", "cxcywh", "cxcywha", "cxcywhr"}, default "xyxy"
        Box format of both inputs. The rotated formats take ``(..., N, 5)`` boxes
        (centre, size, angle: ``"cxcywha"`` in degrees as detectron2,
        ``"cxcywhr"`` in radians as mmcv) in box_iou, box_ioa and box_giou.
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


# Each public function spells out its own signature (help(), IDEs and inspect.signature
# show the real keywords) and docstring; `duplicates` lists these signatures as alike.
# The bodies are one line: build the job, run it.


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
        fmt,
        aligned,
        pixel_offset,
        out,
        validate,
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
    return _pairwise("box_giou", "giou", a, b, fmt, aligned, pixel_offset, out, validate)


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
    return _pairwise("box_diou", "diou", a, b, fmt, aligned, pixel_offset, out, validate, eps=eps)


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
    return _pairwise("box_ciou", "ciou", a, b, fmt, aligned, pixel_offset, out, validate, eps=eps)


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
    return _pairwise("box_ioa", "ioa", a, b, fmt, aligned, pixel_offset, out, validate, over=over)


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
    if rotated_route.is_rotated(fmt):
        return rotated_route.area(a, fmt=fmt, pixel_offset=pixel_offset, validate=validate)
    check.check_choice(fmt, check.BOX_FORMATS, "fmt", "box_area")
    return _run(single_job("box_area", "area", a, fmt, pixel_offset, validate))


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
    if rotated_route.is_rotated(src):
        return rotated_route.convert(a, src, dst, validate=validate)
    check.check_choice(src, check.BOX_FORMATS, "src" if in_fmt is None else "in_fmt", func)
    check.check_choice(dst, check.BOX_FORMATS, "dst" if out_fmt is None else "out_fmt", func)
    return _run(single_job(func, "convert", a, src, 0, validate, dst=dst))
