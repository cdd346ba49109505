"""Scalar formulas for rotated boxes and convex polygons, written once for every target.

Plain Python on scalars and small scratch arrays: no decorator, no numba import.
``cpu_rotated`` compiles them with ``numba.njit`` and ``cuda_rotated`` with
``numba.cuda.jit(device=True)`` (through ``_numba.compile_scalars``), so the CPU
and GPU kernels run the same arithmetic.

Unlike ``kernels.scalar``, these formulas always compute in float64 (float32
inputs are widened when read and the result is rounded once when written), so
literals are harmless here. Every shape is stored as a *centre* and the vertex
*offsets* from it; a pair is measured in the frame of the first shape's centre,
scaled by the larger circumradius, so huge or tiny coordinates neither overflow
nor lose the overlap to cancellation. Polygons are convex and counter-clockwise
(positive shoelace area in the array's own x, y axes); the front-end ensures it.
"""

import math

#: vertices of the scratch polygons per input vertex (clipping adds at most one per edge)
SCRATCH_ROWS = 6


def scratch_width(ka, kb):
    """Length of each scratch row for shapes of ``ka`` and ``kb`` vertices."""
    return 2 * (ka + kb) + 2


def unit_angle_degrees(a):
    """``(cos, sin)`` of ``a`` degrees, exact at multiples of 90 degrees."""
    r = a % 360.0  # exact, in [0, 360)
    if r == 0.0:
        return 1.0, 0.0
    if r == 90.0:
        return 0.0, 1.0
    if r == 180.0:
        return -1.0, 0.0
    if r == 270.0:
        return 0.0, -1.0
    t = r * (math.pi / 180.0)
    return math.cos(t), math.sin(t)


def rotation(angle, fmt):
    """``(c, s)`` so that a box-frame offset ``(u, v)`` lands at ``(u c - v s, u s + v c)``.

    ``fmt`` 0 is ``cxcywha`` (degrees, counter-clockwise on screen with y down, as
    detectron2): the offset of ``(+w/2, +h/2)`` is ``(w/2 cos a + h/2 sin a,
    h/2 cos a - w/2 sin a)``. ``fmt`` 1 is ``cxcywhr`` (radians, the opposite sense,
    as mmcv / mmrotate).
    """
    if fmt == 0:
        c, s = unit_angle_degrees(angle)
        return c, -s
    return math.cos(angle), math.sin(angle)


def box_corner_offsets(w, h, c, s):
    """Offsets of the four corners from the centre, counter-clockwise in x-y order:
    ``(+w/2, +h/2), (-w/2, +h/2), (-w/2, -h/2), (+w/2, -h/2)`` turned by ``(c, s)``."""
    hw = 0.5 * w
    hh = 0.5 * h
    ux, uy = hw * c, hw * s  # half-width axis
    vx, vy = -hh * s, hh * c  # half-height axis
    return (
        ux + vx, uy + vy,
        -ux + vx, -uy + vy,
        -ux - vx, -uy - vy,
        ux - vx, uy - vy,
    )  # fmt: skip


def polygon_area(xs, ys, n):
    """Signed shoelace area of the first ``n`` vertices (positive when counter-clockwise)."""
    if n < 3:
        return 0.0
    total = 0.0
    px, py = xs[n - 1], ys[n - 1]
    for i in range(n):
        qx, qy = xs[i], ys[i]
        total += px * qy - qx * py
        px, py = qx, qy
    return 0.5 * total


def clip_area(sx, sy, n, tx, ty, qx, qy, m):
    """Area of polygon ``s`` (``n`` vertices) clipped by the convex counter-clockwise
    polygon ``q`` (``m`` vertices): Sutherland-Hodgman, one half-plane per edge of ``q``.

    ``s`` and ``t`` are scratch buffers of equal length (both are overwritten); a
    vertex is kept when it lies on or left of the edge, and a crossing point is
    added only between strictly opposite sides, so collinear edges and touching
    corners add no spurious vertices. Writes never pass the buffers' end.
    """
    cap = tx.shape[0]
    for k in range(m):
        if n < 3:
            return 0.0
        k1 = k + 1 if k + 1 < m else 0
        ex0, ey0 = qx[k], qy[k]
        ex, ey = qx[k1] - ex0, qy[k1] - ey0
        if ex == 0.0 and ey == 0.0:
            continue
        count = 0
        prev = n - 1
        dp = ex * (sy[prev] - ey0) - ey * (sx[prev] - ex0)
        for i in range(n):
            d = ex * (sy[i] - ey0) - ey * (sx[i] - ex0)
            if ((dp > 0.0 and d < 0.0) or (dp < 0.0 and d > 0.0)) and count < cap:
                t = dp / (dp - d)
                tx[count] = sx[prev] + t * (sx[i] - sx[prev])
                ty[count] = sy[prev] + t * (sy[i] - sy[prev])
                count += 1
            if d >= 0.0 and count < cap:
                tx[count] = sx[i]
                ty[count] = sy[i]
                count += 1
            prev = i
            dp = d
        sx, tx = tx, sx
        sy, ty = ty, sy
        n = count
    return polygon_area(sx, sy, n)


