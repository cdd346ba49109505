"""NumPy twins of the RLE kernels of :mod:`ioukit.kernels.cpu_rle` (no numba import).

Each function here has the name, positional signature and outputs of the compiled
kernel it twins, and writes identical values (bit for bit, status codes and byte
offsets included) into the same output arrays. A twin may *decline*: it returns
``NotImplemented`` before writing anything when an input is outside what it
handles exactly and cheaply (offsets out of range or overlapping, inputs a
well-formed caller never passes); the caller then runs the compiled kernel. The
work is vectorised: no Python loop runs per byte, per count or per run.

The polygon rasteriser twins live in :mod:`ioukit.kernels.np_polygons` and are
re-exported here, so every twin of ``cpu_rle`` is found in this module.
"""

from __future__ import annotations

from types import NotImplementedType
from typing import Any

import numpy as np

from .codes import RLE_DECODE_ERRORS as DECODE_ERRORS  # noqa: F401 (as cpu_rle)
from .codes import RLE_OK as OK  # noqa: F401 (as cpu_rle)
from .np_polygons import polygon_bounds, polygons_to_counts  # noqa: F401 (re-exported)

_MAX_GROUPS = 12  # as cpu_rle: at most 12 five-bit groups per count
_LOW = np.int64((1 << 31) - 1)  # low half of a split count (exact sums, no overflow)
_I64 = np.int64


def _prefix(values: np.ndarray) -> np.ndarray:
    """Exclusive prefix sums with a leading 0 (int64, wrapping as the kernels do)."""
    out = np.zeros(values.shape[0] + 1, dtype=np.int64)
    np.cumsum(values, out=out[1:])
    return out


