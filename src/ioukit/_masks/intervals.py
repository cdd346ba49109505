"""The two mask IoU engines behind :func:`ioukit.mask_iou`: run intervals and packed bits.

* *interval sets*: the foreground runs of each mask (from RLE counts or sparse
  CSR rows) with culling bounds, intersected by a two-pointer merge; memory is
  proportional to the runs;
* *packed bits*: each mask's bounding-box rows as uint64 words, a popcount of
  ANDs per shared word; used when the words fit the budget of ``_masks.dense``.

:func:`rle_iou` chooses between them for RLE input. Internal: the public
front-end is :mod:`ioukit.masks`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._core.loader import kernel, parallel_call
from .._core.twins import twin_call
from . import dense as _dense
from .rleset import RLESet

# ----------------------------------------------------------------------------- intervals

IntervalSets = tuple  # (starts, ends, first, n, lo, hi, y0, y1, areas)


def _allocate(n: int, bounds: np.ndarray) -> tuple[np.ndarray, ...]:
    slots = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(bounds, out=slots[1:])
    total = max(int(slots[-1]), 1)
    per_set = [np.empty(n, dtype=np.int64) for _ in range(6)]
    return (slots, np.empty(total, np.int64), np.empty(total, np.int64), *per_set)


def _as_sets(outs: tuple[np.ndarray, ...]) -> IntervalSets:
    """The kernels' outputs (slots first) as an interval set (first run of each set)."""
    slots, starts, ends, count, lo, hi, y0, y1, areas = outs
    return starts, ends, slots[:-1].copy(), count, lo, hi, y0, y1, areas


def rle_intervals(rles: RLESet) -> IntervalSets:
    """Foreground runs of every RLE with their culling bounds (see ``cpu_masks``)."""
    n = len(rles)
    outs = _allocate(n, np.diff(rles.offsets) // 2)
    if n:
        twin_call(
            "cpu_masks",
            "intervals_from_counts",
            rles.counts.size,
            *(rles.counts, rles.offsets, rles.heights, rles.sizes(), *outs),
        )
    return _as_sets(outs)


def sparse_intervals(csr: Any, row_len: int = 0) -> IntervalSets:
    """Runs of consecutive pixels of every row of a canonical CSR matrix."""
    n = csr.shape[0]
    indptr = csr.indptr.astype(np.int64, copy=False)
    outs = _allocate(n, np.diff(indptr))
    if n:
        k = kernel("cpu_masks")
        parallel_call(k.intervals_from_indices, indptr, csr.indices, *outs, np.int64(row_len))
    return _as_sets(outs)


def interval_iou(a: IntervalSets, b: IntervalSets, crowd: np.ndarray | None) -> np.ndarray:
    """The (N, M) IoU matrix of two interval sets."""
    out = np.zeros((a[2].shape[0], b[2].shape[0]), dtype=np.float64)
    flags = crowd if crowd is not None else np.zeros(out.shape[1], dtype=np.bool_)
    if out.size:
        parallel_call(kernel("cpu_masks").interval_iou, a, b, flags, crowd is not None, out)
    return out


# ----------------------------------------------------------------------------- packed bits


class Packed(NamedTuple):
    """Bit-packed masks: rows of each mask's box as uint64 words (see ``cpu_masks``)."""

    words: np.ndarray
    offsets: np.ndarray  # start of each mask's words (N + 1)
    boxes: np.ndarray  # (N, 4) inclusive row0, row1, col0, col1
    areas: np.ndarray


def packed_iou(a: Packed, b: Packed, crowd: np.ndarray | None) -> np.ndarray:
    """The (N, M) IoU matrix of two packed sets (a popcount per shared word)."""
    words = np.concatenate([a.words, b.words])
    out = np.zeros((a.boxes.shape[0], b.boxes.shape[0]), dtype=np.float64)
    flags = crowd if crowd is not None else np.zeros(out.shape[1], dtype=np.bool_)
    if out.size:
        parallel_call(
            kernel("cpu_masks").packed_iou,
            words,
            a.offsets[:-1],
            a.boxes,
            a.areas,
            b.offsets[:-1] + a.words.shape[0],
            b.boxes,
            b.areas,
            flags,
            crowd is not None,
            out,
        )
    return out


def pack_dense(masks: np.ndarray, boxes: np.ndarray) -> Packed:
    offsets = _dense.packed_layout(boxes)
    words, areas = _dense.pack(masks, boxes, offsets)
    return Packed(words, offsets, boxes, areas)


def _interval_boxes(sets: IntervalSets, heights: np.ndarray) -> np.ndarray:
    """Packing boxes of interval sets (transposed: image columns are bit rows)."""
    starts, ends, first, count, lo, hi, y0, y1, areas = sets
    boxes = np.empty((first.shape[0], 4), dtype=np.int64)
    if first.shape[0]:
        parallel_call(kernel("cpu_masks").interval_boxes, lo, hi, y0, y1, heights, boxes)
    return boxes


def _pack_intervals(sets: IntervalSets, heights: np.ndarray, boxes: np.ndarray) -> Packed:
    starts, ends, first, count, lo, hi, y0, y1, areas = sets
    offsets = _dense.packed_layout(boxes)
    words = np.empty(max(int(offsets[-1]), 1), dtype=np.uint64)
    if first.shape[0]:
        parallel_call(
            kernel("cpu_masks").pack_intervals,
            starts,
            ends,
            first,
            count,
            heights,
            boxes,
            offsets,
            words,
        )
    return Packed(words, offsets, boxes, areas)


def fits(*box_sets: np.ndarray) -> bool:
    """Whether bit-packing these boxes stays inside the memory budget."""
    total = sum(int(_dense.packed_layout(boxes)[-1]) for boxes in box_sets)
    return total <= _dense.PACKED_BUDGET_WORDS


def rle_packing_budget(ia: IntervalSets, ib: IntervalSets) -> int:
    """Words that bit-packing two RLE sets may take: proportional to their runs
    (:data:`_dense.PACKED_WORDS_PER_RUN` each, plus a small constant), never more
    than :data:`_dense.PACKED_BUDGET_WORDS`. Beyond it the runs are intersected
    directly, so memory stays proportional to the runs, not to the image."""
    runs = int(ia[3].sum()) + int(ib[3].sum())
    return min(
        _dense.PACKED_BUDGET_WORDS, _dense.PACKED_MIN_WORDS + _dense.PACKED_WORDS_PER_RUN * runs
    )


def rle_iou(ra: RLESet, rb: RLESet, crowd: np.ndarray | None) -> np.ndarray:
    ia, ib = rle_intervals(ra), rle_intervals(rb)
    boxes_a, boxes_b = _interval_boxes(ia, ra.heights), _interval_boxes(ib, rb.heights)
    words = int(_dense.packed_layout(boxes_a)[-1]) + int(_dense.packed_layout(boxes_b)[-1])
    if words <= rle_packing_budget(ia, ib):
        return packed_iou(
            _pack_intervals(ia, ra.heights, boxes_a),
            _pack_intervals(ib, rb.heights, boxes_b),
            crowd,
        )
    return interval_iou(ia, ib, crowd)
