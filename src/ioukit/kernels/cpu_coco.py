"""CPU kernels of COCO evaluation: per-image matching and per-category accumulation.

The data arrive grouped: group ``g`` is one (image, category) pair (or one image
when categories are not used), its ground truth ``gt[gs[g]:ge[g]]`` in file order
and its detections ``dt[ds[g]:de[g]]`` sorted by descending score (stable) and cut
to the largest maxDets. Each group is matched independently (``prange``), with
pycocotools' greedy rule; then every (category, area range) is accumulated
independently into precision / recall curves, again exactly as pycocotools does.

:func:`match_groups` compiles one specialisation per source of IoU (boxes, masks,
or matrices the caller filled), each without the others' code. The front end (``evaluate.stages``) runs
small inputs through each kernel's serial twin (``jit.sized_call``): it compiles in
about half the time, and the parallel kernel compiles only once an input is large.
"""

import numpy as np
from numba import prange

from .._core import jit as nb
from . import scalar as s
from .cpu_masks import interval_intersection

_f = nb.compile_scalars(s, nb.scalar)  # the shared formulas, compiled for the CPU
intersection_area = _f.intersection_area
crowd_iou_from_areas = _f.crowd_iou_from_areas

_SPACING = np.spacing(1.0)  # pycocotools' np.spacing(1) in the precision denominator


@nb.serial_kernel
def _box_iou(dt_boxes, d, gt_boxes, g, crowd):
    """pycocotools' ``bbIou`` for one pair of xywh boxes, with the shared formulas
    (the same arithmetic in the same order as pycocotools, so the same bits)."""
    dx, dy, dw, dh = dt_boxes[d, 0], dt_boxes[d, 1], dt_boxes[d, 2], dt_boxes[d, 3]
    gx, gy, gw, gh = gt_boxes[g, 0], gt_boxes[g, 1], gt_boxes[g, 2], gt_boxes[g, 3]
    zero = dx - dx
    inter = intersection_area(dx, dy, dx + dw, dy + dh, gx, gy, gx + gw, gy + gh, zero)
    return crowd_iou_from_areas(inter, dw * dh, gw * gh, crowd)


@nb.serial_kernel
def _mask_iou(dt_sets, d, gt_sets, g, crowd):
    """IoU of two RLE masks given as interval sets (see ``cpu_masks.interval_iou``)."""
    sa, ea, fa, na, loa, hia, y0a, y1a, area_a = dt_sets
    sb, eb, fb, nb_, lob, hib, y0b, y1b, area_b = gt_sets
    lo, hi = max(loa[d], lob[g]), min(hia[d], hib[g])
    inter = np.int64(0)
    if lo < hi and y0a[d] <= y1b[g] and y0b[g] <= y1a[d]:
        inter = interval_intersection(sa, ea, fa[d], na[d], sb, eb, fb[g], nb_[g], lo, hi)
    return crowd_iou_from_areas(
        np.float64(inter), np.float64(area_a[d]), np.float64(area_b[g]), crowd
    )


@nb.serial_kernel
def _match_group(grp, g0, g1, d0, d1, ious, gt, dt_area, thresholds, area_ranges, out):
    """pycocotools' greedy matching of one group, for every area range and threshold.

    ``ious`` is the group's (D, G) matrix; ``gt`` is ``(area, crowd, id_zero)`` and
    ``out`` is ``(dt_matched, dt_ignored, gt_positive, gt_best_iou)`` (see
    :func:`match_groups`).
    """
    gt_area, gt_crowd, gt_id_zero = gt
    dt_matched, dt_ignored, gt_positive, gt_best_iou = out
    n_gt, n_dt = g1 - g0, d1 - d0
    limit = 1.0 - 1e-10
    order = np.empty(n_gt, dtype=np.int64)
    ignore = np.empty(n_gt, dtype=np.bool_)
    taken = np.empty(n_gt, dtype=np.bool_)
    for a in range(area_ranges.shape[0]):
        lo, hi = area_ranges[a, 0], area_ranges[a, 1]
        k = 0
        for flag in (False, True):  # stable sort of ground truth by ignore flag
            for g in range(n_gt):
                area = gt_area[g0 + g]
                ig = gt_crowd[g0 + g] or area < lo or area > hi
                if ig == flag:
                    order[k] = g
                    ignore[k] = ig
                    k += 1
        positives = 0
        for k in range(n_gt):
            positives += not ignore[k]
        gt_positive[a, grp] = positives
        for t in range(thresholds.shape[0]):
            taken[:] = False
            for d in range(n_dt):
                best = min(thresholds[t], limit)
                m = -1
                for k in range(n_gt):
                    g = order[k]
                    if taken[k] and not gt_crowd[g0 + g]:
                        continue
                    if m > -1 and not ignore[m] and ignore[k]:
                        break
                    if ious[d, g] < best:
                        continue
                    best = ious[d, g]
                    m = k
                if m == -1:
                    area = dt_area[d0 + d]
                    dt_matched[a, t, d0 + d] = False
                    dt_ignored[a, t, d0 + d] = area < lo or area > hi
                    continue
                if gt_id_zero[g0 + order[m]]:
                    area = dt_area[d0 + d]
                    dt_matched[a, t, d0 + d] = False
                    dt_ignored[a, t, d0 + d] = ignore[m] or area < lo or area > hi
                else:
                    dt_matched[a, t, d0 + d] = True
                    dt_ignored[a, t, d0 + d] = ignore[m]
                taken[m] = True
                gt_best_iou[a, t, g0 + order[m]] = ious[d, order[m]]


