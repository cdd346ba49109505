"""CPU kernels of the Boundary IoU band (Cheng et al., CVPR 2021).

The band of a mask is the mask minus its erosion by a ``(2d + 1) x (2d + 1)``
square, pixels outside the image counting as background: the result of OpenCV's
``erode`` with a 3x3 square ``d`` times on the mask padded by one background
pixel, as the paper's code and faster-coco-eval compute it. The erosion is
separable and done with run lengths: a pixel survives the vertical pass when the
run of foreground ending ``d`` rows below it is at least ``2d + 1`` long, and the
horizontal pass likewise on the result, so the cost is linear in the pixels of the
mask's bounding box whatever ``d`` is.

faster-coco-eval (``fce=True``, what ``coco_evaluate`` uses) erodes by testing
column-major offsets, which equals the square erosion whenever the image is at
least ``2d + 1`` rows high; for shorter images its test lets the window wrap from
one column into the next, and ``_short_image_band`` applies that same test.

RLE masks (column-major counts, as COCO's) are decoded into their bounding box
only; the band is written back as COCO RLE counts in two passes (count, then
fill). Every position taken from the counts is clipped to the image.
"""

import numpy as np
from numba import prange

from .._core import jit as nb
from .cpu_coco import _mask_iou
from .cpu_oks import group_span


@nb.serial_kernel
def band_of_grid(m, d, band):
    """``band[x, y] = m[x, y] and not eroded[x, y]`` for a grid indexed (column, row)."""
    bw, bh = m.shape
    win = 2 * d + 1
    vertical = np.zeros((bw, bh), dtype=np.bool_)
    for x in range(bw):
        run = 0
        for y in range(bh):
            run = run + 1 if m[x, y] else 0
            band[x, y] = m[x, y] != 0
            if run >= win:
                vertical[x, y - d] = True
    run_x = np.zeros(bh, dtype=np.int64)
    for x in range(bw):
        for y in range(bh):
            run_x[y] = run_x[y] + 1 if vertical[x, y] else 0
            if run_x[y] >= win:
                band[x - d, y] = False


