"""Mask inputs turned into RLE batches: the form an input is in, and the converters.

:func:`representation` names the form of a mask argument; :func:`masks_to_rles`,
:func:`polygons_to_rles` and :func:`segmentations_to_rles` build an
:class:`~ioukit._masks.rleset.RLESet` from dense stacks, polygons and COCO
segmentations (any mix). Internal: the public front-ends are :mod:`ioukit.rle`
and :mod:`ioukit.masks`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import dispatch
from .._core.loader import kernel, parallel_call
from .._core.twins import twin_call
from .dense import mask_boxes
from .rleset import RLESet, check_sizes, from_counts_list, parse_rles

#: Largest polygon coordinate accepted (in pixels): on the 5x grid of the
#: rasteriser every coordinate is then an exact integer in float64 and int64.
MAX_COORDINATE = 1e15


DENSE, SPARSE, RLE = "dense", "sparse", "rle"


def _is_rle(x: Any) -> bool:
    if isinstance(x, (dict, RLESet)):
        return True
    # an empty list is an empty list of RLEs (a dense empty stack is an array)
    return isinstance(x, (list, tuple)) and (len(x) == 0 or isinstance(x[0], dict))


def representation(x: Any) -> str:
    """``"rle"``, ``"sparse"``, ``"dense"``, or a backend kind (``"cuda"``, ``"dask"``)."""
    if _is_rle(x):
        return RLE
    kind = dispatch.array_kind(x)
    if kind == dispatch.SPARSE:
        return SPARSE
    if kind == dispatch.NUMPY:
        return DENSE
    return kind


def masks_to_rles(masks: np.ndarray, name: str, func: str) -> RLESet:
    """An :class:`RLESet` of a ``(N, H, W)`` uint8 stack of 0/1 masks (checked here)."""
    kernels = kernel("cpu_rle")
    n, h, w = masks.shape
    boxes = mask_boxes(masks, name, func)
    runs = np.empty(n, dtype=np.int64)
    if n:
        parallel_call(kernels.count_box_runs, masks, boxes, runs)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(runs, out=offsets[1:])
    counts = np.empty(int(offsets[-1]), dtype=np.int64)
    if n:
        parallel_call(kernels.counts_from_masks, masks, boxes, offsets, counts)
    return RLESet(np.full(n, h, np.int64), np.full(n, w, np.int64), counts, offsets)


def _flat_polygon(poly: Any, where: str) -> np.ndarray:
    try:
        arr = np.asarray(poly, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{where} is not a sequence of numbers") from None
    if arr.shape[0] % 2:
        raise ValueError(f"{where} has an odd number of coordinates ({arr.shape[0]})")
    if arr.shape[0] < 6:
        raise ValueError(f"{where} has fewer than 3 points ({arr.shape[0] // 2})")
    bad = ~(np.abs(arr) <= MAX_COORDINATE)  # also NaN
    if bad.any():
        i = int(np.argmax(bad))
        what = "is NaN or infinite" if not np.isfinite(arr[i]) else "is too large"
        raise ValueError(
            f"{where} has coordinate {i} = {float(arr[i])!r}, which {what}: coordinates "
            f"must be finite and within +-{MAX_COORDINATE:.0e}"
        )
    return arr


def polygons_to_rles(polygons: list[np.ndarray], heights: np.ndarray, widths: np.ndarray) -> RLESet:
    """Rasterise flat validated polygons (one RLE each) in one parallel call."""
    n = len(polygons)
    heights = np.asarray(heights, np.int64)
    widths = np.asarray(widths, np.int64)
    check_sizes(heights, widths, "polygons", "rasterise")
    poly_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([p.shape[0] for p in polygons], out=poly_offsets[1:])
    xy = np.concatenate(polygons) if n else np.zeros(0)
    bounds = np.empty(n, dtype=np.int64)
    if n:
        twin_call("cpu_rle", "polygon_bounds", xy.size, xy, poly_offsets, widths, bounds)
    slots = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(bounds, out=slots[1:])
    raw = np.empty(max(int(slots[-1]), 1), dtype=np.int64)
    lengths = np.empty(n, dtype=np.int64)
    if n:
        twin_call(
            "cpu_rle",
            "polygons_to_counts",
            xy.size + raw.size,
            xy,
            poly_offsets,
            heights,
            widths,
            slots,
            raw,
            lengths,
        )
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    counts = np.empty(int(offsets[-1]), dtype=np.int64)
    args = (raw, slots[:-1], lengths, offsets, counts)
    twin_call("cpu_rle", "gather_segments", counts.size, *args)
    return RLESet(heights, widths, counts, offsets)


def _merged(rles: RLESet, intersect: bool) -> np.ndarray:
    if len(rles) == 1:
        return rles.counts[rles.offsets[0] : rles.offsets[1]].copy()
    size = np.int64(rles.heights[0]) * np.int64(rles.widths[0])
    args = (rles.counts, rles.offsets, size, intersect)
    work = int(rles.offsets[-1] - rles.offsets[0])  # (the counts may be a shared buffer)
    return twin_call("cpu_rle", "merge_counts", work, *args)


def segmentations_to_rles(
    segmentations: list[Any],
    heights: Any,
    widths: Any,
    name: str,
    func: str,
    validate: bool = True,
) -> RLESet:
    """One RLE per COCO segmentation: polygon lists (their union), uncompressed or
    compressed RLE dicts, as pycocotools' ``annToRLE`` reads them. ``validate=False``
    passes uncompressed counts through unchecked (see :func:`from_uncompressed`);
    only :func:`to_dicts` may then read the set."""
    heights = np.asarray(heights, dtype=np.int64)
    widths = np.asarray(widths, dtype=np.int64)
    check_sizes(heights, widths, name, func)
    if segmentations and all(type(segm) is dict for segm in segmentations):
        return parse_rles(segmentations, name, func, validate)[0]  # results files: RLE only
    polygons: list[np.ndarray] = []
    owners: list[int] = []
    dict_items: list[int] = []
    for i, segm in enumerate(segmentations):
        if isinstance(segm, dict):
            dict_items.append(i)
        elif isinstance(segm, (list, tuple)) and len(segm) > 0:
            for k, poly in enumerate(segm):
                polygons.append(_flat_polygon(poly, f"{func}: {name} item {i} polygon {k}"))
                owners.append(i)
        else:
            raise ValueError(
                f"{func}: {name} item {i} is neither a non-empty polygon list nor an RLE dict"
            )
    per_item: list[np.ndarray | None] = [None] * len(segmentations)
    if polygons:
        owner_arr = np.asarray(owners, dtype=np.int64)
        rasters = polygons_to_rles(polygons, heights[owner_arr], widths[owner_arr])
        starts = np.flatnonzero(np.r_[True, owner_arr[1:] != owner_arr[:-1]])
        stops = np.r_[starts[1:], len(owners)]
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            part = RLESet(
                rasters.heights[a:b],
                rasters.widths[a:b],
                rasters.counts,
                rasters.offsets[a : b + 1],
            )
            per_item[owners[a]] = _merged(part, intersect=False)
    if dict_items:
        parsed, _ = parse_rles([segmentations[i] for i in dict_items], name, func, validate)
        for k, i in enumerate(dict_items):
            heights[i], widths[i] = parsed.heights[k], parsed.widths[k]
            per_item[i] = parsed.counts[parsed.offsets[k] : parsed.offsets[k + 1]]
    return from_counts_list(heights, widths, per_item)  # type: ignore[arg-type]
