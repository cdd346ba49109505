"""``box_iou(a, b, threshold=t)``: the pairs with IoU >= t as a SciPy sparse matrix."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MAX_CELLS = 1 << 22


def sparse_box_iou(
    fa: np.ndarray, fb: np.ndarray, crowd: np.ndarray, offset: Any, threshold: float
) -> Any:
    """CSR (N, M) of the pairs at or above ``threshold`` from feature planes (8, N), (8, M)."""
    from scipy import sparse

    from .._core.jit import parallel_call
    from ..kernels import cpu_sparse as k

    n, m = fa.shape[1], fb.shape[1]
    dtype = fa.dtype
    # one compiled variant per float dtype: writable C flags, the offset in that dtype
    crowd, offset = np.require(crowd, np.bool_, ("C", "W")), dtype.type(offset)
    if n == 0 or m == 0:
        return sparse.csr_array((n, m), dtype=dtype)
    # With pixel_offset=1 a box covers [x0, x1 + 1): the grid registers that extent.
    pad = float(offset)
    sides = np.concatenate([fb[2] - fb[0], fb[3] - fb[1]]) + pad
    side = float(max(2.0 * np.median(sides), 1e-12))
    lo_x = float(min(fa[0].min(), fb[0].min()))
    lo_y = float(min(fa[1].min(), fb[1].min()))
    span_x = float(max(fa[2].max(), fb[2].max())) + pad - lo_x
    span_y = float(max(fa[3].max(), fb[3].max())) + pad - lo_y
    if not all(math.isfinite(v) for v in (lo_x, lo_y, span_x, span_y, side)):
        raise ValueError(
            "box_iou: threshold= needs finite boxes; validate=False let a NaN or inf through"
        )
    while (math.floor(span_x / side) + 1) * (math.floor(span_y / side) + 1) > MAX_CELLS:
        side *= 2.0
    nx, ny = math.floor(span_x / side) + 1, math.floor(span_y / side) + 1
    start, items, big = k.build_grid(fb, offset, lo_x, lo_y, side, nx, ny)
    grid = (start, items, big, lo_x, lo_y, side, nx, ny)
    t = dtype.type(threshold)
    if t < threshold:  # the smallest value of dtype >= threshold: v >= t iff v >= threshold
        t = np.nextafter(t, dtype.type(np.inf))
    counts = np.empty(n, dtype=np.int64)
    parallel_call(k.count_pairs, fa, fb, crowd, offset, t, grid, counts)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    cols = np.empty(int(indptr[-1]), dtype=np.int64)
    vals = np.empty(int(indptr[-1]), dtype=dtype)
    parallel_call(k.fill_pairs, fa, fb, crowd, offset, t, grid, indptr, cols, vals)
    result = sparse.csr_array((vals, cols, indptr), shape=(n, m))
    result.sort_indices()
    return result
