"""NumPy twins of the polygon rasteriser of :mod:`ioukit.kernels.cpu_rle` (no numba import).

:func:`polygon_bounds` and :func:`polygons_to_counts` have the names, positional
signatures and outputs of the compiled kernels and write identical values. They
follow the kernel's walk (pycocotools' ``rleFrPoly``: vertices on a grid 5 times
finer than the pixels, rounded as C's ``(int)(5 * x + .5)``, each edge walked one
grid step at a time, a run boundary wherever a step crosses a pixel column centre)
with the same float64 expressions, truncated toward zero as the kernel does. Only
the steps that can cross a column of the image are computed: for a shallow edge
they are known in closed form; for a steep one each is estimated, checked against
its neighbour and, where the estimate misses, found by bisection, as the kernel
does. Time and memory grow with the number of crossings (bounded by the image
width per edge), not with the coordinates.

A twin returns ``NotImplemented`` before writing anything (and the caller runs the
compiled kernel) when the offsets or sizes are out of range, a coordinate is not
within +-1e15, a steep edge is longer than 2**52 grid steps (one of 9e14 pixels),
or the crossings would pass :data:`MAX_CROSSINGS` or the room a polygon was given.
"""

from __future__ import annotations

from types import NotImplementedType

import numpy as np

#: Largest coordinate handled (the front-end's bound, so every grid value is exact).
MAX_COORDINATE = 1e15
#: Most column crossings (candidate run boundaries) computed in one call; above it,
#: the twin declines, so its temporaries stay under about 200 MB (the 100-image
#: sample has 177,000).
MAX_CROSSINGS = 1 << 21
#: Longest steep edge walked (grid steps; 2**52 keeps a margin): past 2**53 a step
#: ``t`` is not exact in float64, ``u(t)`` can skip a value, and the kernel's walk
#: (which looks for each column from where ``u`` enters the image) and the plain walk
#: of pycocotools, which this twin follows, part ways.
_EXACT_STEPS = 1 << 52
_MAX_SIDE = 1 << 40
_MAX_PIXELS = 1 << 60


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.shape[0] + 1, dtype=np.int64)
    np.cumsum(values, out=out[1:])
    return out


def _vertices(xy: np.ndarray, poly_offsets: np.ndarray):
    """``(k, at, following)`` per vertex: vertices per polygon, the index in ``xy`` of
    each vertex's x and of the next vertex's x (closing the ring); None when the
    offsets leave ``xy``, decrease, a coordinate is not within +-1e15, or ``xy`` is not
    float64."""
    offsets = np.asarray(poly_offsets, dtype=np.int64)
    n = offsets.shape[0] - 1
    if n < 0 or np.asarray(xy).dtype != np.float64:  # (float32 would round differently)
        return None
    if n and not (
        offsets[0] >= 0 and offsets[-1] <= xy.shape[0] and (offsets[1:] >= offsets[:-1]).all()
    ):
        return None
    if n and not (np.abs(xy[offsets[0] : offsets[-1]]) <= MAX_COORDINATE).all():
        return None
    k = (offsets[1:] - offsets[:-1]) // 2
    first = _prefix(k)
    start = np.repeat(offsets[:-1], k)
    j = np.arange(int(first[-1]), dtype=np.int64) - np.repeat(first[:-1], k)
    at = start + 2 * j
    following = np.where(j + 1 == np.repeat(k, k), start, at + 2)
    return k, at, following


def _grid(values: np.ndarray) -> np.ndarray:
    """pycocotools' ``(int)(5 * x + .5)``: the kernel's ``_grid`` (truncation)."""
    return (5.0 * values + 0.5).astype(np.int64)


