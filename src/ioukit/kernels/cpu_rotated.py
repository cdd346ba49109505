"""CPU kernels for rotated boxes and convex polygons: parallel loops over ``scalar_rotated``.

Shapes arrive as *geometry rows* ``geo[b, i, :]`` (float64): ``0, 1`` the centre,
``2`` the area in units of the squared circumradius (so it never overflows), ``3`` the circumradius (largest vertex distance from the centre),
then the ``K`` vertex x offsets and the ``K`` vertex y offsets (counter-clockwise).
The batch axis has length 1 (shared by every batch) or the output's. Results are
written in the dtype of ``out`` (float32 or float64).
"""

import numpy as np
from numba import prange

from .._core import jit as nb
from . import scalar_rotated as s

_f = nb.compile_scalars(s, nb.scalar)  # the shared formulas, compiled for the CPU
rotation = _f.rotation
box_corner_offsets = _f.box_corner_offsets
polygon_area = _f.polygon_area
shape_metric = _f.shape_metric
pair_overlap = _f.pair_overlap
metric_value = _f.metric_value
scratch_width = _f.scratch_width

HEAD = 4  # centre x, centre y, area, radius
METRIC_CODES = {"iou": 0, "ioa": 1, "giou": 2}
OVER_CODES = {"a": 0, "b": 1, "min": 2}
ROTATED_FORMAT_CODES = {"cxcywha": 0, "cxcywhr": 1}


@nb.serial_kernel
def pair_metric(metric, over, a, ka, b, kb, scratch):
    """The metric of two geometry rows ``a`` (``ka`` vertices) and ``b`` (``kb``).

    Aligned, sparse and NMS kernels call this compiled function, so the large formula
    is compiled once here rather than inlined into every kernel and dtype (which made
    the cold compile minutes long); only the hot ``pairwise`` loop inlines it."""
    return shape_metric(
        metric, over, a[0], a[1], a[HEAD : HEAD + ka], a[HEAD + ka : HEAD + 2 * ka], ka, a[2], a[3],
        b[0], b[1], b[HEAD : HEAD + kb], b[HEAD + kb : HEAD + 2 * kb], kb, b[2], b[3], scratch,
    )  # fmt: skip


@nb.serial_kernel
def _batch_row(r, n):
    """``(batch, row)`` of flat index ``r`` over batches of ``n`` rows."""
    b = r // n
    return b, r - b * n


@nb.parallel_kernel
def box_geometry(boxes, fmt, geo):
    """Geometry rows (see the module docstring) of rotated boxes ``boxes[b, i, :5]``."""
    n_batch, n = boxes.shape[0], boxes.shape[1]
    for r in prange(n_batch * n):
        b, i = _batch_row(r, n)
        w, h = np.float64(boxes[b, i, 2]), np.float64(boxes[b, i, 3])
        c, sn = rotation(np.float64(boxes[b, i, 4]), fmt)
        off = box_corner_offsets(w, h, c, sn)
        row = geo[b, i]
        row[0], row[1] = boxes[b, i, 0], boxes[b, i, 1]
        radius = 0.0
        for k in range(4):
            ox, oy = off[2 * k], off[2 * k + 1]
            row[HEAD + k], row[HEAD + 4 + k] = ox, oy
            radius = max(radius, np.hypot(ox, oy))
        row[3] = radius
        row[2] = (w / radius) * (h / radius) if radius > 0 else 0.0


@nb.parallel_kernel
def polygon_geometry(poly, geo):
    """Geometry rows of convex counter-clockwise polygons ``poly[b, i, k, :2]``."""
    n_batch, n, kk = poly.shape[0], poly.shape[1], poly.shape[2]
    for r in prange(n_batch * n):
        b, i = _batch_row(r, n)
        row = geo[b, i]
        lo_x, hi_x = np.float64(poly[b, i, 0, 0]), np.float64(poly[b, i, 0, 0])
        lo_y, hi_y = np.float64(poly[b, i, 0, 1]), np.float64(poly[b, i, 0, 1])
        for k in range(1, kk):
            lo_x, hi_x = min(lo_x, poly[b, i, k, 0]), max(hi_x, poly[b, i, k, 0])
            lo_y, hi_y = min(lo_y, poly[b, i, k, 1]), max(hi_y, poly[b, i, k, 1])
        cx, cy = 0.5 * lo_x + 0.5 * hi_x, 0.5 * lo_y + 0.5 * hi_y
        row[0], row[1] = cx, cy
        radius = 0.0
        for k in range(kk):
            ox, oy = poly[b, i, k, 0] - cx, poly[b, i, k, 1] - cy
            row[HEAD + k], row[HEAD + kk + k] = ox, oy
            radius = max(radius, np.hypot(ox, oy))
        row[3] = radius
        if radius > 0:  # the area in units of the radius, so it cannot overflow on the way
            for k in range(kk):
                row[HEAD + k] /= radius
                row[HEAD + kk + k] /= radius
            area = polygon_area(row[HEAD : HEAD + kk], row[HEAD + kk : HEAD + 2 * kk], kk)
            for k in range(kk):
                row[HEAD + k] *= radius
                row[HEAD + kk + k] *= radius
            row[2] = max(area, 0.0)
        else:
            row[2] = 0.0


