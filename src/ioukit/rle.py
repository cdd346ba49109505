"""COCO run-length encoding (RLE): encode, decode and convert masks, as pycocotools does.

Counts strings are byte-identical to pycocotools', so files written by one are read
by the other. Masks are ``(H, W)`` or stacks ``(N, H, W)`` (pycocotools uses
``(H, W, N)`` in Fortran order); RLE dicts are ``{"size": [h, w], "counts": bytes}``.
Every function works on a whole batch in one compiled, parallel call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._core import validate as check
from ._core.loader import kernel, parallel_call
from ._masks import convert as _convert
from ._masks.convert import (
    MAX_COORDINATE,
    _flat_polygon,
    _merged,
)
from ._masks.rleset import from_counts_list, parse_rles, to_dicts


def _image_size(h: Any, w: Any, func: str) -> tuple[int, int]:
    """Two non-negative integers small enough for int64 pixel arithmetic."""
    from ._masks.rleset import MAX_PIXELS, MAX_SIDE

    height, width = check.image_size(h, w, func)
    if max(height, width) > MAX_SIDE or height * width > MAX_PIXELS:
        raise ValueError(
            f"{func}: image size h={height}, w={width} is too large "
            "(at most 2**40 each and 2**60 pixels in all)"
        )
    return height, width


def _one_or_many(items: list, single: bool) -> Any:
    return items[0] if single else items


# ----------------------------------------------------------------------------- public API


def encode(mask: Any) -> dict | list[dict]:
    """Run-length encode binary masks.

    Parameters
    ----------
    mask : array_like, shape (H, W) or (N, H, W)
        bool or integer masks holding only 0 and 1.

    Returns
    -------
    dict or list of dict
        ``{"size": [H, W], "counts": bytes}`` for one mask, a list for a stack.

    Raises
    ------
    ValueError
        A value other than 0/1, the wrong number of dimensions, a Fortran-ordered
        ``(H, W, N)`` stack (pycocotools' layout: pass ``np.moveaxis(mask, -1, 0)``)
        or a polygon (rasterise it with :func:`from_polygons`).

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit import rle
    >>> m = np.zeros((4, 5), np.uint8); m[1:3, 2:4] = 1
    >>> rle.encode(m)
    {'size': [4, 5], 'counts': b'92203'}
    """
    from ._masks.dense import refuse_confusions

    refuse_confusions(mask, "mask", "rle.encode")
    masks, single = check.dense_masks(mask, "mask", "rle.encode")
    return _one_or_many(to_dicts(_convert.masks_to_rles(masks, "mask", "rle.encode")), single)


def decode(rles: Any) -> np.ndarray:
    """Decode RLEs to binary masks.

    Parameters
    ----------
    rles : dict or list of dict
        RLEs with compressed or uncompressed counts, all of one size for a list.

    Returns
    -------
    ndarray of uint8
        ``(H, W)`` for one dict, ``(N, H, W)`` for a list.

    Examples
    --------
    >>> from ioukit import rle
    >>> rle.decode({"size": [2, 2], "counts": [1, 3]})
    array([[0, 1],
           [1, 1]], dtype=uint8)
    """
    parsed, single = parse_rles(rles, "rles", "rle.decode")
    h, w = parsed.common_size("rles", "rle.decode")
    out = np.zeros((len(parsed), h, w), dtype=np.uint8)
    if out.size:
        parallel_call(kernel("cpu_rle").masks_from_counts, parsed.counts, parsed.offsets, out)
    return out[0] if single else out


def area(rles: Any) -> int | np.ndarray:
    """Foreground pixel count of each RLE.

    Examples
    --------
    >>> from ioukit import rle
    >>> rle.area({"size": [2, 2], "counts": [1, 3]})
    3
    """
    parsed, single = parse_rles(rles, "rles", "rle.area")
    areas = parsed.areas()
    return int(areas[0]) if single else areas


def to_bbox(rles: Any) -> np.ndarray:
    """Bounding box ``[x, y, w, h]`` of each RLE's foreground (pycocotools' ``toBbox``).

    Examples
    --------
    >>> from ioukit import rle
    >>> rle.to_bbox({"size": [2, 2], "counts": [1, 3]})
    array([0., 0., 2., 2.])
    """
    parsed, single = parse_rles(rles, "rles", "rle.to_bbox")
    out = np.empty((len(parsed), 4), dtype=np.float64)
    if len(parsed):
        parallel_call(
            kernel("cpu_rle").bboxes_from_counts,
            parsed.counts,
            parsed.offsets,
            parsed.heights,
            parsed.widths,
            out,
        )
    return out[0] if single else out


def merge(rles: Any, intersect: bool = False) -> dict:
    """Union (or, with ``intersect=True``, intersection) of RLEs of one size.

    Examples
    --------
    >>> from ioukit import rle
    >>> a = {"size": [2, 2], "counts": [0, 1, 3]}
    >>> b = {"size": [2, 2], "counts": [3, 1]}
    >>> rle.decode(rle.merge([a, b]))
    array([[1, 0],
           [0, 1]], dtype=uint8)
    """
    parsed, _ = parse_rles(rles, "rles", "rle.merge")
    if len(parsed) == 0:
        raise ValueError("rle.merge: argument 'rles' is empty")
    h, w = parsed.common_size("rles", "rle.merge")
    merged = _merged(parsed, bool(intersect))
    return to_dicts(from_counts_list([h], [w], [merged]))[0]


def from_polygons(polygons: Any, h: int, w: int) -> list[dict]:
    """Rasterise polygons exactly as pycocotools' ``frPyObjects`` does (one RLE each).

    Parameters
    ----------
    polygons : sequence of sequences
        Each polygon flat ``[x0, y0, x1, y1, ...]`` or ``(K, 2)``, at least 3 points.
    h, w : int
        Image height and width.

    Examples
    --------
    >>> from ioukit import rle
    >>> r = rle.from_polygons([[1, 1, 4, 1, 4, 3, 1, 3]], h=5, w=6)
    >>> rle.decode(r)[0]
    array([[0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0, 0],
           [0, 1, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0]], dtype=uint8)
    """
    height, width = _image_size(h, w, "rle.from_polygons")
    flat = [_flat_polygon(p, f"rle.from_polygons: polygon {i}") for i, p in enumerate(polygons)]
    n = len(flat)
    return to_dicts(_convert.polygons_to_rles(flat, np.full(n, height), np.full(n, width)))


def from_bbox(boxes: Any, h: int, w: int) -> dict | list[dict]:
    """RLE of ``[x, y, w, h]`` boxes (pycocotools' ``frBbox``: a 4-point polygon each).

    Examples
    --------
    >>> from ioukit import rle
    >>> rle.from_bbox([3, 5, 4, 1], h=20, w=20)["counts"]
    b'Q21c000000o7'
    """
    height, width = _image_size(h, w, "rle.from_bbox")
    arr = np.asarray(boxes, dtype=np.float64)
    single = arr.ndim == 1
    arr = arr.reshape(-1, 4) if arr.size or arr.ndim != 1 else arr.reshape(0, 4)
    check.check_box_values(np.ascontiguousarray(arr), "xywh", "boxes", "rle.from_bbox")
    x0, y0 = arr[:, 0], arr[:, 1]
    x1, y1 = x0 + arr[:, 2], y0 + arr[:, 3]
    corners = np.stack([x0, y0, x0, y1, x1, y1, x1, y0], axis=1)
    far = ~(np.abs(corners) <= MAX_COORDINATE).all(axis=1)
    if far.any():
        i = int(np.argmax(far))
        raise ValueError(
            f"rle.from_bbox: box {i} = {arr[i].tolist()} has a corner beyond +-{MAX_COORDINATE:.0e}"
        )
    polys = list(corners)
    n = len(polys)
    return _one_or_many(
        to_dicts(_convert.polygons_to_rles(polys, np.full(n, height), np.full(n, width))), single
    )


def from_uncompressed(rles: Any, validate: bool = True) -> dict | list[dict]:
    """Compress RLEs whose counts are plain integer lists (COCO crowd annotations).

    Parameters
    ----------
    rles : dict or list of dict
        ``{"size": [h, w], "counts": [int, ...]}``.
    validate : bool, default True
        Check that the counts are non-negative and add up to ``h * w``
        (pycocotools does not check; ``False`` compresses them as they are).

    Examples
    --------
    >>> from ioukit import rle
    >>> rle.from_uncompressed({"size": [2, 2], "counts": [1, 3]})
    {'size': [2, 2], 'counts': b'13'}
    """
    parsed, single = parse_rles(rles, "rles", "rle.from_uncompressed", validate=validate)
    return _one_or_many(to_dicts(parsed), single)


def from_segmentation(segmentation: Any, h: int, w: int, validate: bool = True) -> dict:
    """One RLE for a COCO annotation's ``segmentation`` (pycocotools' ``annToRLE``):
    the union of its polygons, or its RLE (compressed if it was not).

    Parameters
    ----------
    segmentation : list of polygons or dict
        Polygons ``[[x0, y0, x1, y1, ...], ...]`` or an RLE dict with compressed or
        uncompressed counts.
    h, w : int
        Image height and width (used for polygons; an RLE carries its own size).
    validate : bool, default True
        Check that uncompressed counts are non-negative and add up to ``h * w``.
        pycocotools passes them through unchecked; ``False`` does the same (they
        are compressed as they are, and only a compressed string can be decoded
        later, which is always checked).

    Returns
    -------
    dict
        ``{"size": [h, w], "counts": bytes}``.

    Examples
    --------
    >>> from ioukit import rle
    >>> square = [0, 0, 2, 0, 2, 2, 0, 2]
    >>> rle.area(rle.from_segmentation([square, [3, 3, 5, 3, 5, 5, 3, 5]], h=5, w=5))
    8
    >>> rle.from_segmentation({"size": [2, 2], "counts": [1, 1]}, 2, 2, validate=False)
    {'size': [2, 2], 'counts': b'11'}
    """
    height, width = _image_size(h, w, "rle.from_segmentation")
    rles = _convert.segmentations_to_rles(
        [segmentation],
        [height],
        [width],
        "segmentation",
        "rle.from_segmentation",
        validate=bool(validate),
    )
    return to_dicts(rles)[0]
