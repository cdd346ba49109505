"""CUDA twins of the rotated-box kernels: ``scalar_rotated`` compiled as device functions.

``compile_scalars(scalar_rotated, cuda.jit(device=True))`` compiles the same
formulas the CPU kernels run, so CPU and GPU results differ only by rounding
(both compute in float64 and round once on writing). Geometry rows are those of
``cpu_rotated``; one thread computes one output element with a per-thread scratch
array in local memory.
"""

import math

from numba import cuda, float64

from .._core import jit as nb
from . import scalar_rotated as s

_d = nb.compile_scalars(s, cuda.jit(device=True))
rotation = _d.rotation
box_corner_offsets = _d.box_corner_offsets
shape_metric = _d.shape_metric

HEAD = 4
K = 4  # rotated boxes: four corners
WIDTH = 2 * (K + K) + 2  # s.scratch_width(4, 4), a compile-time constant here
ROWS = s.SCRATCH_ROWS


@cuda.jit
def first_invalid(boxes, found):
    """``found[0]`` = smallest flat index of a box with NaN/inf or a negative side."""
    r = cuda.grid(1)
    n = boxes.shape[1]
    if r < boxes.shape[0] * n:
        b = r // n
        i = r - b * n
        bad = False
        for k in range(5):
            bad = bad or not math.isfinite(boxes[b, i, k])
        bad = bad or boxes[b, i, 2] < 0 or boxes[b, i, 3] < 0
        if bad:
            cuda.atomic.min(found, 0, r)


@cuda.jit
def box_geometry(boxes, fmt, geo):
    """Geometry rows ``geo[b, i, :]`` (float64) of rotated boxes ``boxes[b, i, :5]``."""
    r = cuda.grid(1)
    n = boxes.shape[1]
    if r < boxes.shape[0] * n:
        b = r // n
        i = r - b * n
        w, h = float64(boxes[b, i, 2]), float64(boxes[b, i, 3])
        c, sn = rotation(float64(boxes[b, i, 4]), fmt)
        off = box_corner_offsets(w, h, c, sn)
        geo[b, i, 0] = boxes[b, i, 0]
        geo[b, i, 1] = boxes[b, i, 1]
        radius = 0.0
        for k in range(K):
            ox, oy = off[2 * k], off[2 * k + 1]
            geo[b, i, HEAD + k] = ox
            geo[b, i, HEAD + K + k] = oy
            radius = max(radius, math.hypot(ox, oy))
        geo[b, i, 3] = radius
        geo[b, i, 2] = (w / radius) * (h / radius) if radius > 0 else 0.0


@cuda.jit(device=True)
def _metric(metric, over, ga, bi, i, gb, bj, j, scratch):
    pa = ga[bi, i]
    q = gb[bj, j]
    return shape_metric(
        metric, over, pa[0], pa[1], pa[HEAD : HEAD + K], pa[HEAD + K : HEAD + 2 * K], K, pa[2],
        pa[3], q[0], q[1], q[HEAD : HEAD + K], q[HEAD + K : HEAD + 2 * K], K, q[2], q[3], scratch,
    )  # fmt: skip


@cuda.jit
def pairwise(metric, over, ga, gb, out):
    """``out[b, i, j]``: x threads run over ``j`` (coalesced writes), y over ``b * N + i``."""
    j, r = cuda.grid(2)
    n_batch, n, m = out.shape
    if j < m and r < n_batch * n:
        b = r // n
        i = r - b * n
        scratch = cuda.local.array((ROWS, WIDTH), float64)
        bi = b if ga.shape[0] > 1 else 0
        bj = b if gb.shape[0] > 1 else 0
        out[b, i, j] = _metric(metric, over, ga, bi, i, gb, bj, j, scratch)


@cuda.jit
def aligned(metric, over, ga, gb, out):
    """``out[b, i]`` = metric of box ``i`` of ``a`` with box ``i`` of ``b``."""
    r = cuda.grid(1)
    n_batch, n = out.shape
    if r < n_batch * n:
        b = r // n
        i = r - b * n
        scratch = cuda.local.array((ROWS, WIDTH), float64)
        bi = b if ga.shape[0] > 1 else 0
        bj = b if gb.shape[0] > 1 else 0
        out[b, i] = _metric(metric, over, ga, bi, i, gb, bj, i, scratch)
