"""COCO AP/AR, identical to pycocotools' ``COCOeval`` (evaluate, accumulate, summarize).

The protocol is pycocotools' to the last tie: 10 IoU thresholds, 101 recall
points, four area ranges, maxDets 1/10/100, crowd regions that absorb several
detections, ground truth outside the area range ignored, unmatched detections
outside it ignored, ``useCats``. The work runs in two compiled kernels (one pass
over every (image, category) group, one over every (category, area range)), so
a COCO-scale evaluation takes seconds, not minutes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .readers import Detections, GroundTruth, read_detections, read_ground_truth

STATS_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)


class GtIdZeroWarning(UserWarning):
    """The ground truth has an annotation with id 0, which pycocotools never counts
    as matched; see ``coco_evaluate(match_gt_id_zero=...)``."""


def default_iou_thresholds() -> np.ndarray:
    return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def default_recall_thresholds() -> np.ndarray:
    return np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass
class COCOParams:
    """Evaluation settings, named and defaulted as pycocotools' ``Params``."""

    iou_type: str = "bbox"
    iou_thrs: np.ndarray = field(default_factory=default_iou_thresholds)
    rec_thrs: np.ndarray = field(default_factory=default_recall_thresholds)
    max_dets: tuple[int, ...] = (1, 10, 100)
    area_rng: tuple[tuple[float, float], ...] = (
        (0**2, 1e5**2),
        (0**2, 32**2),
        (32**2, 96**2),
        (96**2, 1e5**2),
    )
    area_rng_lbl: tuple[str, ...] = ("all", "small", "medium", "large")
    use_cats: bool = True
    img_ids: Any = None
    cat_ids: Any = None
    match_gt_id_zero: bool = False
    """False: pycocotools' numbers (a match to ground truth id 0 counts as unmatched)."""

    def checked(self) -> COCOParams:
        if self.iou_type not in ("bbox", "segm"):
            raise ValueError(f"coco_evaluate: iou_type={self.iou_type!r} is not 'bbox' or 'segm'")
        if len(self.max_dets) == 0:
            raise ValueError("coco_evaluate: max_dets must hold at least one value")
        if len(self.area_rng) != len(self.area_rng_lbl):
            raise ValueError("coco_evaluate: area_rng and area_rng_lbl differ in length")
        self.iou_thrs = np.asarray(self.iou_thrs, dtype=np.float64).reshape(-1)
        self.rec_thrs = np.asarray(self.rec_thrs, dtype=np.float64).reshape(-1)
        self.max_dets = tuple(sorted(int(m) for m in self.max_dets))
        return self