@nb.parallel_kernel
def match_groups(
    bounds, gt_boxes, dt_boxes, gt_sets, dt_sets, gt, dt_area, thresholds, area_ranges, out, ious
):
    """IoU and greedy COCO matching of every group.

    The IoU comes from the boxes (``gt_sets``, ``dt_sets`` None), from RLE masks
    given as interval sets (``gt_boxes``, ``dt_boxes`` None), or was written into
    ``ious`` by the caller (all four None: keypoint OKS, Boundary IoU). Numba
    prunes the ``is None`` branches of each specialisation before compiling, so a
    bbox evaluation never compiles the mask code, nor a segm one the box code.

    ``bounds`` is ``(gs, ge, ds, de, iou_offsets)``: group ``g`` matches ground truth
    ``gs[g]:ge[g]`` with detections ``ds[g]:de[g]``, its (D, G) IoU matrix at
    ``ious[iou_offsets[g]:]``. ``gt`` is ``(area, crowd, id_zero)`` of the ground
    truth. ``out`` is ``(dt_matched, dt_ignored, gt_positive, gt_best_iou)``:
    ``dt_matched[a, t, d]``, ``dt_ignored[a, t, d]`` (matched to an ignored ground
    truth, or unmatched and outside the area range), ``gt_positive[a, g]``
    (non-ignored ground truth of group ``g``) and ``gt_best_iou[a, t, j]`` (IoU of
    the detection matched to ground truth ``j``, 0 if none), for every area range
    ``a`` and IoU threshold ``t``. A detection matched to a ground truth flagged
    ``id_zero`` takes it but counts as unmatched (ignored only if that ground truth
    is, or it is outside the area range): pycocotools stores the matched ground
    truth's id as the match, so id 0 reads as "no match".
    """
    gs, ge, ds, de, offsets = bounds
    crowd = gt[1]
    for grp in prange(gs.shape[0]):
        g0, g1, d0, d1 = gs[grp], ge[grp], ds[grp], de[grp]
        n_gt, n_dt = g1 - g0, d1 - d0
        matrix = ious[offsets[grp] : offsets[grp] + n_gt * n_dt].reshape((n_dt, n_gt))
        for d in range(n_dt):
            for g in range(n_gt):
                if gt_sets is not None:
                    matrix[d, g] = _mask_iou(dt_sets, d0 + d, gt_sets, g0 + g, crowd[g0 + g])
                elif gt_boxes is not None:
                    matrix[d, g] = _box_iou(dt_boxes, d0 + d, gt_boxes, g0 + g, crowd[g0 + g])
        # np.int64: prange counts in uint64, range in int64; one signature for both
        _match_group(
            np.int64(grp), g0, g1, d0, d1, matrix, gt, dt_area, thresholds, area_ranges, out
        )


@nb.parallel_kernel
def accumulate(bounds, gt_positive, order, dt_rank, dt_score, matches, max_dets, rec_thrs, out):
    """pycocotools' ``accumulate`` for every (category k, area a, maxDets m).

    ``bounds`` is ``(cat_dt_start, cat_dt_stop, cat_groups_start, cat_groups_stop)``:
    the detections of category ``k`` are ``[cat_dt_start[k], cat_dt_stop[k])``,
    visited in ``order`` (by descending score, ties in image order), its groups
    ``[cat_groups_start[k], cat_groups_stop[k])``. ``dt_rank`` is a detection's place
    within its image; ``matches`` is ``(dt_matched, dt_ignored)``; ``out`` is
    ``(precision, recall, scores)``, which keep -1 where a category has no
    non-ignored ground truth.
    """
    cat_dt_start, cat_dt_stop, cat_groups_start, cat_groups_stop = bounds
    dt_matched, dt_ignored = matches
    precision, recall, scores = out
    n_cats = cat_dt_start.shape[0]
    n_areas = dt_matched.shape[0]
    n_thr = dt_matched.shape[1]
    n_rec = rec_thrs.shape[0]
    for job in prange(n_cats * n_areas):
        k = job // n_areas
        a = job - k * n_areas
        positives = 0
        for grp in range(cat_groups_start[k], cat_groups_stop[k]):
            positives += gt_positive[a, grp]
        if positives == 0:
            continue
        lo, hi = cat_dt_start[k], cat_dt_stop[k]
        picked = np.empty(hi - lo, dtype=np.int64)
        rc = np.empty(hi - lo, dtype=np.float64)
        pr = np.empty(hi - lo, dtype=np.float64)
        for m in range(max_dets.shape[0]):
            n = 0
            for i in range(lo, hi):
                d = order[i]
                if dt_rank[d] < max_dets[m]:
                    picked[n] = d
                    n += 1
            for t in range(n_thr):
                tp = 0.0
                fp = 0.0
                for i in range(n):
                    d = picked[i]
                    if not dt_ignored[a, t, d]:
                        if dt_matched[a, t, d]:
                            tp += 1.0
                        else:
                            fp += 1.0
                    rc[i] = tp / positives
                    pr[i] = tp / (fp + tp + _SPACING)
                recall[t, k, a, m] = rc[n - 1] if n else 0.0
                for i in range(n - 1, 0, -1):
                    if pr[i] > pr[i - 1]:
                        pr[i - 1] = pr[i]
                for r in range(n_rec):
                    # np.searchsorted(rc[:n], rec_thrs[r], "left"), written out: numba's
                    # costs a second to compile. "not >=": a NaN threshold gives n, as
                    # NumPy (NaN sorts last)
                    w, w_end = 0, n
                    while w < w_end:
                        mid = (w + w_end) >> 1
                        if not rc[mid] >= rec_thrs[r]:
                            w = mid + 1
                        else:
                            w_end = mid
                    if w < n:
                        precision[t, r, k, a, m] = pr[w]
                        scores[t, r, k, a, m] = dt_score[picked[w]]
                    else:
                        precision[t, r, k, a, m] = 0.0
                        scores[t, r, k, a, m] = 0.0
