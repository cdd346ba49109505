"""CPU kernels for axis-aligned boxes: parallel ``prange`` loops over the scalar formulas.

Boxes arrive as *feature planes*: ``feats[batch, k, i]`` holds, for box ``i``,
``k = 0..3`` its xyxy corners, ``4`` its area, ``5, 6`` its centre and ``7`` its
aspect angle ``(2 / pi) * atan2(w, h)``. Each plane is contiguous, so the inner
loop over the boxes of ``b`` reads unit-stride memory and vectorises. The batch
axis of ``feats`` has length 1 (shared by every batch) or the output's.

Every kernel takes float32 or float64 arrays only (the front-end converts), so
each compiles to exactly two specialisations.
"""

from numba import prange

from .._core import jit as nb
from .codes import BOX_INVALID_REASONS as INVALID_REASONS  # noqa: F401 (re-exported)
from .codes import FORMAT_CODES, METRIC_CODES, OVER_CODES  # noqa: F401 (re-exported)
from .cpu_scalar import F as _f  # the shared formulas, compiled for the CPU once

N_FEATURES = 8

intersection_area = _f.intersection_area
iou_from_areas = _f.iou_from_areas
crowd_iou_from_areas = _f.crowd_iou_from_areas
giou_pair = _f.giou_pair
diou_pair = _f.diou_pair
ciou_pair = _f.ciou_pair
ioa_from_areas = _f.ioa_from_areas
box_corners = _f.box_corners
box_sides = _f.box_sides
box_feature_values = _f.box_feature_values
invalid_box_reason = _f.invalid_box_reason
metric_from_features = _f.metric_from_features


@nb.serial_kernel
def first_invalid_box(flat, fmt, check):
    """``(row, reason, magnitude)`` for ``flat`` (K, 4).

    ``row`` is the first invalid box (``reason`` indexes :data:`INVALID_REASONS`),
    or -1 (and ``reason`` -1) when every box is valid or ``check`` is False.
    ``magnitude`` is the largest ``|value|`` (over the valid rows), which tells the
    front-end whether the formulas' products could overflow.
    """
    big = flat.dtype.type(0)
    for i in range(flat.shape[0]):
        p, q, r, t = flat[i, 0], flat[i, 1], flat[i, 2], flat[i, 3]
        big = max(big, abs(p), abs(q), abs(r), abs(t))
        if not check:
            continue
        reason = invalid_box_reason(p, q, r, t, fmt)
        if reason >= 0:
            return i, reason, big
    return -1, -1, big


# Deliberate twin of cuda_boxes.box_features (duplicate D7): the same loop body, one as
# a serial CPU loop, one as a CUDA thread; the arithmetic itself is shared in scalar.py.
@nb.serial_kernel
def box_features(boxes, fmt, offset, feats):
    """Fill ``feats[b, :, i]`` (see the module docstring) from ``boxes[b, i, :]``."""
    n_batch, n = boxes.shape[0], boxes.shape[1]
    half = feats.dtype.type(0.5)
    for r in range(n_batch * n):
        b = r // n
        i = r - b * n
        values = box_feature_values(
            boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3], fmt, offset, half
        )
        x0, y0, x1, y1, area, cx, cy, angle = values
        feats[b, 0, i], feats[b, 1, i], feats[b, 2, i], feats[b, 3, i] = x0, y0, x1, y1
        feats[b, 4, i], feats[b, 5, i], feats[b, 6, i], feats[b, 7, i] = area, cx, cy, angle


@nb.parallel_kernel
def box_area(boxes, fmt, offset, out):
    """``out[b, i]`` = area of ``boxes[b, i]``."""
    n_batch, n = boxes.shape[0], boxes.shape[1]
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        w, h = box_sides(
            boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3], fmt, offset
        )
        out[b, i] = w * h


@nb.parallel_kernel
def box_convert(boxes, src, dst, out):
    """Rewrite ``boxes[b, i]`` from format code ``src`` to ``dst`` into ``out``."""
    n_batch, n = boxes.shape[0], boxes.shape[1]
    half = out.dtype.type(0.5)
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        x0, y0, x1, y1 = box_corners(
            boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3], src, half
        )
        if dst == 0:
            out[b, i, 0], out[b, i, 1], out[b, i, 2], out[b, i, 3] = x0, y0, x1, y1
        elif dst == 1:
            out[b, i, 0], out[b, i, 1] = x0, y0
            out[b, i, 2], out[b, i, 3] = x1 - x0, y1 - y0
        else:
            out[b, i, 0], out[b, i, 1] = (x0 + x1) * half, (y0 + y1) * half
            out[b, i, 2], out[b, i, 3] = x1 - x0, y1 - y0


# Deliberate repetition (duplicates D1, D4): one pairwise kernel per metric, each with the
# same outer loop, so the inner loop over ``b`` calls one inlined formula and vectorises;
# a metric switch inside it (as ``aligned_metric`` does) would block SIMD.
@nb.parallel_kernel
def pairwise_iou(fa, fb, offset, out):
    """``out[b, i, j]`` = IoU of box ``i`` of ``a`` and box ``j`` of ``b``."""
    n_batch, n, m = out.shape
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        ax0, ay0, ax1, ay1, area_a = pa[0, i], pa[1, i], pa[2, i], pa[3, i], pa[4, i]
        bx0, by0, bx1, by1, area_b = pb[0], pb[1], pb[2], pb[3], pb[4]
        row = out[b, i]
        for j in range(m):
            inter = intersection_area(ax0, ay0, ax1, ay1, bx0[j], by0[j], bx1[j], by1[j], offset)
            row[j] = iou_from_areas(inter, area_a, area_b[j])