@dataclass
class COCOResult:
    """What :func:`coco_evaluate` found."""

    stats: np.ndarray
    """The 12 summary numbers in pycocotools' order (see :data:`STATS_NAMES`)."""
    precision: np.ndarray
    """(T, R, K, A, M) precision, -1 where a category has no ground truth."""
    recall: np.ndarray
    """(T, K, A, M) recall."""
    scores: np.ndarray
    """(T, R, K, A, M) score at each recall point."""
    params: COCOParams
    category_ids: np.ndarray
    category_names: dict[int, str]
    gt_match_iou: np.ndarray = field(repr=False)
    """(A, T, G) IoU of the detection matched to each evaluated ground truth (0 if none)."""
    gt_category: np.ndarray = field(repr=False)
    gt_image: np.ndarray = field(repr=False)
    gt_ignored: np.ndarray = field(repr=False)
    """(G,) crowd ground truth (never counted as a positive)."""

    def __repr__(self) -> str:
        """Headline numbers and array shapes, not the arrays (``summary()`` prints all)."""
        head = ", ".join(f"{n}={v:.3f}" for n, v in zip(STATS_NAMES[:3], self.stats, strict=False))
        return (
            f"COCOResult(iou_type={self.params.iou_type!r}, {head}, "
            f"categories={len(self.category_ids)}, precision{tuple(self.precision.shape)}, "
            f"recall{tuple(self.recall.shape)}, ground_truth={self.gt_category.shape[0]})"
        )

    def as_dict(self) -> dict[str, float]:
        """``{"AP": ..., "AP50": ..., ...}``."""
        return {name: float(v) for name, v in zip(STATS_NAMES, self.stats, strict=True)}

    def per_category_ap(self, iou_index: Any = slice(None)) -> dict[int, float]:
        """AP of each category (area "all", the largest maxDets), -1 when it has no
        ground truth; ``iou_index`` selects thresholds (all by default)."""
        out = {}
        for k, cat in enumerate(self.category_ids.tolist()):
            s = self.precision[iou_index, :, k, 0, -1]
            valid = s[s > -1]
            out[int(cat)] = float(valid.mean()) if valid.size else -1.0
        return out

    def summary(self) -> str:
        """The 12 lines pycocotools' ``summarize()`` prints."""
        lines = []
        p = self.params
        rows = [
            (1, None, "all", p.max_dets[-1]),
            (1, 0.5, "all", p.max_dets[-1]),
            (1, 0.75, "all", p.max_dets[-1]),
            (1, None, "small", p.max_dets[-1]),
            (1, None, "medium", p.max_dets[-1]),
            (1, None, "large", p.max_dets[-1]),
            (0, None, "all", p.max_dets[0]),
            (0, None, "all", p.max_dets[min(1, len(p.max_dets) - 1)]),
            (0, None, "all", p.max_dets[-1]),
            (0, None, "small", p.max_dets[-1]),
            (0, None, "medium", p.max_dets[-1]),
            (0, None, "large", p.max_dets[-1]),
        ]
        for value, (ap, thr, area, dets) in zip(self.stats, rows, strict=True):
            kind = "Average Precision  (AP)" if ap else "Average Recall     (AR)"
            if thr is not None:
                iou = f"{thr:0.2f}"
            elif len(p.iou_thrs):
                iou = f"{p.iou_thrs[0]:0.2f}:{p.iou_thrs[-1]:0.2f}"
            else:
                iou = "none"
            lines.append(
                f" {kind} @[ IoU={iou:<9} | area={area:>6s} | maxDets={dets:>3d} ] = {value:0.3f}"
            )
        return "\n".join(lines)


def _summarize(
    precision, recall, p: COCOParams, ap: int, iou_thr=None, area="all", max_dets=100
) -> float:
    aind = [i for i, lbl in enumerate(p.area_rng_lbl) if lbl == area]
    mind = [i for i, m in enumerate(p.max_dets) if m == max_dets]
    s = precision if ap == 1 else recall
    if iou_thr is not None:
        s = s[np.where(iou_thr == p.iou_thrs)[0]]
    s = s[:, :, :, aind, mind] if ap == 1 else s[:, :, aind, mind]
    valid = s[s > -1]
    return -1.0 if valid.size == 0 else float(np.mean(valid))


def summarize(precision: np.ndarray, recall: np.ndarray, p: COCOParams) -> np.ndarray:
    """pycocotools' 12 summary numbers (its quirks kept: the first uses maxDets=100)."""
    m = p.max_dets
    at = lambda i: m[min(i, len(m) - 1)]  # noqa: E731
    return np.array(
        [
            _summarize(precision, recall, p, 1),
            _summarize(precision, recall, p, 1, iou_thr=0.5, max_dets=at(2)),
            _summarize(precision, recall, p, 1, iou_thr=0.75, max_dets=at(2)),
            _summarize(precision, recall, p, 1, area="small", max_dets=at(2)),
            _summarize(precision, recall, p, 1, area="medium", max_dets=at(2)),
            _summarize(precision, recall, p, 1, area="large", max_dets=at(2)),
            _summarize(precision, recall, p, 0, max_dets=at(0)),
            _summarize(precision, recall, p, 0, max_dets=at(1)),
            _summarize(precision, recall, p, 0, max_dets=at(2)),
            _summarize(precision, recall, p, 0, area="small", max_dets=at(2)),
            _summarize(precision, recall, p, 0, area="medium", max_dets=at(2)),
            _summarize(precision, recall, p, 0, area="large", max_dets=at(2)),
        ]
    )


