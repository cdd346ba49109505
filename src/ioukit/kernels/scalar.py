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


def box_area_at(boxes, b, i, fmt, offset):
    """Area of the box ``boxes[b, i]`` in format ``fmt``."""
    w, h = box_sides(boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3], fmt, offset)
    return w * h


def store_converted(boxes, b, i, src, dst, half, out):
    """Write the box ``boxes[b, i]``, rewritten from format code ``src`` to ``dst``,
    into ``out[b, i]``."""
    x0, y0, x1, y1 = box_corners(
        boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3], src, half
    )
    p, q, w, h = x0, y0, x1 - x0, y1 - y0
    if dst == 0:
        w, h = x1, y1
    elif dst == 2:
        p, q = (x0 + x1) * half, (y0 + y1) * half
    out[b, i, 0], out[b, i, 1], out[b, i, 2], out[b, i, 3] = p, q, w, h


def aspect_angle(w, h, half):
    """``(2 / pi) * atan2(w, h)``, the CIoU aspect term of one box.

    ``pi / 2`` is ``atan2(half, 0)`` in the type of ``half``: a float64 global
    would widen float32 boxes (and run in fp64 on CUDA)."""
    return math.atan2(w, h) / math.atan2(half, half - half)


def store_box_features(boxes, b, i, fmt, offset, half, angles, feats):
    """Write the 8 feature planes of box ``boxes[b, i]`` (format ``fmt``) into
    ``feats[b, :, i]``: corners, area, centre, and the aspect angle when ``angles``
    (only CIoU reads it; zero otherwise, which spares an ``atan2`` per box)."""
    p, q, r, t = boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3]
    x0, y0, x1, y1 = box_corners(p, q, r, t, fmt, half)
    w, h = box_sides(p, q, r, t, fmt, offset)
    feats[b, 0, i], feats[b, 1, i], feats[b, 2, i], feats[b, 3, i] = x0, y0, x1, y1
    feats[b, 4, i], feats[b, 5, i], feats[b, 6, i] = w * h, (x0 + x1) * half, (y0 + y1) * half
    feats[b, 7, i] = aspect_angle(w, h, half) if angles else half - half


# The pairwise formulas, one signature for every metric: ``(a, b, crowd, over, offset,
# eps, one)``. ``a`` and ``b`` are the 8 feature values of one box each (a tuple, see
# :func:`features_at`: 0-3 corners, 4 area, 5-6 centre, 7 aspect angle), ``crowd``
# the crowd flag of ``b``, ``over`` the IoA code, then the typed constants. A formula
# ignores what it does not use, so one compiled loop (``cpu_boxes``) runs any of
# them: the inliner drops the unused loads. Tuples of scalars (not planes and an
# index) keep the CPU's inner loop vectorised: the values are registers, and no load
# can alias the stores to the output.


def features_at(p, i):
    """The 8 feature values of box ``i`` of the feature planes ``p`` (8, N), as a tuple."""
    return (p[0, i], p[1, i], p[2, i], p[3, i], p[4, i], p[5, i], p[6, i], p[7, i])


def intersection_of(a, b, offset):
    """Area of the intersection of boxes ``a`` and ``b`` (feature tuples)."""
    return intersection_area(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], offset)


def iou_of(a, b, crowd, over, offset, eps, one):
    """Intersection over union."""
    return iou_from_areas(intersection_of(a, b, offset), a[4], b[4])


def crowd_iou_of(a, b, crowd, over, offset, eps, one):
    """IoU with pycocotools' crowd rule (``crowd``: ``b`` is a crowd region)."""
    return crowd_iou_from_areas(intersection_of(a, b, offset), a[4], b[4], crowd)


def ioa_of(a, b, crowd, over, offset, eps, one):
    """Intersection over the area of ``a``, ``b`` or the smaller (``over`` code)."""
    return ioa_from_areas(intersection_of(a, b, offset), a[4], b[4], over)


def giou_of(a, b, crowd, over, offset, eps, one):
    """Generalised IoU: ``IoU - (C - U) / C`` with C the enclosing box area."""
    inter = intersection_of(a, b, offset)
    union = a[4] + b[4] - inter
    enclosing = span_length(a[0], a[2], b[0], b[2], offset) * span_length(
        a[1], a[3], b[1], b[3], offset
    )
    return safe_ratio(inter, union) - safe_ratio(enclosing - union, enclosing)


def diou_penalty_of(a, b, offset, eps):
    """``d^2 / (c^2 + eps)``: squared centre distance over the enclosing diagonal."""
    dx = a[5] - b[5]
    dy = a[6] - b[6]
    cw = span_length(a[0], a[2], b[0], b[2], offset)
    ch = span_length(a[1], a[3], b[1], b[3], offset)
    return safe_ratio(dx * dx + dy * dy, cw * cw + ch * ch + eps)


def diou_of(a, b, crowd, over, offset, eps, one):
    """Distance IoU: ``IoU - d^2 / c^2`` (torchvision's formula, eps in c^2)."""
    return iou_of(a, b, crowd, over, offset, eps, one) - diou_penalty_of(a, b, offset, eps)


def ciou_of(a, b, crowd, over, offset, eps, one):
    """Complete IoU: ``DIoU - alpha * v``.

    The features hold ``angle = (2 / pi) * atan2(w, h)`` per box, so that
    ``v = (4 / pi^2) * (atan(w_a / h_a) - atan(w_b / h_b))^2 = (angle_a - angle_b)^2``
    and ``alpha = v / (1 - IoU + v + eps)`` as in torchvision.
    """
    iou = iou_of(a, b, crowd, over, offset, eps, one)
    penalty = diou_penalty_of(a, b, offset, eps)
    dv = a[7] - b[7]
    v = dv * dv
    alpha = safe_ratio(v, one - iou + v + eps)
    return iou - penalty - alpha * v


def metric_from_features(metric, pa, i, pb, j, crowd, over, offset, eps, one):
    """Any box metric by its code (``codes.METRIC_CODES``: 0 IoU, 1 GIoU, 2 DIoU,
    3 CIoU, 4 IoA, 5 crowd IoU) for box ``i`` of the planes ``pa`` and box ``j`` of
    ``pb``, chosen at run time (the CUDA kernels and the CPU's aligned kernel)."""
    a, b = features_at(pa, i), features_at(pb, j)
    if metric == 1:
        return giou_of(a, b, crowd, over, offset, eps, one)
    if metric == 2:
        return diou_of(a, b, crowd, over, offset, eps, one)
    if metric == 3:
        return ciou_of(a, b, crowd, over, offset, eps, one)
    if metric == 4:
        return ioa_of(a, b, crowd, over, offset, eps, one)
    if metric == 5:
        return crowd_iou_of(a, b, crowd, over, offset, eps, one)
    return iou_of(a, b, crowd, over, offset, eps, one)
