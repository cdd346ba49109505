"""Sparse IoU of rotated boxes / convex polygons: only the pairs with IoU >= t.

Each shape is culled by its circumscribed square (centre +- circumradius). The
squares of ``b`` are registered in the cells of a uniform grid (shapes spanning
more than ``MAX_SPAN`` cells per axis go to a short list checked against
everything); each shape of ``a`` visits the cells its square covers, and a pair is
examined only in the cell holding the top-left corner of the two squares'
intersection, so nothing is counted twice. Memory is O(N + M + K) for K pairs.
"""

import numpy as np
from numba import prange

from .._core import jit as nb
from . import scalar_rotated as s
from .cpu_rotated import pair_metric, scratch_width

MAX_SPAN = 8


@nb.serial_kernel
def _cell(v, origin, side, n):
    c = np.int64((v - origin) / side)
    return min(max(c, 0), n - 1)


@nb.serial_kernel
def _square(g, i):
    return g[i, 0] - g[i, 3], g[i, 1] - g[i, 3], g[i, 0] + g[i, 3], g[i, 1] + g[i, 3]


@nb.serial_kernel
def build_grid(gb, origin_x, origin_y, side, nx, ny):
    """``(cell_start, cell_items, big)``: the shapes of ``gb`` per grid cell."""
    m = gb.shape[0]
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    big = np.zeros(m, dtype=np.bool_)
    for j in range(m):
        x0, y0, x1, y1 = _square(gb, j)
        cx0, cx1 = _cell(x0, origin_x, side, nx), _cell(x1, origin_x, side, nx)
        cy0, cy1 = _cell(y0, origin_y, side, ny), _cell(y1, origin_y, side, ny)
        if cx1 - cx0 >= MAX_SPAN or cy1 - cy0 >= MAX_SPAN:
            big[j] = True
            continue
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                counts[cy * nx + cx + 1] += 1
    start = np.cumsum(counts)
    fill = start[:-1].copy()
    items = np.empty(start[-1], dtype=np.int64)
    for j in range(m):
        if big[j]:
            continue
        x0, y0, x1, y1 = _square(gb, j)
        cx0, cx1 = _cell(x0, origin_x, side, nx), _cell(x1, origin_x, side, nx)
        cy0, cy1 = _cell(y0, origin_y, side, ny), _cell(y1, origin_y, side, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                items[fill[cy * nx + cx]] = j
                fill[cy * nx + cx] += 1
    return start, items, np.flatnonzero(big)


@nb.serial_kernel
def _pair(i, j, ga, gb, ka, kb, threshold, scratch):
    """IoU of the pair when it is at or above ``threshold``, else -1."""
    v = pair_metric(0, 0, ga[i], ka, gb[j], kb, scratch)
    return v if v > 0 and v >= threshold else -1.0


@nb.serial_kernel
def _visit(i, ga, gb, ka, kb, threshold, grid, write, cols, vals, at, scratch):
    """Pairs of shape ``i`` of ``a``: counted, or written from ``at``; returns the count."""
    start, items, big, origin_x, origin_y, side, nx, ny = grid
    ax0, ay0, ax1, ay1 = _square(ga, i)
    k = 0
    cx0, cx1 = _cell(ax0, origin_x, side, nx), _cell(ax1, origin_x, side, nx)
    cy0, cy1 = _cell(ay0, origin_y, side, ny), _cell(ay1, origin_y, side, ny)
    for cy in range(cy0, cy1 + 1):
        for cx in range(cx0, cx1 + 1):
            cell = cy * nx + cx
            for q in range(start[cell], start[cell + 1]):
                j = items[q]
                bx0, by0, bx1, by1 = _square(gb, j)
                if bx0 > ax1 or bx1 < ax0 or by0 > ay1 or by1 < ay0:
                    continue
                if _cell(max(ax0, bx0), origin_x, side, nx) != cx:
                    continue
                if _cell(max(ay0, by0), origin_y, side, ny) != cy:
                    continue
                v = _pair(i, j, ga, gb, ka, kb, threshold, scratch)
                if v >= 0:
                    if write:
                        cols[at + k] = j
                        vals[at + k] = v
                    k += 1
    for q in range(big.shape[0]):
        j = big[q]
        v = _pair(i, j, ga, gb, ka, kb, threshold, scratch)
        if v >= 0:
            if write:
                cols[at + k] = j
                vals[at + k] = v
            k += 1
    return k


@nb.parallel_kernel
def count_pairs(ga, gb, ka, kb, threshold, grid, out):
    dummy_c = np.empty(1, dtype=np.int64)
    dummy_v = np.empty(1, dtype=np.float64)
    for i in prange(ga.shape[0]):
        scratch = np.empty((s.SCRATCH_ROWS, scratch_width(ka, kb)), dtype=np.float64)
        out[i] = _visit(i, ga, gb, ka, kb, threshold, grid, False, dummy_c, dummy_v, 0, scratch)


@nb.parallel_kernel
def fill_pairs(ga, gb, ka, kb, threshold, grid, indptr, cols, vals):
    for i in prange(ga.shape[0]):
        scratch = np.empty((s.SCRATCH_ROWS, scratch_width(ka, kb)), dtype=np.float64)
        _visit(i, ga, gb, ka, kb, threshold, grid, True, cols, vals, indptr[i], scratch)
