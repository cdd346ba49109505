"""CPU kernels of the semantic-segmentation confusion matrix.

Label maps are long runs of one (target, prediction) pair, so both kernels keep
the current pair and its run length in registers and touch the histogram only
when the pair changes: no per-pixel memory traffic, and no dependency chain on
one counter. Pixels are split into one chunk per thread, each with its own
histogram row. For uint8 maps, 8 pixels are compared at once as one uint64 word,
and words of mixed pairs are counted pixel by pixel into several histograms.

Both kernels report the flat index of the first pixel whose target (unless it is
the ignore label) or prediction lies outside ``[0, C)`` in ``bad_at[chunk]``.
"""

import numpy as np
from numba import prange

from .._core import jit as nb
from .cpu_scalar import F as _f

label_pair_status = _f.label_pair_status

_SPREAD = np.uint64(0x0101010101010101)  # byte b -> the word of 8 b's
_SUB = 4  # histograms used in turn by pixels counted one by one (uint8 kernel; a power of 2)


@nb.serial_kernel
def _flush(hist, t, p, run, run_start, n_classes, ignore, has_ignore):
    """Add a run of (t, p) pixels; returns -1, or ``run_start`` if a label is out of range."""
    if run == 0:
        return -1
    status = label_pair_status(t, p, n_classes, ignore, has_ignore)
    if status == 1:
        return -1
    if status == 2:
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


@nb.serial_kernel
def _first_bad(target, pred, lo, hi, n_classes, ignore, has_ignore):
    """Index of the first pixel of ``lo .. hi - 1`` with a label out of range, or -1."""
    for i in range(lo, hi):
        t, p = np.int64(target[i]), np.int64(pred[i])
        if label_pair_status(t, p, n_classes, ignore, has_ignore) == 2:
            return i
    return -1


@nb.parallel_kernel
def confusion_uint8(
    target, pred, target_words, pred_words, n_classes, ignore, has_ignore, table, bad_at
):
    """:func:`confusion_runs` for uint8 maps, 8 pixels per step while the run goes on.

    A word of 8 pixels that continues the run adds 8 to it. Any other word (a
    region boundary, or noise where every pixel is its own pair) is counted pixel
    by pixel without a branch: two 256-entry tables map the target byte to a row
    (``C`` for the ignore label, ``C + 1`` for a target out of range) and the
    prediction byte to a column (``C`` when out of range) of a ``(C + 2) x (C + 1)``
    histogram (``C`` at most 256); ``_SUB`` such histograms are used in turn, so neighbouring pixels of
    one pair never wait on one counter. The first pixel out of range is looked up
    again only when one was counted. The last pixel of the word starts the next run.

    ``*_words`` are the same arrays viewed as uint64 (their first ``8 * len`` pixels);
    the last ``size % 8`` pixels are counted one by one at the end of the last chunk.
    """
    size = target.shape[0]
    n_words = target_words.shape[0]
    n_chunks = table.shape[0]
    classes = min(n_classes, 256)  # uint8 labels: at most 256 rows and columns in use
    width = classes + 1
    n_bins = (classes + 2) * width  # 4 histograms of at most 530 KB per chunk
    step = (n_words + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        hist = table[c]
        sub = np.zeros((_SUB, n_bins), dtype=np.int64)
        row = np.empty(256, dtype=np.int64)
        col = np.empty(256, dtype=np.int64)
        for v in range(256):
            r = v if v < classes else classes + 1
            if has_ignore and v == ignore:
                r = classes
            row[v] = r * width
            col[v] = min(v, classes)
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
                if run > 0:
                    bad = _flush(hist, ct, cp, run, start, n_classes, ignore, has_ignore)
                    if bad >= 0:
                        break
                first = 8 * w
                for j in range(8):
                    sub[j & (_SUB - 1), row[target[first + j]] + col[pred[first + j]]] += 1
                ct, cp = target[first + 7], pred[first + 7]
                spread_t, spread_p = np.uint64(ct) * _SPREAD, np.uint64(cp) * _SPREAD
                run, start = np.int64(0), first + 8
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
        counted_bad = np.int64(0)
        for k in range(_SUB):
            for t in range(classes):
                for p in range(classes):
                    hist[t * n_classes + p] += sub[k, t * width + p]
                counted_bad += sub[k, t * width + classes]
            for p in range(width):
                counted_bad += sub[k, (classes + 1) * width + p]
        if counted_bad > 0:  # a pixel out of range was counted: find the first one
            bad = _first_bad(target, pred, lo * 8, pixel_hi, n_classes, ignore, has_ignore)
        bad_at[c] = bad
