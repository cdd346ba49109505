"""Panoptic quality (PQ, SQ, RQ) on segment-id maps, streamed over a data set.

The rules are panopticapi's ``pq_compute`` (Kirillov et al., CVPR 2019):

* a ground-truth and a predicted segment of the same category match when their IoU
  is > 0.5 (so each segment matches at most once); pixels where the ground truth is
  *void* are taken out of the union: ``IoU = inter / (|gt| + |pred| - inter -
  |pred on void|)``;
* crowd ground-truth segments are never matched and never false negatives;
* an unmatched predicted segment is a false positive unless more than half of its
  pixels lie on void or on a crowd segment of its own category;
* per category ``PQ = sum(IoU of matches) / (TP + FP / 2 + FN / 2)``, ``SQ = sum(IoU)
  / TP`` (0 without matches) and ``RQ = TP / (TP + FP / 2 + FN / 2)``; the All /
  Things / Stuff numbers are plain means over the categories with TP + FP + FN > 0.

The per-image pixel table of (gt segment, predicted segment) pairs is counted by a
Numba kernel (``kernels/cpu_panoptic.py``); the matching is NumPy on that small table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._core import dispatch
from .._core.validate import format_index
from .panoptic_core import (
    DENSE_CELLS,
    PanopticResult,
    add_matches,
    match_segments,
    pixel_pairs,
    present_keys,
    result_from_counts,
    segment_pixels,
)

_KEPT_DTYPES = (np.uint8, np.uint16, np.int32, np.uint32, np.int64)

# ---------------------------------------------------------------- label-array API


def _ids_array(x: Any, name: str, func: str) -> np.ndarray:
    arr = dispatch.to_numpy(x, name, func)
    if arr.dtype.kind == "b":
        arr = arr.view(np.uint8)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{func}: {name} must hold integer segment ids, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3):
        raise ValueError(f"{func}: {name} must be (H, W) or (B, H, W), got shape {arr.shape}")
    return arr


def _common_dtype(a: np.dtype, b: np.dtype, arrays: Iterable[np.ndarray], func: str) -> np.dtype:
    promoted = np.promote_types(a, b)
    for kept in _KEPT_DTYPES:
        if np.can_cast(promoted, kept, casting="safe"):
            return np.dtype(kept)
    for arr in arrays:  # uint64 (or a promotion to float): values must fit int64
        if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{func}: segment id {int(arr.max())} does not fit in int64")
    return np.dtype(np.int64)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _segment_map(mapping: Any, void_id: int, name: str, func: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted int64 segment ids and their categories from ``{segment id: category id}``."""
    if not isinstance(mapping, Mapping):
        raise TypeError(
            f"{func}: {name} must map segment id -> category id, got {type(mapping).__name__}"
        )
    for seg, cat in mapping.items():
        if not _is_int(seg) or not _is_int(cat):
            raise ValueError(f"{func}: {name} entry {seg!r}: {cat!r} is not integer -> integer")
        if seg == void_id:
            raise ValueError(f"{func}: {name} maps the void id {void_id} to a category")
    keys = np.array(list(mapping.keys()), dtype=np.int64)
    cats = np.array(list(mapping.values()), dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    return keys[order], cats[order]


def _per_image(value: Any, batch: int, is_single: Callable[[Any], bool], name: str, func: str):
    if batch == 0:  # one image: the value itself
        return [value]
    if is_single(value):
        return [value] * batch
    if not isinstance(value, Sequence) or len(value) != batch:
        raise ValueError(
            f"{func}: for a batch of {batch} images, {name} must be one value shared by "
            f"all images or a sequence of {batch}"
        )
    return list(value)


def _crowd_ids(value: Any, func: str) -> set[int]:
    if value is None:
        return set()
    out = set()
    for v in value:
        if not _is_int(v):
            raise ValueError(f"{func}: gt_crowd must hold integer segment ids, got {v!r}")
        out.add(int(v))
    return out


class PanopticQuality:
    """Streaming panoptic quality over a data set, mergeable across workers.

    Parameters
    ----------
    things : collection of int, optional
        Category ids that are *things*; the others are *stuff*. Without it the
        result has only the ``All`` group.
    categories : sequence of int, optional
        The category ids to report, in order (a segment of another category is a
        ValueError). Default: every category seen, sorted.
    void_id : int, default 0
        Segment id of void (unlabelled) pixels, in both maps.
    names : sequence of str, optional
        A name per entry of ``categories``, shown by ``summary(per_class=True)``.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit.evaluate import PanopticQuality
    >>> gt = np.array([[1, 1, 2, 2], [1, 1, 2, 2]])
    >>> pred = np.array([[1, 1, 1, 2], [1, 1, 2, 2]])
    >>> metric = PanopticQuality(things={7})
    >>> metric.update(gt, pred, {1: 7, 2: 9}, {1: 7, 2: 9})
    >>> r = metric.compute()
    >>> round(r.pq, 4), r.tp.tolist(), r.groups["Things"]["n"]
    (0.775, [1, 1], 1)
    """

    def __init__(
        self,
        things: Collection[int] | None = None,
        categories: Sequence[int] | None = None,
        void_id: int = 0,
        names: Sequence[str] | None = None,
    ) -> None:
        func = "PanopticQuality"
        if not _is_int(void_id):
            raise ValueError(f"{func}: void_id must be an integer, got {void_id!r}")
        self.void_id = int(void_id)
        self.things = None if things is None else frozenset(int(t) for t in things)
        self.categories = None if categories is None else tuple(int(c) for c in categories)
        if self.categories is not None and len(set(self.categories)) != len(self.categories):
            raise ValueError(f"{func}: categories has duplicate ids")
        if names is not None and (self.categories is None or len(names) != len(self.categories)):
            raise ValueError(f"{func}: names needs categories= of the same length")
        self.names = None if names is None else tuple(names)
        self.counts: dict[int, list] = {}
        self.images = 0

    def _config(self) -> tuple:
        return (self.things, self.categories, self.void_id)

    def update(
        self,
        gt_ids: Any,
        pred_ids: Any,
        gt_categories: Mapping[int, int] | Sequence[Mapping[int, int]],
        pred_categories: Mapping[int, int] | Sequence[Mapping[int, int]],
        gt_crowd: Collection[int] | Sequence[Collection[int]] | None = None,
    ) -> None:
        """Add one image ``(H, W)`` or a batch ``(B, H, W)``; see :func:`panoptic_quality`."""
        func = "PanopticQuality.update"
        gt = _ids_array(gt_ids, "gt_ids", func)
        pred = _ids_array(pred_ids, "pred_ids", func)
        if gt.shape != pred.shape:
            raise ValueError(f"{func}: gt_ids has shape {gt.shape} but pred_ids has {pred.shape}")
        dtype = _common_dtype(gt.dtype, pred.dtype, (gt, pred), func)
        gt = np.ascontiguousarray(gt, dtype=dtype)
        pred = np.ascontiguousarray(pred, dtype=dtype)
        batched = gt.ndim == 3
        images = list(zip(gt, pred, strict=True)) if batched else [(gt, pred)]
        n = len(images)
        batch = n if batched else 0  # 0: one image, its values are not per-image sequences
        gcats = _per_image(
            gt_categories, batch, lambda v: isinstance(v, Mapping), "gt_categories", func
        )
        pcats = _per_image(
            pred_categories, batch, lambda v: isinstance(v, Mapping), "pred_categories", func
        )
        crowd = _per_image(
            gt_crowd,
            batch,
            lambda v: (
                v is None
                or isinstance(v, (set, frozenset))
                or not any(isinstance(x, Collection) for x in v)
            ),
            "gt_crowd",
            func,
        )
        cache: dict[int, tuple] = {}

        def seg_map(m: Any, name: str) -> tuple:
            key = id(m)
            if key not in cache:
                cache[key] = (m, _segment_map(m, self.void_id, name, func))
            return cache[key][1]

        staged: dict[int, list] = {}
        for b, (g_img, p_img) in enumerate(images):
            where = f" (image {b})" if batched else ""
            g_keys, g_cats = seg_map(gcats[b], "gt_categories")
            p_keys, p_cats = seg_map(pcats[b], "pred_categories")
            crowd_ids = _crowd_ids(crowd[b], func)
            m = self._match_image(
                g_img, p_img, g_keys, g_cats, p_keys, p_cats, crowd_ids, where, func
            )
            add_matches(staged, m)
        self._check_categories(staged, func)
        for cat, entry in staged.items():
            own = self.counts.setdefault(cat, [0.0, 0, 0, 0])
            for j in range(4):
                own[j] += entry[j]
        self.images += n

    def _match_image(self, g_img, p_img, g_keys, g_cats, p_keys, p_cats, crowd_ids, where, func):
        gt = g_img.reshape(-1)
        pred = p_img.reshape(-1)
        void = self.void_id
        if (g_keys.size + 1) * (p_keys.size + 1) > DENSE_CELLS:
            for side, (ids, keys, cats) in enumerate(
                ((gt, g_keys, g_cats), (pred, p_keys, p_cats))
            ):
                kept, bad = present_keys(ids, keys, void)
                if bad is not None:
                    self._raise_unknown(side, bad[0], bad[1], g_img.shape, where, func)
                sel = np.isin(keys, kept)
                if side == 0:
                    g_keys, g_cats = keys[sel], cats[sel]
                else:
                    p_keys, p_cats = keys[sel], cats[sel]
        pairs, bad = pixel_pairs(gt, pred, g_keys, p_keys, void, void)
        if bad is not None:
            self._raise_unknown(bad[0], bad[1], bad[2], g_img.shape, where, func)
        # keys without pixels are not segments of this image: renumber the present ones
        gt_pixels, pred_pixels = segment_pixels(pairs, g_keys.size, p_keys.size)
        g_here, p_here = gt_pixels > 0, pred_pixels > 0
        g_here[0] = p_here[0] = True
        rows, cols, pixels = pairs
        pairs = (np.cumsum(g_here)[rows] - 1, np.cumsum(p_here)[cols] - 1, pixels)
        g_keys, g_cats, p_cats = g_keys[g_here[1:]], g_cats[g_here[1:]], p_cats[p_here[1:]]
        crowd = np.isin(g_keys, np.fromiter(crowd_ids, dtype=np.int64, count=len(crowd_ids)))
        return match_segments(pairs, g_cats, crowd, p_cats)

    @staticmethod
    def _raise_unknown(side, value, at, shape, where, func):
        name = ("gt_ids", "gt_categories") if side == 0 else ("pred_ids", "pred_categories")
        raise ValueError(
            f"{func}: {name[0]}{where} has segment id {value} at index {format_index(at, shape)} "
            f"that is neither the void id nor a key of {name[1]}"
        )

    def _check_categories(self, staged: Mapping[int, Any], func: str) -> None:
        if self.categories is None:
            return
        known = set(self.categories)
        unknown = sorted(c for c in staged if c not in known)
        if unknown:
            raise ValueError(f"{func}: category id {unknown[0]} is not in categories")

    def merge(self, other: PanopticQuality) -> PanopticQuality:
        """Add another accumulator's counts (from another worker); returns self."""
        if not isinstance(other, PanopticQuality):
            raise TypeError(f"PanopticQuality.merge: expected a PanopticQuality, got {other!r}")
        if other._config() != self._config():
            raise ValueError(
                "PanopticQuality.merge: accumulators differ in things, categories or void_id"
            )
        for cat, entry in other.counts.items():
            own = self.counts.setdefault(cat, [0.0, 0, 0, 0])
            for j in range(4):
                own[j] += entry[j]
        self.images += other.images
        return self

    def reset(self) -> None:
        """Forget every update."""
        self.counts = {}
        self.images = 0

    def compute(self) -> PanopticResult:
        """The scores of everything seen so far."""
        cats = self.categories if self.categories is not None else sorted(self.counts)
        isthing = None if self.things is None else [c in self.things for c in cats]
        return result_from_counts(cats, self.counts, isthing, self.images, self.names)


def panoptic_quality(
    gt_ids: Any,
    pred_ids: Any,
    gt_categories: Mapping[int, int] | Sequence[Mapping[int, int]],
    pred_categories: Mapping[int, int] | Sequence[Mapping[int, int]],
    *,
    gt_crowd: Collection[int] | Sequence[Collection[int]] | None = None,
    things: Collection[int] | None = None,
    categories: Sequence[int] | None = None,
    void_id: int = 0,
) -> PanopticResult:
    """Panoptic quality of segment-id maps, with panopticapi's matching, void and crowd rules.

    Parameters
    ----------
    gt_ids, pred_ids : array_like of int, shape (H, W) or (B, H, W)
        Segment id per pixel; ``void_id`` marks void (gt) / unlabelled (pred) pixels.
    gt_categories, pred_categories : mapping or sequence of mappings
        ``{segment id: category id}``: one mapping for every image, or one per image of
        a batch. Every id in the maps other than ``void_id`` must be a key; keys with
        no pixels in an image are not segments of that image.
    gt_crowd : collection of int, or a sequence of them per image, optional
        Ground-truth segment ids that are crowd regions.
    things : collection of int, optional
        Thing category ids (the rest are stuff); without it only ``All`` is reported.
    categories : sequence of int, optional
        Categories to report, in order; default every category seen, sorted.
    void_id : int, default 0

    Returns
    -------
    PanopticResult
        ``pq``, ``sq``, ``rq``, ``groups`` (All / Things / Stuff), ``per_class`` and
        the per-category ``iou`` sums and ``tp`` / ``fp`` / ``fn`` counts.

    Raises
    ------
    ValueError
        Shapes differ, non-integer ids, an id in a map that is neither void nor a key
        of its mapping (the message names the id and the pixel), a mapping that gives
        the void id a category, or a category outside ``categories``.

    Examples
    --------
    The two segments of the tf-models test ``test_matches_by_iou``:

    >>> import numpy as np
    >>> from ioukit.evaluate import panoptic_quality
    >>> gt = np.ones((6, 6), int); gt[2, 2:5] = 2; gt[3, 1:5] = 2
    >>> pred = np.ones((6, 6), int); pred[2, 1:5] = 2; pred[3, 1:4] = 2
    >>> r = panoptic_quality(gt, pred, {1: 0, 2: 0}, {1: 0, 2: 0})
    >>> r.tp.tolist(), bool(np.isclose(r.iou[0], 28 / 30 + 6 / 8))
    ([2], True)
    """
    metric = PanopticQuality(things=things, categories=categories, void_id=void_id)
    metric.update(gt_ids, pred_ids, gt_categories, pred_categories, gt_crowd)
    return metric.compute()
