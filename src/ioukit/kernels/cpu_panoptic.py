"""CPU kernel of panoptic quality: the (ground-truth segment, predicted segment) pixel table.

panopticapi builds this table with ``np.unique`` on ``gt * 2**24 + pred`` (a sort of
every pixel). Here each pixel's segment id is looked up by binary search in the
sorted ids of the image's segments, but only when the (gt, pred) pair changes: label
maps are long runs of one pair, so most pixels cost two compares and an add.

Ids are read from ``(N, C)`` arrays: ``C == 1`` holds the id itself (any integer
dtype), ``C >= 3`` an RGB(A) PNG of the COCO panoptic format, ``id = R + 256 G +
256**2 B``. The kernels are serial and release the GIL, so images can be counted on
several threads at once.
"""

import numpy as np

from .. import _numba as nb


@nb.serial_kernel
def _pixel_id(a, i):
    """The segment id of pixel ``i`` of an ``(N, 1)`` id array or an ``(N, 3|4)`` RGB array."""
    if a.shape[1] == 1:
        return np.int64(a[i, 0])
    return np.int64(a[i, 0]) + (np.int64(a[i, 1]) << 8) + (np.int64(a[i, 2]) << 16)


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
    cur = _pixel_id(ids, 0)
    run = 0
    for i in range(n):
        v = _pixel_id(ids, i)
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

    ``gt`` and ``pred`` have the same number of rows N. Returns -1, or the first
    pixel index whose gt id (``bad[0] = 0``) or predicted id (``bad[0] = 1``) is
    unknown, with the id in ``bad[1]``; counting stops there.
    """
    n = gt.shape[0]
    if n == 0:
        return -1
    cg = _pixel_id(gt, 0)
    cp = _pixel_id(pred, 0)
    g, p = cg, cp
    run = 0
    for i in range(n + 1):
        if i < n:
            g = _pixel_id(gt, i)
            p = _pixel_id(pred, i)
            if g == cg and p == cp:
                run += 1
                continue
        row = _find(gt_keys, cg, gt_void)
        if row < 0:
            bad[0] = 0
            bad[1] = cg
            return i - run
        col = _find(pred_keys, cp, pred_void)
        if col < 0:
            bad[0] = 1
            bad[1] = cp
            return i - run
        table[row, col] += run
        if i < n:
            cg = g
            cp = p
            run = 1
    return -1
