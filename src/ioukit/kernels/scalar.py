"""Scalar IoU formulas, written once for every compile target.

Every function here is plain Python on scalars: no decorator, no numba import,
no numeric literal that could widen the arithmetic. ``cpu_*`` modules wrap them
with ``numba.njit`` and ``cuda_*`` modules with ``numba.cuda.jit(device=True)``,
so the CPU and GPU kernels run the same arithmetic and differ only by rounding.

Why no literals: in Numba, ``float32 + 1.0`` is float64, so a literal would
silently turn a float32 kernel into a float64 one. Typed constants (``offset``,
``eps``) are passed in by the caller; zeros are made as ``x - x``, which is an
exact zero of the same type for every finite ``x``.
"""

import math


def positive_part(x):
    """``max(x, 0)`` in the type of ``x``."""
    return x if x > 0 else x - x


def safe_ratio(num, den):
    """``num / den``, or zero when ``den <= 0`` (never NaN for finite input)."""
    return num / den if den > 0 else num - num


def side_length(lo, hi, offset):
    """Length of ``[lo, hi]``; ``offset`` is 1 for the legacy +1 pixel convention."""
    return hi - lo + offset


def overlap_length(a_lo, a_hi, b_lo, b_hi, offset):
    """Length of the intersection of two intervals, zero when they miss."""
    return positive_part(min(a_hi, b_hi) - max(a_lo, b_lo) + offset)


def span_length(a_lo, a_hi, b_lo, b_hi, offset):
    """Length of the smallest interval holding both intervals."""
    return max(a_hi, b_hi) - min(a_lo, b_lo) + offset


def intersection_area(ax0, ay0, ax1, ay1, bx0, by0, bx1, by1, offset):
    """Area of the intersection of two xyxy boxes."""
    return overlap_length(ax0, ax1, bx0, bx1, offset) * overlap_length(ay0, ay1, by0, by1, offset)


def iou_from_areas(inter, area_a, area_b):
    """Intersection over union from the intersection and the two areas."""
    return safe_ratio(inter, area_a + area_b - inter)


def crowd_iou_from_areas(inter, area_a, area_b, crowd):
    """pycocotools' rule: against a crowd region the union is ``area_a``."""
    union = area_a if crowd else area_a + area_b - inter
    return safe_ratio(inter, union)


def giou_pair(ax0, ay0, ax1, ay1, area_a, bx0, by0, bx1, by1, area_b, offset):
    """Generalised IoU: ``IoU - (C - U) / C`` with C the enclosing box area."""
    inter = intersection_area(ax0, ay0, ax1, ay1, bx0, by0, bx1, by1, offset)
    union = area_a + area_b - inter
    enclosing = span_length(ax0, ax1, bx0, bx1, offset) * span_length(ay0, ay1, by0, by1, offset)
    return safe_ratio(inter, union) - safe_ratio(enclosing - union, enclosing)


def diou_penalty(ax0, ay0, ax1, ay1, acx, acy, bx0, by0, bx1, by1, bcx, bcy, offset, eps):
    """``d^2 / (c^2 + eps)``: squared centre distance over the enclosing diagonal."""
    dx = acx - bcx
    dy = acy - bcy
    cw = span_length(ax0, ax1, bx0, bx1, offset)
    ch = span_length(ay0, ay1, by0, by1, offset)
    return safe_ratio(dx * dx + dy * dy, cw * cw + ch * ch + eps)


def diou_pair(
    ax0, ay0, ax1, ay1, area_a, acx, acy, bx0, by0, bx1, by1, area_b, bcx, bcy, offset, eps
):
    """Distance IoU: ``IoU - d^2 / c^2`` (torchvision's formula, eps in c^2)."""
    inter = intersection_area(ax0, ay0, ax1, ay1, bx0, by0, bx1, by1, offset)
    iou = iou_from_areas(inter, area_a, area_b)
    return iou - diou_penalty(
        ax0, ay0, ax1, ay1, acx, acy, bx0, by0, bx1, by1, bcx, bcy, offset, eps
    )


def ciou_pair(
    ax0,
    ay0,
    ax1,
    ay1,
    area_a,
    acx,
    acy,
    angle_a,
    bx0,
    by0,
    bx1,
    by1,
    area_b,
    bcx,
    bcy,
    angle_b,
    offset,
    eps,
    one,
):
    """Complete IoU: ``DIoU - alpha * v``.

    ``angle_*`` is ``(2 / pi) * atan2(w, h)`` per box, so that
    ``v = (4 / pi^2) * (atan(w_a / h_a) - atan(w_b / h_b))^2 = (angle_a - angle_b)^2``
    and ``alpha = v / (1 - IoU + v + eps)`` as in torchvision.
    """
    inter = intersection_area(ax0, ay0, ax1, ay1, bx0, by0, bx1, by1, offset)
    iou = iou_from_areas(inter, area_a, area_b)
    penalty = diou_penalty(ax0, ay0, ax1, ay1, acx, acy, bx0, by0, bx1, by1, bcx, bcy, offset, eps)
    dv = angle_a - angle_b
    v = dv * dv
    alpha = safe_ratio(v, one - iou + v + eps)
    return iou - penalty - alpha * v


