"""Sparse box IoU: only the pairs with IoU >= t, without ever forming the N x M matrix.

The boxes of ``b`` are registered in the cells of a uniform grid (:mod:`.grid`: cell
side about twice their median size; boxes spanning ``MAX_SPAN`` cells or more go to
a short list checked against everything). Each box of ``a`` visits the cells it
covers; a pair is examined in exactly one cell, the one holding the top-left corner
of its intersection, so nothing is counted twice. With ``pixel_offset=1`` a box
covers ``[x0, x1 + 1]``: both the registration and the visit use that extent, since
such boxes overlap even when ``x1 < x0`` of the other (by less than a pixel). Memory
is O(N + M + K) for K reported pairs.

Compiled variants: the front (``_boxes.sparse_grid``) passes feature planes of the
compute dtype (float32 or float64), writable bool flags and ``offset`` in that dtype;
the row index is cast to int64 here. That is 2 signatures of ``count_pairs`` and
``fill_pairs`` and 4 of ``_visit`` (dtype x count/write); ``tests/boxes/
test_sparse_kernels.py`` fails if they grow.
"""

import numpy as np
from numba import prange

from .._core import jit as nb
from . import grid as g
from .cpu_scalar import F as _f

intersection_area = _f.intersection_area
crowd_iou_from_areas = _f.crowd_iou_from_areas

MAX_SPAN = g.MAX_SPAN


@nb.serial_kernel
def build_grid(fb, offset, origin_x, origin_y, side, nx, ny):
    """``(cell_start, cell_items, big)`` of the boxes of ``fb`` (feature planes), ``big``
    as indices. A box covers ``[x0, x1 + offset]`` (``offset`` 1: inclusive pixels)."""
    m = fb.shape[1]
    lo_x, lo_y = np.empty(m, np.float64), np.empty(m, np.float64)
    hi_x, hi_y = np.empty(m, np.float64), np.empty(m, np.float64)
    for j in range(m):
        lo_x[j], lo_y[j] = fb[0, j], fb[1, j]
        hi_x[j], hi_y[j] = fb[2, j] + offset, fb[3, j] + offset
    start, items, big = g.build_grid(lo_x, lo_y, hi_x, hi_y, origin_x, origin_y, side, nx, ny)
    return start, items, np.flatnonzero(big)


@nb.serial_kernel
def _visit(i, fa, fb, crowd, offset, threshold, grid, write, cols, vals, at):
    """Pairs of box ``i`` of ``a``: counted, or written from ``at``; returns the count.

    The pair test is written out in both loops (the one duplicate of this module):
    a shared helper, even inlined, made the million-box sweep 30-60 % slower, and one
    loop over the cells and then the big boxes (``grid.visit_pass``, as the rotated
    kernel does) made 2000 x 2000 about 15-20 % slower."""
    start, items, big, origin_x, origin_y, side, nx, ny = grid
    ax0, ay0, ax1, ay1, area_a = fa[0, i], fa[1, i], fa[2, i], fa[3, i], fa[4, i]
    k = 0
    cx0, cx1, cy0, cy1 = g.cell_range(
        ax0, ay0, ax1 + offset, ay1 + offset, origin_x, origin_y, side, nx, ny
    )
    for cy in range(cy0, cy1 + 1):
        for cx in range(cx0, cx1 + 1):
            cell = cy * nx + cx
            for q in range(start[cell], start[cell + 1]):
                j = items[q]
                if g.cell(max(ax0, fb[0, j]), origin_x, side, nx) != cx:
                    continue
                if g.cell(max(ay0, fb[1, j]), origin_y, side, ny) != cy:
                    continue
                inter = intersection_area(
                    ax0, ay0, ax1, ay1, fb[0, j], fb[1, j], fb[2, j], fb[3, j], offset
                )
                if inter > 0:
                    v = crowd_iou_from_areas(inter, area_a, fb[4, j], crowd[j])
                    if v >= threshold:
                        g.record(write, cols, vals, at + k, j, v)
                        k += 1
    # deliberately the pair test again (a duplicates row, see the docstring): boxes too
    # big for the grid are tested against every box, without the corner test
    for q in range(big.shape[0]):
        j = big[q]
        inter = intersection_area(
            ax0, ay0, ax1, ay1, fb[0, j], fb[1, j], fb[2, j], fb[3, j], offset
        )
        if inter > 0:
            v = crowd_iou_from_areas(inter, area_a, fb[4, j], crowd[j])
            if v >= threshold:
                g.record(write, cols, vals, at + k, j, v)
                k += 1
    return k


@nb.parallel_kernel
def count_pairs(fa, fb, crowd, offset, threshold, grid, out):
    no_cols, no_vals = np.empty(1, np.int64), np.empty(1, fa.dtype)  # the count writes nothing
    for i in prange(fa.shape[1]):
        row = np.int64(i)  # one type for prange's index (it is unsigned in the gufunc)
        out[row] = _visit(row, fa, fb, crowd, offset, threshold, grid, False, no_cols, no_vals, 0)


@nb.parallel_kernel
def fill_pairs(fa, fb, crowd, offset, threshold, grid, indptr, cols, vals):
    for i in prange(fa.shape[1]):
        row = np.int64(i)
        _visit(row, fa, fb, crowd, offset, threshold, grid, True, cols, vals, indptr[row])
