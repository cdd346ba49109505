"""CPU kernels of the semantic-segmentation confusion matrix.

Label maps are long runs of one (target, prediction) pair, so both kernels keep
the current pair and its run length in registers and touch the histogram only
when the pair changes: no per-pixel memory traffic, and no dependency chain on
one counter. Pixels are split into one chunk per thread, each with its own
histogram row. For uint8 maps, 8 pixels are compared at once as one uint64 word.

Both kernels report the flat index of the first pixel whose target (unless it is
the ignore label) or prediction lies outside ``[0, C)`` in ``bad_at[chunk]``.
"""

import numpy as np
from numba import prange

from .. import _numba as nb

_SPREAD = np.uint64(0x0101010101010101)  # byte b -> the word of 8 b's


@nb.serial_kernel
def _flush(hist, t, p, run, run_start, n_classes, ignore, has_ignore):
    """Add a run of (t, p) pixels; returns -1, or ``run_start`` if a label is out of range."""
    if run == 0 or (has_ignore and t == ignore):
        return -1
    if t < 0 or t >= n_classes or p < 0 or p >= n_classes:
        return run_start
    hist[np.int64(t) * n_classes + np.int64(p)] += run
    return -1


@nb.serial_kernel
def _scan(target, pred, lo, hi, hist, state, n_classes, ignore, has_ignore):
    """Count pixels ``lo .. hi - 1`` one by one, continuing the run in ``state``
    ``(t, p, run, start)``; returns the new state and the first bad index (or -1)."""
    ct, cp, run, start = state
    for i in range(lo, hi):
        t, p = target[i], pred[i]
        if t == ct and p == cp:
            run += 1
        else:
            bad = _flush(hist, ct, cp, run, start, n_classes, ignore, has_ignore)
            if bad >= 0:
                return (ct, cp, run, start), bad
            ct, cp, run, start = t, p, np.int64(1), np.int64(i)
    return (ct, cp, run, start), -1


@nb.parallel_kernel
def confusion_runs(target, pred, n_classes, ignore, has_ignore, table, bad_at):
    """``table[chunk, t * C + p]`` += pixels, for flat label arrays of any integer dtype."""
    size = target.shape[0]
    n_chunks = table.shape[0]
    step = (size + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        lo = c * step
        hi = min(size, lo + step)
        bad = -1
        if lo < hi:
            state = (target[lo], pred[lo], np.int64(0), np.int64(lo))
            state, bad = _scan(target, pred, lo, hi, table[c], state, n_classes, ignore, has_ignore)
            if bad < 0:
                ct, cp, run, start = state
                bad = _flush(table[c], ct, cp, run, start, n_classes, ignore, has_ignore)
        bad_at[c] = bad


@nb.parallel_kernel
def confusion_uint8(
    target, pred, target_words, pred_words, n_classes, ignore, has_ignore, table, bad_at
):
    """:func:`confusion_runs` for uint8 maps, 8 pixels per step while the run goes on.

    The pixel-by-pixel step inside a mixed word is written out here rather than
    calling :func:`_scan`: on this hot path the call costs about 25 %.

    ``*_words`` are the same arrays viewed as uint64 (their first ``8 * len`` pixels);
    the last ``size % 8`` pixels are counted one by one at the end of the last chunk.
    """
    size = target.shape[0]
    n_words = target_words.shape[0]
    n_chunks = table.shape[0]
    step = (n_words + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        hist = table[c]
        lo = c * step
        hi = min(n_words, lo + step)
        pixel_hi = size if c == n_chunks - 1 else hi * 8
        bad = -1
        if lo * 8 < pixel_hi:
            ct, cp = target[lo * 8], pred[lo * 8]
            run, start = np.int64(0), lo * 8
            spread_t, spread_p = np.uint64(ct) * _SPREAD, np.uint64(cp) * _SPREAD
            for w in range(lo, hi):
                if target_words[w] == spread_t and pred_words[w] == spread_p:
                    run += 8
                    continue
                for i in range(8 * w, 8 * w + 8):
                    t, p = target[i], pred[i]
                    if t == ct and p == cp:
                        run += 1
                    else:
                        found = _flush(hist, ct, cp, run, start, n_classes, ignore, has_ignore)
                        bad = found if bad < 0 else bad
                        ct, cp, run, start = t, p, np.int64(1), i
                spread_t, spread_p = np.uint64(ct) * _SPREAD, np.uint64(cp) * _SPREAD
                if bad >= 0:
                    break
            if bad < 0:
                (ct, cp, run, start), bad = _scan(
                    target,
                    pred,
                    hi * 8,
                    pixel_hi,
                    hist,
                    (ct, cp, run, start),
                    n_classes,
                    ignore,
                    has_ignore,
                )
            if bad < 0:
                bad = _flush(hist, ct, cp, run, start, n_classes, ignore, has_ignore)
        bad_at[c] = bad
