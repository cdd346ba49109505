"""Sparse box IoU: only the pairs with IoU >= t, without ever forming the N x M matrix.

The boxes of ``b`` are registered in the cells of a uniform grid (cell side about
twice their median size; boxes spanning more than ``MAX_SPAN`` cells per axis go
to a short list checked against everything). Each box of ``a`` visits the cells
it covers; a pair is examined in exactly one cell, the one holding the top-left
corner of its intersection, so nothing is counted twice. With ``pixel_offset=1`` a
box covers ``[x0, x1 + 1]``: both the registration and the visit use that extent,
since such boxes overlap even when ``x1 < x0`` of the other (by less than a pixel). Memory is O(N + M + K)
for K reported pairs.
"""

import numpy as np
from numba import prange

from .._core import jit as nb
from .cpu_scalar import F as _f

intersection_area = _f.intersection_area
crowd_iou_from_areas = _f.crowd_iou_from_areas

MAX_SPAN = 8


@nb.serial_kernel
def _cell(v, origin, side, n):
    c = np.int64((v - origin) / side)
    return min(max(c, 0), n - 1)


@nb.serial_kernel
def build_grid(fb, offset, origin_x, origin_y, side, nx, ny):
    """``(cell_start, cell_items, big)``: the boxes of ``fb`` (feature planes) per cell.

    A box covers ``[x0, x1 + offset]`` (``offset`` 1: the legacy inclusive pixels)."""
    m = fb.shape[1]
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    big = np.zeros(m, dtype=np.bool_)
    for j in range(m):
        cx0, cx1 = _cell(fb[0, j], origin_x, side, nx), _cell(fb[2, j] + offset, origin_x, side, nx)
        cy0, cy1 = _cell(fb[1, j], origin_y, side, ny), _cell(fb[3, j] + offset, origin_y, side, ny)
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
        cx0, cx1 = _cell(fb[0, j], origin_x, side, nx), _cell(fb[2, j] + offset, origin_x, side, nx)
        cy0, cy1 = _cell(fb[1, j], origin_y, side, ny), _cell(fb[3, j] + offset, origin_y, side, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                items[fill[cy * nx + cx]] = j
                fill[cy * nx + cx] += 1
    return start, items, np.flatnonzero(big)


@nb.serial_kernel
def _visit(i, fa, fb, crowd, offset, threshold, grid, write, cols, vals, at):
    """Pairs of box ``i`` of ``a``: counted, or written from ``at``; returns the count.

    The pair test is written out in both loops: a shared helper, even inlined, made
    the million-box sweep 30-60 % slower."""
    start, items, big, origin_x, origin_y, side, nx, ny = grid
    ax0, ay0, ax1, ay1, area_a = fa[0, i], fa[1, i], fa[2, i], fa[3, i], fa[4, i]
    k = 0
    cx0, cx1 = _cell(ax0, origin_x, side, nx), _cell(ax1 + offset, origin_x, side, nx)
    cy0, cy1 = _cell(ay0, origin_y, side, ny), _cell(ay1 + offset, origin_y, side, ny)
    for cy in range(cy0, cy1 + 1):
        for cx in range(cx0, cx1 + 1):
            cell = cy * nx + cx
            for q in range(start[cell], start[cell + 1]):
                j = items[q]
                # examine the pair only in the cell of its intersection's corner
                if _cell(max(ax0, fb[0, j]), origin_x, side, nx) != cx:
                    continue
                if _cell(max(ay0, fb[1, j]), origin_y, side, ny) != cy:
                    continue
                inter = intersection_area(
                    ax0, ay0, ax1, ay1, fb[0, j], fb[1, j], fb[2, j], fb[3, j], offset
                )
                if inter > 0:
                    v = crowd_iou_from_areas(inter, area_a, fb[4, j], crowd[j])
                    if v >= threshold:
                        if write:
                            cols[at + k] = j
                            vals[at + k] = v
                        k += 1
    # Deliberately the grid loop's body again (duplicate D8): boxes too big for the grid
    # are tested against every box, with the same pair test and the same output rule.
    for q in range(big.shape[0]):
        j = big[q]
        inter = intersection_area(
            ax0, ay0, ax1, ay1, fb[0, j], fb[1, j], fb[2, j], fb[3, j], offset
        )
        if inter > 0:
            v = crowd_iou_from_areas(inter, area_a, fb[4, j], crowd[j])
            if v >= threshold:
                if write:
                    cols[at + k] = j
                    vals[at + k] = v
                k += 1
    return k


@nb.parallel_kernel
def count_pairs(fa, fb, crowd, offset, threshold, grid, out):
    dummy_c = np.empty(1, dtype=np.int64)
    dummy_v = np.empty(1, dtype=fa.dtype)
    for i in prange(fa.shape[1]):
        out[i] = _visit(i, fa, fb, crowd, offset, threshold, grid, False, dummy_c, dummy_v, 0)


@nb.parallel_kernel
def fill_pairs(fa, fb, crowd, offset, threshold, grid, indptr, cols, vals):
    for i in prange(fa.shape[1]):
        _visit(i, fa, fb, crowd, offset, threshold, grid, True, cols, vals, indptr[i])
