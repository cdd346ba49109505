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

from .. import _numba as nb

# Status codes returned by the decoders (index into DECODE_ERRORS).
OK = 0
DECODE_ERRORS = (
    "ok",
    "invalid character",
    "truncated (the last count is incomplete)",
    "a count is too large",
    "a run length is negative",
    "the run lengths do not add up to h * w",
)
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
    """0, or 4 for a negative run, 5 for runs that do not add up to ``area``."""
    total = np.int64(0)
    for j in range(lo, hi):
        if counts[j] < 0:
            return 4
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
        out[n] = _box_runs(masks, n, boxes[n, 0], boxes[n, 1], boxes[n, 2], boxes[n, 3], dummy, 0, False)


@nb.parallel_kernel
def counts_from_masks(masks, boxes, offsets, counts):
    """Run lengths of each validated 0/1 mask into ``counts[offsets[n]:]``."""
    for n in prange(masks.shape[0]):
        _box_runs(masks, n, boxes[n, 0], boxes[n, 1], boxes[n, 2], boxes[n, 3], counts, offsets[n], True)


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


@nb.parallel_kernel
def areas_from_counts(counts, offsets, out):
    """Number of foreground pixels of each RLE (the sum of its odd runs)."""
    for n in prange(offsets.shape[0] - 1):
        total = np.int64(0)
        for i in range(offsets[n] + 1, offsets[n + 1], 2):
            total += counts[i]
        out[n] = total


