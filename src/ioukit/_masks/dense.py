"""Dense mask stacks: bounding boxes and bit-packing, choosing the fastest kernel.

Masks whose width is a multiple of 8 are read 8 pixels at a time as uint64
(empty rows cost one OR per 8 pixels; packing turns 8 bytes into 8 bits with one
multiply); other widths use the byte-by-byte kernels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.loader import kernel, parallel_call

#: Packed words allowed before mask IoU falls back to run intervals (256 MiB).
PACKED_BUDGET_WORDS = 1 << 25
#: For RLE input the packed words must also stay below this many per run (plus
#: :data:`PACKED_MIN_WORDS`): memory is then proportional to the runs.
PACKED_WORDS_PER_RUN = 64
PACKED_MIN_WORDS = 1 << 16


def _chunks(masks: np.ndarray) -> np.ndarray | None:
    """``masks`` viewed as (N, H, W / 8) uint64, when its width allows."""
    if masks.shape[2] % 8 or not masks.flags.c_contiguous or masks.size == 0:
        return None
    return masks.view(np.uint64)


def mask_boxes(masks: np.ndarray, name: str, func: str) -> np.ndarray:
    """(N, 4) inclusive (row0, row1, col0, col1) of each mask; ValueError for values
    other than 0/1. Empty masks get (0, -1, 0, -1)."""
    k = kernel("cpu_masks")
    n = masks.shape[0]
    boxes = np.empty((n, 4), dtype=np.int64)
    bad = np.zeros(n, dtype=np.bool_)
    if n:
        chunks = _chunks(masks)
        if chunks is not None:
            parallel_call(k.mask_boxes_words, chunks, boxes, bad)
        else:
            parallel_call(k.mask_boxes, masks, boxes, bad)
    if bad.any():
        raise ValueError(
            f"{func}: argument {name!r} mask {int(np.argmax(bad))} holds values other than 0 and 1"
        )
    return boxes


def packed_layout(boxes: np.ndarray) -> np.ndarray:
    """Start of each mask's words (length N + 1) for bit rows over its box."""
    rows = np.maximum(boxes[:, 1] - boxes[:, 0] + 1, 0)
    words_per_row = np.where(rows > 0, boxes[:, 3] // 64 - boxes[:, 2] // 64 + 1, 0)
    offsets = np.zeros(boxes.shape[0] + 1, dtype=np.int64)
    np.cumsum(rows * words_per_row, out=offsets[1:])
    return offsets


def pack(
    masks: np.ndarray, boxes: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(words, areas)``: each mask's box rows as absolute-column-aligned uint64 bits."""
    k = kernel("cpu_masks")
    words = np.empty(max(int(offsets[-1]), 1), dtype=np.uint64)
    areas = np.zeros(masks.shape[0], dtype=np.int64)
    if masks.shape[0]:
        chunks = _chunks(masks)
        pixels = masks if chunks is None else None  # one of the two: the kernel's branch
        parallel_call(k.pack_masks, pixels, chunks, boxes, offsets, words, areas)
    return words, areas


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def refuse_confusions(x: Any, name: str, func: str) -> None:
    """ValueError for two common mix-ups before ``x`` is read as dense masks.

    * pycocotools' ``(H, W, N)`` layout: a Fortran-ordered 3-D array whose last axis
      is the smallest would otherwise be read as ``H`` masks of ``W x N``;
    * a COCO polygon (a flat list of coordinates, or a list of them), which is not
      a mask until it is rasterised.
    """
    if isinstance(x, np.ndarray):
        if (
            x.ndim == 3
            and x.flags.f_contiguous
            and not x.flags.c_contiguous
            and x.shape[2] < min(x.shape[0], x.shape[1])
        ):
            raise ValueError(
                f"{func}: argument {name!r} has shape {x.shape} in Fortran order, which looks "
                "like pycocotools' (H, W, N) layout; masks are (N, H, W): pass "
                "np.moveaxis(masks, -1, 0)"
            )
        return
    if not isinstance(x, (list, tuple)) or not x:
        return
    flat = all(_is_number(v) for v in x)
    nested = all(isinstance(p, (list, tuple)) and p and all(_is_number(v) for v in p) for p in x)
    if nested:  # a list of polygons, unless it is a 2-D 0/1 mask written as lists
        ragged = len({len(p) for p in x}) > 1
        nested = ragged or any(v not in (0, 1) for p in x for v in p)
    if flat or nested:
        raise ValueError(
            f"{func}: argument {name!r} looks like a polygon (a list of x, y coordinates), "
            "not a mask; rasterise it first with ioukit.rle.from_polygons(polygons, h, w)"
        )
