"""The uniform culling grid shared by the sparse (``threshold=``) and NMS kernels.

Shapes are registered by their axis-aligned culling extent ``[lo, hi]`` per axis
(the box itself, a box widened by ``pixel_offset``, or the circumscribed square of
a rotated box / polygon) in every cell of a grid of ``nx * ny`` square cells of
side ``side`` starting at ``(origin_x, origin_y)``. Coordinates outside the grid
clamp to its border cells. A shape spanning ``MAX_SPAN`` cells or more along an
axis is not registered: it is flagged ``big`` and its users test it directly, so
one huge shape cannot fill every cell. Memory is O(nx * ny + registered cells).

A visit of an extent (:func:`visit_plan`, :func:`visit_pass`) walks the cells it
covers and then the big shapes, so the caller writes its pair test once.

Callers size the grid (cells about twice the median extent, at most a few million
cells) and keep the registered extents consistent with the extents they visit.
"""

import numpy as np

from .._core import jit as nb

#: shapes spanning this many cells or more along an axis are tested directly
MAX_SPAN = 8


@nb.serial_kernel
def cell(v, origin, side, n):
    """Index of the cell holding coordinate ``v`` along one axis, clamped to [0, n)."""
    c = np.int64((v - origin) / side)
    return min(max(c, 0), n - 1)


@nb.serial_kernel
def cell_range(x0, y0, x1, y1, origin_x, origin_y, side, nx, ny):
    """``(cx0, cx1, cy0, cy1)``: the inclusive cell ranges an extent covers."""
    cx0, cx1 = cell(x0, origin_x, side, nx), cell(x1, origin_x, side, nx)
    cy0, cy1 = cell(y0, origin_y, side, ny), cell(y1, origin_y, side, ny)
    return cx0, cx1, cy0, cy1


@nb.serial_kernel
def build_grid(lo_x, lo_y, hi_x, hi_y, origin_x, origin_y, side, nx, ny):
    """``(cell_start, cell_items, big)`` of the extents ``[lo_x, hi_x] x [lo_y, hi_y]``.

    The items of cell ``c`` are ``cell_items[cell_start[c]:cell_start[c + 1]]``, in
    increasing index (NMS relies on it: its shapes arrive sorted by score); ``big``
    flags the shapes that are not registered (see the module docstring)."""
    n = lo_x.shape[0]
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    big = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        cx0, cx1, cy0, cy1 = cell_range(
            lo_x[r], lo_y[r], hi_x[r], hi_y[r], origin_x, origin_y, side, nx, ny
        )
        if cx1 - cx0 >= MAX_SPAN or cy1 - cy0 >= MAX_SPAN:
            big[r] = True
            continue
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                counts[cy * nx + cx + 1] += 1
    start = np.cumsum(counts)
    fill = start[:-1].copy()
    items = np.empty(start[-1], dtype=np.int64)
    for r in range(n):
        if big[r]:
            continue
        cx0, cx1, cy0, cy1 = cell_range(
            lo_x[r], lo_y[r], hi_x[r], hi_y[r], origin_x, origin_y, side, nx, ny
        )
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                items[fill[cy * nx + cx]] = r
                fill[cy * nx + cx] += 1
    return start, items, big


@nb.serial_kernel
def visit_plan(x0, y0, x1, y1, grid):
    """``(cx0, cy0, width, passes)`` of a visit of an extent over ``grid`` (the tuple
    ``(cell_start, cell_items, big_indices, origin_x, origin_y, side, nx, ny)``): one
    pass per covered cell, then one over the big shapes (see :func:`visit_pass`)."""
    origin_x, origin_y, side, nx, ny = grid[3], grid[4], grid[5], grid[6], grid[7]
    cx0, cx1, cy0, cy1 = cell_range(x0, y0, x1, y1, origin_x, origin_y, side, nx, ny)
    width = cx1 - cx0 + 1
    return cx0, cy0, width, width * (cy1 - cy0 + 1) + 1


@nb.serial_kernel
def visit_pass(p, plan, grid):
    """``(cx, cy, first, last, source)`` of pass ``p`` of ``plan``: the candidates are
    ``source[first:last]``; the last pass lists the big shapes, with ``cx = cy = -1``
    (no cell: the caller skips its one-cell-per-pair test there)."""
    start, items, big, nx = grid[0], grid[1], grid[2], grid[6]
    cx0, cy0, width, passes = plan
    if p < passes - 1:
        cy, cx = cy0 + p // width, cx0 + p % width
        return cx, cy, start[cy * nx + cx], start[cy * nx + cx + 1], items
    return -1, -1, 0, big.shape[0], big


@nb.serial_kernel
def record(write, cols, vals, at, j, v):
    """Store a found pair (column ``j``, value ``v``) at ``at`` when ``write`` (the
    fill pass); the count pass only counts."""
    if write:
        cols[at] = j
        vals[at] = v