def _selection(ids: Any, available: np.ndarray) -> np.ndarray:
    if ids is None:
        return available
    return np.unique(np.asarray(list(ids) if not np.isscalar(ids) else [ids], dtype=np.int64))


def _index_in(values: np.ndarray, sorted_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(index, found)`` of each value in ``sorted_ids``."""
    if sorted_ids.size == 0:
        return np.zeros(values.shape, np.int64), np.zeros(values.shape, bool)
    index = np.minimum(np.searchsorted(sorted_ids, values), sorted_ids.size - 1)
    return index, sorted_ids[index] == values


def coco_evaluate(
    gt: Any,
    dt: Any,
    iou_type: str = "bbox",
    *,
    use_cats: bool = True,
    iou_thrs: Any = None,
    rec_thrs: Any = None,
    max_dets: Any = None,
    area_rng: Any = None,
    area_rng_lbl: Any = None,
    img_ids: Any = None,
    cat_ids: Any = None,
    match_gt_id_zero: bool = False,
    client: Any = None,
) -> COCOResult:
    """COCO detection / instance-segmentation evaluation, identical to pycocotools.

    Parameters
    ----------
    gt : str, path or dict
        COCO ground truth (file or loaded dict).
    dt : str, path or list of dict
        Detection results (file or loaded list), as for ``COCO.loadRes``.
    iou_type : {"bbox", "segm"}
    use_cats, iou_thrs, rec_thrs, max_dets, area_rng, area_rng_lbl, img_ids, cat_ids
        pycocotools' ``Params`` (``useCats``, ``iouThrs``, ...); defaults as there.
    match_gt_id_zero : bool, default False
        pycocotools records a match by the ground truth's id, so a detection matched to
        a ground-truth annotation whose ``id`` is 0 counts as a false positive (and that
        object is never found). False (the default) gives pycocotools' numbers exactly
        and warns (:class:`GtIdZeroWarning`) when the ground truth has an id 0; True
        counts such matches as every other.
    client : distributed.Client, optional
        Match the images on the workers of a Dask cluster (the same numbers as in
        one process; needs ``ioukit[dask]``).

    Returns
    -------
    COCOResult
        ``stats`` (the 12 numbers of ``COCOeval.stats``), ``precision``, ``recall``,
        ``scores``, per-category AP and a pycocotools-style ``summary()``.

    Examples
    --------
    >>> from ioukit.evaluate import coco_evaluate
    >>> gt = {"images": [{"id": 1, "height": 10, "width": 10}],
    ...       "categories": [{"id": 1, "name": "thing"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 0}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 5], "score": 0.9}]
    >>> r = coco_evaluate(gt, dt)
    >>> round(float(r.stats[0]), 3), round(float(r.stats[1]), 3)
    (0.7, 1.0)
    """
    defaults = COCOParams()
    p = COCOParams(
        iou_type=iou_type,
        iou_thrs=defaults.iou_thrs if iou_thrs is None else iou_thrs,
        rec_thrs=defaults.rec_thrs if rec_thrs is None else rec_thrs,
        max_dets=defaults.max_dets if max_dets is None else tuple(max_dets),
        area_rng=defaults.area_rng if area_rng is None else tuple(map(tuple, area_rng)),
        area_rng_lbl=defaults.area_rng_lbl if area_rng_lbl is None else tuple(area_rng_lbl),
        use_cats=bool(use_cats),
        img_ids=img_ids,
        cat_ids=cat_ids,
        match_gt_id_zero=bool(match_gt_id_zero),
    ).checked()
    truth = read_ground_truth(gt, p.iou_type)
    dets = read_detections(dt, truth, p.iou_type)
    if client is not None:
        from ..distributed import evaluate_on_cluster

        warn_gt_id_zero(truth, p)
        return evaluate_on_cluster(truth, dets, p, client)
    return evaluate_arrays(truth, dets, p)


def warn_gt_id_zero(truth: GroundTruth, p: COCOParams) -> None:
    """Warn (:class:`GtIdZeroWarning`) when pycocotools' id-0 rule changes the numbers."""
    if not p.match_gt_id_zero and truth.ann_ids.size and (truth.ann_ids == 0).any():
        i = int(np.argmax(truth.ann_ids == 0))
        warnings.warn(
            f"ground-truth annotation {i} has id 0: as pycocotools, a detection matched to "
            "it counts as a false positive; pass match_gt_id_zero=True to count the match",
            GtIdZeroWarning,
            stacklevel=3,
        )