@nb.parallel_kernel
def bboxes_from_counts(counts, offsets, heights, out):
    """pycocotools' ``toBbox``: [x, y, w, h] of each RLE's foreground (zeros if empty)."""
    for n in prange(offsets.shape[0] - 1):
        h = heights[n]
        lo = offsets[n]
        m = ((offsets[n + 1] - lo) // 2) * 2
        if m == 0 or h == 0:
            out[n, 0] = out[n, 1] = out[n, 2] = out[n, 3] = 0.0
            continue
        xs, ys, xe, ye = np.int64(1) << 62, h, np.int64(0), np.int64(0)
        cc = np.int64(0)
        xp = np.int64(0)
        for j in range(m):
            cc += counts[lo + j]
            t = cc - (j % 2)
            y = t % h
            x = (t - y) // h
            if j % 2 == 0:
                xp = x
            elif xp < x:
                ys = 0
                ye = h - 1
            xs = min(xs, x)
            xe = max(xe, x)
            ys = min(ys, y)
            ye = max(ye, y)
        out[n, 0] = xs
        out[n, 1] = ys
        out[n, 2] = xe - xs + 1
        out[n, 3] = ye - ys + 1


@nb.serial_kernel
def merge_counts(counts, offsets, intersect):
    """Union (or intersection) of RLEs of one size, as canonical run lengths."""
    n = offsets.shape[0] - 1
    cur = counts[offsets[0] : offsets[1]].copy()
    for r in range(1, n):
        other = counts[offsets[r] : offsets[r + 1]]
        out = np.empty(cur.shape[0] + other.shape[0] + 1, dtype=np.int64)
        ia, ib = 0, 0
        ca, cb = cur[0], other[0]
        va, vb = False, False
        v = False
        m, cc = 0, np.int64(0)
        while True:
            c = min(ca, cb)
            cc += c
            ca -= c
            cb -= c
            remaining = False
            while ca == 0 and ia + 1 < cur.shape[0]:
                ia += 1
                ca = cur[ia]
                va = not va
            while cb == 0 and ib + 1 < other.shape[0]:
                ib += 1
                cb = other[ib]
                vb = not vb
            remaining = ca > 0 or cb > 0
            nv = (va and vb) if intersect else (va or vb)
            if nv != v or not remaining:
                out[m] = cc
                m += 1
                cc = 0
                v = nv
            if not remaining:
                break
        cur = out[:m].copy()
    return cur


@nb.parallel_kernel
def polygon_bounds(xy, poly_offsets, out):
    """Upper bound on the number of run lengths of each polygon (for buffers): its
    boundary points on the 5x grid, plus one."""
    for i in prange(poly_offsets.shape[0] - 1):
        start = poly_offsets[i]
        k = (poly_offsets[i + 1] - start) // 2
        total = np.int64(1)
        for j in range(k):
            jn = (j + 1) % k
            x0 = np.int64(5.0 * xy[start + 2 * j] + 0.5)
            y0 = np.int64(5.0 * xy[start + 2 * j + 1] + 0.5)
            x1 = np.int64(5.0 * xy[start + 2 * jn] + 0.5)
            y1 = np.int64(5.0 * xy[start + 2 * jn + 1] + 0.5)
            total += max(abs(x1 - x0), abs(y1 - y0)) + 1
        out[i] = total


@nb.serial_kernel
def _polygon_counts(xy, start, stop, h, w, out, out_start):
    """Rasterise one closed polygon (COCO's rule) into run lengths at ``out[out_start:]``.

    The boundary is walked on a grid 5 times finer than the pixels; wherever it
    crosses a pixel column centre, the first pixel below the crossing starts or
    ends a run. Coordinates are truncated toward zero as C's ``(int)`` does.
    """
    scale = 5.0
    k = (stop - start) // 2
    px = np.empty(k + 1, dtype=np.int64)
    py = np.empty(k + 1, dtype=np.int64)
    for j in range(k):
        px[j] = np.int64(scale * xy[start + 2 * j] + 0.5)
        py[j] = np.int64(scale * xy[start + 2 * j + 1] + 0.5)
    px[k] = px[0]
    py[k] = py[0]
    n_points = 0
    for j in range(k):
        n_points += max(abs(px[j] - px[j + 1]), abs(py[j] - py[j + 1])) + 1
    u = np.empty(n_points, dtype=np.int64)
    v = np.empty(n_points, dtype=np.int64)
    m = 0
    for j in range(k):
        xs, xe, ys, ye = px[j], px[j + 1], py[j], py[j + 1]
        dx = abs(xe - xs)
        dy = abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe = xe, xs
            ys, ye = ye, ys
        if dx >= dy:
            slope = (ye - ys) / dx if dx > 0 else 0.0
            for d in range(dx + 1):
                t = dx - d if flip else d
                u[m] = t + xs
                v[m] = np.int64(ys + slope * t + 0.5)
                m += 1
        else:
            slope = (xe - xs) / dy
            for d in range(dy + 1):
                t = dy - d if flip else d
                v[m] = t + ys
                u[m] = np.int64(xs + slope * t + 0.5)
                m += 1
    # boundary crossings of pixel column centres, back on the pixel grid
    bx = np.empty(m + 1, dtype=np.int64)
    n_cross = 0
    for j in range(1, m):
        if u[j] != u[j - 1]:
            xd = float(u[j] if u[j] < u[j - 1] else u[j] - 1)
            xd = (xd + 0.5) / scale - 0.5
            if math.floor(xd) != xd or xd < 0 or xd > w - 1:
                continue
            yd = float(v[j] if v[j] < v[j - 1] else v[j - 1])
            yd = (yd + 0.5) / scale - 0.5
            if yd < 0:
                yd = 0.0
            elif yd > h:
                yd = float(h)
            yd = math.ceil(yd)
            bx[n_cross] = np.int64(xd) * h + np.int64(yd)
            n_cross += 1
    bx[n_cross] = h * w
    n_cross += 1
    a = np.sort(bx[:n_cross])
    previous = np.int64(0)
    for j in range(n_cross):
        t = a[j]
        a[j] -= previous
        previous = t
    n = 0
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
    pairs) into ``counts[out_offsets[i]:]``; its number of counts goes to ``lengths[i]``."""
    for i in prange(poly_offsets.shape[0] - 1):
        lengths[i] = _polygon_counts(
            xy, poly_offsets[i], poly_offsets[i + 1], heights[i], widths[i], counts, out_offsets[i]
        )


@nb.parallel_kernel
def gather_segments(src, src_starts, lengths, dst_offsets, dst):
    """Copy ``src[src_starts[i]:][:lengths[i]]`` to ``dst[dst_offsets[i]:]`` for every ``i``."""
    for i in prange(lengths.shape[0]):
        for k in range(lengths[i]):
            dst[dst_offsets[i] + k] = src[src_starts[i] + k]
