"""NumPy twins of :mod:`ioukit.kernels.cpu_coco`: COCO matching and accumulation.

A twin has the compiled kernel's name and positional signature and writes the same
output arrays with identical values (bit for bit: the same float64 operations in
the same order), so that small evaluations run without importing numba. It may
*decline*: return ``NotImplemented`` before writing any output when the input is
outside what it handles exactly and cheaply (malformed group bounds, a threshold
or IoU that is not finite, a result too large for its memory bound); the caller
then runs the compiled kernel. This module imports only NumPy and the plain-Python
twins of ``np_masks``.

Vectorisation: :func:`match_groups` computes every IoU at once, then walks the
detections by their rank within the group (at most maxDets steps), matching the
detection of that rank in every group for every area range and threshold at once.
:func:`accumulate` handles every category, area range, threshold, maxDets and
recall threshold at once (one reverse running maximum per category).
"""

from __future__ import annotations

import numpy as np

from .np_masks import pair_intersections

_I64 = np.int64
_LIMIT = 1.0 - 1e-10  # pycocotools' cap of the matching threshold
_SPACING = np.spacing(1.0)  # pycocotools' np.spacing(1) in the precision denominator
MAX_ELEMENTS = 1 << 22  # larger intermediate arrays (32 MiB of int64 each): decline