class MatchStage(NamedTuple):
    """Per-image matching results, before the per-category accumulation."""

    cats: np.ndarray
    n_img: int
    keys: np.ndarray  # group keys (category index * n_img + image index), ascending
    gt_positive: np.ndarray  # (A, groups)
    d_key: np.ndarray  # group key of each kept detection (grouped, by score)
    rank: np.ndarray  # place of a detection within its group
    d_scores: np.ndarray
    dt_matched: np.ndarray  # (A, T, D)
    dt_ignored: np.ndarray
    gt_best: np.ndarray  # (A, T, G)
    gt_category: np.ndarray
    gt_image: np.ndarray
    gt_ignored: np.ndarray


def evaluate_arrays(truth: GroundTruth, dets: Detections, p: COCOParams) -> COCOResult:
    """:func:`coco_evaluate` on data already read."""
    warn_gt_id_zero(truth, p)
    return finish(match_stage(truth, dets, p), p, truth.category_names)


def finish(stage: MatchStage, p: COCOParams, names: dict[int, str]) -> COCOResult:
    """Accumulate and summarise matched groups (from one process or merged workers)."""
    precision, recall, scores = _accumulate(
        p,
        stage.cats,
        stage.n_img,
        stage.keys,
        stage.d_key,
        stage.rank,
        stage.d_scores,
        stage.dt_matched,
        stage.dt_ignored,
        stage.gt_positive,
    )
    return COCOResult(
        stats=summarize(precision, recall, p),
        precision=precision,
        recall=recall,
        scores=scores,
        params=p,
        category_ids=stage.cats if p.use_cats else np.array([-1]),
        category_names=names,
        gt_match_iou=stage.gt_best,
        gt_category=stage.gt_category,
        gt_image=stage.gt_image,
        gt_ignored=stage.gt_ignored,
    )


def merge_stages(parts: list[MatchStage]) -> MatchStage:
    """One stage from stages of disjoint image sets (same numbers as a single run:
    a stable sort by group key keeps each group's score order)."""
    first = parts[0]
    keys = np.concatenate([s.keys for s in parts])
    key_order = np.argsort(keys, kind="stable")
    d_key = np.concatenate([s.d_key for s in parts])
    order = np.argsort(d_key, kind="stable")
    cat = lambda name, axis=0: np.concatenate([getattr(s, name) for s in parts], axis=axis)  # noqa: E731
    return MatchStage(
        cats=first.cats,
        n_img=first.n_img,
        keys=keys[key_order],
        gt_positive=cat("gt_positive", 1)[:, key_order],
        d_key=d_key[order],
        rank=cat("rank")[order],
        d_scores=cat("d_scores")[order],
        dt_matched=cat("dt_matched", 2)[:, :, order],
        dt_ignored=cat("dt_ignored", 2)[:, :, order],
        gt_best=cat("gt_best", 2),
        gt_category=cat("gt_category"),
        gt_image=cat("gt_image"),
        gt_ignored=cat("gt_ignored"),
    )


