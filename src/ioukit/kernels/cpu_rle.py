"""CPU kernels of the COCO run-length encoding (RLE).

A mask of height ``h`` and width ``w`` is read in column-major order (down each
column, columns left to right) and stored as alternating run lengths, starting
with a run of zeros. A set of RLEs is held as one flat ``int64`` array of counts
plus ``offsets`` (RLE ``i`` is ``counts[offsets[i]:offsets[i + 1]]``).

The compressed string form is COCO's: each count (for ``i > 2`` the difference
to the count two places back) is written in 5-bit groups, least significant
first, each as the character ``48 + group``, with bit 0x20 meaning "more groups
follow" and bit 0x10 of the last group the sign. Every decoder here checks its
bounds and reports errors through a status code instead of reading or writing
out of range, whatever bytes it is given.
"""

import math

import numpy as np
from numba import prange

from .._core import jit as nb

# Status codes returned by the decoders (index into DECODE_ERRORS): see kernels.codes.
from .codes import RLE_DECODE_ERRORS as DECODE_ERRORS  # noqa: F401 (re-exported)
from .codes import RLE_OK as OK  # noqa: F401 (re-exported)

_MAX_GROUPS = 12  # 60 bits: far beyond any h * w


@nb.serial_kernel
def _decode_one(buf, start, end, out, out_start):
    """Decode ``buf[start:end]`` into ``out[out_start:]``; returns (n_counts, status, byte)."""
    m = 0
    p = start
    while p < end:
        x = np.int64(0)
        k = 0
        more = True
        while more:
            if p >= end:
                return m, 2, p - start
            c = np.int64(buf[p]) - 48
            if c < 0 or c > 63:
                return m, 1, p - start
            if k >= _MAX_GROUPS:
                return m, 3, p - start
            x |= (c & 0x1F) << (5 * k)
            more = (c & 0x20) != 0
            p += 1
            k += 1
            if not more and (c & 0x10) != 0:
                x |= np.int64(-1) << (5 * k)
        if m > 2:
            x += out[out_start + m - 2]
        out[out_start + m] = x
        m += 1
    return m, 0, 0


@nb.parallel_kernel
def count_terminators(buf, starts, ends, out):
    """Number of counts in each string: bytes without the "more" bit (0x20 after
    subtracting 48). Exact for valid strings, and an upper bound for any other
    (a count is only stored when such a byte ends it)."""
    for i in prange(starts.shape[0]):
        n = 0
        for p in range(starts[i], ends[i]):
            n += ((np.int64(buf[p]) - 48) & 0x20) == 0
        out[i] = n


@nb.parallel_kernel
def decode_strings(buf, starts, ends, areas, offsets, counts, lengths, status, where):
    """Decode every compressed string ``buf[starts[i]:ends[i]]``.

    RLE ``i`` is written to ``counts[offsets[i]:]`` (room from
    :func:`count_terminators`) and its number of counts to ``lengths[i]``.
    ``status[i]`` is 0 or an index into :data:`DECODE_ERRORS`; ``where[i]`` the
    byte offset of a bad character. ``areas[i]`` is the expected ``h * w``.
    """
    for i in prange(starts.shape[0]):
        m, code, at = _decode_one(buf, starts[i], ends[i], counts, offsets[i])
        lengths[i] = m
        where[i] = at
        status[i] = code if code else _runs_status(counts, offsets[i], offsets[i] + m, areas[i])


@nb.serial_kernel
def _runs_status(counts, lo, hi, area):
    """0, or 4 for a negative run, 5 for runs that do not add up to ``area``.

    Each run is compared with what is left of ``area`` before it is added, so the
    running sum never exceeds ``area`` and cannot wrap around (int64 overflow)."""
    for j in range(lo, hi):
        if counts[j] < 0:
            return 4
    total = np.int64(0)
    for j in range(lo, hi):
        if counts[j] > area - total:
            return 5
        total += counts[j]
    return 0 if total == area else 5


@nb.serial_kernel
def check_counts(counts, offsets, areas, status):
    """Status 4 or 5 (see :data:`DECODE_ERRORS`) for uncompressed counts that are invalid."""
    for i in range(offsets.shape[0] - 1):
        status[i] = _runs_status(counts, offsets[i], offsets[i + 1], areas[i])


