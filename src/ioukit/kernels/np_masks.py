"""NumPy twins of the interval-set kernels of :mod:`ioukit.kernels.cpu_masks`.

A twin has the compiled kernel's name and positional signature and writes the same
output arrays with identical values (bit for bit), so that small inputs run without
importing numba. It may *decline*: return ``NotImplemented`` before writing any
output when the input is outside what it handles exactly and cheaply (malformed
offsets or slots, values that could overflow); the caller then runs the compiled
kernel, which gives the precise result. This module imports only NumPy.

:func:`pair_intersections` is the shared part of mask IoU in the COCO matching twin
(``np_coco.match_groups``): the intersection of many pairs of interval sets at once.
"""

from __future__ import annotations

import numpy as np

_I64 = np.int64
_SAFE = 1 << 62  # sums and keys stay below this, far from int64 overflow
MAX_QUERIES = 1 << 22  # more intervals to look up in pair_intersections: decline


def _segment_ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The indices ``first[i] .. first[i] + count[i] - 1`` of every segment, concatenated."""
    total = int(count.sum())
    if total == 0:
        return np.zeros(0, dtype=_I64)
    starts = np.cumsum(count) - count
    return np.arange(total, dtype=_I64) + np.repeat(first - starts, count)


def _int64_view(values: object) -> np.ndarray | None:
    """``values`` as int64 when that conversion is exact, else None."""
    arr = np.asarray(values)
    if arr.dtype.kind == "i" or (arr.dtype.kind == "u" and arr.dtype.itemsize < 8):
        return arr.astype(_I64, copy=False)
    return None


def _foreground_runs(used: np.ndarray, offsets: np.ndarray, sizes: np.ndarray):
    """``(rle, start, length)`` of every non-empty foreground (odd) run of the RLEs
    ``used[offsets[i]:offsets[i + 1]]``, runs clipped to ``sizes[i]`` pixels as the
    kernel clips them; None when the positions could overflow."""
    n_rle = sizes.shape[0]
    lens = np.diff(offsets)
    n_odd = lens // 2
    total_odd = int(n_odd.sum())
    odd = 2 * np.arange(total_odd, dtype=_I64)
    odd += np.repeat(offsets[:-1] + 1 - 2 * (np.cumsum(n_odd) - n_odd), n_odd)
    odd_rle = np.repeat(np.arange(n_rle, dtype=_I64), n_odd)
    some = lens > 0
    first = offsets[:-1][some]
    if used.size and used.min() >= 0 and int(used.max()) * used.size < _SAFE:
        after = np.cumsum(used)
        base = np.zeros(n_rle, dtype=_I64)
        base[some] = after[first] - used[first]
        totals = np.zeros(n_rle, dtype=_I64)
        totals[some] = after[offsets[1:][some] - 1] - base[some]
        if (totals <= sizes).all():  # valid RLEs: no run is clipped
            run = used[odd]
            start = after[odd - 1] - base[odd_rle]
            keep = np.flatnonzero(run > 0)
            return odd_rle[keep], start[keep], run[keep]
    limit = np.repeat(sizes, lens)
    clipped = np.minimum(np.maximum(used, 0), limit)
    if float(clipped.sum(dtype=np.float64)) >= _SAFE / 2:
        return None
    after = np.cumsum(clipped)
    base = np.zeros(n_rle, dtype=_I64)
    base[some] = after[first] - clipped[first]
    odd_base, odd_limit = base[odd_rle], sizes[odd_rle]
    start = np.minimum(after[odd - 1] - odd_base, odd_limit)
    run = np.minimum(after[odd] - odd_base, odd_limit) - start
    keep = np.flatnonzero(run > 0)
    return odd_rle[keep], start[keep], run[keep]


def intervals_from_counts(
    counts, offsets, heights, sizes, slots, starts, ends, n, lo, hi, y0, y1, areas
):
    """Twin of ``cpu_masks.intervals_from_counts``: the foreground intervals of RLEs.

    RLE ``i`` is ``counts[offsets[i]:offsets[i + 1]]`` for a mask of ``sizes[i]``
    pixels, ``heights[i]`` rows, column-major. Runs are clipped to the image and
    adjacent foreground runs merged; the intervals of RLE ``i`` are written from
    ``starts[slots[i]]`` / ``ends[slots[i]]`` on, ``n[i]`` of them, with the area
    and culling bounds ``lo, hi`` (first start, last end) and ``y0, y1`` (first and
    last row, ``0, h - 1`` once a run spans two columns; ``h, -1`` when empty).

    Returns None, or ``NotImplemented`` (nothing written) when the offsets or
    slots are malformed (the compiled kernel then runs).

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([1, 2, 0, 1, 3, 2])  # a 3x3 mask: pixels 1, 2, 3 and 7, 8
    >>> offsets, heights, sizes = np.array([0, 6]), np.array([3]), np.array([9])
    >>> slots = np.array([0, 3])
    >>> starts, ends = np.zeros(3, np.int64), np.zeros(3, np.int64)
    >>> n, lo, hi, y0, y1, areas = (np.zeros(1, np.int64) for _ in range(6))
    >>> intervals_from_counts(
    ...     counts, offsets, heights, sizes, slots, starts, ends, n, lo, hi, y0, y1, areas
    ... )
    >>> n, starts[:2], ends[:2], areas, y0, y1
    (array([2]), array([1, 7]), array([4, 9]), array([5]), array([0]), array([2]))
    """
    offsets, heights, sizes, slots = (_int64_view(x) for x in (offsets, heights, sizes, slots))
    counts = _int64_view(counts)
    if any(x is None for x in (counts, offsets, heights, sizes, slots)):
        return NotImplemented
    n_rle = offsets.shape[0] - 1
    if n_rle <= 0:
        return None
    outs = (n, lo, hi, y0, y1, areas)
    if min(heights.shape[0], sizes.shape[0], slots.shape[0], *(o.shape[0] for o in outs)) < n_rle:
        return NotImplemented
    heights, sizes = heights[:n_rle], sizes[:n_rle]
    lens = np.diff(offsets)
    if offsets[0] < 0 or offsets[-1] > counts.shape[0] or (lens < 0).any():
        return NotImplemented
    if (sizes < 0).any() or ((sizes > 0) & (heights <= 0)).any():
        return NotImplemented

    runs = _foreground_runs(counts[offsets[0] : offsets[-1]], offsets - offsets[0], sizes)
    if runs is None:
        return NotImplemented
    f_rle, f_start, f_run = runs
    f_end = f_start + f_run

    per_rle = np.bincount(f_rle, minlength=n_rle)
    bound = np.zeros(n_rle + 1, dtype=_I64)
    np.cumsum(per_rle, out=bound[1:])
    run_sum = np.zeros(f_run.shape[0] + 1, dtype=_I64)
    np.cumsum(f_run, out=run_sum[1:])
    total = run_sum[bound[1:]] - run_sum[bound[:-1]]

    # merge runs that touch (a zero-length background run between them)
    new = np.ones(f_start.shape[0], dtype=bool)
    if f_start.shape[0] > 1:
        new[1:] = (f_rle[1:] != f_rle[:-1]) | (f_start[1:] != f_end[:-1])
    last = np.ones_like(new)
    last[:-1] = new[1:]
    i_new, i_last = np.flatnonzero(new), np.flatnonzero(last)
    m_rle, m_start, m_end = f_rle[i_new], f_start[i_new], f_end[i_last]
    count = np.bincount(m_rle, minlength=n_rle).astype(_I64)
    m_first = np.zeros(n_rle + 1, dtype=_I64)
    np.cumsum(count, out=m_first[1:])

    # every set must fit its slots, and the sets must not overlap
    sl = slots[:n_rle]
    fits = (sl >= 0).all() and (sl[:-1] + count[:-1] <= slots[1:n_rle]).all()
    if not fits or sl[-1] + count[-1] > min(starts.shape[0], ends.shape[0]):
        return NotImplemented

    # rows: a run spanning two columns covers every row
    h = np.maximum(heights[f_rle], 1)
    col, row_lo = np.divmod(f_start, h)
    end_col, row_hi = np.divmod(f_end - 1, h)  # row_hi is exact unless the run spans
    spans = col != end_col
    has = per_rle > 0
    lo_row, hi_row = heights.copy(), np.full(n_rle, -1, dtype=_I64)
    if has.any():
        firsts = bound[:-1][has]
        lo_row[has] = np.minimum.reduceat(row_lo, firsts)
        hi_row[has] = np.maximum.reduceat(row_hi, firsts)
        spanning = np.zeros(n_rle, dtype=bool)
        spanning[has] = np.logical_or.reduceat(spans, firsts)
        lo_row[spanning] = 0
        hi_row[spanning] = heights[spanning] - 1

    where = np.repeat(sl - m_first[:-1], count) + np.arange(m_start.shape[0], dtype=_I64)
    starts[where] = m_start
    ends[where] = m_end
    nonempty = count > 0
    lo_val, hi_val = np.zeros(n_rle, dtype=_I64), np.zeros(n_rle, dtype=_I64)
    lo_val[nonempty] = m_start[m_first[:-1][nonempty]]
    hi_val[nonempty] = m_end[m_first[1:][nonempty] - 1]
    n[:n_rle] = count
    areas[:n_rle] = total
    lo[:n_rle] = lo_val
    hi[:n_rle] = hi_val
    y0[:n_rle] = lo_row
    y1[:n_rle] = hi_row
    return None


class _Keyed:
    """The intervals of some sets of one side, concatenated and keyed
    ``ordinal * span + position`` so that one ``searchsorted`` serves every set."""

    def __init__(self, sets, used: np.ndarray):
        starts, ends, first, count = (np.asarray(x) for x in sets[:4])
        self.count = count[used]
        room = min(starts.shape[0], ends.shape[0])
        self.fits = not ((self.count < 0).any() or (first[used] < 0).any())
        self.fits = self.fits and not (first[used] + self.count > room).any()
        if not self.fits:
            self.count = np.zeros_like(self.count)
        self.idx = _segment_ranges(first[used], self.count)
        self.start, self.end = starts[self.idx], ends[self.idx]
        self.ordinal = np.full(count.shape[0], -1, dtype=_I64)
        self.ordinal[used] = np.arange(used.shape[0], dtype=_I64)
        self.first = np.zeros(used.shape[0] + 1, dtype=_I64)
        np.cumsum(self.count, out=self.first[1:])
        self.cum = np.zeros(self.idx.shape[0] + 1, dtype=_I64)

    def well_formed(self, sets, used: np.ndarray) -> bool:
        """Whether the used sets are what ``intervals_from_counts`` writes: non-empty,
        sorted, disjoint intervals, ``lo`` / ``hi`` the first start and last end (0, 0
        when empty). Then the compiled merge counts the true intersection."""
        if not self.fits:
            return False
        s, e = self.start, self.end
        if (s >= e).any() or (s < 0).any() or (e >= _SAFE).any():
            return False
        inner = np.ones(s.shape[0], dtype=bool)
        inner[self.first[:-1][self.count > 0]] = False
        if (s[1:][inner[1:]] < e[:-1][inner[1:]]).any():
            return False
        some = self.count > 0
        lo_ok, hi_ok = np.zeros(used.shape[0], dtype=_I64), np.zeros(used.shape[0], dtype=_I64)
        lo_ok[some] = s[self.first[:-1][some]]
        hi_ok[some] = e[self.first[1:][some] - 1]
        return bool((sets[4][used] == lo_ok).all() and (sets[5][used] == hi_ok).all())

    def keys(self, span: int) -> None:
        np.cumsum(self.end - self.start, out=self.cum[1:])
        owner = np.repeat(np.arange(self.count.shape[0], dtype=_I64), self.count)
        self.key_start = np.empty(self.start.shape[0] + 1, dtype=_I64)
        self.key_start[:-1] = owner * span + self.start
        self.key_start[-1] = _SAFE  # past every key: nothing to add after the last set
        self.key_end = owner * span + self.end
        self.span = span

    def window(self, which: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        """First interval and count of intervals of set ``which`` that meet ``[lo, hi)``."""
        o = self.ordinal[which] * self.span
        i0 = np.searchsorted(self.key_end, o + lo, "right")
        i1 = np.searchsorted(self.key_start[:-1], o + hi, "left")
        return i0, np.maximum(i1 - i0, 0)

    def below(self, key: np.ndarray) -> np.ndarray:
        """Pixels of set ``o`` before position ``x``, for ``key = o * span + x``, up to
        a constant per set: the intervals ending by ``x`` (``cum``) and the part of
        the next one before ``x`` (none when it belongs to a later set: its key is
        larger)."""
        i = np.searchsorted(self.key_end, key, "right")
        return self.cum[i] + np.maximum(key - self.key_start[i], 0)


def _covered(query: _Keyed, q0, q_count, target: _Keyed, t_which) -> np.ndarray:
    """For each pair, the pixels of the query intervals ``q0 .. q0 + q_count - 1``
    that the target set ``t_which`` (an ordinal) covers."""
    idx = _segment_ranges(q0, q_count)
    base = np.repeat(t_which * target.span, q_count)
    inside = target.below(base + query.end[idx]) - target.below(base + query.start[idx])
    total = np.zeros(idx.shape[0] + 1, dtype=_I64)
    np.cumsum(inside, out=total[1:])
    bound = np.zeros(q_count.shape[0] + 1, dtype=_I64)
    np.cumsum(q_count, out=bound[1:])
    return total[bound[1:]] - total[bound[:-1]]


def pair_intersections(a_sets, ia: np.ndarray, b_sets, ib: np.ndarray) -> np.ndarray | None:
    """Pixels shared by set ``ia[p]`` of ``a_sets`` and set ``ib[p]`` of ``b_sets``,
    for every pair ``p``, exactly as ``cpu_masks.interval_intersection`` counts them
    behind the culling test of ``_mask_iou`` (windows that miss, or rows that do not
    overlap, give 0). None when a set used is malformed, the keys could overflow, or
    more than :data:`MAX_QUERIES` intervals would be looked up (the memory bound).

    For each pair, the side with fewer intervals inside the pair's window
    ``[max(lo), min(hi))`` asks the other: the intersection is the sum, over its
    intervals ``[s, e)``, of ``C(e) - C(s)``, ``C(x)`` the other set's pixels below
    ``x`` (one ``searchsorted`` over all sets, keyed by ``set * span + x``).

    Examples
    --------
    >>> import numpy as np
    >>> one = lambda s, e: (np.array(s), np.array(e), np.array([0]), np.array([len(s)]),
    ...     np.array([s[0]]), np.array([e[-1]]), np.array([0]), np.array([9]), np.array([0]))
    >>> a, b = one([0, 10], [5, 20]), one([3], [12])
    >>> pair_intersections(a, np.array([0]), b, np.array([0]))
    array([4])
    """
    loa, hia, y0a, y1a = (np.asarray(x) for x in a_sets[4:8])
    lob, hib, y0b, y1b = (np.asarray(x) for x in b_sets[4:8])
    out = np.zeros(ia.shape[0], dtype=_I64)
    lo = np.maximum(loa[ia], lob[ib])
    hi = np.minimum(hia[ia], hib[ib])
    keep = np.flatnonzero((lo < hi) & (y0a[ia] <= y1b[ib]) & (y0b[ib] <= y1a[ia]))
    if keep.size == 0:
        return out
    ka, kb, lo, hi = ia[keep], ib[keep], lo[keep], hi[keep]
    used_a = np.flatnonzero(np.bincount(ka, minlength=loa.shape[0]))
    used_b = np.flatnonzero(np.bincount(kb, minlength=lob.shape[0]))
    side_a, side_b = _Keyed(a_sets, used_a), _Keyed(b_sets, used_b)
    if not (side_a.well_formed(a_sets, used_a) and side_b.well_formed(b_sets, used_b)):
        return None
    span = int(max(hia[used_a].max(), hib[used_b].max())) + 1
    if (max(used_a.shape[0], used_b.shape[0]) + 1) * span >= _SAFE:
        return None
    side_a.keys(span)
    side_b.keys(span)
    a0, a_count = side_a.window(ka, lo, hi)
    b0, b_count = side_b.window(kb, lo, hi)
    ask_a = a_count <= b_count  # the a side has fewer intervals to ask about
    if int(np.minimum(a_count, b_count).sum()) > MAX_QUERIES:
        return None  # the memory bound: the compiled merge needs none
    inter = np.zeros(keep.shape[0], dtype=_I64)
    p = np.flatnonzero(ask_a)
    inter[p] = _covered(side_a, a0[p], a_count[p], side_b, side_b.ordinal[kb[p]])
    p = np.flatnonzero(~ask_a)
    inter[p] = _covered(side_b, b0[p], b_count[p], side_a, side_a.ordinal[ka[p]])
    out[keep] = inter
    return out
