"""CUDA NMS: the bit-mask formulation.

Boxes arrive sorted by decreasing score (rank 0 the best). :func:`mask_rows` gives
each box ``r`` a row of 64-bit words, bit ``k`` of word ``w`` set when box
``q = 64 w + k`` comes later (``q > r``), has the same label and an IoU with ``r``
above the threshold; every thread fills one word of one row, so the N x N tests run
in parallel. :func:`sweep` (a CPU kernel, run on the rows copied back) then makes
the greedy pass: a box not yet removed is kept and its row is OR-ed into the removed
set. Which pairs are above the threshold is all greedy NMS depends on, so the kept
boxes are those of the CPU's ``cpu_nms.greedy``.

The tests are the CPU's: axis-aligned IoU with torchvision's arithmetic in the
input dtype (``inter / (area_r + area_q - inter) > t``), rotated IoU with the shared
scalar formulas of ``scalar_rotated`` in float64.
"""

import numpy as np
from numba import cuda, float64, uint64

from .._core import jit as nb
from .cuda_rotated import ROWS, pair_metric, width_for

WORD = 64
WIDTH = width_for(4, 4)


@cuda.jit(device=True)
def _box_above(planes, r, q, threshold):
    """torchvision's test on the (5, N) planes x0, y0, x1, y1, area (input dtype)."""
    w = min(planes[2, r], planes[2, q]) - max(planes[0, r], planes[0, q])
    h = min(planes[3, r], planes[3, q]) - max(planes[1, r], planes[1, q])
    if w < 0:
        w = w - w
    if h < 0:
        h = h - h
    inter = w * h
    union = planes[4, r] + planes[4, q] - inter
    # union <= 0 only for two empty boxes, where the CPU's 0 / 0 is NaN: never above
    return union > 0 and inter / union > threshold


@cuda.jit
def mask_rows(planes, geo, rotated, labels, threshold, row0, mask):
    """``mask[rr, w]``: the word ``w`` of box ``r = row0 + rr`` (see the module doc).
    ``planes`` (5, N) for axis-aligned boxes, ``geo`` (N, 12) rows when ``rotated``."""
    w, rr = cuda.grid(2)
    n = labels.shape[0]
    r = row0 + rr
    if w < mask.shape[1] and rr < mask.shape[0] and r < n:
        scratch = cuda.local.array((ROWS, WIDTH), float64)
        word = uint64(0)
        first = max(r + 1, w * WORD)
        last = min(n, (w + 1) * WORD)
        for q in range(first, last):
            if labels[q] != labels[r]:
                continue
            if rotated:
                hit = pair_metric(0, 0, geo[r], 4, geo[q], 4, scratch) > threshold
            else:
                hit = _box_above(planes, r, q, threshold)
            if hit:
                word |= uint64(1) << uint64(q - w * WORD)
        mask[rr, w] = word


@nb.serial_kernel
def sweep(mask, row0, n, removed, keep, count, max_output):
    """The greedy pass over the rows ``row0 ..`` of ``mask`` (host copy): appends kept
    ranks to ``keep`` from ``count`` on, updates ``removed``; returns the new count."""
    one = np.uint64(1)
    for rr in range(mask.shape[0]):
        r = row0 + rr
        if r >= n or count >= max_output:
            break
        if (removed[r // WORD] >> np.uint64(r % WORD)) & one:
            continue
        keep[count] = r
        count += 1
        for w in range(r // WORD, mask.shape[1]):
            removed[w] |= mask[rr, w]
    return count