@nb.serial_kernel
def _encode_one(counts, lo, hi, out, out_start):
    n = 0
    for i in range(lo, hi):
        x = counts[i]
        if i - lo > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) != 0 else (x != 0)
            if more:
                c |= 0x20
            out[out_start + n] = c + 48
            n += 1
    return n


@nb.parallel_kernel
def encode_strings(counts, offsets, buf, lengths):
    """Compress every RLE; RLE ``i`` goes to ``buf[13 * offsets[i]:]`` (13 bytes per
    count is enough for 64-bit values), its byte count to ``lengths[i]``."""
    for i in prange(offsets.shape[0] - 1):
        lengths[i] = _encode_one(counts, offsets[i], offsets[i + 1], buf, 13 * offsets[i])


@nb.serial_kernel
def _box_runs(masks, n, r0, r1, c0, c1, counts, k0, write):
    """Column-major run lengths of mask ``n`` whose foreground lies in rows r0..r1 and
    columns c0..c1; only that box is read. Returns the number of counts (written to
    ``counts[k0:]`` when ``write``)."""
    h, w = masks.shape[1], masks.shape[2]
    end = np.int64(h) * w
    if r1 < r0:
        if write:
            counts[k0] = end
        return 1
    k = 0
    last = np.int64(0)
    previous = 0
    for x in range(c0, c1 + 1):
        base = np.int64(x) * h
        if previous == 1 and r0 > 0:  # the run of ones ended with the previous column
            if write:
                counts[k0 + k] = base - last
            k += 1
            last = base
            previous = 0
        for y in range(r0, r1 + 1):
            v = masks[n, y, x]
            if v != previous:
                if write:
                    counts[k0 + k] = base + y - last
                k += 1
                last = base + y
                previous = v
        if previous == 1 and r1 < h - 1:
            if write:
                counts[k0 + k] = base + r1 + 1 - last
            k += 1
            last = base + r1 + 1
            previous = 0
    if previous == 1:
        stop = np.int64(c1 + 1) * h
        if write:
            counts[k0 + k] = stop - last
        k += 1
        last = stop
    if last < end:
        if write:
            counts[k0 + k] = end - last
        k += 1
    return k


@nb.parallel_kernel
def count_box_runs(masks, boxes, out):
    """Number of run lengths of each validated 0/1 mask (see :func:`_box_runs`)."""
    dummy = np.empty(1, dtype=np.int64)
    for n in prange(masks.shape[0]):
        out[n] = _box_runs(
            masks, n, boxes[n, 0], boxes[n, 1], boxes[n, 2], boxes[n, 3], dummy, 0, False
        )


@nb.parallel_kernel
def counts_from_masks(masks, boxes, offsets, counts):
    """Run lengths of each validated 0/1 mask into ``counts[offsets[n]:]``."""
    for n in prange(masks.shape[0]):
        _box_runs(
            masks, n, boxes[n, 0], boxes[n, 1], boxes[n, 2], boxes[n, 3], counts, offsets[n], True
        )


@nb.parallel_kernel
def masks_from_counts(counts, offsets, out):
    """Paint each RLE into ``out[n]`` (h, w), which must be zeroed. Runs past
    ``h * w`` are clipped, so even unchecked counts never write out of bounds."""
    n_masks, h, w = out.shape
    size = np.int64(h) * w
    for n in prange(n_masks):
        p = np.int64(0)
        for i in range(offsets[n], offsets[n + 1]):
            run = min(max(counts[i], 0), size - p)
            if (i - offsets[n]) % 2 == 1 and run > 0:
                x = p // h
                y = p - x * h
                left = run
                while left > 0:
                    span = min(h - y, left)
                    for yy in range(y, y + span):
                        out[n, yy, x] = 1
                    left -= span
                    x += 1
                    y = 0
            p += run


@nb.serial_kernel
def _run(counts, i, p, size):
    """Run ``counts[i]`` clipped to what is left of the ``size`` pixels after ``p``:
    valid counts are unchanged, and no sum of clipped runs can pass ``size``."""
    return min(max(counts[i], np.int64(0)), size - p)


@nb.parallel_kernel
def areas_from_counts(counts, offsets, sizes, out):
    """Number of foreground pixels of each RLE (the sum of its odd runs, clipped
    to ``sizes[n]`` = h * w pixels)."""
    for n in prange(offsets.shape[0] - 1):
        size = sizes[n]
        p = np.int64(0)
        total = np.int64(0)
        for i in range(offsets[n], offsets[n + 1]):
            run = _run(counts, i, p, size)
            if (i - offsets[n]) % 2 == 1:
                total += run
            p += run
        out[n] = total


