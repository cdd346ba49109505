"""Sparse IoU of rotated boxes / convex polygons: only the pairs with IoU >= t.

Each shape is culled by its circumscribed square (centre +- circumradius). The
squares of ``b`` are registered in the cells of the uniform grid of :mod:`.grid`
(shapes spanning ``MAX_SPAN`` cells or more go to a short list checked against
everything); each shape of ``a`` visits the cells its square covers, and a pair is
examined only in the cell holding the top-left corner of the two squares'
intersection, so nothing is counted twice. Memory is O(N + M + K) for K pairs.
"""

import numpy as np
from numba import prange

from .._core import jit as nb
from . import grid as g
from . import scalar_rotated as s
from .cpu_rotated import pair_metric, scratch_width

MAX_SPAN = g.MAX_SPAN


@nb.serial_kernel
def _square(geo, i):
    """The circumscribed square ``(x0, y0, x1, y1)`` of shape ``i``."""
    return (
        geo[i, 0] - geo[i, 3],
        geo[i, 1] - geo[i, 3],
        geo[i, 0] + geo[i, 3],
        geo[i, 1] + geo[i, 3],
    )


@nb.serial_kernel
def _pair(i, j, ga, gb, ka, kb, threshold, scratch):
    """IoU of the pair when it is at or above ``threshold``, else -1."""
    v = pair_metric(0, 0, ga[i], ka, gb[j], kb, scratch)
    return v if v > 0 and v >= threshold else -1.0


@nb.serial_kernel
def _visit(i, ga, gb, ka, kb, threshold, grid, write, cols, vals, at, scratch):
    """Pairs of shape ``i`` of ``a``: counted, or written from ``at``; returns the count.

    Pass ``p`` visits covered cell ``p``, and the last pass the shapes too big for the
    grid (no culling there), so the pair test is written once."""
    origin_x, origin_y, side, nx, ny = grid[3], grid[4], grid[5], grid[6], grid[7]
    ax0, ay0, ax1, ay1 = _square(ga, i)
    plan = g.visit_plan(ax0, ay0, ax1, ay1, grid)
    k = 0
    for p in range(plan[3]):
        cx, cy, first, last, source = g.visit_pass(p, plan, grid)
        for q in range(first, last):
            j = source[q]
            if cx >= 0:
                bx0, by0, bx1, by1 = _square(gb, j)
                if bx0 > ax1 or bx1 < ax0 or by0 > ay1 or by1 < ay0:
                    continue  # the squares miss: IoU 0
                # examine the pair only in the cell of the squares' intersection's corner
                if g.cell(max(ax0, bx0), origin_x, side, nx) != cx:
                    continue
                if g.cell(max(ay0, by0), origin_y, side, ny) != cy:
                    continue
            v = _pair(i, j, ga, gb, ka, kb, threshold, scratch)
            if v >= 0:
                g.record(write, cols, vals, at + k, j, v)
                k += 1
    return k


@nb.parallel_kernel
def count_pairs(ga, gb, ka, kb, threshold, grid, out):
    dummy_c = np.empty(1, dtype=np.int64)
    dummy_v = np.empty(1, dtype=np.float64)
    for i in prange(ga.shape[0]):
        scratch = np.empty((s.SCRATCH_ROWS, scratch_width(ka, kb)), dtype=np.float64)
        row = np.int64(i)  # one type for prange's index (it is unsigned in the gufunc)
        out[row] = _visit(row, ga, gb, ka, kb, threshold, grid, False, dummy_c, dummy_v, 0, scratch)


@nb.parallel_kernel
def fill_pairs(ga, gb, ka, kb, threshold, grid, indptr, cols, vals):
    for i in prange(ga.shape[0]):
        scratch = np.empty((s.SCRATCH_ROWS, scratch_width(ka, kb)), dtype=np.float64)
        row = np.int64(i)
        _visit(row, ga, gb, ka, kb, threshold, grid, True, cols, vals, indptr[row], scratch)
