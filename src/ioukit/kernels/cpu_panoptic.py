"""CPU kernel of panoptic quality: the (ground-truth segment, predicted segment) pixel table.

panopticapi builds this table with ``np.unique`` on ``gt * 2**24 + pred`` (a sort of
every pixel). Here each pixel's segment id is looked up by binary search in the
sorted ids of the image's segments, but only when the (gt, pred) pair changes: label
maps are long runs of one pair, so most pixels cost two compares and an add.

Id maps are flat arrays of any integer dtype (:func:`pair_table`); :func:`png_ids`
makes one from the rows of a COCO panoptic PNG (``id = R + 256 G + 256**2 B``). The
kernels are serial and release the GIL, so images can be counted on several threads
at once.
"""

import numpy as np

from .._core import jit as nb


@nb.serial_kernel
def _find(keys, value, void):
    """0 for ``void``, ``k + 1`` for ``keys[k] == value`` (keys sorted), -1 if absent."""
    if value == void:
        return 0
    lo, hi = 0, keys.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    if lo < keys.shape[0] and keys[lo] == value:
        return lo + 1
    return -1


@nb.serial_kernel
def segment_counts(ids, keys, void, counts, bad):
    """``counts[0]`` += void pixels, ``counts[k + 1]`` += pixels of ``keys[k]``.

    Returns the first pixel index whose id is neither ``void`` nor in ``keys`` (its id
    goes to ``bad[0]``), or -1; counting stops there.
    """
    n = ids.shape[0]
    if n == 0:
        return -1
    cur = np.int64(ids[0])
    run = 0
    for i in range(n):
        v = np.int64(ids[i])
        if v == cur:
            run += 1
            continue
        k = _find(keys, cur, void)
        if k < 0:
            bad[0] = cur
            return i - run
        counts[k] += run
        cur = v
        run = 1
    k = _find(keys, cur, void)
    if k < 0:
        bad[0] = cur
        return n - run
    counts[k] += run
    return -1


@nb.serial_kernel
def pair_table(gt, pred, gt_keys, pred_keys, gt_void, pred_void, table, bad):
    """``table[g, p]`` += pixels whose gt id is ``gt_keys[g - 1]`` (row 0: ``gt_void``) and
    whose predicted id is ``pred_keys[p - 1]`` (column 0: ``pred_void``).

    ``gt`` and ``pred`` are flat id maps of the same length. Returns -1, or the first
    pixel index whose gt id (``bad[0] = 0``) or predicted id (``bad[0] = 1``) is
    unknown, with the id in ``bad[1]``; counting stops there.
    """
    n = gt.shape[0]
    i = 0
    while i < n:
        start = i
        cg = gt[i]
        cp = pred[i]
        i += 1
        while i < n and gt[i] == cg and pred[i] == cp:  # the run of one pair
            i += 1
        row = _find(gt_keys, np.int64(cg), gt_void)
        if row < 0:
            bad[0] = 0
            bad[1] = np.int64(cg)
            return start
        col = _find(pred_keys, np.int64(cp), pred_void)
        if col < 0:
            bad[0] = 1
            bad[1] = np.int64(cp)
            return start
        table[row, col] += i - start
    return -1


@nb.serial_kernel
def pair_runs(gt, pred, gt_keys, pred_keys, gt_void, pred_void, rows, cols, lengths, bad):
    """:func:`pair_table` as a list of runs: ``(rows[k], cols[k], lengths[k])`` for run k
    (``rows``, ``cols``, ``lengths`` hold one entry a pixel, the most runs there can be).

    Returns the number of runs, or -1 with ``bad = (side, id, pixel)`` for the first
    unknown id.
    """
    n = gt.shape[0]
    i = 0
    k = 0
    while i < n:
        start = i
        cg = gt[i]
        cp = pred[i]
        i += 1
        while i < n and gt[i] == cg and pred[i] == cp:
            i += 1
        row = _find(gt_keys, np.int64(cg), gt_void)
        col = _find(pred_keys, np.int64(cp), pred_void)
        if row < 0 or col < 0:
            bad[0] = 0 if row < 0 else 1
            bad[1] = np.int64(cg) if row < 0 else np.int64(cp)
            bad[2] = start
            return -1
        rows[k] = row
        cols[k] = col
        lengths[k] = i - start
        k += 1
    return k