@nb.parallel_kernel
def bboxes_from_counts(counts, offsets, heights, widths, out):
    """pycocotools' ``toBbox``: [x, y, w, h] of each RLE's foreground (zeros if empty).

    Computed from the foreground runs themselves: zero-length runs are skipped,
    so the box is always that of the decoded mask."""
    for n in prange(offsets.shape[0] - 1):
        h = heights[n]
        size = h * widths[n]
        xs, xe, ys, ye = np.int64(0), np.int64(-1), h, np.int64(-1)
        p = np.int64(0)
        for i in range(offsets[n], offsets[n + 1]):
            run = _run(counts, i, p, size)
            if (i - offsets[n]) % 2 == 1 and run > 0:
                x0, x1 = p // h, (p + run - 1) // h
                if xe < 0:
                    xs = x0
                xe = x1
                if x1 > x0:
                    ys, ye = np.int64(0), h - 1
                else:
                    ys = min(ys, p - x0 * h)
                    ye = max(ye, p + run - 1 - x0 * h)
            p += run
        if xe < 0:
            out[n, 0] = out[n, 1] = out[n, 2] = out[n, 3] = 0.0
        else:
            out[n, 0] = xs
            out[n, 1] = ys
            out[n, 2] = xe - xs + 1
            out[n, 3] = ye - ys + 1


@nb.serial_kernel
def _advance(runs, i, end, value, p, size):
    """Step through the run lengths ``runs`` (run ``i`` ends at ``end``, foreground when
    ``value``) until a run ends after position ``p``: ``(i, end, value)``. Past the
    last run, background up to ``size``."""
    while end <= p:
        i += 1
        if i < runs.shape[0]:
            end += _run(runs, i, end, size)
            value = not value
        else:
            end, value = size, False
    return i, end, value


@nb.serial_kernel
def _merge_two(a, b, size, intersect, out):
    """Union (or intersection) of run lengths ``a`` and ``b`` of ``size`` pixels into
    ``out`` (room for ``len(a) + len(b) + 1``); returns the number of runs.

    Runs are clipped to ``size`` and missing runs count as background, so any
    input terminates: each step moves the position forward or reads a count."""
    start_value = size >= 0  # True, typed bool: a literal True compiles _advance twice
    ia, ea, va = np.int64(-1), np.int64(0), start_value
    ib, eb, vb = np.int64(-1), np.int64(0), start_value
    p, start, v, m = np.int64(0), np.int64(0), False, 0
    while p < size:
        ia, ea, va = _advance(a, ia, ea, va, p, size)
        ib, eb, vb = _advance(b, ib, eb, vb, p, size)
        nv = (va and vb) if intersect else (va or vb)
        if nv != v:
            out[m] = p - start
            m += 1
            start, v = p, nv
        p = min(ea, eb)
    out[m] = size - start
    return m + 1


@nb.serial_kernel
def merge_counts(counts, offsets, size, intersect):
    """Union (or intersection) of RLEs of ``size`` pixels, as canonical run lengths
    (pycocotools' ``rleMerge``)."""
    n = offsets.shape[0] - 1
    cur = counts[offsets[0] : offsets[1]].copy()
    for r in range(1, n):
        other = counts[offsets[r] : offsets[r + 1]]
        out = np.empty(cur.shape[0] + other.shape[0] + 1, dtype=np.int64)
        m = _merge_two(cur, other, size, intersect, out)
        cur = out[:m].copy()
    return cur


@nb.serial_kernel
def _grid(value):
    """A coordinate on the 5x grid, rounded as pycocotools' ``(int)(5 * x + .5)``
    (coordinates are checked to be within +-1e15 first, so this is exact)."""
    return np.int64(5.0 * value + 0.5)


