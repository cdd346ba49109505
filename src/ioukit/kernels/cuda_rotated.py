"""CUDA twins of the rotated-box and polygon kernels: ``scalar_rotated`` compiled as
device functions.

``compile_scalars(scalar_rotated, cuda.jit(device=True))`` compiles the same
formulas the CPU kernels run, so CPU and GPU results differ only by rounding
(both compute in float64 and round once on writing). Geometry rows are those of
``cpu_rotated`` (centre, area, circumradius, then the ``K`` x and ``K`` y vertex
offsets); one thread computes one output element with a per-thread scratch array
in local memory, whose size is a compile-time constant: :func:`shape_kernels` builds
the kernels for one scratch width (rotated boxes: 18; polygons: by vertex count).
The circumscribed circles of a pair are compared before any clipping, so pairs far
apart cost a few operations (the cull of ``threshold=`` and NMS).
"""

import functools
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
ROWS = s.SCRATCH_ROWS


@cuda.jit
def first_invalid(boxes, found):
    """``found[0]`` = smallest row of ``boxes`` (R, 5) with NaN/inf or a negative side."""
    r = cuda.grid(1)
    if r < boxes.shape[0]:
        bad = False
        for k in range(5):
            bad = bad or not math.isfinite(boxes[r, k])
        if bad or boxes[r, 2] < 0 or boxes[r, 3] < 0:
            cuda.atomic.min(found, 0, r)


@cuda.jit
def box_geometry(boxes, fmt, geo):
    """Geometry rows ``geo[r, :]`` (float64) of rotated boxes ``boxes[r, :5]`` (R, 5)."""
    r = cuda.grid(1)
    if r < boxes.shape[0]:
        w, h = float64(boxes[r, 2]), float64(boxes[r, 3])
        c, sn = rotation(float64(boxes[r, 4]), fmt)
        off = box_corner_offsets(w, h, c, sn)
        geo[r, 0] = boxes[r, 0]
        geo[r, 1] = boxes[r, 1]
        radius = 0.0
        for k in range(K):
            ox, oy = off[2 * k], off[2 * k + 1]
            geo[r, HEAD + k] = ox
            geo[r, HEAD + K + k] = oy
            radius = max(radius, math.hypot(ox, oy))
        geo[r, 3] = radius
        geo[r, 2] = (w / radius) * (h / radius) if radius > 0 else 0.0


@cuda.jit(device=True)
def pair_metric(metric, over, pa, ka, q, kb, scratch):
    """The metric of geometry rows ``pa`` (``ka`` vertices) and ``q`` (``kb``)."""
    return shape_metric(
        metric, over, pa[0], pa[1], pa[HEAD : HEAD + ka], pa[HEAD + ka : HEAD + 2 * ka], ka,
        pa[2], pa[3], q[0], q[1], q[HEAD : HEAD + kb], q[HEAD + kb : HEAD + 2 * kb], kb, q[2],
        q[3], scratch,
    )  # fmt: skip


@functools.cache
def shape_kernels(width: int) -> tuple:
    """``(pairwise, aligned)`` kernels whose per-thread scratch is ``(ROWS, width)``
    (``width >= scratch_width(ka, kb)``); compiled once per width."""

    @cuda.jit
    def pairwise(metric, over, ka, kb, ga, gb, out):
        """``out[b, i, j]``: x threads run over ``j`` (coalesced writes), y over ``b N + i``."""
        j, r = cuda.grid(2)
        n_batch, n, m = out.shape
        if j < m and r < n_batch * n:
            b = r // n
            i = r - b * n
            scratch = cuda.local.array((ROWS, width), float64)
            pa = ga[b if ga.shape[0] > 1 else 0, i]
            q = gb[b if gb.shape[0] > 1 else 0, j]
            out[b, i, j] = pair_metric(metric, over, pa, ka, q, kb, scratch)

    @cuda.jit
    def aligned(metric, over, ka, kb, ga, gb, out):
        """``out[b, i]`` = metric of shape ``i`` of ``a`` with shape ``i`` of ``b``."""
        r = cuda.grid(1)
        n_batch, n = out.shape
        if r < n_batch * n:
            b = r // n
            i = r - b * n
            scratch = cuda.local.array((ROWS, width), float64)
            pa = ga[b if ga.shape[0] > 1 else 0, i]
            q = gb[b if gb.shape[0] > 1 else 0, i]
            out[b, i] = pair_metric(metric, over, pa, ka, q, kb, scratch)

    return pairwise, aligned


def width_for(ka: int, kb: int) -> int:
    """The scratch width of kernels for ``ka``- and ``kb``-gons, rounded up to a power
    of two vertices so that few widths are ever compiled."""
    most = max(ka, kb, K)
    return s.scratch_width(1 << (most - 1).bit_length(), 1 << (most - 1).bit_length())


pairwise, aligned = shape_kernels(width_for(K, K))


@cuda.jit
def count_at_least(values, threshold, counts):
    """``counts[i]`` = how many of ``values[i, :]`` are >= ``threshold``."""
    i = cuda.grid(1)
    if i < values.shape[0]:
        c = 0
        for j in range(values.shape[1]):
            if values[i, j] >= threshold:
                c += 1
        counts[i] = c


@cuda.jit
def fill_at_least(values, threshold, starts, cols, out):
    """The columns and values of ``values[i, :] >= threshold`` from ``starts[i]`` on."""
    i = cuda.grid(1)
    if i < values.shape[0]:
        p = starts[i]
        for j in range(values.shape[1]):
            if values[i, j] >= threshold:
                cols[p] = j
                out[p] = values[i, j]
                p += 1