def _ranges(lo: Any, hi: Any, size: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(lo, hi)`` as int64 with empty ranges (``hi <= lo``) set to ``(0, 0)``, or None
    when a non-empty range leaves ``[0, size)``."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    empty = hi <= lo
    if not (empty | ((lo >= 0) & (hi <= size))).all():
        return None
    return np.where(empty, 0, lo), np.where(empty, 0, hi)


def _gather_index(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray | slice, np.ndarray]:
    """Index of the elements of the ranges ``[lo[i], hi[i])`` concatenated (a slice when
    they tile one stretch in order) and the start of each range in that concatenation."""
    lengths = hi - lo
    first = _prefix(lengths)
    if lo.shape[0] == 0:
        return slice(0, 0), first
    if (lo[1:] == hi[:-1]).all():
        return slice(int(lo[0]), int(hi[-1])), first
    index = np.arange(int(first[-1]), dtype=np.int64)
    index += np.repeat(lo - first[:-1], lengths)
    return index, first


def _short(n: int, *arrays: Any) -> bool:
    """Whether an array holds fewer than ``n`` items (the kernel would read past it)."""
    return any(np.shape(a)[:1] < (n,) for a in arrays)


def _disjoint(starts: np.ndarray, sizes: np.ndarray, room: int) -> bool:
    """Whether the regions ``[starts[i], starts[i] + sizes[i])`` that are not empty lie in
    ``[0, room)``, in order and without overlap (what every caller passes)."""
    used = sizes > 0
    a, b = starts[used], starts[used] + sizes[used]
    return bool((a >= 0).all() and (b <= room).all() and (a[1:] >= b[:-1]).all())


def count_terminators(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, out: np.ndarray
) -> NotImplementedType | None:
    """Number of counts in each compressed string (twin of ``cpu_rle.count_terminators``).

    Parameters
    ----------
    buf : numpy.ndarray
        Bytes (uint8) holding the strings.
    starts, ends : numpy.ndarray
        String ``i`` is ``buf[starts[i]:ends[i]]``.
    out : numpy.ndarray
        Receives, per string, its bytes without the "more" bit (``0x20`` after
        subtracting 48): exact for valid strings, an upper bound for others.

    Returns
    -------
    None or NotImplemented
        ``NotImplemented`` (nothing written) when a string leaves ``buf``.

    Examples
    --------
    >>> import numpy as np
    >>> buf = np.frombuffer(b"52203", dtype=np.uint8)
    >>> out = np.zeros(2, np.int64)
    >>> count_terminators(buf, np.array([0, 2]), np.array([2, 5]), out)
    >>> out
    array([2, 3])
    """
    if _short(starts.shape[0], ends, out):
        return NotImplemented
    ranges = _ranges(starts, ends[: starts.shape[0]], buf.shape[0])
    if ranges is None or np.asarray(buf).dtype.kind not in "iu":
        return NotImplemented
    index, first = _gather_index(*ranges)
    data = buf[index]
    codes = data - np.uint8(48) if data.dtype == np.uint8 else data.astype(np.int64) - 48
    out[: first.shape[0] - 1] = np.diff(_prefix((codes & 0x20) == 0)[first])
    return None


def _runs_status(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, areas: np.ndarray):
    """Status 0, 4 (a negative run) or 5 (runs not adding up to ``areas``) of the runs
    ``values[lo[i]:hi[i]]``, as ``cpu_rle._runs_status``: the sums are exact (each run
    split in 31-bit halves), so no overflow can hide a wrong total."""
    areas = np.asarray(areas, dtype=np.int64)
    if values.shape[0] == 0 or (
        values.min() >= 0 and int(values.max()) <= (1 << 62) // values.shape[0]
    ):  # no run negative, no sum past 2**62: plain sums are exact
        total = _prefix(values)
        return np.where(total[hi] - total[lo] == areas, 0, 5)
    negative = _prefix(values < 0)
    runs = np.maximum(values, 0)
    high, low = _prefix(runs >> 31), _prefix(runs & _LOW)
    sum_high, sum_low = high[hi] - high[lo], low[hi] - low[lo]
    sum_high += sum_low >> 31
    sum_low &= _LOW
    exact = (areas >= 0) & (sum_high == areas >> 31) & (sum_low == areas & _LOW)
    return np.where(negative[hi] > negative[lo], 4, np.where(exact, 0, 5))


def decode_strings(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    areas: np.ndarray,
    offsets: np.ndarray,
    counts: np.ndarray,
    lengths: np.ndarray,
    status: np.ndarray,
    where: np.ndarray,
) -> NotImplementedType | None:
    """Decode compressed COCO strings (twin of ``cpu_rle.decode_strings``).

    String ``i`` (``buf[starts[i]:ends[i]]``) is decoded into
    ``counts[offsets[i]:]``, its number of counts into ``lengths[i]``, its status
    (0 or an index into :data:`DECODE_ERRORS`) into ``status[i]`` and the byte
    offset of a bad character (0 if none) into ``where[i]``; ``areas[i]`` is the
    expected ``h * w``. A corrupt string gives the kernel's exact code, offset and
    partial counts.

    Returns
    -------
    None or NotImplemented
        ``NotImplemented`` (nothing written) when a string leaves ``buf`` or the
        decoded counts would leave ``counts`` or overlap.

    Examples
    --------
    >>> import numpy as np
    >>> buf = np.frombuffer(b"52203", dtype=np.uint8)
    >>> one = np.zeros(1, np.int64)
    >>> counts, lengths, status, where = np.zeros(3, np.int64), one.copy(), one.copy(), one.copy()
    >>> decode_strings(buf, np.array([2]), np.array([5]), np.array([5]), np.array([0]),
    ...                counts, lengths, status, where)
    >>> counts, lengths, status
    (array([2, 0, 3]), array([3]), array([0]))
    """
    n = starts.shape[0]
    if _short(n, ends, areas, lengths, status, where):
        return NotImplemented
    ranges = _ranges(starts, ends[:n], buf.shape[0])
    offsets = np.asarray(offsets, dtype=np.int64)[:n]
    if ranges is None or np.asarray(buf).dtype.kind not in "iu" or offsets.shape[0] != n:
        return NotImplemented
    index, first = _gather_index(*ranges)
    data = buf[index]
    found = _decode_valid(data, first) if data.dtype == np.uint8 else None
    if found is None:
        x, m, codes, at = _decode_any(data.astype(np.int64) - 48, first)
    else:
        (x, m), codes, at = found, None, None
    if not _disjoint(offsets, m, counts.shape[0]):
        return NotImplemented
    values, base = _undelta(x, m)
    _scatter(counts, offsets, m, values)
    lengths[:n] = m
    runs = _runs_status(values, base[:-1], base[1:], np.asarray(areas)[:n])
    if codes is None:
        where[:n] = 0
        status[:n] = runs
    else:
        where[:n] = at
        status[:n] = np.where(codes != 0, codes, runs)
    return None


def _decode_valid(data: np.ndarray, first: np.ndarray):
    """``(x, m)`` (each count's value before the differences are undone, and the number
    of counts per string) when every string is valid: only characters 48..111, each
    ending a count, no count of more than 12 groups; else None."""
    code = data - np.uint8(48)  # wraps below 48: every invalid byte is then > 63
    if code.shape[0] and code.max() > 63:
        return None
    terminates = (code & 0x20) == 0
    nonempty = first[1:] > first[:-1]
    if not terminates[first[1:][nonempty] - 1].all():
        return None
    q = np.flatnonzero(terminates)
    begin = np.empty_like(q)
    begin[:1] = 0
    begin[1:] = q[:-1] + 1
    groups = q - begin + 1
    if groups.shape[0] and groups.max() > _MAX_GROUPS:
        return None
    low = code & 0x1F
    x = low[begin].astype(np.int64)
    more = np.flatnonzero(groups > 1)
    g = 1
    while more.shape[0]:
        x[more] |= low[begin[more] + g].astype(np.int64) << (5 * g)
        g += 1
        more = more[groups[more] > g]
    signed = np.flatnonzero(code[q] & 0x10)
    x[signed] |= _I64(-1) << (5 * groups[signed])
    return x, np.diff(np.searchsorted(q, first))


def _decode_any(code: np.ndarray, first: np.ndarray):
    """``(x, m, codes, at)`` for any strings (``code`` = bytes - 48), with the kernel's
    status code and byte offset of each string's first error (0 if none)."""
    n = first.shape[0] - 1
    size = code.shape[0]
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(first))
    pos = np.arange(size, dtype=np.int64)
    terminator = (code & 0x20) == 0
    # group number of each byte in its count: bytes since the count began
    begins = np.zeros(size, dtype=bool)
    begins[1:] = terminator[:-1]
    begins[first[:-1][first[:-1] < first[1:]]] = True
    group = pos - np.maximum.accumulate(np.where(begins, pos, 0))
    invalid = (code < 0) | (code > 63)
    # the first bad byte of each string: an invalid character, else a 13th group
    bad = np.flatnonzero(invalid | (group >= _MAX_GROUPS))
    bad_at = np.append(bad, size)[np.searchsorted(bad, first[:-1])]
    failed = bad_at < first[1:]
    stop = np.where(failed, bad_at, first[1:])  # bytes read before the decoder stopped
    ends_count = _prefix(terminator)
    m = ends_count[stop] - ends_count[first[:-1]]
    ended = np.append(terminator, True)[np.where(first[1:] > first[:-1], first[1:] - 1, size)]
    truncated = ~failed & ~ended
    codes = np.where(failed, np.where(np.append(invalid, False)[bad_at], 1, 3), 0)
    codes = np.where(truncated, 2, codes)
    at = np.where(failed, bad_at - first[:-1], np.where(truncated, first[1:] - first[:-1], 0))
    # the value of every count that ends before its string stops
    shift = 5 * np.minimum(group, _MAX_GROUPS - 1)
    bits = _prefix((code & 0x1F) << shift)
    q = np.flatnonzero(terminator & (pos < stop[owner]))
    x = bits[q + 1] - bits[q - group[q]]
    signed = (code[q] & 0x10) != 0
    x[signed] |= _I64(-1) << (5 * (group[q][signed] + 1))
    return x, m, codes, at