def hull_area(xs, ys, n):
    """Area of the convex hull of the first ``n`` points (gift wrapping, no sorting).

    At most ``n + 1`` wrapping steps, so rounding can never make it loop forever."""
    start = 0
    for k in range(1, n):
        if xs[k] < xs[start] or (xs[k] == xs[start] and ys[k] < ys[start]):
            start = k
    cur = start
    total = 0.0
    for _step in range(n + 1):
        cx, cy = xs[cur], ys[cur]
        nxt = -1
        for k in range(n):
            dx, dy = xs[k] - cx, ys[k] - cy
            if dx == 0.0 and dy == 0.0:
                continue
            if nxt < 0:
                nxt = k
                continue
            ex, ey = xs[nxt] - cx, ys[nxt] - cy
            cross = ex * dy - ey * dx
            if cross < 0.0 or (cross == 0.0 and dx * dx + dy * dy > ex * ex + ey * ey):
                nxt = k
        if nxt < 0:
            return 0.0
        total += cx * ys[nxt] - xs[nxt] * cy
        cur = nxt
        if cur == start:
            break
    return abs(0.5 * total)


def pair_overlap(acx, acy, aox, aoy, na, area_a, rad_a, bcx, bcy, box, boy, nb, area_b, rad_b,
                 want_hull, s):  # fmt: skip
    """``(intersection, hull)`` areas of two shapes, each in units of ``scale**2``, and
    ``(area_a, area_b)`` in the same units, plus ``scale``.

    ``aox[k], aoy[k]`` are the offsets of vertex ``k`` of ``a`` from its centre
    ``(acx, acy)``, ``area_a`` its area divided by ``rad_a**2``; likewise ``b``. ``s``
    is a ``(SCRATCH_ROWS, L)`` float64 scratch array, ``L >= 2 * (na + nb) + 2``. Circumscribed circles that miss mean no
    intersection; the hull is computed only when ``want_hull``.
    """
    scale = rad_a if rad_a > rad_b else rad_b
    if not scale > 0.0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    if not want_hull:  # most pairs: circumscribed circles that miss, tested before scaling
        reach = (rad_a + rad_b) * (1.0 + 1e-9)
        ex, ey = bcx - acx, bcy - acy
        if abs(ex) > reach or abs(ey) > reach or ex * ex + ey * ey > reach * reach:
            return 0.0, 0.0, 0.0, 0.0, scale
    dx = (bcx - acx) / scale
    dy = (bcy - acy) / scale
    ra = rad_a / scale
    rb = rad_b / scale
    an = area_a * ra * ra  # the areas arrive in units of their own circumradius squared
    bn = area_b * rb * rb
    reach = (ra + rb) * (1.0 + 1e-9)
    apart = abs(dx) > reach or abs(dy) > reach or dx * dx + dy * dy > reach * reach
    inter = 0.0
    if not apart and an > 0.0 and bn > 0.0:
        for k in range(na):
            s[0, k] = aox[k] / scale
            s[1, k] = aoy[k] / scale
        for k in range(nb):
            s[4, k] = dx + box[k] / scale
            s[5, k] = dy + boy[k] / scale
        inter = clip_area(s[0], s[1], na, s[2], s[3], s[4], s[5], nb)
        inter = min(max(inter, 0.0), an, bn)
    hull = 0.0
    if want_hull:
        for k in range(na):
            s[0, k] = aox[k] / scale
            s[1, k] = aoy[k] / scale
        for k in range(nb):
            s[0, na + k] = dx + box[k] / scale
            s[1, na + k] = dy + boy[k] / scale
        hull = hull_area(s[0], s[1], na + nb)
    return inter, hull, an, bn, scale


def metric_value(metric, over, inter, hull, an, bn):
    """IoU (0), IoA (1; ``over`` 0 = a, 1 = b, 2 = the smaller) or GIoU (2) from the
    areas of :func:`pair_overlap`. Zero denominators give 0, never NaN."""
    if metric == 1:
        if over == 0:
            den = an
        elif over == 1:
            den = bn
        else:
            den = an if an < bn else bn
        return inter / den if den > 0.0 else 0.0
    union = an + bn - inter
    iou = inter / union if union > 0.0 else 0.0
    if iou > 1.0:
        iou = 1.0
    if metric == 2:
        enclosing = hull if hull > union else union
        if enclosing > 0.0:
            iou -= (enclosing - union) / enclosing
    return iou


def shape_metric(metric, over, acx, acy, aox, aoy, na, area_a, rad_a,
                 bcx, bcy, box, boy, nb, area_b, rad_b, s):  # fmt: skip
    """The metric of one pair of shapes (see :func:`pair_overlap`)."""
    inter, hull, an, bn, _scale = pair_overlap(
        acx, acy, aox, aoy, na, area_a, rad_a, bcx, bcy, box, boy, nb, area_b, rad_b,
        metric == 2, s,
    )  # fmt: skip
    return metric_value(metric, over, inter, hull, an, bn)