@nb.parallel_kernel
def polygon_bounds(xy, poly_offsets, widths, out):
    """Upper bound on the number of run lengths of each polygon (for buffers).

    An edge crosses each pixel column centre at most once, so it adds at most
    ``min(w, |dx| / 5 + 2)`` boundary points, plus one where it meets the previous
    edge; the bound grows with the vertices and the image, not the coordinates."""
    for i in prange(poly_offsets.shape[0] - 1):
        start = poly_offsets[i]
        k = (poly_offsets[i + 1] - start) // 2
        total = np.int64(2)
        for j in range(k):
            jn = (j + 1) % k
            dx = abs(_grid(xy[start + 2 * jn]) - _grid(xy[start + 2 * j]))
            total += min(widths[i], dx // 5 + 2) + 1
        out[i] = total


@nb.serial_kernel
def _edge_point(steep, xs, ys, s, t):
    """Point ``t`` of an edge's walk on the 5x grid, as pycocotools computes it."""
    if steep:
        return np.int64(xs + s * t + 0.5), t + ys
    return t + xs, np.int64(ys + s * t + 0.5)


@nb.serial_kernel
def _crossing(u0, v0, u1, v1, h, w, bx, n):
    """Record the pixel where the walk step (u0, v0) -> (u1, v1) crosses a column
    centre (pycocotools' rule, in float64 as it does); returns the new count."""
    if u1 == u0 or n + 1 >= bx.shape[0]:  # (the last slot is kept for h * w)
        return n
    xd = float(u1 if u1 < u0 else u1 - 1)
    xd = (xd + 0.5) / 5.0 - 0.5
    if math.floor(xd) != xd or xd < 0 or xd > w - 1:
        return n
    yd = float(v1 if v1 < v0 else v0)
    yd = (yd + 0.5) / 5.0 - 0.5
    if yd < 0:
        yd = 0.0
    elif yd > h:
        yd = float(h)
    yd = math.ceil(yd)
    bx[n] = np.int64(xd) * h + np.int64(yd)
    return n + 1


@nb.serial_kernel
def _first_at_least(xs, s, sign, lo, hi, level):
    """First ``t`` in ``[lo, hi]`` with ``sign * u(t) >= level`` for the steep walk
    ``u(t) = (int)(xs + s * t + .5)`` (monotone in ``t``), or ``hi + 1``."""
    while lo <= hi:
        mid = lo + (hi - lo) // 2
        if sign * np.int64(xs + s * mid + 0.5) >= level:
            hi = mid - 1
        else:
            lo = mid + 1
    return lo


@nb.serial_kernel
def _edge_crossings(xs, ys, s, steep, nt, h, w, bx, n):
    """Column crossings inside one edge's walk (points ``t = 0 .. nt``).

    ``u`` moves by at most 1 per step and monotonically, and a crossing is a step
    between ``u = 5c + 2`` and ``5c + 3`` for a column ``c`` of the image. So only
    the stretch of the walk with ``u`` in ``[2, 5w - 2]`` matters, and in it one
    step per column: at ``t = 5c + 2 - xs`` for a shallow edge (``u = t + xs``),
    found by bisection for a steep one. The cost is at most a few steps per image
    column, whatever the length of the edge."""
    top = 5 * w - 2
    if steep and s == 0.0:
        return n  # a vertical edge: u never changes
    if steep:
        sign = np.int64(1) if s > 0 else np.int64(-1)
        low, high = (np.int64(2), top) if s > 0 else (-top, np.int64(-2))
        ta = _first_at_least(xs, s, sign, np.int64(0), nt, low)
        tb = _first_at_least(xs, s, sign, ta, nt, high + 1) - 1
        if ta >= tb:
            return n
        ua, ub = _edge_point(steep, xs, ys, s, ta)[0], _edge_point(steep, xs, ys, s, tb)[0]
    else:
        sign = np.int64(1)
        ta = max(np.int64(0), 2 - xs)
        tb = min(nt, top - xs)
        if ta >= tb:
            return n
        ua, ub = ta + xs, tb + xs
    umin, umax = min(ua, ub), max(ua, ub)
    for c in range((umin + 2) // 5, (umax - 3) // 5 + 1):
        if steep:
            level = 5 * c + 3 if s > 0 else -(5 * c + 2)
            t = _first_at_least(xs, s, sign, ta, tb, level)
        else:
            t = 5 * c + 3 - xs
        u0, v0 = _edge_point(steep, xs, ys, s, t - 1)
        u1, v1 = _edge_point(steep, xs, ys, s, t)
        n = _crossing(u0, v0, u1, v1, h, w, bx, n)
    return n


@nb.serial_kernel
def _heap_sort(a):
    """Sort ``a`` in place, ascending (heapsort: O(n log n) at worst, no memory).
    Written out because numba's ``np.sort`` takes seconds to compile on a first run;
    one function (building the heap, then taking from it) is one compilation."""
    start, end = a.shape[0] // 2, a.shape[0]
    while end > 1:
        if start > 0:  # building the heap: sift down a[start - 1]
            start -= 1
            root = start
        else:  # taking the largest to the end: sift down the new a[0]
            end -= 1
            a[0], a[end] = a[end], a[0]
            root = 0
        value = a[root]
        child = 2 * root + 1
        while child < end:
            if child + 1 < end and a[child + 1] > a[child]:
                child += 1
            if a[child] <= value:
                break
            a[root] = a[child]
            root = child
            child = 2 * root + 1
        a[root] = value


@nb.serial_kernel
def _polygon_counts(xy, start, stop, h, w, room, out, out_start):
    """Rasterise one closed polygon (COCO's rule) into run lengths at ``out[out_start:]``.

    pycocotools walks the boundary on a grid 5 times finer than the pixels and,
    wherever the walk crosses a pixel column centre, starts or ends a run at the
    first pixel below the crossing. The same points are computed here (the same
    float64 expressions, truncated toward zero as C's ``(int)`` does), but only
    the part of each edge that can cross a column of the image is visited, so
    time and memory depend on the image and the vertices, not on how far the
    vertices lie outside it. ``room`` bounds the number of crossings.
    """
    k = (stop - start) // 2
    bx = np.empty(room, dtype=np.int64)
    n_cross = np.int64(0)  # (not the literal 0: one specialisation of _crossing)
    pu, pv = np.int64(0), np.int64(0)
    for j in range(k):
        jn = (j + 1) % k
        xs, ys = _grid(xy[start + 2 * j]), _grid(xy[start + 2 * j + 1])
        xe, ye = _grid(xy[start + 2 * jn]), _grid(xy[start + 2 * jn + 1])
        dx = abs(xe - xs)
        dy = abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe = xe, xs
            ys, ye = ye, ys
        steep = dx < dy
        if steep:
            s, nt = (xe - xs) / dy, dy
        else:
            s, nt = ((ye - ys) / dx if dx > 0 else 0.0), dx
        fu, fv = _edge_point(steep, xs, ys, s, nt if flip else 0)
        if j > 0:  # the step from the previous edge's last point to this edge's first
            n_cross = _crossing(pu, pv, fu, fv, h, w, bx, n_cross)
        n_cross = _edge_crossings(xs, ys, s, steep, nt, h, w, bx, n_cross)
        pu, pv = _edge_point(steep, xs, ys, s, 0 if flip else nt)
    bx[n_cross] = h * w
    n_cross += 1
    a = bx[:n_cross]
    _heap_sort(a)
    previous = np.int64(0)
    for j in range(n_cross):
        t = a[j]
        a[j] -= previous
        previous = t
    out[out_start] = a[0]
    n = 1
    j = 1
    while j < n_cross:
        if a[j] > 0:
            out[out_start + n] = a[j]
            n += 1
            j += 1
        else:
            j += 1
            if j < n_cross:
                out[out_start + n - 1] += a[j]
                j += 1
    return n


@nb.parallel_kernel
def polygons_to_counts(xy, poly_offsets, heights, widths, out_offsets, counts, lengths):
    """Rasterise polygon ``i`` (``xy[poly_offsets[i]:poly_offsets[i + 1]]``, flat x, y
    pairs) into ``counts[out_offsets[i]:out_offsets[i + 1]]`` (room from
    :func:`polygon_bounds`); its number of counts goes to ``lengths[i]``."""
    for i in prange(poly_offsets.shape[0] - 1):
        room = out_offsets[i + 1] - out_offsets[i]
        lengths[i] = _polygon_counts(
            xy,
            poly_offsets[i],
            poly_offsets[i + 1],
            heights[i],
            widths[i],
            room,
            counts,
            out_offsets[i],
        )


@nb.parallel_kernel
def gather_segments(src, src_starts, lengths, dst_offsets, dst):
    """Copy ``src[src_starts[i]:][:lengths[i]]`` to ``dst[dst_offsets[i]:]`` for every ``i``."""
    for i in prange(lengths.shape[0]):
        for k in range(lengths[i]):
            dst[dst_offsets[i] + k] = src[src_starts[i] + k]
