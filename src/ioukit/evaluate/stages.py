"""The COCO evaluation's stages: match every (image, category) group
(:func:`match_stage`, one worker's share), merge shares (:func:`merge_stages`),
accumulate and summarise (:func:`finish`); :func:`evaluate_arrays` runs them all
on data already read. The work runs in the compiled kernels of ``kernels.cpu_coco``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._core.twins import twin_call
from .params import COCOParams, COCOResult, summarize, warn_gt_id_zero
from .records import Detections, GroundTruth

# Below these amounts of work (IoU pairs x area ranges x thresholds for matching,
# detections x area ranges x thresholds x maxDets for accumulation) the kernels run
# serially: a few milliseconds, and a first run compiles only the serial kernel.
SERIAL_MATCH = 500_000
SERIAL_ACCUMULATE = 500_000


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
    sizes = (ge - gs) * (de - ds)
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    n_a, n_t = len(p.area_rng), len(p.iou_thrs)
    dt_matched = np.zeros((n_a, n_t, len(d_sel)), dtype=np.bool_)
    dt_ignored = np.zeros((n_a, n_t, len(d_sel)), dtype=np.bool_)
    gt_positive = np.zeros((n_a, len(keys)), dtype=np.int64)
    gt_best = np.zeros((n_a, n_t, len(g_sel)), dtype=np.float64)
    ious = np.empty(max(int(offsets[-1]), 1))
    if len(keys):
        bounds = (gs, ge, ds, de, offsets)
        gt = (
            np.ascontiguousarray(truth.areas[g_sel], dtype=np.float64),
            np.ascontiguousarray(truth.crowd[g_sel], dtype=np.bool_),
            (truth.ann_ids[g_sel] == 0) & (not p.match_gt_id_zero),
        )
        common = (
            gt,
            np.ascontiguousarray(dt_area, dtype=np.float64),
            np.ascontiguousarray(p.iou_thrs, dtype=np.float64),
            np.asarray(p.area_rng, dtype=np.float64).reshape(-1, 2),
            (dt_matched, dt_ignored, gt_positive, gt_best),
            ious,
        )
        work = int(offsets[-1]) * n_a * n_t + len(keys)
        gt_boxes = dt_boxes = None
        if p.iou_type in ("keypoints", "boundary"):
            from .protocols import fill_group_ious

            fill_group_ious(truth, dets, p, g_sel, d_sel, gs, ge, ds, de, offsets, ious)
        elif p.iou_type == "bbox":
            gt_boxes = np.ascontiguousarray(truth.boxes[g_sel], dtype=np.float64)
            dt_boxes = (
                np.ascontiguousarray(dets.boxes[d_sel], dtype=np.float64)
                if dets.boxes is not None
                else np.zeros((len(d_sel), 4))
            )
        # None: numba compiles each source of IoU (boxes, masks, given) on its own
        args = (bounds, gt_boxes, dt_boxes, gt_sets, dt_sets, *common)
        twin_call("cpu_coco", "match_groups", work, *args, serial_below=SERIAL_MATCH)
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
    order = score_order(starts, stops, d_scores)
    work = len(d_key) * len(p.area_rng) * len(p.iou_thrs) * len(p.max_dets)
    twin_call(
        "cpu_coco",
        "accumulate",
        work,
        (starts, stops, cat_groups[:-1].copy(), cat_groups[1:].copy()),
        gt_positive,
        order,
        rank.astype(np.int64, copy=False),
        np.ascontiguousarray(d_scores, dtype=np.float64),
        (dt_matched, dt_ignored),
        np.asarray(p.max_dets, dtype=np.int64),
        np.ascontiguousarray(p.rec_thrs, dtype=np.float64),
        (precision, recall, scores),
        serial_below=SERIAL_ACCUMULATE,
    )
    return precision, recall, scores


def score_order(starts: np.ndarray, stops: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The detections of each category ``[starts[k], stops[k])`` by descending score,
    ties in image order (a stable sort, as pycocotools' mergesort). Filtering this
    order by rank gives the order of every maxDets subset, so each category sorts
    once. NumPy's sort: no compiled merge sort to pay for on a first run."""
    order = np.empty(len(scores), dtype=np.int64)
    for lo, hi in zip(starts.tolist(), stops.tolist(), strict=True):
        order[lo:hi] = np.argsort(-scores[lo:hi], kind="stable")
        order[lo:hi] += lo
    return order


def _mask_sets(truth: GroundTruth, dets: Detections, g_sel: np.ndarray, d_sel: np.ndarray):
    """Interval sets of the selected ground-truth and detection masks, and the
    detections' mask areas."""
    from .._masks.intervals import rle_intervals

    gt_rles = _rles(truth, truth.segmentations, g_sel, truth.ann_image[g_sel], "ground-truth")
    if dets.rles is not None:
        from .._masks.rleset import subset

        dt_rles = subset(dets.rles, d_sel)
    else:
        dt_rles = _rles(truth, dets.segmentations, d_sel, dets.image[d_sel], "detection")
    gt_sets, dt_sets = rle_intervals(gt_rles), rle_intervals(dt_rles)
    return gt_sets, dt_sets, dt_sets[8]


def _rles(
    truth: GroundTruth, segmentations: list, index: np.ndarray, images: np.ndarray, what: str
):
    """The RLEs of ``segmentations[index]``, on images ``images`` (indices into the
    ground truth's), errors naming ``what`` segmentation."""
    from .._masks.convert import segmentations_to_rles

    return segmentations_to_rles(
        [segmentations[i] for i in index.tolist()],
        truth.heights[images],
        truth.widths[images],
        f"{what} segmentation",
        "coco_evaluate",
    )