def _ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``first[i] .. first[i] + count[i] - 1`` for every ``i``, concatenated."""
    total = int(count.sum())
    if total == 0:
        return np.zeros(0, dtype=_I64)
    return np.arange(total, dtype=_I64) + np.repeat(first - (np.cumsum(count) - count), count)


def _disjoint(start: np.ndarray, stop: np.ndarray, size: int) -> bool:
    """Whether the ranges ``[start[i], stop[i])``, in this order, are increasing,
    disjoint and inside ``[0, size)``."""
    if start.shape[0] == 0:
        return True
    ok = (stop >= start).all() and start[0] >= 0 and stop[-1] <= size
    return bool(ok and (stop[:-1] <= start[1:]).all())


def _box_ious(dt_boxes, d, gt_boxes, g, crowd) -> np.ndarray:
    """``_box_iou`` of the pairs ``(d[p], g[p])``: the arithmetic of ``kernels.scalar``
    (``intersection_area``, ``crowd_iou_from_areas``) in the same order."""
    dx, dy, dw, dh = (dt_boxes[d, i] for i in range(4))
    gx, gy, gw, gh = (gt_boxes[g, i] for i in range(4))
    zero = dx - dx

    def overlap(a_lo, a_hi, b_lo, b_hi):
        x = np.minimum(a_hi, b_hi) - np.maximum(a_lo, b_lo) + zero
        return np.where(x > 0, x, x - x)

    inter = overlap(dx, dx + dw, gx, gx + gw) * overlap(dy, dy + dh, gy, gy + gh)
    return _crowd_iou(inter, dw * dh, gw * gh, crowd)


def _crowd_iou(inter, area_a, area_b, crowd) -> np.ndarray:
    """``scalar.crowd_iou_from_areas``, vectorised."""
    union = np.where(crowd, area_a, area_a + area_b - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, inter - inter)


def _pair_ious(pair_d, pair_g, gt_boxes, dt_boxes, gt_sets, dt_sets, crowd):
    """The IoU of every (detection, ground truth) pair, or None to decline."""
    if gt_sets is not None:
        n_g, n_d = len(gt_sets[2]), len(dt_sets[2])
        if min(len(x) for x in gt_sets[2:9]) < n_g or min(len(x) for x in dt_sets[2:9]) < n_d:
            return None
        if (pair_d.size and pair_d.max() >= n_d) or (pair_g.size and pair_g.max() >= n_g):
            return None
        inter = pair_intersections(dt_sets, pair_d, gt_sets, pair_g)
        if inter is None:
            return None
        area_d = dt_sets[8][pair_d].astype(np.float64)
        area_g = gt_sets[8][pair_g].astype(np.float64)
        return _crowd_iou(inter.astype(np.float64), area_d, area_g, crowd[pair_g])
    if pair_d.size and (pair_d.max() >= dt_boxes.shape[0] or pair_g.max() >= gt_boxes.shape[0]):
        return None
    if dt_boxes.ndim != 2 or gt_boxes.ndim != 2 or min(dt_boxes.shape[1], gt_boxes.shape[1]) < 4:
        return None
    if dt_boxes.dtype != np.float64 or gt_boxes.dtype != np.float64:
        return None  # the kernel's arithmetic follows the boxes' type
    with np.errstate(over="ignore", invalid="ignore"):
        return _box_ious(dt_boxes, pair_d, gt_boxes, pair_g, crowd[pair_g])


def match_groups(
    bounds, gt_boxes, dt_boxes, gt_sets, dt_sets, gt, dt_area, thresholds, area_ranges, out, ious
):
    """Twin of ``cpu_coco.match_groups``: IoU and greedy COCO matching of every group.

    Same arguments and outputs as the kernel: ``bounds = (gs, ge, ds, de,
    iou_offsets)``; the IoU comes from the xywh boxes, from the interval sets of
    masks, or was written into ``ious`` by the caller (all four None); ``gt =
    (area, crowd, id_zero)``; ``out = (dt_matched, dt_ignored, gt_positive,
    gt_best_iou)``. pycocotools' rule: a detection takes, among the ground truth
    it may still take (crowd regions are reusable) with IoU at least
    ``min(threshold, 1 - 1e-10)``, the best non-ignored one, else the best ignored
    one; ties go to the later ground truth.

    Returns None, or ``NotImplemented`` (nothing written) when the groups are not
    increasing disjoint ranges inside the arrays, a threshold or an IoU is not
    finite, an interval set is malformed, or the work passes :data:`MAX_ELEMENTS`.

    Examples
    --------
    >>> import numpy as np
    >>> bounds = tuple(np.array([v]) for v in (0, 1, 0, 2, 0))  # 1 gt, 2 detections
    >>> gt_boxes, dt_boxes = np.array([[0.0, 0, 10, 10]]), np.array([[0.0, 0, 10, 10]] * 2)
    >>> gt = (np.array([100.0]), np.array([False]), np.array([False]))
    >>> thr, rng = np.array([0.5]), np.array([[0.0, 1e10]])
    >>> out = (np.zeros((1, 1, 2), bool), np.zeros((1, 1, 2), bool),
    ...        np.zeros((1, 1), np.int64), np.zeros((1, 1, 1)))
    >>> ious = np.zeros(2)
    >>> match_groups(bounds, gt_boxes, dt_boxes, None, None, gt, np.array([100.0, 100]),
    ...              thr, rng, out, ious)
    >>> out[0][0, 0], ious  # the first detection takes the ground truth
    (array([ True, False]), array([1., 1.]))
    """
    gs, ge, ds, de, offsets = (np.asarray(x, dtype=_I64) for x in bounds)
    gt_area, gt_crowd, gt_id_zero = (np.asarray(x) for x in gt)
    dt_matched, dt_ignored, gt_positive, gt_best_iou = out
    thresholds = np.asarray(thresholds, dtype=np.float64)
    area_ranges = np.asarray(area_ranges, dtype=np.float64)
    dt_area = np.asarray(dt_area)
    n_grp, n_a, n_t = gs.shape[0], area_ranges.shape[0], thresholds.shape[0]
    n_gt_all, n_dt_all = gt_area.shape[0], dt_area.shape[0]
    if n_grp == 0:
        return None
    if min(ge.shape[0], ds.shape[0], de.shape[0], offsets.shape[0]) < n_grp:
        return NotImplemented
    ge, ds, de, offsets = ge[:n_grp], ds[:n_grp], de[:n_grp], offsets[:n_grp]
    if ious.dtype != np.float64 or not np.isfinite(thresholds).all():
        return NotImplemented  # a float32 matrix or NaN threshold: the kernel's rounding
    if min(gt_crowd.shape[0], gt_id_zero.shape[0]) < n_gt_all:
        return NotImplemented
    n_gt, n_dt = ge - gs, de - ds
    sizes = n_gt * n_dt
    if not (_disjoint(gs, ge, n_gt_all) and _disjoint(ds, de, n_dt_all)):
        return NotImplemented
    if not _disjoint(offsets, offsets + sizes, ious.shape[0]):
        return NotImplemented
    shapes_ok = dt_matched.shape[:2] == (n_a, n_t) and dt_ignored.shape[:2] == (n_a, n_t)
    shapes_ok &= gt_best_iou.shape[:2] == (n_a, n_t) and gt_positive.shape[0] == n_a
    shapes_ok &= min(dt_matched.shape[2], dt_ignored.shape[2]) >= n_dt_all
    shapes_ok &= gt_best_iou.shape[2] >= n_gt_all and gt_positive.shape[1] >= n_grp
    if not shapes_ok or max(n_gt_all, n_dt_all, int(sizes.sum())) * n_a * n_t > MAX_ELEMENTS:
        return NotImplemented

    # every IoU: pair p is detection pair_d[p] against ground truth pair_g[p]
    grp = np.repeat(np.arange(n_grp, dtype=_I64), sizes)
    local = _ranges(np.zeros(n_grp, dtype=_I64), sizes)
    where = offsets[grp] + local
    crowd = gt_crowd.astype(bool)
    if gt_boxes is None and dt_boxes is None and gt_sets is None and dt_sets is None:
        values = ious[where]
    else:
        row, col = np.divmod(local, np.maximum(n_gt[grp], 1))
        pair_d, pair_g = ds[grp] + row, gs[grp] + col
        boxes = None if gt_sets is not None else (np.asarray(gt_boxes), np.asarray(dt_boxes))
        values = _pair_ious(pair_d, pair_g, *(boxes or (None, None)), gt_sets, dt_sets, crowd)
        if values is None:
            return NotImplemented
    if not np.isfinite(values).all():
        return NotImplemented
    if gt_boxes is not None or gt_sets is not None:
        ious[where] = values

    # ignore flags of the ground truth and of unmatched detections, per area range
    lo, hi = area_ranges[:, 0:1], area_ranges[:, 1:2]
    gt_ignored = crowd[None, :] | (gt_area[None, :] < lo) | (gt_area[None, :] > hi)
    dt_outside = (dt_area[None, :] < lo) | (dt_area[None, :] > hi)
    positives = np.zeros((n_a, n_gt_all + 1), dtype=_I64)
    np.cumsum(~gt_ignored, axis=1, out=positives[:, 1:])
    gt_positive[:, :n_grp] = positives[:, ge] - positives[:, gs]
    every_dt = _ranges(ds, n_dt)
    dt_matched[:, :, every_dt] = False
    dt_ignored[:, :, every_dt] = dt_outside[:, None, every_dt]

    best = np.minimum(thresholds, _LIMIT)[None, :, None]
    taken = np.zeros((n_a, n_t, n_gt_all), dtype=bool)
    id_zero = gt_id_zero.astype(bool)
    for rank in range(int(n_dt.max(initial=0))):
        groups = (gs, n_gt, ds, n_dt, offsets)
        flags = (crowd, id_zero, gt_ignored, dt_outside)
        _match_rank(rank, groups, ious, best, flags, taken, out)
    return None


def _match_rank(rank, groups, ious, best, flags, taken, out):
    """Match the detection of this rank in every group that has one (and ground truth).

    ``groups`` is ``(gs, n_gt, ds, n_dt, offsets)``, ``flags`` is ``(crowd, id_zero,
    gt_ignored, dt_outside)``; ``taken`` (A, T, G) is updated in place."""
    gs, n_gt, ds, n_dt, offsets = groups
    crowd, id_zero, gt_ignored, dt_outside = flags
    dt_matched, dt_ignored, _, gt_best_iou = out
    act = np.flatnonzero((n_dt > rank) & (n_gt > 0))
    if act.size == 0:
        return
    lens = n_gt[act]
    seg = np.cumsum(lens) - lens
    j_local = _ranges(np.zeros(act.shape[0], dtype=_I64), lens)
    owner = np.repeat(np.arange(act.shape[0], dtype=_I64), lens)
    gt_j = gs[act][owner] + j_local
    v = ious[offsets[act][owner] + rank * lens[owner] + j_local]
    ignored = gt_ignored[:, None, gt_j]  # (A, 1, J)
    # ground truth still free (or crowd), with IoU at least the threshold
    cand = (~taken[:, :, gt_j] | crowd[gt_j]) & (v >= best)
    first = cand & ~ignored
    has_first = np.logical_or.reduceat(first, seg, axis=2)
    pool = np.where(np.repeat(has_first, lens, axis=2), first, cand & ignored)
    score = np.where(pool, v, -np.inf)
    top = np.maximum.reduceat(score, seg, axis=2)
    tie = pool & (score == np.repeat(top, lens, axis=2))
    pick = np.maximum.reduceat(np.where(tie, np.arange(gt_j.shape[0]), -1), seg, axis=2)
    found = pick >= 0
    det = ds[act] + rank
    a_idx, t_idx, s_idx = np.nonzero(found)
    m = pick[a_idx, t_idx, s_idx]
    g = gt_j[m]
    taken[a_idx, t_idx, g] = True
    gt_best_iou[a_idx, t_idx, g] = v[m]
    d = det[s_idx]
    zero_id = id_zero[g]
    ig_m = gt_ignored[a_idx, g]
    dt_matched[a_idx, t_idx, d] = ~zero_id
    dt_ignored[a_idx, t_idx, d] = ig_m | (zero_id & dt_outside[a_idx, d])


def accumulate(bounds, gt_positive, order, dt_rank, dt_score, matches, max_dets, rec_thrs, out):
    """Twin of ``cpu_coco.accumulate``: pycocotools' ``accumulate`` for every
    (category k, area a, maxDets m), written into ``out = (precision, recall,
    scores)`` where category ``k`` has non-ignored ground truth (else left as is).

    ``bounds = (cat_dt_start, cat_dt_stop, cat_groups_start, cat_groups_stop)``;
    the detections of category ``k`` are ``order[cat_dt_start[k]:cat_dt_stop[k]]``
    (by descending score), those of rank below ``max_dets[m]`` counted; ``matches
    = (dt_matched, dt_ignored)``. The recall-threshold lookup is
    ``searchsorted(recall, rec_thrs, "left")`` as the kernel's (a NaN threshold
    finds nothing): recall is ``tp / positives``, so the first detection reaching a
    threshold is the ``c``-th true positive, ``c`` the least count whose recall
    reaches it.

    Returns None, or ``NotImplemented`` (nothing written) when the bounds or the
    order point outside the arrays, ``gt_positive`` is negative or not integer, the
    outputs' shapes are not ``(T, R, K, A, M)`` / ``(T, K, A, M)``, or the work
    passes :data:`MAX_ELEMENTS`.

    Examples
    --------
    >>> import numpy as np
    >>> bounds = tuple(np.array([v]) for v in (0, 2, 0, 1))  # 2 detections, 1 group
    >>> matched = np.array([[[True, False]]])
    >>> prec, rec, sc = -np.ones((1, 2, 1, 1, 1)), -np.ones((1, 1, 1, 1)), -np.ones((1, 2, 1, 1, 1))
    >>> accumulate(bounds, np.array([[1]]), np.array([0, 1]), np.array([0, 0]),
    ...            np.array([0.9, 0.8]), (matched, ~matched & False), np.array([10]),
    ...            np.array([0.0, 1.0]), (prec, rec, sc))
    >>> prec[0, :, 0, 0, 0], rec[0, 0, 0, 0], sc[0, :, 0, 0, 0]
    (array([1., 1.]), np.float64(1.0), array([0.9, 0.9]))
    """
    start, stop, g_start, g_stop = (np.asarray(x, dtype=_I64) for x in bounds)
    dt_matched, dt_ignored = (np.asarray(x) for x in matches)
    precision, recall, scores = out
    order, dt_rank = np.asarray(order, dtype=_I64), np.asarray(dt_rank)
    max_dets = np.asarray(max_dets)  # compared as given (a float maxDets included)
    rec_thrs = np.asarray(rec_thrs, dtype=np.float64)
    dt_score, gt_positive = np.asarray(dt_score), np.asarray(gt_positive)
    n_k = start.shape[0]
    if n_k == 0 or dt_matched.shape[0] == 0:
        return None
    if dt_matched.ndim != 3 or gt_positive.ndim != 2:
        return NotImplemented
    n_a, n_t, n_d = dt_matched.shape
    n_m, n_r = max_dets.shape[0], rec_thrs.shape[0]
    if min(stop.shape[0], g_start.shape[0], g_stop.shape[0]) < n_k:
        return NotImplemented
    stop, g_start, g_stop = stop[:n_k], g_start[:n_k], g_stop[:n_k]
    lens = stop - start
    n_groups = gt_positive.shape[1]
    if (lens < 0).any() or (start < 0).any() or (stop > order.shape[0]).any():
        return NotImplemented
    if (g_stop < g_start).any() or (g_start < 0).any() or (g_stop > n_groups).any():
        return NotImplemented
    if dt_ignored.shape != dt_matched.shape or gt_positive.shape[0] < n_a:
        return NotImplemented
    shape = (n_t, n_r, n_k, n_a, n_m)
    if precision.shape != shape or scores.shape != shape or recall.shape != (n_t, n_k, n_a, n_m):
        return NotImplemented
    seq = order[_ranges(start, lens)]  # every category's detections, concatenated
    n_seq = seq.shape[0]
    if n_seq and (seq.min() < 0 or seq.max() >= min(n_d, dt_rank.shape[0], dt_score.shape[0])):
        return NotImplemented
    if gt_positive.dtype.kind not in "iu" or max_dets.dtype.kind not in "iuf":
        return NotImplemented
    if (gt_positive < 0).any() or int(gt_positive.max(initial=0)) * max(n_groups, 1) >= 1 << 52:
        return NotImplemented
    if max(n_seq, 1) * n_a * n_t * n_m + n_t * n_r * n_k * n_a * n_m > MAX_ELEMENTS:
        return NotImplemented

    cum_pos = np.zeros((n_a, n_groups + 1), dtype=_I64)
    np.cumsum(gt_positive[:n_a], axis=1, out=cum_pos[:, 1:])
    positives = (cum_pos[:, g_stop] - cum_pos[:, g_start]).T  # (K, A)
    live_k, live_a = np.nonzero(positives > 0)
    if live_k.size == 0 or n_t * n_m == 0:  # nothing to write
        return None
    if n_seq == 0:  # no detection: recall and precision 0
        recall[:, live_k, live_a, :] = 0.0
        precision[:, :, live_k, live_a, :] = 0.0
        scores[:, :, live_k, live_a, :] = 0.0
        return None

    # true / false positives of every (a, t, m) row along the concatenated sequence
    picked = dt_rank[seq][None, :] < max_dets[:, None]  # (M, L)
    counted = ~dt_ignored[:, :, seq].astype(bool)
    hit = dt_matched[:, :, seq].astype(bool)
    tp = (counted & hit)[:, :, None, :] & picked[None, None]  # (A, T, M, L)
    fp = (counted & ~hit)[:, :, None, :] & picked[None, None]
    seg = np.cumsum(lens) - lens
    tp_cum, tp_before = _segment_cumsum(tp, seg, lens)
    fp_cum, _ = _segment_cumsum(fp, seg, lens)
    tp_f = tp_cum.astype(np.float64)
    pr = tp_f / (fp_cum.astype(np.float64) + tp_f + _SPACING)
    pr[~np.broadcast_to(picked[None, None], pr.shape)] = 0.0
    for k in np.unique(live_k).tolist():  # pycocotools' precision envelope
        if lens[k]:
            part = pr[..., seg[k] : seg[k] + lens[k]]
            part[...] = np.maximum.accumulate(part[..., ::-1], axis=-1)[..., ::-1]

    # recall of each live (k, a) cell: its true positives over its positives
    tp_total = np.zeros((n_a, n_t, n_m, n_k), dtype=_I64)
    tp_total[..., lens > 0] = tp_cum[..., (seg + lens - 1)[lens > 0]]
    live_pos = positives[live_k, live_a]
    cell_tp = tp_total[live_a, :, :, live_k]  # (Q, T, M)
    recall[:, live_k, live_a, :] = (cell_tp / live_pos[:, None, None]).transpose(1, 0, 2)

    # recall threshold r is first reached at the c-th true positive
    if n_r == 0:
        return None
    c = _first_count(live_pos, rec_thrs)  # (Q, R)
    cells = (live_k, live_a, c, cell_tp)
    prec_u, score_u, at = _lookup(cells, tp, tp_before, picked, seg, lens, pr, dt_score[seq])
    # output cell (t, r, k, a, m) of live cell q takes lookup at[r, q] of row (t, m)
    where = np.zeros((n_r, n_k * n_a), dtype=_I64)
    where[:, live_k * n_a + live_a] = at
    source = (where[:, :, None] * n_m + np.arange(n_m)).reshape(n_r, -1)  # (R, K * A * M)
    live = np.zeros((n_k * n_a, n_m), dtype=bool)
    live[live_k * n_a + live_a] = True
    for target, values in ((precision, prec_u), (scores, score_u)):
        cells = np.take(values.reshape(n_t, -1), source, axis=1).reshape(target.shape)
        np.copyto(target, cells, where=live.reshape(1, 1, n_k, n_a, n_m))
    return None


def _segment_cumsum(flags: np.ndarray, seg: np.ndarray, lens: np.ndarray):
    """Running counts of ``flags`` along the last axis, restarting at every segment,
    and the global count before each segment, ``(..., K)``."""
    total = np.cumsum(flags, axis=-1, dtype=_I64)
    before = np.zeros(flags.shape[:-1] + (seg.shape[0],), dtype=_I64)
    some = lens > 0
    first = seg[some]
    before[..., some] = total[..., first] - flags[..., first]
    return total - np.repeat(before, lens, axis=-1), before


def _first_count(positives: np.ndarray, rec_thrs: np.ndarray) -> np.ndarray:
    """``searchsorted(arange(P + 1) / P, thr, "left")`` for every cell (P its
    positives) and threshold: the least true-positive count whose recall (the
    kernel's ``tp / P``) reaches ``thr``; P + 1 when none does (NaN included)."""
    p = positives[:, None].astype(np.float64)
    top = positives[:, None] + 1
    with np.errstate(invalid="ignore", over="ignore"):
        guess = np.ceil(rec_thrs[None, :] * p)
        guess = np.where(np.isnan(guess), p + 1.0, np.clip(guess, 0.0, p + 1.0))
        c = guess.astype(_I64)
        while True:  # the float guess is off by at most a step or two: fix it exactly
            down = (c > 0) & ((c - 1) / p >= rec_thrs)
            up = (c < top) & ~(c / p >= rec_thrs) & ~down
            if not (down.any() or up.any()):
                return c
            c = c - down + up


def _lookup(cells, tp, tp_before, picked, seg, lens, pr, seq_score):
    """Precision and score at the first detection reaching each recall threshold,
    ``(T, U, M)`` for the distinct (cell, count) ``U`` pairs, 0 where no detection
    reaches it, and ``at`` (R, Q), the pair of each live cell and threshold.
    ``tp_before`` counts each row's true positives before each category's segment,
    so the c-th true positive of a cell is found in the list of every true
    position. Each distinct (cell, c) is looked up once."""
    live_k, live_a, c, cell_tp = cells
    n_a, n_t, n_m, n_seq = tp.shape
    n_k, n_q = lens.shape[0], live_k.shape[0]
    key = np.arange(n_q, dtype=_I64)[:, None] * (int(c.max()) + 1) + c
    uniq, inverse = np.unique(key, return_inverse=True)
    u_q, u_c = np.divmod(uniq, int(c.max()) + 1)
    t_i = np.arange(n_t, dtype=_I64)[:, None, None]
    m_i = np.arange(n_m, dtype=_I64)[None, None, :]
    row = (live_a[u_q][None, :, None] * n_t + t_i) * n_m + m_i  # (T, U, M)
    cc = u_c[None, :, None]
    tp_pos = np.flatnonzero(tp)
    row_start = np.zeros(n_a * n_t * n_m, dtype=_I64)
    np.cumsum(np.count_nonzero(tp.reshape(-1, n_seq), axis=1)[:-1], out=row_start[1:])
    before = row_start[row] + tp_before.reshape(-1, n_k)[row, live_k[u_q][None, :, None]]
    total = cell_tp.transpose(1, 0, 2)[:, u_q, :]  # (T, U, M)
    has_tp = (cc >= 1) & (cc <= total)
    tp_w = tp_pos % n_seq
    w = tp_w[np.where(has_tp, before + cc - 1, 0)] if tp_pos.size else np.zeros(has_tp.shape, _I64)
    # c == 0: the first counted (picked) detection of the category, if any
    pick_cum, pick_before = _segment_cumsum(picked, seg, lens)
    n_picked = np.zeros((n_m, n_k), dtype=_I64)
    n_picked[:, lens > 0] = pick_cum[:, (seg + lens - 1)[lens > 0]]
    pick_pos = np.flatnonzero(picked) % n_seq
    m_row = np.zeros(n_m, dtype=_I64)
    np.cumsum(np.count_nonzero(picked, axis=1)[:-1], out=m_row[1:])
    first = np.minimum(m_row[:, None] + pick_before, max(pick_pos.size - 1, 0))
    first_picked = pick_pos[first] if pick_pos.size else np.zeros((n_m, n_k), dtype=_I64)
    u_k = live_k[u_q]
    zero_c = (cc == 0) & (n_picked[:, u_k].T[None] > 0)
    w = np.where(zero_c, first_picked[:, u_k].T[None], w)
    found = has_tp | zero_c
    prec = np.where(found, pr.reshape(-1)[row * n_seq + w], 0.0)
    score = np.where(found, seq_score[w], 0.0)
    at = inverse.reshape(n_q, -1).T  # (R, Q): the distinct lookup of each output cell
    return prec, score, at