# compile-time (issue 12): a serial twin for small outputs, which would spend longer
# waking the thread pool than computing. Its own function, not
# ``serial_kernel(pairwise_iou.py_func)``: numba's cache files are named after the
# Python function, and the twin must not share (and load) the parallel one's.
@nb.serial_kernel
def pairwise_iou_serial(fa, fb, offset, out):
    """:func:`pairwise_iou` in one thread (``boxes.SERIAL_PAIRS`` pairs or fewer)."""
    n_batch, n, m = out.shape
    for r in range(n_batch * n):
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        ax0, ay0, ax1, ay1, area_a = pa[0, i], pa[1, i], pa[2, i], pa[3, i], pa[4, i]
        bx0, by0, bx1, by1, area_b = pb[0], pb[1], pb[2], pb[3], pb[4]
        row = out[b, i]
        for j in range(m):
            inter = intersection_area(ax0, ay0, ax1, ay1, bx0[j], by0[j], bx1[j], by1[j], offset)
            row[j] = iou_from_areas(inter, area_a, area_b[j])


@nb.parallel_kernel
def pairwise_crowd_iou(fa, fb, crowd, offset, out):
    """Pairwise IoU where ``crowd[b, j]`` marks crowd regions of ``b`` (pycocotools rule)."""
    n_batch, n, m = out.shape
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        is_crowd = crowd[b if crowd.shape[0] > 1 else 0]
        ax0, ay0, ax1, ay1, area_a = pa[0, i], pa[1, i], pa[2, i], pa[3, i], pa[4, i]
        bx0, by0, bx1, by1, area_b = pb[0], pb[1], pb[2], pb[3], pb[4]
        row = out[b, i]
        for j in range(m):
            inter = intersection_area(ax0, ay0, ax1, ay1, bx0[j], by0[j], bx1[j], by1[j], offset)
            row[j] = crowd_iou_from_areas(inter, area_a, area_b[j], is_crowd[j])


@nb.parallel_kernel
def pairwise_ioa(fa, fb, over, offset, out):
    """Pairwise intersection over the area of ``a``, ``b`` or the smaller (``over`` code)."""
    n_batch, n, m = out.shape
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        ax0, ay0, ax1, ay1, area_a = pa[0, i], pa[1, i], pa[2, i], pa[3, i], pa[4, i]
        bx0, by0, bx1, by1, area_b = pb[0], pb[1], pb[2], pb[3], pb[4]
        row = out[b, i]
        for j in range(m):
            inter = intersection_area(ax0, ay0, ax1, ay1, bx0[j], by0[j], bx1[j], by1[j], offset)
            row[j] = ioa_from_areas(inter, area_a, area_b[j], over)


@nb.parallel_kernel
def pairwise_giou(fa, fb, offset, out):
    """``out[b, i, j]`` = generalised IoU."""
    n_batch, n, m = out.shape
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        ax0, ay0, ax1, ay1, area_a = pa[0, i], pa[1, i], pa[2, i], pa[3, i], pa[4, i]
        bx0, by0, bx1, by1, area_b = pb[0], pb[1], pb[2], pb[3], pb[4]
        row = out[b, i]
        for j in range(m):
            row[j] = giou_pair(
                ax0, ay0, ax1, ay1, area_a, bx0[j], by0[j], bx1[j], by1[j], area_b[j], offset
            )


@nb.parallel_kernel
def pairwise_diou(fa, fb, offset, eps, out):
    """``out[b, i, j]`` = distance IoU."""
    n_batch, n, m = out.shape
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        ax0, ay0, ax1, ay1, area_a = pa[0, i], pa[1, i], pa[2, i], pa[3, i], pa[4, i]
        acx, acy = pa[5, i], pa[6, i]
        bx0, by0, bx1, by1, area_b, bcx, bcy = pb[0], pb[1], pb[2], pb[3], pb[4], pb[5], pb[6]
        row = out[b, i]
        for j in range(m):
            row[j] = diou_pair(
                ax0,
                ay0,
                ax1,
                ay1,
                area_a,
                acx,
                acy,
                bx0[j],
                by0[j],
                bx1[j],
                by1[j],
                area_b[j],
                bcx[j],
                bcy[j],
                offset,
                eps,
            )


@nb.parallel_kernel
def pairwise_ciou(fa, fb, offset, eps, out):
    """``out[b, i, j]`` = complete IoU."""
    n_batch, n, m = out.shape
    one = out.dtype.type(1)
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        ax0, ay0, ax1, ay1, area_a = pa[0, i], pa[1, i], pa[2, i], pa[3, i], pa[4, i]
        acx, acy, angle_a = pa[5, i], pa[6, i], pa[7, i]
        bx0, by0, bx1, by1, area_b = pb[0], pb[1], pb[2], pb[3], pb[4]
        bcx, bcy, angle_b = pb[5], pb[6], pb[7]
        row = out[b, i]
        for j in range(m):
            row[j] = ciou_pair(
                ax0,
                ay0,
                ax1,
                ay1,
                area_a,
                acx,
                acy,
                angle_a,
                bx0[j],
                by0[j],
                bx1[j],
                by1[j],
                area_b[j],
                bcx[j],
                bcy[j],
                angle_b[j],
                offset,
                eps,
                one,
            )


@nb.parallel_kernel
def aligned_metric(metric, fa, fb, crowd, over, offset, eps, out):
    """``out[b, i]`` = metric of box ``i`` of ``a`` with box ``i`` of ``b`` (N == M)."""
    n_batch, n = out.shape
    one = out.dtype.type(1)
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        is_crowd = crowd[b if crowd.shape[0] > 1 else 0, i]
        out[b, i] = metric_from_features(metric, pa, i, pb, i, is_crowd, over, offset, eps, one)