def ioa_from_areas(inter, area_a, area_b, over):
    """Intersection over the area of ``a`` (over=0), ``b`` (1) or the smaller (2)."""
    if over == 0:
        den = area_a
    elif over == 1:
        den = area_b
    else:
        den = min(area_a, area_b)
    return safe_ratio(inter, den)


def invalid_box_reason(p, q, r, t, fmt):
    """-1 for a valid box in format ``fmt``, else why not (an index into
    ``codes.BOX_INVALID_REASONS``): 0 not finite, 1 ``x2 < x1``, 2 ``y2 < y1``
    (xyxy), 3 negative width, 4 negative height (xywh, cxcywh).

    The one box validity rule: the CPU and CUDA scans and the Python messages
    all call it (it is plain Python, so it runs uncompiled too).
    """
    if not (math.isfinite(p) and math.isfinite(q) and math.isfinite(r) and math.isfinite(t)):
        return 0
    if fmt == 0:
        if r < p:
            return 1
        if t < q:
            return 2
    else:
        if r < 0:
            return 3
        if t < 0:
            return 4
    return -1


def label_pair_status(t, p, n_classes, ignore, has_ignore):
    """0 to count the pixel (target ``t``, prediction ``p``), 1 to skip it (its target
    is the ignore label), 2 when a label lies outside ``[0, n_classes)``.

    The one label-range rule of the confusion matrix: the CPU and CUDA kernels call
    it; the message is ``_core.validate.label_range_error``.
    """
    if has_ignore and t == ignore:
        return 1
    if t < 0 or t >= n_classes or p < 0 or p >= n_classes:
        return 2
    return 0


def box_corners(p, q, r, t, fmt, half):
    """One box in format ``fmt`` (0 xyxy, 1 xywh, 2 cxcywh) to its corners."""
    if fmt == 0:
        return p, q, r, t
    if fmt == 1:
        return p, q, p + r, q + t
    return p - r * half, q - t * half, p + r * half, q + t * half


def box_sides(p, q, r, t, fmt, offset):
    """Width and height of one box in format ``fmt`` (from its own w, h when it has them)."""
    if fmt == 0:
        return side_length(p, r, offset), side_length(q, t, offset)
    return r + offset, t + offset


def box_feature_values(p, q, r, t, fmt, offset, half):
    """The 8 feature planes of one box: corners, area, centre and the aspect angle
    ``(2 / pi) * atan2(w, h)`` used by CIoU.

    ``pi / 2`` is ``atan2(half, 0)`` in the type of ``half``: a float64 global
    would widen float32 boxes (and run in fp64 on CUDA)."""
    x0, y0, x1, y1 = box_corners(p, q, r, t, fmt, half)
    w, h = box_sides(p, q, r, t, fmt, offset)
    quarter_turn = math.atan2(half, half - half)
    angle = math.atan2(w, h) / quarter_turn
    return x0, y0, x1, y1, w * h, (x0 + x1) * half, (y0 + y1) * half, angle


# The long argument lists of diou_pair / ciou_pair repeat here (duplicate D9): scalar
# formulas take scalars only (no tuples), so that one source compiles for CPU and CUDA.
def metric_from_features(metric, pa, i, pb, j, crowd, over, offset, eps, one):
    """Any box metric for box ``i`` of feature planes ``pa`` and box ``j`` of ``pb``.

    Metric codes: 0 IoU, 1 GIoU, 2 DIoU, 3 CIoU, 4 IoA (``over``), 5 crowd IoU.
    Planes: 0-3 corners, 4 area, 5-6 centre, 7 aspect angle (see ``cpu_boxes``).
    """
    ax0, ay0, ax1, ay1, area_a = pa[0, i], pa[1, i], pa[2, i], pa[3, i], pa[4, i]
    bx0, by0, bx1, by1, area_b = pb[0, j], pb[1, j], pb[2, j], pb[3, j], pb[4, j]
    if metric == 1:
        return giou_pair(ax0, ay0, ax1, ay1, area_a, bx0, by0, bx1, by1, area_b, offset)
    if metric == 2:
        return diou_pair(
            ax0,
            ay0,
            ax1,
            ay1,
            area_a,
            pa[5, i],
            pa[6, i],
            bx0,
            by0,
            bx1,
            by1,
            area_b,
            pb[5, j],
            pb[6, j],
            offset,
            eps,
        )
    if metric == 3:
        return ciou_pair(
            ax0,
            ay0,
            ax1,
            ay1,
            area_a,
            pa[5, i],
            pa[6, i],
            pa[7, i],
            bx0,
            by0,
            bx1,
            by1,
            area_b,
            pb[5, j],
            pb[6, j],
            pb[7, j],
            offset,
            eps,
            one,
        )
    inter = intersection_area(ax0, ay0, ax1, ay1, bx0, by0, bx1, by1, offset)
    if metric == 4:
        return ioa_from_areas(inter, area_a, area_b, over)
    if metric == 5:
        return crowd_iou_from_areas(inter, area_a, area_b, crowd)
    return iou_from_areas(inter, area_a, area_b)
