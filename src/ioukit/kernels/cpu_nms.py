"""CPU kernels for non-maximum suppression.

Greedy NMS visits the boxes in decreasing score; a kept box suppresses every later
box whose IoU with it is above the threshold. Its result does not depend on the
order in which a kept box's suppressions are made, only on which pairs are above
the threshold, so each kept box only looks at the boxes that share a cell of the
uniform grid of :mod:`.grid` with it (IoU > t >= 0 needs a positive intersection).
That turns torchvision's O(N x kept) scan into O(kept x neighbours), sequential but
cheap.

Boxes arrive already in sorted order (``rank`` 0 is the best score); the returned
ranks are mapped back to indices by the caller. The axis-aligned IoU is written
with torchvision's arithmetic in the input dtype (``inter / (area_i + area_j -
inter)``, compared in float64 with ``>``), so ties and rounding agree with it.
"""

import numpy as np

from .._core import jit as nb
from . import grid as g
from . import scalar_rotated as s
from .cpu_rotated import pair_metric, scratch_width

MAX_SPAN = g.MAX_SPAN

#: ``(cell_start, cell_items, big)`` of the culling boxes; a cell's items come in
#: increasing rank, which ``greedy`` relies on
build_grid = g.build_grid


@nb.serial_kernel
def _kept_buffers(n, max_output):
    """``(suppressed, keep)`` of a greedy pass: nothing suppressed, room for the kept."""
    return np.zeros(n, dtype=np.bool_), np.empty(min(n, max_output), dtype=np.int64)


@nb.serial_kernel
def _box_above(x0, y0, x1, y1, area, r, q, threshold):
    """torchvision's test: IoU of sorted boxes ``r`` and ``q`` is above ``threshold``."""
    w = min(x1[r], x1[q]) - max(x0[r], x0[q])
    h = min(y1[r], y1[q]) - max(y0[r], y0[q])
    if w < 0:
        w = w - w
    if h < 0:
        h = h - h
    inter = w * h
    return inter / (area[r] + area[q] - inter) > threshold


@nb.serial_kernel
def _shape_above(geo, r, q, threshold, scratch):
    """Rotated / polygon IoU of sorted shapes ``r`` and ``q`` is above ``threshold``."""
    return pair_metric(0, 0, geo[r], 4, geo[q], 4, scratch) > threshold


@nb.serial_kernel
def greedy(boxes, geo, rotated, threshold, max_output, grid, use_grid):
    """Ranks kept by greedy NMS over sorted boxes (xyxy planes ``boxes`` (5, N): x0, y0,
    x1, y1, area) or sorted rotated shapes ``geo`` (N, 12), at most ``max_output``.

    The pair test (``if rotated: ... else: ...``) is written out at its three places,
    a deliberate duplicates row: one helper for it (taking the planes) made the
    20,000-box sweep 40-80 % slower."""
    start, items, big, big_list, origin_x, origin_y, side, nx, ny, lo_x, lo_y, hi_x, hi_y = grid
    n = geo.shape[0] if rotated else boxes.shape[1]
    x0, y0, x1, y1, area = boxes[0], boxes[1], boxes[2], boxes[3], boxes[4]
    scratch = np.empty((s.SCRATCH_ROWS, scratch_width(4, 4)), dtype=np.float64)
    suppressed, keep = _kept_buffers(n, max_output)
    count = 0
    for r in range(n):
        if count >= max_output:
            break
        if suppressed[r]:
            continue
        keep[count] = r
        count += 1
        if not use_grid or big[r]:
            for q in range(r + 1, n):
                if not suppressed[q]:
                    if rotated:
                        hit = _shape_above(geo, r, q, threshold, scratch)
                    else:
                        hit = _box_above(x0, y0, x1, y1, area, r, q, threshold)
                    if hit:
                        suppressed[q] = True
            continue
        cx0, cx1, cy0, cy1 = g.cell_range(
            lo_x[r], lo_y[r], hi_x[r], hi_y[r], origin_x, origin_y, side, nx, ny
        )
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                cell = cy * nx + cx
                # items of a cell are in rank order: start after ``r`` (earlier ranks
                # are decided); a pair seen in two cells is simply tested twice
                lo = start[cell] + np.searchsorted(items[start[cell] : start[cell + 1]], r, "right")
                for p in range(lo, start[cell + 1]):
                    q = items[p]
                    if suppressed[q]:
                        continue
                    if (
                        lo_x[q] > hi_x[r]
                        or hi_x[q] < lo_x[r]
                        or lo_y[q] > hi_y[r]
                        or hi_y[q] < lo_y[r]
                    ):
                        continue  # the culling boxes miss: IoU 0
                    if rotated:
                        hit = _shape_above(geo, r, q, threshold, scratch)
                    else:
                        hit = _box_above(x0, y0, x1, y1, area, r, q, threshold)
                    if hit:
                        suppressed[q] = True
        for p in range(big_list.shape[0]):
            q = big_list[p]
            if q > r and not suppressed[q]:
                if rotated:
                    hit = _shape_above(geo, r, q, threshold, scratch)
                else:
                    hit = _box_above(x0, y0, x1, y1, area, r, q, threshold)
                if hit:
                    suppressed[q] = True
    return keep[:count]