def match_stage(truth: GroundTruth, dets: Detections, p: COCOParams) -> MatchStage:
    """Group, sort and match every (image, category) of the data (one worker's share)."""
    from .._core import jit as _numba
    from ..kernels import cpu_coco

    images = _selection(p.img_ids, truth.image_ids)
    cats = _selection(p.cat_ids, truth.category_ids)
    n_img = max(len(images), 1)

    # ground truth of the evaluated images and categories, grouped
    g_img, g_found = _index_in(truth.image_ids[truth.ann_image], images)
    g_cat, c_found = _index_in(truth.ann_category, cats)
    # without useCats, pycocotools still keeps only p.catIds, ordered by category
    g_sel = np.flatnonzero(g_found & c_found)
    if p.use_cats:
        g_key = g_cat[g_sel] * n_img + g_img[g_sel]
        g_order = np.argsort(g_key, kind="stable")
    else:
        g_key = g_img[g_sel]
        g_order = np.lexsort((g_cat[g_sel], g_key))
    g_sel, g_key = g_sel[g_order], g_key[g_order]

    # detections, grouped and sorted by score (stable), cut to the largest maxDets
    d_img, d_found = _index_in(truth.image_ids[dets.image], images)
    d_cat, dc_found = _index_in(dets.category, cats)
    d_sel = np.flatnonzero(d_found & dc_found)
    if p.use_cats:
        d_key = d_cat[d_sel] * n_img + d_img[d_sel]
        d_order = np.lexsort((-dets.scores[d_sel], d_key))  # stable: ties keep file order
    else:
        d_key = d_img[d_sel]
        d_order = np.lexsort((d_cat[d_sel], -dets.scores[d_sel], d_key))
    d_sel, d_key = d_sel[d_order], d_key[d_order]
    n_keys = (len(cats) if p.use_cats else 1) * n_img
    keys = np.flatnonzero(np.bincount(np.concatenate([g_key, d_key]), minlength=n_keys))
    gs, ge = np.searchsorted(g_key, keys, "left"), np.searchsorted(g_key, keys, "right")
    ds, de_all = np.searchsorted(d_key, keys, "left"), np.searchsorted(d_key, keys, "right")
    rank = np.arange(d_key.shape[0]) - np.repeat(ds, de_all - ds)
    kept = rank < p.max_dets[-1]
    d_sel, d_key, rank = d_sel[kept], d_key[kept], rank[kept]
    ds, de = np.searchsorted(d_key, keys, "left"), np.searchsorted(d_key, keys, "right")

    gt_sets = dt_sets = None
    dt_area = dets.areas[d_sel]
    if p.iou_type == "segm":
        gt_sets, dt_sets, mask_area = _mask_sets(truth, dets, g_sel, d_sel)
        if dets.boxes is None:
            dt_area = mask_area.astype(np.float64)
    empty_sets = _empty_sets()
    sizes = (ge - gs) * (de - ds)
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    n_a, n_t = len(p.area_rng), len(p.iou_thrs)
    dt_matched = np.zeros((n_a, n_t, len(d_sel)), dtype=np.bool_)
    dt_ignored = np.zeros((n_a, n_t, len(d_sel)), dtype=np.bool_)
    gt_positive = np.zeros((n_a, len(keys)), dtype=np.int64)
    gt_best = np.zeros((n_a, n_t, len(g_sel)), dtype=np.float64)
    if len(keys):
        _numba.parallel_call(
            cpu_coco.match_groups,
            p.iou_type == "segm",
            gs,
            ge,
            ds,
            de,
            np.ascontiguousarray(truth.boxes[g_sel]),
            np.ascontiguousarray(dets.boxes[d_sel])
            if dets.boxes is not None
            else np.zeros((len(d_sel), 4)),
            gt_sets or empty_sets,
            dt_sets or empty_sets,
            truth.areas[g_sel],
            truth.crowd[g_sel],
            (truth.ann_ids[g_sel] == 0) & (not p.match_gt_id_zero),
            dt_area,
            p.iou_thrs,
            np.asarray(p.area_rng, dtype=np.float64).reshape(-1, 2),
            dt_matched,
            dt_ignored,
            gt_positive,
            gt_best,
            np.empty(max(int(offsets[-1]), 1)),
            offsets,
        )
    return MatchStage(
        cats=cats,
        n_img=n_img,
        keys=keys,
        gt_positive=gt_positive,
        d_key=d_key,
        rank=rank,
        d_scores=dets.scores[d_sel],
        dt_matched=dt_matched,
        dt_ignored=dt_ignored,
        gt_best=gt_best,
        gt_category=truth.ann_category[g_sel],
        gt_image=truth.image_ids[truth.ann_image[g_sel]],
        gt_ignored=truth.crowd[g_sel],
    )