def polygon_bounds(
    xy: np.ndarray, poly_offsets: np.ndarray, widths: np.ndarray, out: np.ndarray
) -> NotImplementedType | None:
    """Upper bound on the number of run lengths of each polygon (twin of
    ``cpu_rle.polygon_bounds``).

    Parameters
    ----------
    xy : numpy.ndarray
        Flat float64 ``x, y`` pairs of every polygon.
    poly_offsets : numpy.ndarray
        Polygon ``i`` is ``xy[poly_offsets[i]:poly_offsets[i + 1]]``.
    widths : numpy.ndarray
        Image width of each polygon.
    out : numpy.ndarray
        Receives ``2 + sum(min(w, |dx| // 5 + 2) + 1)`` over the edges (``dx`` on
        the 5x grid).

    Returns
    -------
    None or NotImplemented
        ``NotImplemented`` (nothing written) for offsets out of range or a
        coordinate not within +-1e15.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros(1, np.int64)
    >>> polygon_bounds(np.array([1.0, 1, 6, 1, 6, 4]), np.array([0, 6]), np.array([8]), out)
    >>> out
    array([21])
    """
    found = _vertices(xy, poly_offsets)
    if found is None:
        return NotImplemented
    k, at, following = found
    n = k.shape[0]
    if np.shape(widths)[:1] < (n,) or np.shape(out)[:1] < (n,):
        return NotImplemented
    dx = np.abs(_grid(xy[following]) - _grid(xy[at]))
    limit = np.repeat(np.asarray(widths, dtype=np.int64)[:n], k)
    total = _prefix(np.minimum(limit, dx // 5 + 2) + 1)
    first = _prefix(k)
    out[:n] = 2 + total[first[1:]] - total[first[:-1]]
    return None


def _point(steep, xs, ys, s, t):
    """Point ``t`` of an edge's walk, the kernel's ``_edge_point`` for arrays."""
    u = np.where(steep, (xs + s * t + 0.5).astype(np.int64), t + xs)
    v = np.where(steep, t + ys, (ys + s * t + 0.5).astype(np.int64))
    return u, v


def _crossing(u0, v0, u1, v1, h, w):
    """``(keep, pixel)`` of each step, the kernel's ``_crossing`` for arrays: whether the
    step crosses a column centre of the image and the flat index of the pixel."""
    xd = np.where(u1 < u0, u1, u1 - 1).astype(np.float64)
    xd = (xd + 0.5) / 5.0 - 0.5
    keep = (u1 != u0) & (np.floor(xd) == xd) & (xd >= 0) & (xd <= w - 1)
    yd = np.where(v1 < v0, v1, v0).astype(np.float64)
    yd = (yd + 0.5) / 5.0 - 0.5
    yd = np.where(yd < 0, 0.0, np.where(yd > h, h.astype(np.float64), yd))
    pixel = xd[keep].astype(np.int64) * h[keep] + np.ceil(yd[keep]).astype(np.int64)
    return keep, pixel


def _first_true(test, lo, hi):
    """First ``t`` in ``[lo, hi]`` with ``test(t)`` (true at ``hi``, monotone), by bisection."""
    lo, hi = lo.copy(), hi.copy()
    while (lo < hi).any():
        mid = lo + (hi - lo) // 2
        ok = test(mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid + 1)
    return lo


def _steep_steps(xs, s, nt, levels, up):
    """For steep edges (one entry per wanted crossing): the first ``t`` in ``[1, nt]`` with
    ``u(t) >= level`` (``up``) or ``u(t) <= level`` (not ``up``), ``u(t) = (int)(xs + s*t
    + .5)``. Estimated from the line, then checked (true at ``t``, false at ``t - 1``)
    and, where the estimate missed, bisected."""

    def test(t, sel=slice(None)):
        u = (xs[sel] + s[sel] * t + 0.5).astype(np.int64)
        return np.where(up[sel], u >= levels[sel], u <= levels[sel])

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        guess = (levels + np.where(up, -0.5, 0.5) - xs) / s
    t = np.ceil(np.clip(np.nan_to_num(guess, nan=1.0), 1.0, nt.astype(np.float64)))
    t = t.astype(np.int64)
    miss = np.flatnonzero(~test(t) | test(t - 1))
    if miss.shape[0]:
        ones = np.ones(miss.shape[0], dtype=np.int64)
        t[miss] = _first_true(lambda m: test(m, miss), ones, nt[miss])
    return t


def _edges(xy, at, following):
    """Every edge as the kernel sets it up: ``(xs, ys, s, steep, nt, flip)``."""
    xs, ys = _grid(xy[at]), _grid(xy[at + 1])
    xe, ye = _grid(xy[following]), _grid(xy[following + 1])
    dx, dy = np.abs(xe - xs), np.abs(ys - ye)
    steep = dx < dy
    flip = (~steep & (xs > xe)) | (steep & (ys > ye))
    xs, xe = np.where(flip, xe, xs), np.where(flip, xs, xe)
    ys, ye = np.where(flip, ye, ys), np.where(flip, ys, ye)
    rise = np.where(steep, xe - xs, ye - ys).astype(np.float64)
    run = np.where(steep, dy, dx).astype(np.float64)
    s = np.divide(rise, run, out=np.zeros_like(rise), where=run > 0)
    return xs, ys, s, steep, np.where(steep, dy, dx), flip


def _column_steps(e, many, c_lo, xs, ys, s, nt, h, steep):
    """``(pixel, count)`` of the steps inside edges ``e`` (all shallow or all steep):
    edge ``e[i]`` crosses the centres of columns ``c_lo .. c_lo + many - 1``, each in
    the step between ``u = 5c + 2`` and ``5c + 3`` (so ``xd = c`` exactly), at the
    row below ``min(v)`` of the step."""
    count = many[e]
    c = np.arange(int(count.sum()), dtype=np.int64)
    c -= np.repeat(_prefix(count)[:-1] - c_lo[e], count)
    ys_c, s_c = np.repeat(ys[e], count), np.repeat(s[e], count)
    if steep:
        up = s_c > 0
        levels = np.where(up, 5 * c + 3, 5 * c + 2)
        t = _steep_steps(np.repeat(xs[e], count), s_c, np.repeat(nt[e], count), levels, up)
        low = t - 1 + ys_c  # v(t) = t + ys
    else:  # u(t) = t + xs: the step is t - 1 -> t = 5c + 3 - xs; v(t) is monotone
        t = 5 * c + np.repeat(3 - xs[e] - (s[e] >= 0), count)  # t or t - 1: the lower v
        low = (ys_c + s_c * t + 0.5).astype(np.int64)
    h_c = np.repeat(h[e], count)
    yd = np.minimum(np.maximum((low.astype(np.float64) + 0.5) / 5.0 - 0.5, 0.0), h_c)
    return c * h_c + np.ceil(yd).astype(np.int64), count


def _all_crossings(xy, k, at, following, heights, widths):
    """``(polygon, pixel)`` of every column crossing, or None above :data:`MAX_CROSSINGS`
    or for a steep edge too long to walk exactly."""
    owner = np.repeat(np.arange(k.shape[0], dtype=np.int64), k)
    h, w = heights[owner], widths[owner]
    xs, ys, s, steep, nt, flip = _edges(xy, at, following)
    if (steep & (nt > _EXACT_STEPS)).any():
        return None
    # steps inside each edge: u runs monotonically from u(0) to u(nt), by at most 1 a
    # step, and each image column c whose centre it passes is one step
    ua = np.where(steep, (xs + 0.5).astype(np.int64), xs)
    ub = np.where(steep, (xs + s * nt + 0.5).astype(np.int64), xs + nt)
    c_lo = np.maximum(0, (np.minimum(ua, ub) + 2) // 5)
    c_hi = np.minimum(w - 1, (np.maximum(ua, ub) - 3) // 5)
    many = np.maximum(c_hi - c_lo + 1, 0)
    if int(many.sum()) + k.shape[0] > MAX_CROSSINGS:
        return None
    polygons, pixels = [], []
    for kind in (False, True):
        e = np.flatnonzero((steep == kind) & (many > 0))
        if e.shape[0]:
            pixel, count = _column_steps(e, many, c_lo, xs, ys, s, nt, h, kind)
            polygons.append(np.repeat(owner[e], count))
            pixels.append(pixel)
    # steps between edges: the previous edge's last point to this edge's first
    j = np.flatnonzero(np.r_[False, owner[1:] == owner[:-1]])
    if j.shape[0]:
        i = j - 1
        last = _point(steep[i], xs[i], ys[i], s[i], np.where(flip[i], 0, nt[i]))
        head = _point(steep[j], xs[j], ys[j], s[j], np.where(flip[j], nt[j], 0))
        keep, pixel = _crossing(*last, *head, h[j], w[j])
        polygons.append(owner[j][keep])
        pixels.append(pixel)
    if not polygons:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(polygons), np.concatenate(pixels)


def _sort(polygon: np.ndarray, pixel: np.ndarray, many: np.ndarray, top: int):
    """``(polygon, pixel)`` sorted by polygon, then pixel (``<= top``); polygon ``i``
    has ``many[i]`` entries."""
    order = np.repeat(np.arange(many.shape[0], dtype=np.int64), many)
    if many.shape[0] * (top + 1) < (1 << 62):
        key = np.sort(polygon * (top + 1) + pixel)
        return order, key - order * (top + 1)
    return order, pixel[np.lexsort((pixel, polygon))]


def polygons_to_counts(
    xy: np.ndarray,
    poly_offsets: np.ndarray,
    heights: np.ndarray,
    widths: np.ndarray,
    out_offsets: np.ndarray,
    counts: np.ndarray,
    lengths: np.ndarray,
) -> NotImplementedType | None:
    """Rasterise polygons into run lengths (twin of ``cpu_rle.polygons_to_counts``).

    Polygon ``i`` (``xy[poly_offsets[i]:poly_offsets[i + 1]]``, flat x, y pairs)
    of an image ``heights[i]`` x ``widths[i]`` is rasterised by COCO's rule into
    ``counts[out_offsets[i]:]`` (room ``out_offsets[i + 1] - out_offsets[i]``, from
    :func:`polygon_bounds`), its number of counts into ``lengths[i]``.

    Returns
    -------
    None or NotImplemented
        ``NotImplemented`` (nothing written) for offsets or sizes out of range, a
        coordinate not within +-1e15, more crossings than :data:`MAX_CROSSINGS`
        or than a polygon's room.

    Examples
    --------
    >>> import numpy as np
    >>> counts, lengths = np.zeros(21, np.int64), np.zeros(1, np.int64)
    >>> xy, poly = np.array([1.0, 1, 6, 1, 6, 4]), np.array([0, 6])
    >>> polygons_to_counts(xy, poly, np.array([5]), np.array([8]), np.array([0, 21]),
    ...                    counts, lengths)
    >>> counts[: lengths[0]]
    array([11,  1,  4,  1,  4,  2,  3,  3, 11])
    """
    found = _vertices(xy, poly_offsets)
    if found is None:
        return NotImplemented
    k, at, following = found
    n = k.shape[0]
    heights = np.asarray(heights, dtype=np.int64)[:n]
    widths = np.asarray(widths, dtype=np.int64)[:n]
    slots = np.asarray(out_offsets, dtype=np.int64)[: n + 1]
    short = np.shape(lengths)[:1] < (n,)
    if short or heights.shape[0] != n or widths.shape[0] != n or slots.shape[0] != n + 1:
        return NotImplemented
    if ((heights < 0) | (widths < 0) | (heights > _MAX_SIDE) | (widths > _MAX_SIDE)).any():
        return NotImplemented
    pixels = heights * widths
    if (pixels > _MAX_PIXELS).any():
        return NotImplemented
    if n == 0:
        return None
    crossings = _all_crossings(xy, k, at, following, heights, widths)
    if crossings is None:
        return NotImplemented
    polygon, pixel = crossings
    many = np.bincount(polygon, minlength=n)
    room = slots[1:] - slots[:-1]
    if (room < many + 1).any():
        return NotImplemented  # the kernel would drop crossings past its room
    polygon = np.concatenate((polygon, np.arange(n, dtype=np.int64)))
    pixel = np.concatenate((pixel, pixels))
    polygon, pixel = _sort(polygon, pixel, many + 1, int(pixels.max()))
    head = np.zeros(pixel.shape[0], dtype=bool)
    head[_prefix(many + 1)[:-1]] = True
    a = pixel.copy()
    a[1:] -= pixel[:-1]
    a[head] = pixel[head]
    # the kernel's compaction: a zero (after the first) adds the next value to the
    # last run written, so a stretch of zeros of odd length swallows the value after it
    zero = np.flatnonzero((a == 0) & ~head)
    if zero.shape[0]:
        kept = np.ones(a.shape[0], dtype=bool)
        kept[zero] = False
        stretch = np.r_[True, zero[1:] != zero[:-1] + 1]  # a stretch of zeros begins
        starts = np.flatnonzero(stretch)
        sizes = np.diff(np.r_[starts, zero.shape[0]])
        after = zero[np.r_[starts[1:], zero.shape[0]] - 1] + 1
        after = after[(sizes % 2 == 1) & (after < a.shape[0])]
        after = after[~head[after]]
        kept[after] = False
        values = a[kept]
        np.add.at(values, np.cumsum(kept)[after] - 1, a[after])
        polygon = polygon[kept]
    else:
        values = a
    written = np.bincount(polygon, minlength=n)
    if not ((slots[:-1] >= 0).all() and (slots[:-1] + written <= counts.shape[0]).all()):
        return NotImplemented
    rank = np.arange(values.shape[0], dtype=np.int64)
    rank += np.repeat(slots[:-1] - _prefix(written)[:-1], written)
    counts[rank] = values
    lengths[:n] = written
    return None
