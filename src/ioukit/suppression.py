"""Non-maximum suppression: ``nms``, ``batched_nms``, ``soft_nms`` and ``mask_nms``.

Boxes may be axis-aligned (``fmt="xyxy" | "xywh" | "cxcywh"``) or rotated
(``fmt="cxcywha" | "cxcywhr"``). Indices come back as int64 in decreasing score;
torch tensors in give torch tensors out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._boxes import rotated as _rotated
from ._core import dispatch
from ._core import validate as check
from ._core.dtypes import float_types

AXIS_FORMATS = ("xyxy", "xywh", "cxcywh")
FORMATS = AXIS_FORMATS + _rotated.ROTATED_FORMATS
MAX_CELLS = 1 << 22


def _kernels() -> Any:
    from .kernels import cpu_nms

    return cpu_nms


def _scores(x: Any, n: int, func: str) -> np.ndarray:
    arr = _rotated.host_array(x, "scores", func)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{func}: scores must have shape ({n},) (one per box), got {arr.shape}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{func}: scores[{row}] is {float(arr[row])!r}; scores must be finite")
    return arr


def _number(value: Any, name: str, func: str, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{func}: {name} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{func}: {name} must be finite, got {value!r}")
    return float(value)


def _max_output(value: Any, n: int, func: str) -> int:
    if value is None:
        return n
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{func}: max_output must be a non-negative integer, got {value!r}")
    return int(min(value, n))


def _boxes(boxes: Any, fmt: str, validate: bool, func: str) -> tuple[np.ndarray, np.dtype]:
    """``(validated (N, 4|5) array in the compute dtype, compute dtype)``."""
    check.check_choice(fmt, FORMATS, "fmt", func)
    arr = _rotated.host_array(boxes, "boxes", func)
    compute, _result = float_types(arr.dtype)
    if fmt in AXIS_FORMATS:
        check.check_box_shape(arr, "boxes", func)
        arr = np.ascontiguousarray(arr, dtype=compute)
        if validate:
            check.check_box_values(arr, fmt, "boxes", func)
    else:
        arr = _rotated.rotated_boxes(arr, fmt, compute, validate, "boxes", func)
    if arr.ndim != 2:
        raise ValueError(f"{func}: boxes must be 2-D (N, {arr.shape[-1]}), got shape {arr.shape}")
    return arr, compute


def _xyxy_planes(arr: np.ndarray, fmt: str) -> np.ndarray:
    """(5, N) planes x0, y0, x1, y1, area in the compute dtype (torchvision's arithmetic)."""
    p, q, r, t = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
    half = arr.dtype.type(0.5)
    if fmt == "xyxy":
        x0, y0, x1, y1 = p, q, r, t
    elif fmt == "xywh":
        x0, y0, x1, y1 = p, q, p + r, q + t
    else:
        x0, y0, x1, y1 = p - half * r, q - half * t, p + half * r, q + half * t
    planes = np.empty((5, arr.shape[0]), dtype=arr.dtype)
    planes[0], planes[1], planes[2], planes[3] = x0, y0, x1, y1
    planes[4] = (x1 - x0) * (y1 - y0)
    return planes


def _shapes(boxes: np.ndarray, fmt: str) -> tuple[bool, np.ndarray, np.ndarray]:
    """``(rotated, planes, geo)``: xyxy planes (5, N) of axis-aligned boxes or geometry
    rows (N, 12) of rotated ones (the other a placeholder)."""
    if fmt in _rotated.ROTATED_FORMATS:
        geo = _rotated.box_geometry(boxes[None], fmt)[0]
        return True, np.zeros((5, 1), dtype=np.float64), geo
    return False, _xyxy_planes(boxes, fmt), np.zeros((1, 12), dtype=np.float64)


def _grid(lo_x, lo_y, hi_x, hi_y):
    """The culling grid over sorted boxes (cells about their median side)."""
    k = _kernels()
    sides = np.concatenate([hi_x - lo_x, hi_y - lo_y]).astype(np.float64)
    side = float(max(np.median(sides), 1e-300))
    ox, oy = float(lo_x.min()), float(lo_y.min())
    span_x, span_y = float(hi_x.max()) - ox, float(hi_y.max()) - oy
    if not (math.isfinite(span_x) and math.isfinite(span_y)):
        return None
    side = max(side, span_x / 4096.0, span_y / 4096.0, 1e-300)
    while (math.floor(span_x / side) + 1) * (math.floor(span_y / side) + 1) > MAX_CELLS:
        side *= 2.0
    nx, ny = math.floor(span_x / side) + 1, math.floor(span_y / side) + 1
    start, items, big = k.build_grid(lo_x, lo_y, hi_x, hi_y, ox, oy, side, nx, ny)
    return (start, items, big, np.flatnonzero(big), ox, oy, side, nx, ny, lo_x, lo_y, hi_x, hi_y)


def _sorted_keep(
    arr: np.ndarray, fmt: str, order: np.ndarray, threshold: float, max_output: int,
    labels: np.ndarray | None = None, like: Any = None,
) -> np.ndarray:  # fmt: skip
    """Greedy NMS over the boxes ``arr[order]``: the kept positions in ``order``.

    ``like`` a CUDA array: the IoU bit mask is computed on its device (boxes of
    different ``labels`` never suppress each other); otherwise the CPU's grid."""
    k = _kernels()
    rotated, planes, geo = _shapes(arr[order], fmt)
    if rotated:
        cx, cy, rad = geo[:, 0], geo[:, 1], geo[:, 3]
        lo_x, lo_y, hi_x, hi_y = cx - rad, cy - rad, cx + rad, cy + rad
    else:
        lo_x, lo_y, hi_x, hi_y = (np.ascontiguousarray(planes[i]) for i in range(4))
    if like is not None:
        from .backends import cuda

        same = np.zeros(order.size, dtype=np.int64) if labels is None else labels[order]
        return cuda.nms_keep(like, planes, geo, rotated, same, threshold, max_output)
    grid = _grid(lo_x, lo_y, hi_x, hi_y) if threshold >= 0 else None
    use_grid = grid is not None
    if grid is None:
        empty = np.zeros(1, dtype=np.int64)
        grid = (empty, empty, np.zeros(1, np.bool_), empty, 0.0, 0.0, 1.0, 1, 1,
                lo_x, lo_y, hi_x, hi_y)  # fmt: skip
    return k.greedy(planes, geo, rotated, threshold, max_output, grid, use_grid)


def _device(func: str, **arrays: Any) -> Any:
    """The first CUDA array of ``arrays`` (all in one place, else TypeError), or None."""
    kind = dispatch.common_kind(func, **arrays)
    if kind != dispatch.CUDA:
        return None
    return next(x for x in arrays.values() if x is not None)


def _give_back(result: np.ndarray, like: Any, *inputs: Any) -> Any:
    """``result`` on the device of ``like`` (a CUDA array), else restored for ``inputs``."""
    if like is not None:
        from .backends import cuda

        return cuda.like_input(result, like)
    return dispatch.restore(result, *inputs)


def _prepare(func, boxes, scores, iou_threshold, fmt, max_output, score_threshold, validate):
    """Host copies of CUDA boxes and scores (O(N), small beside the N^2 IoU tests),
    checked; the candidates in decreasing score."""
    boxes, scores = dispatch.small_to_host(boxes), dispatch.small_to_host(scores)
    arr, compute = _boxes(boxes, fmt, validate, func)
    n = arr.shape[0]
    sc = _scores(scores, n, func)
    threshold = _number(iou_threshold, "iou_threshold", func)
    limit = _max_output(max_output, n, func)
    floor = _number(score_threshold, "score_threshold", func, allow_none=True)
    candidates = np.arange(n, dtype=np.int64) if floor is None else np.flatnonzero(sc > floor)
    # decreasing score, equal scores in increasing index (stable, unlike torch's CPU sort)
    order = candidates[np.argsort(-sc[candidates], kind="stable")]
    return arr, compute, sc, threshold, limit, order


def nms(
    boxes: Any,
    scores: Any,
    iou_threshold: float,
    *,
    fmt: str = "xyxy",
    max_output: int | None = None,
    score_threshold: float | None = None,
    validate: bool = True,
) -> Any:
    """Greedy non-maximum suppression, as ``torchvision.ops.nms``.

    Boxes are visited in decreasing score; a box is dropped when its IoU with an
    already kept box is strictly greater than ``iou_threshold``, computed with
    torchvision's arithmetic. Equal scores are visited lower index first (a stable
    sort): torchvision sorts with torch's unstable CPU sort (``std::sort`` or
    x86-simd-sort, depending on the build), so its own order of ties is unspecified;
    for distinct scores the results are identical.

    Parameters
    ----------
    boxes : array_like, shape (N, 4) or (N, 5)
        Axis-aligned boxes in ``fmt`` or rotated boxes (``cxcywha`` / ``cxcywhr``).
    scores : array_like, shape (N,)
        Finite scores.
    iou_threshold : float
        Suppress boxes whose IoU with a kept box is above this.
    fmt : {"xyxy", "xywh", "cxcywh", "cxcywha", "cxcywhr"}, default "xyxy"
    max_output : int, optional
        Keep at most this many boxes (the best ones).
    score_threshold : float, optional
        Boxes with a score not above this are dropped first.
    validate : bool, default True
        Check the boxes (finite, non-negative sides); ``False`` skips it.

    Returns
    -------
    ndarray of int64, shape (K,)
        Indices of the kept boxes in decreasing score (a torch tensor for torch input).

    Raises
    ------
    ValueError
        Bad shapes, invalid boxes, non-finite scores or thresholds.

    Examples
    --------
    >>> import ioukit
    >>> boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]]
    >>> ioukit.nms(boxes, [0.9, 0.8, 0.7], 0.5)
    array([0, 2])
    >>> ioukit.nms([[5, 5, 10, 4, 0], [5, 5, 10, 4, 90]], [0.9, 0.8], 0.3, fmt="cxcywha")
    array([0, 1])
    """
    func = "nms"
    like = _device(func, boxes=boxes, scores=scores)
    arr, _compute, _sc, threshold, limit, order = _prepare(
        func, boxes, scores, iou_threshold, fmt, max_output, score_threshold, validate
    )
    if order.size == 0 or limit == 0:
        return _give_back(np.zeros(0, dtype=np.int64), like, boxes, scores)
    kept = _sorted_keep(arr, fmt, order, threshold, limit, like=like)
    return _give_back(order[kept], like, boxes, scores)


# duplicates pairs this keyword list with nms's above: deliberate, each public function
# spells out torchvision's keywords (no shared logic; both call _prepare)
def batched_nms(
    boxes: Any,
    scores: Any,
    labels: Any,
    iou_threshold: float,
    *,
    fmt: str = "xyxy",
    max_output: int | None = None,
    score_threshold: float | None = None,
    validate: bool = True,
) -> Any:
    """Class-aware NMS, as ``torchvision.ops.batched_nms``: boxes of different labels
    never suppress each other.

    Each label is suppressed on its own (no coordinate offset trick, so no rounding
    from shifted coordinates); the kept indices of all labels are returned in
    decreasing score (equal scores: lower index first), at most ``max_output``.

    Parameters
    ----------
    boxes, scores, iou_threshold, fmt, max_output, score_threshold, validate
        As in :func:`nms`.
    labels : array_like of int, shape (N,)
        The class of each box.

    Returns
    -------
    ndarray of int64, shape (K,)

    Examples
    --------
    >>> import ioukit
    >>> boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11]]
    >>> ioukit.batched_nms(boxes, [0.9, 0.8, 0.7], [0, 0, 1], 0.5)
    array([0, 2])
    """
    func = "batched_nms"
    like = _device(func, boxes=boxes, scores=scores, labels=labels)
    arr, _compute, sc, threshold, limit, order = _prepare(
        func, boxes, scores, iou_threshold, fmt, None, score_threshold, validate
    )
    limit = _max_output(max_output, arr.shape[0], func)
    lab = _rotated.host_array(dispatch.small_to_host(labels), "labels", func)
    if lab.ndim != 1 or lab.shape[0] != arr.shape[0]:
        raise ValueError(
            f"{func}: labels must have shape ({arr.shape[0]},) (one per box), got {lab.shape}"
        )
    if lab.dtype.kind not in "iu":
        raise TypeError(f"{func}: labels must be integers, got dtype {lab.dtype}")
    if order.size == 0 or limit == 0:
        return _give_back(np.zeros(0, dtype=np.int64), like, boxes, scores)
    if like is not None:  # one bit mask, pairs of different labels never set
        kept = _sorted_keep(arr, fmt, order, threshold, limit, labels=lab, like=like)
        return _give_back(order[kept], like, boxes, scores)
    by_label = order[np.argsort(lab[order], kind="stable")]  # grouped, score order inside
    cuts = np.flatnonzero(np.diff(lab[by_label])) + 1
    kept = [
        group[_sorted_keep(arr, fmt, group, threshold, limit)] for group in np.split(by_label, cuts)
    ]
    result = np.concatenate(kept)
    result = result[np.lexsort((result, -sc[result]))]  # decreasing score, then index
    return dispatch.restore(result[:limit], boxes, scores)


def soft_nms(
    boxes: Any,
    scores: Any,
    iou_threshold: float = 0.3,
    *,
    sigma: float = 0.5,
    method: str = "linear",
    fmt: str = "xyxy",
    score_threshold: float = 0.001,
    max_output: int | None = None,
    validate: bool = True,
) -> tuple[Any, Any]:
    """Soft-NMS (Bodla et al., ICCV 2017): decay the scores of overlapping boxes.

    Repeatedly select the box with the highest current score; multiply the score of
    every remaining box by ``1 - IoU`` where IoU > ``iou_threshold`` (``"linear"``)
    or by ``exp(-IoU^2 / sigma)`` (``"gaussian"``, ``iou_threshold`` unused). Boxes
    whose score falls to ``score_threshold`` or below are dropped. The same rule as
    ``ensemble_boxes.soft_nms`` (method 1 = linear, 2 = gaussian).

    Parameters
    ----------
    boxes, scores, fmt, max_output, validate
        As in :func:`nms`.
    iou_threshold : float, default 0.3
    sigma : float, default 0.5
        Gaussian width (> 0).
    method : {"linear", "gaussian"}, default "linear"
    score_threshold : float, default 0.001

    Returns
    -------
    indices : ndarray of int64, shape (K,)
        Selected boxes in selection order (decreasing decayed score).
    new_scores : ndarray of float64 (float32 for float32 scores), shape (K,)
        Their decayed scores.

    Examples
    --------
    >>> import ioukit
    >>> idx, new = ioukit.soft_nms([[0, 0, 10, 10], [0, 0, 10, 5]], [0.9, 0.8], 0.3)
    >>> idx, new.round(3)
    (array([0, 1]), array([0.9, 0.4]))
    """
    func = "soft_nms"
    check.check_choice(method, ("linear", "gaussian"), "method", func)
    s = _number(sigma, "sigma", func)
    if not s > 0:
        raise ValueError(f"{func}: sigma must be > 0, got {sigma!r}")
    like = _device(func, boxes=boxes, scores=scores)  # CUDA: computed on the host
    arr, _compute, sc, threshold, limit, _order = _prepare(
        func, boxes, scores, iou_threshold, fmt, max_output, None, validate
    )
    floor = _number(score_threshold, "score_threshold", func)
    rotated, planes, geo = _shapes(arr.astype(np.float64), fmt)
    idx, new = _kernels().soft(
        planes, geo, rotated, sc, threshold, s, method == "gaussian", floor, limit
    )
    score_arr = _rotated.host_array(dispatch.small_to_host(scores), "scores", func)
    new = new.astype(np.float32 if score_arr.dtype == np.float32 else np.float64)
    return _give_back(idx, like, boxes, scores), _give_back(new, like, scores)


def mask_nms(
    masks: Any,
    scores: Any,
    iou_threshold: float,
    *,
    max_output: int | None = None,
    score_threshold: float | None = None,
) -> Any:
    """Greedy NMS on instance masks (dense ``(N, H, W)`` or a list of COCO RLE dicts).

    The pairwise mask IoU of the candidates comes from :func:`ioukit.mask_iou`
    (memory N x N float64, fine for hundreds to a few thousand masks); the rule and
    order are those of :func:`nms`.

    Examples
    --------
    >>> import numpy as np, ioukit
    >>> m = np.zeros((3, 8, 8), bool); m[0, :4, :4] = m[1, :4, :3] = m[2, 4:, 4:] = True
    >>> ioukit.mask_nms(m, [0.9, 0.8, 0.7], 0.5)
    array([0, 2])
    """
    from .masks import mask_iou

    func = "mask_nms"
    if isinstance(masks, dict):
        masks = [masks]
    like = _device(func, masks=masks, scores=scores)
    n = len(masks) if isinstance(masks, (list, tuple)) else dispatch.shape_of(masks)[0]
    sc = _scores(dispatch.small_to_host(scores), n, func)
    threshold = _number(iou_threshold, "iou_threshold", func)
    limit = _max_output(max_output, n, func)
    floor = _number(score_threshold, "score_threshold", func, allow_none=True)
    candidates = np.arange(n, dtype=np.int64) if floor is None else np.flatnonzero(sc > floor)
    order = candidates[np.argsort(-sc[candidates], kind="stable")]
    if order.size == 0 or limit == 0:
        return _give_back(np.zeros(0, dtype=np.int64), like, scores)
    if like is not None:  # the N x N mask IoU on the device, the greedy pass on the host
        iou = np.ascontiguousarray(dispatch.small_to_host(mask_iou(masks, masks)), np.float64)
        kept = _kernels().greedy_matrix(iou, order, threshold, limit)  # indices, not ranks
        return _give_back(kept, like, scores)
    if isinstance(masks, (list, tuple)):
        subset = [masks[int(i)] for i in order]
    else:
        subset = dispatch.to_numpy(masks, "masks", func)[order]
    iou = np.ascontiguousarray(mask_iou(subset, subset), dtype=np.float64)
    kept = _kernels().greedy_matrix(iou, np.arange(order.size, dtype=np.int64), threshold, limit)
    return dispatch.restore(order[kept], scores)
