"""Object keypoint similarity (OKS), written once for every compile target.

Plain Python on scalars and arrays, no decorator and no numba import: ``cpu_oks``
compiles it with ``_numba.compile_scalars(module, _numba.scalar)`` and ``cuda_oks``
with ``cuda.jit(device=True)``. The arithmetic is pycocotools' ``computeOks``,
operation for operation, in float64 (the only dtype the OKS kernels take):

* ``e = (dx * dx + dy * dy) / var / scale / 2`` with ``var = (2 sigma) ** 2`` and
  ``scale = area + eps`` (the caller passes ``eps = np.spacing(1)``);
* ``dx, dy`` are the offsets to the ground-truth keypoint when the ground truth has
  visible keypoints (``v > 0``), and only those count; without any, every detected
  keypoint counts and its offset is the distance outside the ground-truth box grown
  to three times its size around the box (``[x - w, x + 2 w]``);
* OKS is the mean of ``exp(-e)`` over the keypoints that count.

Documented difference: NumPy's SIMD ``exp`` and the C library's ``exp`` differ in
the last bit for a few percent of arguments, and NumPy sums pairwise, so an OKS
value may differ from pycocotools' by a few units in the last place.
"""

import math


def outside_gap(v, lo, hi):
    """Distance of ``v`` outside ``[lo, hi]``: ``max(0, lo - v) + max(0, v - hi)``."""
    zero = v - v
    below = lo - v
    above = v - hi
    return (below if below > zero else zero) + (above if above > zero else zero)


def keypoint_error(dx, dy, var, scale):
    """pycocotools' ``e``: squared distance over ``var``, ``scale`` and 2."""
    return (dx * dx + dy * dy) / var / scale / 2.0


def oks_pair(dt, d, gt, g, boxes, areas, variances, eps):
    """OKS of detection ``d`` (``dt[d, k] = (x, y, v)``) with ground truth ``g``."""
    n_kpt = variances.shape[0]
    visible = 0
    for k in range(n_kpt):
        if gt[g, k, 2] > 0:
            visible += 1
    scale = areas[g] + eps
    bx, by, bw, bh = boxes[g, 0], boxes[g, 1], boxes[g, 2], boxes[g, 3]
    x0, x1 = bx - bw, bx + bw * 2.0
    y0, y1 = by - bh, by + bh * 2.0
    total = scale - scale
    for k in range(n_kpt):
        xd, yd = dt[d, k, 0], dt[d, k, 1]
        if visible > 0:
            if not gt[g, k, 2] > 0:
                continue
            dx = xd - gt[g, k, 0]
            dy = yd - gt[g, k, 1]
        else:
            dx = outside_gap(xd, x0, x1)
            dy = outside_gap(yd, y0, y1)
        total += math.exp(-keypoint_error(dx, dy, variances[k], scale))
    return total / (visible if visible > 0 else n_kpt)