def _undelta(x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undo the differences (count ``j > 2`` of a string is stored as its difference to
    count ``j - 2``, wrapping as int64): ``(values, base)``, string ``i``'s counts being
    ``values[base[i]:base[i + 1]]``."""
    base = _prefix(m)
    heads = base[:-1][m > 0]
    y = x.copy()
    y[heads] = 0
    # sums over each parity class of the whole array, minus what precedes the string
    parity = np.zeros(x.shape[0] + 2, dtype=np.int64)
    parity[2::2] = np.cumsum(y[0::2])
    parity[3::2] = np.cumsum(y[1::2])
    start = np.repeat(base[:-1], m)
    j = np.arange(x.shape[0], dtype=np.int64) - start
    values = parity[2:] - parity[start + (j & 1)]
    values[heads] = x[heads]
    return values, base


def _scatter(out: np.ndarray, offsets: np.ndarray, m: np.ndarray, values: np.ndarray) -> None:
    """``out[offsets[i]:][:m[i]] = `` string ``i``'s values (one slice when they are packed)."""
    shift = offsets - _prefix(m)[:-1]
    used = m > 0
    if not used.any():
        return
    if (shift[used] == shift[used][0]).all():
        lo = int(shift[used][0])
        out[lo : lo + values.shape[0]] = values
    else:
        out[np.repeat(shift, m) + np.arange(values.shape[0], dtype=np.int64)] = values


def gather_segments(
    src: np.ndarray,
    src_starts: np.ndarray,
    lengths: np.ndarray,
    dst_offsets: np.ndarray,
    dst: np.ndarray,
) -> NotImplementedType | None:
    """Copy ``src[src_starts[i]:][:lengths[i]]`` to ``dst[dst_offsets[i]:]`` for every ``i``
    (twin of ``cpu_rle.gather_segments``).

    Returns
    -------
    None or NotImplemented
        ``NotImplemented`` (nothing written) when a segment leaves ``src`` or
        ``dst``, the destinations overlap, or ``src`` and ``dst`` share memory.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros(3, np.int64)
    >>> gather_segments(np.array([7, 8, 9]), np.array([1, 0]), np.array([2, 1]),
    ...                 np.array([0, 2]), out)
    >>> out
    array([8, 9, 7])
    """
    sizes = np.maximum(np.asarray(lengths, dtype=np.int64), 0)
    src_starts = np.asarray(src_starts, dtype=np.int64)[: sizes.shape[0]]
    dst_offsets = np.asarray(dst_offsets, dtype=np.int64)[: sizes.shape[0]]
    if (
        src_starts.shape != sizes.shape
        or dst_offsets.shape != sizes.shape
        or np.may_share_memory(src, dst)
        or not _disjoint(dst_offsets, sizes, dst.shape[0])
    ):
        return NotImplemented
    read = _ranges(src_starts, src_starts + sizes, src.shape[0])
    if read is None:
        return NotImplemented
    source, _ = _gather_index(*read)
    target, _ = _gather_index(*np.where(sizes > 0, (dst_offsets, dst_offsets + sizes), 0))
    dst[target] = src[source]
    return None


def check_counts(
    counts: np.ndarray, offsets: np.ndarray, areas: np.ndarray, status: np.ndarray
) -> NotImplementedType | None:
    """Status 0, 4 or 5 (see :data:`DECODE_ERRORS`) of uncompressed counts
    ``counts[offsets[i]:offsets[i + 1]]`` against ``areas[i]`` (twin of
    ``cpu_rle.check_counts``).

    Returns
    -------
    None or NotImplemented
        ``NotImplemented`` (nothing written) when an RLE leaves ``counts``.

    Examples
    --------
    >>> import numpy as np
    >>> status = np.zeros(3, np.int64)
    >>> check_counts(np.array([2, 4, 3, -1, 5]), np.array([0, 2, 3, 5]),
    ...              np.array([6, 4, 4]), status)
    >>> status
    array([0, 5, 4])
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    ranges = _ranges(offsets[:-1], offsets[1:], counts.shape[0])
    if ranges is None or counts.dtype.kind != "i":
        return NotImplemented
    n = ranges[0].shape[0]
    if _short(n, areas, status):
        return NotImplemented
    if n:
        values = np.asarray(counts).astype(np.int64, copy=False)
        status[:n] = _runs_status(values, *ranges, np.asarray(areas)[:n])
    return None


def _segments(counts: np.ndarray, offsets: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The runs of RLEs ``counts[offsets[i]:offsets[i + 1]]`` concatenated (int64) and
    each RLE's start in them; None unless the counts are signed integers (as int64
    they keep their sign) and the offsets are in range and non-decreasing."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if (
        counts.dtype.kind != "i"
        or offsets.shape[0] < 1
        or not (
            (offsets[:1] >= 0).all()
            and (offsets[-1:] <= counts.shape[0]).all()
            and (offsets[1:] >= offsets[:-1]).all()
        )
    ):
        return None
    runs = np.asarray(counts[offsets[0] : offsets[-1]]).astype(np.int64, copy=False)
    return runs, offsets - offsets[0]


def _fits(runs: np.ndarray, first: np.ndarray, sizes: np.ndarray) -> np.ndarray | None:
    """Exclusive prefix sums of ``runs`` when no run is negative, no sum passes 2**62
    and every RLE's runs add up to at most its size (nothing is clipped); else None."""
    if runs.shape[0] and (runs.min() < 0 or int(runs.max()) > (1 << 62) // runs.shape[0]):
        return None
    total = _prefix(runs)
    return total if (total[first[1:]] - total[first[:-1]] <= sizes).all() else None


def _positions(runs: np.ndarray, first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Where each run ends, clipped as ``cpu_rle._run`` clips: negative runs count as
    0 and no position passes ``max(size, 0)`` (sums exact, in 31-bit halves)."""
    lengths = np.diff(first)
    total = _fits(runs, first, sizes)
    if total is not None:
        return total[1:] - np.repeat(total[first[:-1]], lengths)
    limit = np.repeat(np.maximum(sizes, 0), lengths)
    clipped = np.minimum(np.maximum(runs, 0), limit)
    high, low = np.cumsum(clipped >> 31), np.cumsum(clipped & _LOW)
    high0, low0 = _prefix(clipped >> 31)[first[:-1]], _prefix(clipped & _LOW)[first[:-1]]
    high -= np.repeat(high0, lengths)
    low -= np.repeat(low0, lengths)
    high += low >> 31
    low &= _LOW
    past = (high > limit >> 31) | ((high == limit >> 31) & (low >= limit & _LOW))
    return np.where(past, limit, (high << 31) | low)


def _odd_runs(runs: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Whether each run is an odd (foreground) run of its RLE."""
    parity = np.repeat(first[:-1] & 1, np.diff(first))
    return (np.arange(runs.shape[0], dtype=np.int64) & 1) != parity


def areas_from_counts(
    counts: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, out: np.ndarray
) -> NotImplementedType | None:
    """Foreground pixels of each RLE: the sum of its odd runs, clipped to ``sizes[n]``
    pixels (twin of ``cpu_rle.areas_from_counts``).

    Returns
    -------
    None or NotImplemented
        ``NotImplemented`` (nothing written) unless the offsets are in range and
        non-decreasing.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros(2, np.int64)
    >>> areas_from_counts(np.array([2, 3, 1, 0, 9]), np.array([0, 3, 5]), np.array([6, 4]), out)
    >>> out
    array([3, 4])
    """
    found = _segments(counts, offsets)
    if found is None:
        return NotImplemented
    runs, first = found
    n = first.shape[0] - 1
    if n <= 0:
        return None
    if _short(n, sizes, out):
        return NotImplemented
    sizes = np.asarray(sizes, dtype=np.int64)[:n]
    lo, hi = first[:-1], first[1:]
    total = _fits(runs, first, sizes)
    if total is not None:  # no clipping: the runs at odd places, by the parity of each start
        odd = runs.copy()
        odd[0::2] = 0
        odd = _prefix(odd)
        out[:n] = np.where(
            lo % 2 == 0, odd[hi] - odd[lo], (total[hi] - odd[hi]) - (total[lo] - odd[lo])
        )
        return None
    ends = _positions(runs, first, sizes)
    begins = np.empty_like(ends)
    begins[1:] = ends[:-1]
    begins[lo[lo < hi]] = 0
    foreground = _prefix(np.where(_odd_runs(runs, first), ends - begins, 0))
    out[:n] = foreground[hi] - foreground[lo]
    return None


def merge_counts(
    counts: np.ndarray, offsets: np.ndarray, size: int, intersect: bool
) -> np.ndarray | NotImplementedType:
    """Union (or intersection) of RLEs of ``size`` pixels as canonical run lengths, as
    pycocotools' ``rleMerge`` (twin of ``cpu_rle.merge_counts``).

    Returns
    -------
    numpy.ndarray or NotImplemented
        The merged run lengths (a copy of the only RLE when there is one);
        ``NotImplemented`` when there is no RLE or the offsets are out of range.

    Examples
    --------
    >>> import numpy as np
    >>> merge_counts(np.array([1, 2, 3, 3, 2, 1]), np.array([0, 3, 6]), 6, False)
    array([1, 4, 1])
    >>> merge_counts(np.array([1, 2, 3, 3, 2, 1]), np.array([0, 3, 6]), 6, True)
    array([6])
    """
    found = _segments(counts, offsets)
    if found is None or found[1].shape[0] < 2:
        return NotImplemented
    runs, first = found
    n = first.shape[0] - 1
    if n == 1:
        return counts[offsets[0] : offsets[1]].copy()
    size = _I64(size)
    if size <= 0:
        return np.array([size], dtype=np.int64)
    ends = _positions(runs, first, np.full(n, size))
    begins = np.empty_like(ends)
    begins[1:] = ends[:-1]
    begins[first[:-1][first[:-1] < first[1:]]] = 0
    on = _odd_runs(runs, first) & (ends > begins)
    # events: 2p + 1 where a foreground run begins, 2p where one ends; each RLE covers
    # a pixel at most once, so the sum of the events up to p counts the RLEs covering p
    events = np.sort(np.concatenate((begins[on] * 2 + 1, ends[on] * 2)))
    at = events >> 1
    cover = np.cumsum((events & 1) * 2 - 1)
    last = np.ones(at.shape[0], dtype=bool)  # the last event at each position
    last[:-1] = at[1:] != at[:-1]
    at, cover = at[last], cover[last]
    inside = cover >= n if intersect else cover > 0
    change = inside != np.r_[False, inside[:-1]]
    edges = at[change & (at < size)]
    return np.diff(np.concatenate(([0], edges, [size]))).astype(np.int64)