@nb.serial_kernel
def greedy_matrix(iou, order, threshold, max_output):
    """Greedy NMS from a precomputed IoU matrix (masks); ``order`` is the visiting order."""
    n = order.shape[0]
    suppressed, keep = _kept_buffers(n, max_output)
    count = 0
    for r in range(n):
        i = order[r]
        if count >= max_output:
            break
        if not suppressed[i]:  # kept: it suppresses the later ones it overlaps
            keep[count] = i
            count += 1
            for p in range(r + 1, n):
                j = order[p]
                if not suppressed[j] and iou[i, j] > threshold:
                    suppressed[j] = True
    return keep[:count]


@nb.serial_kernel
def soft(boxes, geo, rotated, scores, iou_threshold, sigma, gaussian, score_threshold, max_output):
    """Soft-NMS (Bodla et al. 2017): ``(indices, new scores)`` in selection order.

    The box with the highest current score (ties: the lower index) is selected; every
    remaining box's score is multiplied by ``1 - IoU`` when IoU > ``iou_threshold``
    (linear) or by ``exp(-IoU^2 / sigma)`` (Gaussian). Selection stops when the best
    remaining score is not above ``score_threshold``. IoU is computed in float64.
    """
    n = scores.shape[0]
    current = scores.astype(np.float64)
    alive = np.ones(n, dtype=np.bool_)
    limit = min(n, max_output)
    keep = np.empty(limit, dtype=np.int64)
    kept_scores = np.empty(limit, dtype=np.float64)
    scratch = np.empty((s.SCRATCH_ROWS, scratch_width(4, 4)), dtype=np.float64)
    count = 0
    while count < limit:
        best = -1
        for j in range(n):
            if alive[j] and (best < 0 or current[j] > current[best]):
                best = j
        if best < 0 or not current[best] > score_threshold:
            break
        alive[best] = False
        keep[count] = best
        kept_scores[count] = current[best]
        count += 1
        for j in range(n):
            if not alive[j]:
                continue
            if rotated:
                iou = pair_metric(0, 0, geo[best], 4, geo[j], 4, scratch)
            else:
                w = min(np.float64(boxes[2, best]), boxes[2, j]) - max(
                    np.float64(boxes[0, best]), boxes[0, j]
                )
                h = min(np.float64(boxes[3, best]), boxes[3, j]) - max(
                    np.float64(boxes[1, best]), boxes[1, j]
                )
                inter = max(w, 0.0) * max(h, 0.0)
                union = np.float64(boxes[4, best]) + boxes[4, j] - inter
                iou = inter / union if union > 0 else 0.0
            if gaussian:
                current[j] *= np.exp(-(iou * iou) / sigma)
            elif iou > iou_threshold:
                current[j] *= 1.0 - iou
    return keep[:count], kept_scores[:count]
