"""CPU kernels for mask IoU: run intervals (RLE, sparse) and bit-packed dense masks.

Interval sets
    A mask is a sorted list of half-open foreground intervals ``[start, end)`` over
    its flattened pixels (column-major for COCO RLE, row-major for SciPy sparse
    rows). Set ``i`` is ``starts/ends[first[i] : first[i] + n[i]]``; ``lo[i]`` and
    ``hi[i]`` bound its pixels and ``y0/y1`` its rows (or columns) for culling.

Bit-packed masks
    Each dense mask's bounding box rows are packed into 64-bit words aligned on
    absolute columns (word ``k`` covers columns ``64k .. 64k + 63``), so two masks'
    words line up and their intersection is a popcount of ANDs over the rows and
    words where their boxes overlap. Pairs whose boxes miss are never touched.
"""

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._core import jit as nb
from .cpu_scalar import F as _f

iou_from_areas = _f.iou_from_areas
crowd_iou_from_areas = _f.crowd_iou_from_areas


@intrinsic
def popcount64(typingctx, x):
    """LLVM's ``ctpop`` on a uint64 (one POPCNT instruction; vectorised with AVX-512)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.ctpop.i64")
        return builder.call(fn, args)

    return sig, codegen


# ---------------------------------------------------------------------------- intervals


@nb.parallel_kernel
def intervals_from_counts(
    counts, offsets, heights, sizes, slots, starts, ends, n, lo, hi, y0, y1, areas
):
    """Foreground intervals of each RLE (adjacent runs merged) with its culling bounds.

    RLE ``i`` writes from ``slots[i]``; ``y0/y1`` are the first and last row of its
    pixels (0 and h - 1 as soon as a run spans two columns). Runs are clipped to
    the ``sizes[i]`` = h * w pixels, so no interval leaves the image and no sum
    wraps around, whatever the counts.
    """
    for i in prange(offsets.shape[0] - 1):
        h = heights[i]
        size = sizes[i]
        k = slots[i]
        p = np.int64(0)
        total = np.int64(0)
        row_lo, row_hi = h, np.int64(-1)
        for j in range(offsets[i], offsets[i + 1]):
            run = min(max(counts[j], np.int64(0)), size - p)
            if (j - offsets[i]) % 2 == 1 and run > 0:
                if k > slots[i] and ends[k - 1] == p:
                    ends[k - 1] = p + run
                else:
                    starts[k] = p
                    ends[k] = p + run
                    k += 1
                total += run
                first_col, last_col = p // h, (p + run - 1) // h
                if first_col != last_col:
                    row_lo, row_hi = 0, h - 1
                else:
                    row_lo = min(row_lo, p - first_col * h)
                    row_hi = max(row_hi, p + run - 1 - first_col * h)
            p += run
        n[i] = k - slots[i]
        areas[i] = total
        lo[i] = starts[slots[i]] if k > slots[i] else 0
        hi[i] = ends[k - 1] if k > slots[i] else 0
        y0[i] = row_lo
        y1[i] = row_hi


@nb.parallel_kernel
def intervals_from_indices(indptr, indices, slots, starts, ends, n, lo, hi, y0, y1, areas, row_len):
    """Foreground intervals of each CSR row (sorted, unique column indices).

    ``row_len`` is the image width when known (then ``y0/y1`` are image rows for
    culling), else 0 (no 2-D culling: ``y0 = 0``, ``y1 = 0``).
    """
    for i in prange(indptr.shape[0] - 1):
        k = slots[i]
        for j in range(indptr[i], indptr[i + 1]):
            q = np.int64(indices[j])
            if k > slots[i] and ends[k - 1] == q:
                ends[k - 1] = q + 1
            else:
                starts[k] = q
                ends[k] = q + 1
                k += 1
        n[i] = k - slots[i]
        areas[i] = indptr[i + 1] - indptr[i]
        lo[i] = starts[slots[i]] if k > slots[i] else 0
        hi[i] = ends[k - 1] if k > slots[i] else 0
        if row_len > 0 and k > slots[i]:
            y0[i] = lo[i] // row_len
            y1[i] = (hi[i] - 1) // row_len
        else:
            y0[i] = 0
            y1[i] = 0


@nb.serial_kernel
def _first_ending_after(ends, first, count, position):
    """Index of the first interval of a set whose end is after ``position``."""
    left, right = first, first + count
    while left < right:
        mid = (left + right) // 2
        if ends[mid] <= position:
            left = mid + 1
        else:
            right = mid
    return left


@nb.serial_kernel
def _first_starting_at(starts, first, count, position):
    """Index of the first interval of a set that starts at or after ``position``."""
    left, right = first, first + count
    while left < right:
        mid = (left + right) // 2
        if starts[mid] < position:
            left = mid + 1
        else:
            right = mid
    return left


@nb.serial_kernel
def interval_intersection(sa, ea, fa, na, sb, eb, fb, nb_, lo, hi):
    """Pixels shared by two interval sets, looking only inside ``[lo, hi)``.

    Binary searches find the intervals that can meet inside the window; the merge
    itself is branch-free (both pointers step by comparisons, overlaps clamp at 0),
    since which list advances is unpredictable.
    """
    i = _first_ending_after(ea, fa, na, lo)
    j = _first_ending_after(eb, fb, nb_, lo)
    i_end = _first_starting_at(sa, fa, na, hi)
    j_end = _first_starting_at(sb, fb, nb_, hi)
    inter = np.int64(0)
    while i < i_end and j < j_end:
        a_end, b_end = ea[i], eb[j]
        overlap = min(a_end, b_end) - max(sa[i], sb[j])
        inter += overlap if overlap > 0 else 0
        i += a_end <= b_end
        j += b_end <= a_end
    return inter


@nb.parallel_kernel
def interval_iou(a_sets, b_sets, crowd, use_crowd, out):
    """``out[i, j]`` = IoU of interval set ``i`` of ``a`` and ``j`` of ``b``.

    ``*_sets`` are tuples ``(starts, ends, first, n, lo, hi, y0, y1, areas)``. With
    ``use_crowd``, ``crowd[j]`` marks crowd sets of ``b`` (union = area of ``a``).
    """
    sa, ea, fa, na, loa, hia, y0a, y1a, area_a = a_sets
    sb, eb, fb, nb_, lob, hib, y0b, y1b, area_b = b_sets
    n_a, n_b = out.shape
    for i in prange(n_a):
        for j in range(n_b):
            lo = max(loa[i], lob[j])
            hi = min(hia[i], hib[j])
            inter = np.int64(0)
            if lo < hi and y0a[i] <= y1b[j] and y0b[j] <= y1a[i]:
                inter = interval_intersection(sa, ea, fa[i], na[i], sb, eb, fb[j], nb_[j], lo, hi)
            out[i, j] = crowd_iou_from_areas(
                np.float64(inter),
                np.float64(area_a[i]),
                np.float64(area_b[j]),
                use_crowd and crowd[j],
            )


# ---------------------------------------------------------------------------- dense masks


@nb.parallel_kernel
def mask_boxes(masks, boxes, bad):
    """Row and column extent of each mask: ``boxes[n] = (row0, row1, col0, col1)``
    inclusive, ``(0, -1, 0, -1)`` when empty; ``bad[n]`` marks values other than 0/1."""
    n_masks, h, w = masks.shape
    for n in prange(n_masks):
        r0, r1, c0, c1 = h, np.int64(-1), w, np.int64(-1)
        for y in range(h):
            row_any = False
            first = w
            last = np.int64(-1)
            for x in range(w):
                v = masks[n, y, x]
                if v != 0:
                    if v != 1:
                        bad[n] = True
                    if not row_any:
                        first = x
                        row_any = True
                    last = x
            if row_any:
                r0 = min(r0, y)
                r1 = y
                c0 = min(c0, first)
                c1 = max(c1, last)
        if r1 < 0:
            r0, r1, c0, c1 = 0, -1, 0, -1
        boxes[n, 0], boxes[n, 1], boxes[n, 2], boxes[n, 3] = r0, r1, c0, c1


_GATHER = np.uint64(0x0102040810204080)  # 8 bytes of 0/1 -> 8 bits (byte i -> bit i)
_NOT_BINARY = np.uint64(0xFEFEFEFEFEFEFEFE)
_U8, _U56, _U64_ONE = np.uint64(8), np.uint64(56), np.uint64(1)
_BYTE = np.uint64(0xFF)


@nb.serial_kernel
def _first_byte(word):
    b = 0
    while ((word >> np.uint64(8 * b)) & _BYTE) == 0:
        b += 1
    return b


@nb.serial_kernel
def _last_byte(word):
    b = 7
    while ((word >> np.uint64(8 * b)) & _BYTE) == 0:
        b -= 1
    return b


@nb.parallel_kernel
def mask_boxes_words(chunks, boxes, bad):
    """:func:`mask_boxes` for masks whose width is a multiple of 8, read as uint64
    ``chunks`` (N, H, W / 8): empty rows cost one vectorised OR per 8 pixels."""
    n_masks, h, n_chunks = chunks.shape
    for n in prange(n_masks):
        r0, r1, c0, c1 = h, np.int64(-1), n_chunks * 8, np.int64(-1)
        for y in range(h):
            acc = np.uint64(0)
            for k in range(n_chunks):
                acc |= chunks[n, y, k]
            if acc == 0:
                continue
            if acc & _NOT_BINARY:
                bad[n] = True
            k = 0
            while chunks[n, y, k] == 0:
                k += 1
            c0 = min(c0, 8 * k + _first_byte(chunks[n, y, k]))
            k = n_chunks - 1
            while chunks[n, y, k] == 0:
                k -= 1
            c1 = max(c1, 8 * k + _last_byte(chunks[n, y, k]))
            r0 = min(r0, y)
            r1 = y
        if r1 < 0:
            r0, r1, c0, c1 = 0, -1, 0, -1
        boxes[n, 0], boxes[n, 1], boxes[n, 2], boxes[n, 3] = r0, r1, c0, c1


@nb.parallel_kernel
def pack_masks(masks, chunks, boxes, word_offsets, words, areas):
    """Pack each mask's bounding-box rows into absolute-column-aligned 64-bit words.

    Reads the (N, H, W) ``masks`` pixel by pixel, or, with ``masks`` None, uint64
    ``chunks`` (N, H, W / 8) of a width that is a multiple of 8: 8 pixels become 8
    bits with one multiply. Numba prunes the ``is None`` branch of each
    specialisation before compiling it.
    """
    for n in prange(boxes.shape[0]):
        r0, r1, c0, c1 = boxes[n, 0], boxes[n, 1], boxes[n, 2], boxes[n, 3]
        total = np.int64(0)
        if r1 >= r0:
            k0, k1 = c0 // 64, c1 // 64
            width = k1 - k0 + 1
            base = word_offsets[n]
            for y in range(r0, r1 + 1):
                row = base + (y - r0) * width
                if masks is not None:
                    for k in range(width):
                        words[row + k] = 0
                    for x in range(c0, c1 + 1):
                        if masks[n, y, x] != 0:
                            words[row + x // 64 - k0] |= np.uint64(1) << np.uint64(x % 64)
                    for k in range(width):
                        total += popcount64(words[row + k])
                elif chunks is not None:
                    for k in range(k0, k1 + 1):
                        word = np.uint64(0)
                        for c in range(8):
                            idx = 8 * k + c
                            if idx < chunks.shape[2]:
                                byte = (chunks[n, y, idx] * _GATHER) >> _U56
                                word |= byte << np.uint64(8 * c)
                        words[row + k - k0] = word
                        total += popcount64(word)
        areas[n] = total


@nb.parallel_kernel
def interval_boxes(lo, hi, y0, y1, heights, boxes):
    """Packing boxes of interval sets in *transposed* coordinates (rows are image
    columns, so each column-major run is one row segment): (col0, col1, row0, row1)."""
    for i in prange(lo.shape[0]):
        h = heights[i]
        if hi[i] > lo[i] and h > 0:
            boxes[i, 0], boxes[i, 1] = lo[i] // h, (hi[i] - 1) // h
            boxes[i, 2], boxes[i, 3] = y0[i], y1[i]
        else:
            boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3] = 0, -1, 0, -1


@nb.serial_kernel
def _bit_range(lo, hi):
    """A uint64 with bits ``lo .. hi - 1`` set (0 <= lo < hi <= 64)."""
    upper = ~np.uint64(0) if hi >= 64 else (_U64_ONE << np.uint64(hi)) - _U64_ONE
    lower = (_U64_ONE << np.uint64(lo)) - _U64_ONE
    return upper & ~lower


@nb.parallel_kernel
def pack_intervals(starts, ends, first, count, heights, boxes, word_offsets, words):
    """Pack column-major interval sets into transposed bit rows (see :func:`interval_boxes`)."""
    for i in prange(first.shape[0]):
        r0, r1, c0, c1 = boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3]
        if r1 < r0:
            continue
        h = heights[i]
        k0 = c0 // 64
        width = c1 // 64 - k0 + 1
        base = word_offsets[i]
        for q in range(base, base + (r1 - r0 + 1) * width):
            words[q] = 0
        for t in range(first[i], first[i] + count[i]):
            p, e = starts[t], ends[t]
            while p < e:
                x = p // h
                y = p - x * h
                stop = min(e - x * h, h)  # rows y .. stop - 1 of column x
                row = base + (x - r0) * width - k0
                for k in range(y // 64, (stop - 1) // 64 + 1):
                    lo_bit = max(y - 64 * k, 0)
                    hi_bit = min(stop - 64 * k, 64)
                    words[row + k] |= _bit_range(lo_bit, hi_bit)
                p = x * h + stop


@nb.serial_kernel
def packed_intersection(words, off_a, box_a, off_b, box_b):
    """Shared pixels of two packed masks (see :func:`pack_masks`)."""
    r0 = max(box_a[0], box_b[0])
    r1 = min(box_a[1], box_b[1])
    k0 = max(box_a[2], box_b[2]) // 64
    k1 = min(box_a[3], box_b[3]) // 64
    if r0 > r1 or k0 > k1 or max(box_a[2], box_b[2]) > min(box_a[3], box_b[3]):
        return np.int64(0)
    ka0, kb0 = box_a[2] // 64, box_b[2] // 64
    width_a = box_a[3] // 64 - ka0 + 1
    width_b = box_b[3] // 64 - kb0 + 1
    total = np.uint64(0)
    for y in range(r0, r1 + 1):
        row_a = off_a + (y - box_a[0]) * width_a - ka0
        row_b = off_b + (y - box_b[0]) * width_b - kb0
        for k in range(k0, k1 + 1):
            total += popcount64(words[row_a + k] & words[row_b + k])
    return np.int64(total)


@nb.parallel_kernel
def packed_iou(words, off_a, boxes_a, areas_a, off_b, boxes_b, areas_b, crowd, use_crowd, out):
    """``out[i, j]`` = IoU of packed dense masks ``i`` of ``a`` and ``j`` of ``b``."""
    n_a, n_b = out.shape
    for i in prange(n_a):
        for j in range(n_b):
            inter = np.float64(
                packed_intersection(words, off_a[i], boxes_a[i], off_b[j], boxes_b[j])
            )
            union_b = np.float64(areas_b[j])
            crowd_j = use_crowd and crowd[j]
            out[i, j] = crowd_iou_from_areas(inter, np.float64(areas_a[i]), union_b, crowd_j)


# ---------------------------------------------------------------------------- label images


@nb.parallel_kernel
def label_contingency(codes_a, codes_b, n_b, n_chunks, table):
    """``table[ia * n_b + ib]`` += pixels labelled ``ia`` in ``a`` and ``ib`` in ``b``.

    Each of ``n_chunks`` chunks of pixels fills its own row of ``table``
    (``(n_chunks, n_a * n_b)``), so threads never share a counter.
    """
    size = codes_a.shape[0]
    step = (size + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        for p in range(c * step, min(size, (c + 1) * step)):
            table[c, np.int64(codes_a[p]) * n_b + codes_b[p]] += 1