@nb.parallel_kernel
def corners(geo, out):
    """``out[b, i, k, :]`` = vertex ``k`` (centre plus offset) of every shape."""
    n_batch, n, kk = out.shape[0], out.shape[1], out.shape[2]
    for r in prange(n_batch * n):
        b, i = _batch_row(r, n)
        for k in range(kk):
            out[b, i, k, 0] = geo[b, i, 0] + geo[b, i, HEAD + k]
            out[b, i, k, 1] = geo[b, i, 1] + geo[b, i, HEAD + kk + k]


@nb.parallel_kernel
def pairwise(metric, over, ka, kb, ga, gb, out):
    """``out[b, i, j]`` = metric of shape ``i`` of ``a`` and shape ``j`` of ``b``."""
    n_batch, n, m = out.shape
    width = scratch_width(ka, kb)
    for r in prange(n_batch * n):
        b, i = _batch_row(r, n)
        scratch = np.empty((s.SCRATCH_ROWS, width), dtype=np.float64)
        pa = ga[b if ga.shape[0] > 1 else 0, i]
        qb = gb[b if gb.shape[0] > 1 else 0]
        aox, aoy = pa[HEAD : HEAD + ka], pa[HEAD + ka : HEAD + 2 * ka]
        for j in range(m):  # the hot loop inlines the formula (about 2x faster than a call)
            q = qb[j]
            out[b, i, j] = shape_metric(
                metric, over, pa[0], pa[1], aox, aoy, ka, pa[2], pa[3],
                q[0], q[1], q[HEAD : HEAD + kb], q[HEAD + kb : HEAD + 2 * kb], kb, q[2], q[3],
                scratch,
            )  # fmt: skip


@nb.parallel_kernel
def aligned(metric, over, ka, kb, ga, gb, out):
    """``out[b, i]`` = metric of shape ``i`` of ``a`` with shape ``i`` of ``b``."""
    n_batch, n = out.shape
    width = scratch_width(ka, kb)
    chunk = 256
    n_chunks = (n_batch * n + chunk - 1) // chunk
    for c in prange(n_chunks):
        scratch = np.empty((s.SCRATCH_ROWS, width), dtype=np.float64)
        for r in range(c * chunk, min((c + 1) * chunk, n_batch * n)):
            b, i = _batch_row(r, n)
            pa = ga[b if ga.shape[0] > 1 else 0, i]
            q = gb[b if gb.shape[0] > 1 else 0, i]
            out[b, i] = pair_metric(metric, over, pa, ka, q, kb, scratch)


@nb.serial_kernel
def first_bad_polygon(poly, tol):
    """``(row, reason)`` of the first polygon of ``poly`` (N, K, 2) that is not finite (1),
    not convex (2) or self-intersecting (3), or ``(-1, 0)``. Repeated vertices and
    collinear runs are allowed; a turn counts as concave only beyond ``tol`` (relative)."""
    n, kk = poly.shape[0], poly.shape[1]
    for i in range(n):
        for k in range(kk):
            if not (np.isfinite(poly[i, k, 0]) and np.isfinite(poly[i, k, 1])):
                return i, 1
        positive = False
        negative = False
        turning = 0.0
        # previous non-zero edge: walk back from the last vertex
        px, py = 0.0, 0.0
        for k in range(kk - 1, -1, -1):
            k1 = k + 1 if k + 1 < kk else 0
            px, py = poly[i, k1, 0] - poly[i, k, 0], poly[i, k1, 1] - poly[i, k, 1]
            if px != 0.0 or py != 0.0:
                break
        if px == 0.0 and py == 0.0:
            continue  # every vertex the same point: an empty polygon
        for k in range(kk):
            k1 = k + 1 if k + 1 < kk else 0
            ex, ey = poly[i, k1, 0] - poly[i, k, 0], poly[i, k1, 1] - poly[i, k, 1]
            if ex == 0.0 and ey == 0.0:
                continue
            cross = px * ey - py * ex
            dot = px * ex + py * ey
            limit = tol * np.hypot(px, py) * np.hypot(ex, ey)
            if cross > limit:
                positive = True
            elif cross < -limit:
                negative = True
            turning += np.arctan2(cross, dot)
            px, py = ex, ey
        if positive and negative:
            return i, 2
        if abs(turning) > 3 * np.pi:
            return i, 3
    return -1, 0
