"""CPU kernel of panoptic quality: the (ground-truth segment, predicted segment) pixel table.

panopticapi builds this table with ``np.unique`` on ``gt * 2**24 + pred`` (a sort of
every pixel). Here each pixel's segment id is looked up by binary search in the
sorted ids of the image's segments, but only when the (gt, pred) pair changes: label
maps are long runs of one pair, so most pixels cost two compares and an add.

Id maps are flat arrays of any integer dtype (:func:`pair_table`); :func:`png_ids`
makes one from the rows of a COCO panoptic PNG (``id = R + 256 G + 256**2 B``), and
:func:`png_pair_table` counts two PNGs' pairs straight from their rows. The
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
def _count_runs(gt, pred, gt_keys, pred_keys, gt_void, pred_void, table, rows, cols, lengths, bad):
    """The runs of one (gt id, predicted id) pair, added to ``table`` or, when ``rows``
    is not empty, listed in ``rows`` / ``cols`` / ``lengths`` (one loop for both: a
    run-by-run helper called from two loops measured 1.5x slower). Returns the number
    of runs listed, or -1 with ``bad = (side, id, pixel)`` for the first unknown id."""
    n = gt.shape[0]
    listing = rows.shape[0] > 0
    i = 0
    k = 0
    while i < n:
        start = i
        cg = gt[i]
        cp = pred[i]
        i += 1
        while i < n and gt[i] == cg and pred[i] == cp:  # the run of one pair
            i += 1
        row = _find(gt_keys, np.int64(cg), gt_void)
        col = _find(pred_keys, np.int64(cp), pred_void)
        if row < 0 or col < 0:
            bad[0] = 0 if row < 0 else 1
            bad[1] = np.int64(cg) if row < 0 else np.int64(cp)
            bad[2] = start
            return -1
        if listing:
            rows[k] = row
            cols[k] = col
            lengths[k] = i - start
            k += 1
        else:
            table[row, col] += i - start
    return k


@nb.serial_kernel
def pair_table(gt, pred, gt_keys, pred_keys, gt_void, pred_void, table, bad):
    """``table[g, p]`` += pixels whose gt id is ``gt_keys[g - 1]`` (row 0: ``gt_void``) and
    whose predicted id is ``pred_keys[p - 1]`` (column 0: ``pred_void``).

    ``gt`` and ``pred`` are flat id maps of the same length. Returns -1, or the first
    pixel index whose gt id (``bad[0] = 0``) or predicted id (``bad[0] = 1``) is
    unknown, with the id in ``bad[1]`` (and the pixel in ``bad[2]``); counting stops
    there.
    """
    none = np.zeros(0, dtype=np.int64)
    if (
        _count_runs(gt, pred, gt_keys, pred_keys, gt_void, pred_void, table, none, none, none, bad)
        < 0
    ):
        return bad[2]
    return -1


@nb.serial_kernel
def pair_runs(gt, pred, gt_keys, pred_keys, gt_void, pred_void, rows, cols, lengths, bad):
    """:func:`pair_table` as a list of runs: ``(rows[k], cols[k], lengths[k])`` for run k
    (``rows``, ``cols``, ``lengths`` hold one entry a pixel, the most runs there can be).

    Returns the number of runs, or -1 with ``bad = (side, id, pixel)`` for the first
    unknown id.
    """
    table = np.zeros((0, 0), dtype=np.int64)
    return _count_runs(
        gt, pred, gt_keys, pred_keys, gt_void, pred_void, table, rows, cols, lengths, bad
    )


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


@nb.scalar
def _pixel_ids(pixels, stride, ids):
    for i in range(ids.shape[0]):
        k = stride * i
        ids[i] = (
            np.uint32(pixels[k])
            | (np.uint32(pixels[k + 1]) << 8)
            | (np.uint32(pixels[k + 2]) << 16)
        )


@nb.scalar
def _row_ids(line, bpp, ids):
    if bpp == 3:  # inlined twice, so that the stride is a constant in each loop
        _pixel_ids(line, 3, ids)
    else:
        _pixel_ids(line, 4, ids)


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
    _row_ids(pixels, bpp, ids)
    return -1


@nb.scalar
def _add_run(table, g, p, gt_keys, pred_keys, gt_void, pred_void, length, bad):
    """``table[row of g, column of p] += length``; False with ``bad = (side, id)`` when
    an id is unknown."""
    row = _find(gt_keys, g, gt_void)
    col = _find(pred_keys, p, pred_void)
    if row < 0 or col < 0:
        bad[0] = 0 if row < 0 else 1
        bad[1] = g if row < 0 else p
        return False
    table[row, col] += length
    return True


@nb.serial_kernel
def png_pair_table(g_raw, p_raw, height, width, g_bpp, p_bpp, gt_keys, pred_keys,
                   gt_void, pred_void, table, bad):  # fmt: skip
    """:func:`pair_table` of two PNGs of one size straight from their filtered rows
    (as :func:`png_ids` takes them), row by row: each row of both is unfiltered and
    turned into ids in buffers of two rows, and its runs are counted while it is in
    the cache (no image-sized buffers; measured 15 % faster than ``png_ids`` twice and
    ``pair_table``).

    Returns -1, or where it stopped: the first pixel of a run whose gt id
    (``bad[0] = 0``) or predicted id (``bad[0] = 1``) is unknown, the id in ``bad[1]``;
    or the first row whose filter type is not 0-4, in the gt (``bad[0] = 2``) or the
    prediction (``bad[0] = 3``).
    """
    g_len, p_len = width * g_bpp, width * p_bpp
    g_rows = np.zeros((2, g_len), dtype=np.uint8)  # this row and the one above
    p_rows = np.zeros((2, p_len), dtype=np.uint8)
    g_ids = np.empty(width, dtype=np.uint32)
    p_ids = np.empty(width, dtype=np.uint32)
    cg, cp = np.int64(-1), np.int64(-1)  # the open run: its ids, first pixel and length
    start = run = 0
    for y in range(height):
        cur = y & 1
        at = y * (g_len + 1)
        if not _unfilter_row(
            g_raw[at], g_raw[at + 1 : at + 1 + g_len], g_rows[1 - cur], g_rows[cur], g_bpp
        ):
            bad[0] = 2
            return y
        at = y * (p_len + 1)
        if not _unfilter_row(
            p_raw[at], p_raw[at + 1 : at + 1 + p_len], p_rows[1 - cur], p_rows[cur], p_bpp
        ):
            bad[0] = 3
            return y
        _row_ids(g_rows[cur], g_bpp, g_ids)
        _row_ids(p_rows[cur], p_bpp, p_ids)
        x = 0
        while x < width:
            g, p = np.int64(g_ids[x]), np.int64(p_ids[x])
            if g == cg and p == cp:  # the open run goes on: to its end in this row
                x0 = x
                x += 1
                while x < width and g_ids[x] == g and p_ids[x] == p:
                    x += 1
                run += x - x0
                continue
            if run and not _add_run(
                table, cg, cp, gt_keys, pred_keys, gt_void, pred_void, run, bad
            ):
                return start
            cg, cp, start, run = g, p, y * width + x, 1
            x += 1
    if run and not _add_run(table, cg, cp, gt_keys, pred_keys, gt_void, pred_void, run, bad):
        return start
    return -1