@nb.serial_kernel
def _paeth(a, b, c):
    p = a + b - c
    pa = abs(p - a)
    pb = abs(p - b)
    pc = abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    if pb <= pc:
        return b
    return c


@nb.serial_kernel
def _unfilter_row(kind, line, up, cur, bpp):
    """Undo one PNG row filter: ``cur`` from the filtered ``line`` and the row ``up``
    above it. Returns False for an unknown filter type."""
    n = line.shape[0]
    if kind == 0:
        cur[:] = line
    elif kind == 1:
        for x in range(bpp):
            cur[x] = line[x]
        for x in range(bpp, n):
            cur[x] = line[x] + cur[x - bpp]
    elif kind == 2:
        for x in range(n):
            cur[x] = line[x] + up[x]
    elif kind == 3:
        for x in range(bpp):
            cur[x] = line[x] + (up[x] >> 1)
        for x in range(bpp, n):
            cur[x] = line[x] + ((np.int32(cur[x - bpp]) + np.int32(up[x])) >> 1)
    elif kind == 4:
        for x in range(bpp):
            cur[x] = line[x] + up[x]
        for x in range(bpp, n):
            a = np.int32(cur[x - bpp])
            b = np.int32(up[x])
            c = np.int32(up[x - bpp])
            cur[x] = line[x] + _paeth(a, b, c)
    else:
        return False
    return True


@nb.serial_kernel
def png_unfilter(raw, height, row_bytes, bpp, out):
    """Undo the PNG row filters of 8-bit, non-interlaced ``raw`` (``height`` rows of one
    filter byte plus ``row_bytes``) into ``out`` (``height * row_bytes`` bytes).

    The row above the first one is zeros. Returns -1, or the first row whose filter
    type is not 0-4.
    """
    zero = np.zeros(row_bytes, dtype=np.uint8)
    for y in range(height):
        src = y * (row_bytes + 1) + 1
        cur = out[y * row_bytes : (y + 1) * row_bytes]
        up = out[(y - 1) * row_bytes : y * row_bytes] if y > 0 else zero
        if not _unfilter_row(raw[src - 1], raw[src : src + row_bytes], up, cur, bpp):
            return y
    return -1


@nb.serial_kernel
def png_ids(raw, height, width, bpp, ids):
    """Segment ids ``R + 256 G + 256**2 B`` of a PNG's filtered rows ``raw`` (``height``
    rows of a filter byte plus ``width * bpp`` bytes, RGB or RGBA) into ``ids``.

    Returns -1, or the first row whose filter type is not 0-4. (Unfiltering the whole
    image first and then reading the ids measured faster than doing both row by row.)
    """
    row_bytes = width * bpp
    pixels = np.empty(height * row_bytes, dtype=np.uint8)
    bad = png_unfilter(raw, height, row_bytes, bpp, pixels)
    if bad >= 0:
        return bad
    if bpp == 3:  # two loops, so that the stride is a constant in each
        for i in range(ids.shape[0]):
            k = 3 * i
            ids[i] = (
                np.uint32(pixels[k])
                | (np.uint32(pixels[k + 1]) << 8)
                | (np.uint32(pixels[k + 2]) << 16)
            )
    else:
        for i in range(ids.shape[0]):
            k = 4 * i
            ids[i] = (
                np.uint32(pixels[k])
                | (np.uint32(pixels[k + 1]) << 8)
                | (np.uint32(pixels[k + 2]) << 16)
            )
    return -1
