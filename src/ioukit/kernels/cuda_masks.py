"""CUDA twin of dense mask IoU: bit-packed rows, popcount of ANDs, row-range cull.

Each mask row becomes ``ceil(W / 64)`` 64-bit words (one thread per word); the
rows holding foreground are recorded with atomics, so a pair only visits the rows
both masks use. The IoU itself is the shared scalar formula.
"""

import numpy as np
from numba import cuda

from .cuda_scalar import D as _d

iou_from_areas = _d.iou_from_areas
crowd_iou_from_areas = _d.crowd_iou_from_areas


@cuda.jit
def pack_rows(masks, words, areas, row_lo, row_hi, bad):
    """``words[n, y, k]`` = bits of ``masks[n, y, 64k:64k+64]``; areas, used rows, and
    ``bad[0]`` set when a value is not 0/1."""
    idx = cuda.grid(1)
    n_masks, h, n_words = words.shape
    if idx < n_masks * h * n_words:
        n = idx // (h * n_words)
        rest = idx - n * h * n_words
        y = rest // n_words
        k = rest - y * n_words
        word = np.uint64(0)
        w = masks.shape[2]
        for c in range(64):
            x = 64 * k + c
            if x < w:
                v = masks[n, y, x]
                if v != 0:
                    if v != 1:
                        bad[0] = 1
                    word |= np.uint64(1) << np.uint64(c)
        words[n, y, k] = word
        if word != 0:
            cuda.atomic.add(areas, n, cuda.popc(word))
            cuda.atomic.min(row_lo, n, y)
            cuda.atomic.max(row_hi, n, y)


@cuda.jit
def packed_iou(wa, area_a, lo_a, hi_a, wb, area_b, lo_b, hi_b, crowd, use_crowd, out):
    """``out[i, j]`` = IoU of packed masks ``i`` of ``a`` and ``j`` of ``b``."""
    j, i = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        inter = 0
        for y in range(max(lo_a[i], lo_b[j]), min(hi_a[i], hi_b[j]) + 1):
            for k in range(wa.shape[2]):
                inter += cuda.popc(wa[i, y, k] & wb[j, y, k])
        fi = float(inter)
        if use_crowd:
            out[i, j] = crowd_iou_from_areas(fi, float(area_a[i]), float(area_b[j]), crowd[j])
        else:
            out[i, j] = iou_from_areas(fi, float(area_a[i]), float(area_b[j]))