def _accumulate(p, cats, n_img, keys, d_key, rank, d_scores, dt_matched, dt_ignored, gt_positive):
    from .._core import jit as _numba
    from ..kernels import cpu_coco

    n_k = len(cats) if p.use_cats else 1
    shape = (len(p.iou_thrs), len(p.rec_thrs), n_k, len(p.area_rng), len(p.max_dets))
    precision, scores = -np.ones(shape), -np.ones(shape)
    recall = -np.ones((shape[0], n_k, shape[3], shape[4]))
    if p.use_cats:
        bounds = np.arange(n_k + 1) * n_img
        cat_dt = np.searchsorted(d_key, bounds)
        cat_groups = np.searchsorted(keys, bounds)
    else:
        cat_dt = np.array([0, len(d_key)])
        cat_groups = np.array([0, len(keys)])
    starts, stops = cat_dt[:-1].copy(), cat_dt[1:].copy()
    order = np.empty(len(d_key), dtype=np.int64)
    _numba.parallel_call(cpu_coco.score_order, starts, stops, d_scores, order)
    _numba.parallel_call(
        cpu_coco.accumulate,
        starts,
        stops,
        cat_groups[:-1].copy(),
        cat_groups[1:].copy(),
        gt_positive,
        order,
        rank,
        d_scores,
        dt_matched,
        dt_ignored,
        np.asarray(p.max_dets, dtype=np.int64),
        p.rec_thrs,
        precision,
        recall,
        scores,
    )
    return precision, recall, scores


def _empty_sets() -> tuple:
    z = np.zeros(1, dtype=np.int64)
    return (z, z, z, z, z, z, z, z, z)


def _mask_sets(truth: GroundTruth, dets: Detections, g_sel: np.ndarray, d_sel: np.ndarray):
    """Interval sets of the selected ground-truth and detection masks, and the
    detections' mask areas."""
    from .._masks.intervals import rle_intervals
    from .._masks.convert import segmentations_to_rles

    g_images = truth.ann_image[g_sel]
    gt_rles = segmentations_to_rles(
        [truth.segmentations[i] for i in g_sel.tolist()],
        truth.heights[g_images],
        truth.widths[g_images],
        "ground-truth segmentation",
        "coco_evaluate",
    )
    d_images = dets.image[d_sel]
    if dets.rles is not None:
        from .._masks.rleset import subset

        dt_rles = subset(dets.rles, d_sel)
    else:
        dt_rles = segmentations_to_rles(
            [dets.segmentations[i] for i in d_sel.tolist()],
            truth.heights[d_images],
            truth.widths[d_images],
            "detection segmentation",
            "coco_evaluate",
        )
    gt_sets, dt_sets = rle_intervals(gt_rles), rle_intervals(dt_rles)
    return gt_sets, dt_sets, dt_sets[8]