@nb.serial_kernel
def _rle_grid(counts, start, stop, h, w):
    """The RLE decoded into its bounding box: ``(grid, x0, y0)``, grid (bw, bh) uint8."""
    total = h * w
    lo_x, hi_x, lo_y, hi_y = w, -1, h, -1
    pos = 0
    for k in range(start, stop):
        c = min(counts[k], total - pos)
        if (k - start) % 2 == 1 and c > 0:
            first, last = pos, pos + c - 1
            lo_x, hi_x = min(lo_x, first // h), max(hi_x, last // h)
            if first // h != last // h:
                lo_y, hi_y = 0, h - 1
            else:
                lo_y, hi_y = min(lo_y, first % h), max(hi_y, last % h)
        pos += c
    if hi_x < 0:
        return np.zeros((0, 0), dtype=np.uint8), 0, 0
    grid = np.zeros((hi_x - lo_x + 1, hi_y - lo_y + 1), dtype=np.uint8)
    pos = 0
    for k in range(start, stop):
        c = min(counts[k], total - pos)
        if (k - start) % 2 == 1:
            for p in range(pos, pos + c):
                grid[p // h - lo_x, p % h - lo_y] = 1
        pos += c
    return grid, lo_x, lo_y


@nb.scalar
def _put_run(out, at, gap, length, write):
    """Write one (gap, run) pair of counts at ``out[at]`` when ``write``; returns 2."""
    if write:
        out[at] = gap
        out[at + 1] = length
    return 2


@nb.serial_kernel
def _emit_band(band, x0, y0, h, w, out, at, write):
    """COCO counts of ``band`` (placed at column ``x0``, row ``y0`` of an h x w image);
    written to ``out[at:]`` when ``write``; returns how many."""
    n = 0
    prev_end = 0
    run_s, run_e = -1, -1
    for x in range(band.shape[0]):
        for y in range(band.shape[1]):
            if band[x, y]:
                p = (x0 + x) * h + y0 + y
                if p == run_e:
                    run_e += 1
                    continue
                if run_s >= 0:
                    n = _put_run(out, at + n, run_s - prev_end, run_e - run_s, write) + n
                    prev_end = run_e
                run_s, run_e = p, p + 1
    if run_s >= 0:
        n = _put_run(out, at + n, run_s - prev_end, run_e - run_s, write) + n
        prev_end = run_e
    if n == 0 or h * w - prev_end > 0:
        if write:
            out[at + n] = h * w - prev_end
        n += 1
    return n


@nb.serial_kernel
def _short_image_band(counts, start, stop, h, w, d):
    """faster-coco-eval's band of an image less than ``2d + 1`` rows high, where its
    RLE erosion differs from the square erosion: a foreground pixel ``c`` (column-
    major index, row ``r``) stays when, for every offset ``o = i h + j`` with
    ``0 < i <= d, |j| <= d`` or ``i = 0 < j <= d``, both ``c - o`` and ``c + o`` lie in
    the image and in the mask and ``c + o`` lies within ``d`` rows of ``r``; after a
    pixel that stayed, in the same run, only the offsets ``i h + d`` (``|i| <= d``) are
    tested. Returns the band as a (w, h) grid."""
    total = h * w
    flat = np.zeros(total, dtype=np.bool_)
    runs = np.zeros(total, dtype=np.int64)  # run index + 1 of each foreground pixel
    pos = 0
    for k in range(start, stop):
        c = min(counts[k], total - pos)
        if (k - start) % 2 == 1:
            flat[pos : pos + c] = True
            runs[pos : pos + c] = k + 1
        pos += c
    band = np.zeros((w, h), dtype=np.bool_)
    prev_in = False
    for c in range(total):
        if not flat[c]:
            prev_in = False
            continue
        if c == 0 or runs[c - 1] != runs[c]:
            prev_in = False
        r = c % h
        ok = True
        if prev_in:
            for i in range(-d, d + 1):
                q = c + i * h + d
                if q < 0 or q >= total or not flat[q] or abs(q % h - r) > d:
                    ok = False
                    break
        else:
            for i in range(0, d + 1):
                for j in range(-d, d + 1):
                    if i == 0 and j <= 0:
                        continue
                    o = i * h + j
                    lo, hi = c - o, c + o
                    if lo < 0 or not flat[lo] or hi >= total or not flat[hi]:
                        ok = False
                        break
                    if abs(hi % h - r) > d:
                        ok = False
                        break
                if not ok:
                    break
        prev_in = ok
        band[c // h, r] = not ok
    return band


@nb.serial_kernel
def _band_of_rle(counts, start, stop, h, w, d, fce):
    if fce and h < 2 * d + 1:
        return _short_image_band(counts, start, stop, h, w, d), 0, 0
    grid, x0, y0 = _rle_grid(counts, start, stop, h, w)
    band = np.zeros(grid.shape, dtype=np.bool_)
    if grid.size:
        band_of_grid(grid, d, band)
    return band, x0, y0


@nb.parallel_kernel
def band_count_lengths(counts, offsets, heights, widths, dilation, fce, lengths):
    """``lengths[i]``: how many counts the band of RLE ``i`` takes."""
    dummy = np.zeros(1, dtype=np.int64)
    for i in prange(lengths.shape[0]):
        h, w = heights[i], widths[i]
        band, x0, y0 = _band_of_rle(counts, offsets[i], offsets[i + 1], h, w, dilation[i], fce)
        lengths[i] = _emit_band(band, x0, y0, h, w, dummy, 0, False)


@nb.parallel_kernel
def band_counts(counts, offsets, heights, widths, dilation, fce, out_offsets, out):
    """The band of every RLE as COCO counts at ``out[out_offsets[i]:]``."""
    for i in prange(out_offsets.shape[0] - 1):
        h, w = heights[i], widths[i]
        band, x0, y0 = _band_of_rle(counts, offsets[i], offsets[i + 1], h, w, dilation[i], fce)
        _emit_band(band, x0, y0, h, w, out, out_offsets[i], True)


@nb.parallel_kernel
def band_dense(masks, d, out):
    """``out[n]`` = band of the dense mask ``masks[n]`` (H, W), all with dilation ``d``."""
    for n in prange(masks.shape[0]):
        band_of_grid(masks[n].T, d, out[n].T)


@nb.parallel_kernel
def boundary_group_ious(gs, ge, ds, de, gt_sets, dt_sets, gt_bands, dt_bands, crowd, out, offsets):
    """faster-coco-eval's Boundary IoU of every group: the mask IoU (a crowd region's
    union being the detection), lowered to the band IoU for non-crowd ground truth."""
    for grp in prange(gs.shape[0]):
        g0, d0, n_gt, n_dt, base = group_span(grp, gs, ge, ds, de, offsets)
        for d in range(n_dt):
            for g in range(n_gt):
                value = _mask_iou(dt_sets, d0 + d, gt_sets, g0 + g, crowd[g0 + g])
                if not crowd[g0 + g]:
                    value = min(value, _mask_iou(dt_bands, d0 + d, gt_bands, g0 + g, False))
                out[base + d * n_gt + g] = value
