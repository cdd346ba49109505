"""``box_iou(a, b, fmt=<rotated>, threshold=t)``: pairs with IoU >= t as SciPy CSR."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MAX_CELLS = 1 << 22


def grid_for(squares: np.ndarray, bounds: np.ndarray) -> tuple[float, float, float, int, int]:
    """``(origin_x, origin_y, side, nx, ny)`` of a grid over ``bounds`` (x0, y0, x1, y1)
    with cells about twice the median side of ``squares`` and at most MAX_CELLS cells."""
    lo_x, lo_y, hi_x, hi_y = (float(v) for v in bounds)
    side = float(max(2.0 * np.median(squares), 1e-300))
    span_x, span_y = hi_x - lo_x, hi_y - lo_y
    if not (math.isfinite(span_x) and math.isfinite(span_y)):
        raise ValueError("box_iou: coordinates too large for threshold= (their span overflows)")
    side = max(side, span_x / 2048.0, span_y / 2048.0, 1e-300)
    while (math.floor(span_x / side) + 1) * (math.floor(span_y / side) + 1) > MAX_CELLS:
        side *= 2.0
    return lo_x, lo_y, side, math.floor(span_x / side) + 1, math.floor(span_y / side) + 1


def sparse_shape_iou(
    ga: np.ndarray, gb: np.ndarray, ka: int, kb: int, threshold: float, dtype: Any
) -> Any:
    """CSR (N, M) of the pairs at or above ``threshold`` from geometry rows (N, 4 + 2K)."""
    from scipy import sparse

    from .._core.jit import parallel_call
    from ..kernels import cpu_rotated_sparse as k
    from ..kernels import grid as grid_kernels

    n, m = ga.shape[0], gb.shape[0]
    if n == 0 or m == 0:
        return sparse.csr_array((n, m), dtype=dtype)
    both = np.concatenate([ga[:, :4], gb[:, :4]])
    bounds = np.array(
        [
            (both[:, 0] - both[:, 3]).min(),
            (both[:, 1] - both[:, 3]).min(),
            (both[:, 0] + both[:, 3]).max(),
            (both[:, 1] + both[:, 3]).max(),
        ]
    )
    origin_x, origin_y, side, nx, ny = grid_for(2.0 * gb[:, 3], bounds)
    lo_x, lo_y = gb[:, 0] - gb[:, 3], gb[:, 1] - gb[:, 3]  # the circumscribed squares
    hi_x, hi_y = gb[:, 0] + gb[:, 3], gb[:, 1] + gb[:, 3]
    start, items, big = grid_kernels.build_grid(
        lo_x, lo_y, hi_x, hi_y, origin_x, origin_y, side, nx, ny
    )
    grid = (start, items, np.flatnonzero(big), origin_x, origin_y, side, nx, ny)
    t = float(threshold)
    counts = np.empty(n, dtype=np.int64)
    parallel_call(k.count_pairs, ga, gb, ka, kb, t, grid, counts)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    cols = np.empty(int(indptr[-1]), dtype=np.int64)
    vals = np.empty(int(indptr[-1]), dtype=np.float64)
    parallel_call(k.fill_pairs, ga, gb, ka, kb, t, grid, indptr, cols, vals)
    result = sparse.csr_array((vals.astype(dtype, copy=False), cols, indptr), shape=(n, m))
    result.sort_indices()
    return result
