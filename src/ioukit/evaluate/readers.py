"""Reading COCO ground truth and detection results into flat, validated arrays.

Semantics follow pycocotools' ``COCO`` and ``loadRes``: detections get
``id = index + 1`` and ``iscrowd = 0``; when the first result has a non-empty
``bbox`` every detection's area is ``w * h`` (and a missing segmentation is the
box's polygon), otherwise its area is the area of its mask. Malformed input
raises ValueError naming the file part and the annotation, instead of a
``KeyError`` from deep inside.

Documented differences from pycocotools: image ids may be integers or strings of
digits (cast to int, as faster-coco-eval does); a missing ``iscrowd`` means 0
(LVIS); an empty result list evaluates to no detections instead of raising.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from typing import Any

import numpy as np

from .._core.validate import check_box_values, short_repr
from .records import Detections, GroundTruth, boxes_of_rles
from .results_reader import read_results_file

_ORJSON_DEPTH = 512  # deeper files go to json.loads, whose recursion limit is a clean error

FAST_JSON_BYTES = 16 << 20
"""Files from this size on go through the fast readers: orjson (when installed,
behind the compiled nesting-depth guard) and, for plain ``.json`` results, the
compiled results scanner. Smaller files take the standard ``json`` module alone:
0.03 s for 1.5 MB of results and 0.2 s for 5-10 MB (0.1-0.17 s more than the fast
readers, warm), against the half second importing numba takes a fresh process and
the 10 s those kernels take to compile on a first run. In a process that has
imported numba already, :data:`FAST_JSON_BYTES_NUMBA` applies instead. Both paths
accept and refuse the same files with the same messages."""

FAST_JSON_BYTES_NUMBA = 1 << 20
""":data:`FAST_JSON_BYTES` once numba is imported (the fast readers then cost only
their compile, once, or nothing when cached)."""


def _fast_from() -> int:
    """The file size from which the fast readers run (see :data:`FAST_JSON_BYTES`)."""
    if "numba" in sys.modules:
        return min(FAST_JSON_BYTES, FAST_JSON_BYTES_NUMBA)
    return FAST_JSON_BYTES


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(raw: bytes, where: str) -> Any:
    """Parse ``raw`` as strict JSON (RFC 8259), raising ValueError naming ``where``.

    From :data:`FAST_JSON_BYTES` on (see there), orjson (optional) is tried first on files it
    reads exactly as the standard parser does (nesting below 512, no integer past 64
    bits); whatever it rejects goes to ``json.loads`` with NaN / Infinity refused,
    so the standard parser decides (the last of duplicate keys wins in both). Nesting
    too deep for the parser is a ValueError, never a RecursionError.

    Examples
    --------
    >>> from ioukit.evaluate.readers import parse_json
    >>> parse_json(b'{"a": 1, "a": 2}', "example")
    {'a': 2}
    >>> parse_json(b"[NaN]", "example")
    Traceback (most recent call last):
    ...
    ValueError: example is not valid JSON: NaN is not a JSON value
    """
    if len(raw) >= _fast_from():
        try:
            import orjson  # optional, several times faster on large files
        except ImportError:
            orjson = None
        if orjson is not None:
            from ..kernels.cpu_json import orjson_unsafe

            # orjson 3.8 recurses on the C stack without a limit (a segfault near 10**7
            # levels) and reads integers past 64 bits as floats: those files go to json
            if not orjson_unsafe(np.frombuffer(raw, dtype=np.uint8), _ORJSON_DEPTH):
                try:
                    return orjson.loads(raw)
                except (ValueError, RecursionError):
                    pass  # orjson is stricter in places (numbers past double): json decides
    try:
        # UTF-8 only (RFC 8259 8.1, and pycocotools): bytes given to json.loads would
        # also be read as UTF-16, UTF-32 or with a byte order mark
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"{where} is not valid JSON: nested too deeply") from None
    except ValueError as err:  # UnicodeDecodeError included
        raise ValueError(f"{where} is not valid JSON: {err}") from None


def load_json(source: Any, what: str) -> Any:
    """``source`` itself if already loaded, else the JSON file it names."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    path = os.fspath(source)
    if path.endswith(".gz"):
        import gzip
        import zlib

        try:
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        except (EOFError, OSError, zlib.error) as err:
            raise ValueError(f"{what} file {path!r} is not a readable gzip file: {err}") from None
    else:
        with open(path, "rb") as handle:
            raw = handle.read()
    return parse_json(raw, f"{what} file {path!r}")


def _named(source: Any, what: str, err: ValueError) -> ValueError:
    """``err`` with the file name in front when ``source`` is a path."""
    if isinstance(source, (str, os.PathLike)) and os.fspath(source) not in str(err):
        return ValueError(f"{what} file {os.fspath(source)!r}: {err}")
    return err


_INT64 = 2**63

_show = short_repr


def _ident(item: Any) -> str:
    return _show(item["id"]) if isinstance(item, dict) and "id" in item else "?"


def _image_id(value: Any, where: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where} has image id {_show(value)}, expected an integer")
    if isinstance(value, (int, np.integer)):
        number = int(value)
    elif isinstance(value, str) and value.strip().removeprefix("-").isdecimal():
        number = int(value)  # isdecimal: what int() reads ('²' is a digit, not decimal)
    else:
        raise ValueError(
            f"{where} has image id {_show(value)}, expected an integer or a string of digits"
        )
    if not -_INT64 <= number < _INT64:
        raise ValueError(f"{where} has image id {_show(value)}, which does not fit in int64")
    return number


def _image_ids(items: list, what: str) -> np.ndarray:
    try:
        values = [item["image_id"] for item in items]
        if set(map(type, values)) <= {int}:
            return np.asarray(values, dtype=np.int64).reshape(len(items))
    except (KeyError, TypeError, OverflowError):
        pass
    ids = np.empty(len(items), dtype=np.int64)
    for i, item in enumerate(items):
        where = f"{what} {i}"
        if not isinstance(item, dict):
            raise ValueError(f"{where} is a {type(item).__name__}, not an object") from None
        if "image_id" not in item:
            raise ValueError(f"{where} has no 'image_id'") from None
        ids[i] = _image_id(item["image_id"], where)
    return ids


def _number(value: Any, kind: str) -> Any:
    """``value`` as a Python int (``kind`` "int", or "flag" where booleans are fine too)
    or float ("float"); None when it is not a number of that kind (strings, lists,
    booleans, integers past int64, non-integral floats for integers)."""
    if isinstance(value, (bool, np.bool_)):
        return int(value) if kind == "flag" else None
    if isinstance(value, (int, np.integer)):
        if kind == "float":
            try:
                return float(value)
            except OverflowError:
                return None
        return int(value) if -_INT64 <= int(value) < _INT64 else None
    if isinstance(value, (float, np.floating)):
        if kind == "float":
            return float(value)
        if np.isfinite(value) and float(value).is_integer() and -_INT64 <= value < _INT64:
            return int(value)
    return None


def _column(items: list, key: str, what: str, kind: str, default: Any = None) -> np.ndarray:
    """One numeric field of every item (``kind``: "int", "flag" or "float"), checked:
    a missing key, a string, a list or an integer past int64 is a ValueError naming
    the item."""
    dtype = np.float64 if kind == "float" else np.int64
    try:
        if default is None:
            values = [item[key] for item in items]
        else:
            values = [item.get(key, default) for item in items]
        if set(map(type, values)) <= ({int, float} if kind == "float" else {int}):
            return np.asarray(values, dtype=dtype).reshape(len(items))
    except (KeyError, TypeError, AttributeError, OverflowError):
        pass
    out = np.empty(len(items), dtype=dtype)
    expected = "a number" if kind == "float" else "an integer"
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"{what} {i} is a {type(item).__name__}, not an object")
        if key not in item and default is None:
            raise ValueError(f"{what} {i} (id {_ident(item)}) has no {key!r}")
        value = _number(item.get(key, default), kind)
        if value is None:
            raise ValueError(
                f"{what} {i} (id {_ident(item)}) has {key}={_show(item.get(key, default))}, "
                f"expected {expected}"
            )
        out[i] = value
    return out


def _boxes(items: list, what: str) -> np.ndarray:
    try:
        coords = list(itertools.chain.from_iterable(item["bbox"] for item in items))
        if len(coords) != 4 * len(items) or not set(map(type, coords)) <= {int, float}:
            raise ValueError
        boxes = np.asarray(coords, dtype=np.float64).reshape(-1, 4)
        if any(len(item["bbox"]) != 4 for item in items):
            raise ValueError
    except (KeyError, TypeError, ValueError, OverflowError):
        boxes = np.empty((len(items), 4))
        for i, item in enumerate(items):
            box = item.get("bbox") if isinstance(item, dict) else None
            values = [_number(v, "float") for v in box] if isinstance(box, list) else []
            if len(values) != 4 or any(v is None for v in values):
                raise ValueError(
                    f"{what} {i} (id {_ident(item)}) "
                    f"has bbox {_show(box)}, expected [x, y, w, h] (4 numbers)"
                ) from None
            boxes[i] = values
    check_box_values(np.ascontiguousarray(boxes), "xywh", what, "coco_evaluate")
    return boxes


def _sizes(images: list, key: str) -> list:
    """``{key: value}`` of each image, a missing or null size read as 0 (unknown)."""
    return [{key: (img.get(key) if isinstance(img, dict) else None) or 0} for img in images]


def read_ground_truth(source: Any, iou_type: str) -> GroundTruth:
    """Validate and flatten a COCO ground-truth file or dict (errors name the file)."""
    try:
        return _read_ground_truth(source, iou_type)
    except ValueError as err:
        raise _named(source, "ground truth", err) from None


def _read_ground_truth(source: Any, iou_type: str) -> GroundTruth:
    data = load_json(source, "ground truth")
    if not isinstance(data, dict):
        raise ValueError(f"ground truth must be a COCO dict, got {type(data).__name__}")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise ValueError(f"ground truth has no {key!r} list")
        wrong = [i for i, item in enumerate(data[key]) if not isinstance(item, dict)]
        if wrong:
            kind = type(data[key][wrong[0]]).__name__
            raise ValueError(f"ground-truth {key[:-1]} {wrong[0]} must be a dict, got {kind}")
    images = data["images"]
    image_ids = np.array(
        [_image_id(img.get("id"), f"ground-truth image {i}") for i, img in enumerate(images)],
        dtype=np.int64,
    )
    order = np.argsort(image_ids, kind="mergesort")
    sorted_ids = image_ids[order]
    if np.any(sorted_ids[1:] == sorted_ids[:-1]):
        dup = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]][0]
        raise ValueError(f"ground truth lists image id {dup} twice")
    sorted_images = [images[i] for i in order.tolist()]
    heights = _column(_sizes(sorted_images, "height"), "height", "ground-truth image", "int")
    widths = _column(_sizes(sorted_images, "width"), "width", "ground-truth image", "int")
    categories = data.get("categories")
    categories = [] if categories is None else categories
    if not isinstance(categories, list):
        raise ValueError(f"ground truth 'categories' is a {type(categories).__name__}, not a list")
    listed = _column(categories, "id", "ground-truth category", "int")
    category_ids, first = np.unique(listed, return_index=True)
    if category_ids.size < listed.size:
        # pycocotools would count such a category twice in every mean: refuse it
        repeated = np.setdiff1d(np.arange(listed.size), first)[0]
        raise ValueError(f"ground-truth category {repeated} repeats category id {listed[repeated]}")
    names = {int(c["id"]): str(c.get("name", c["id"])) for c in categories}
    anns = data["annotations"]
    what = "ground-truth annotation"
    ann_images = _image_ids(anns, what)
    position = np.searchsorted(sorted_ids, ann_images)
    position = np.minimum(position, max(len(sorted_ids) - 1, 0))
    unknown = (sorted_ids[position] != ann_images) if len(sorted_ids) else np.ones(len(anns), bool)
    if unknown.any():
        i = int(np.argmax(unknown))
        raise ValueError(
            f"{what} {i} (id {_ident(anns[i])}) refers to image {ann_images[i]}, "
            "which is not in 'images'"
        )
    segms = None
    if iou_type == "segm":
        missing = [i for i, a in enumerate(anns) if "segmentation" not in a]
        if missing:
            i = missing[0]
            raise ValueError(f"{what} {i} (id {_ident(anns[i])}) has no 'segmentation'")
        segms = [a["segmentation"] for a in anns]
        if (heights[position] <= 0).any() or (widths[position] <= 0).any():
            bad = int(np.argmax((heights[position] <= 0) | (widths[position] <= 0)))
            raise ValueError(
                f"image {ann_images[bad]} needs 'height' and 'width' for segm evaluation"
            )
    return GroundTruth(
        image_ids=sorted_ids,
        heights=heights,
        widths=widths,
        category_ids=category_ids,
        category_names=names,
        ann_ids=_column(anns, "id", what, "int"),
        ann_image=position.astype(np.int64),
        ann_category=_column(anns, "category_id", what, "int"),
        boxes=_boxes(anns, what) if iou_type == "bbox" else np.zeros((len(anns), 4)),
        areas=_column(anns, "area", what, "float"),
        crowd=_column(anns, "iscrowd", what, "flag", default=0) != 0,
        segmentations=segms,
    )


def read_detections(source: Any, gt: GroundTruth, iou_type: str) -> Detections:
    """Validate and flatten detection results (pycocotools ``loadRes`` rules).

    Plain ``.json`` files from :data:`FAST_JSON_BYTES` on in the common shape go
    through a compiled reader (no Python dicts); any other input, and any file that
    reader is unsure of, through the JSON parser.
    Errors name the file and the offending result.
    """
    try:
        if _fast_file(source):
            fast = read_results_file(source, gt, iou_type)
            if fast is not None:
                return fast
        return _read_detections(load_json(source, "detections"), gt, iou_type)
    except ValueError as err:
        raise _named(source, "detections", err) from None


def _fast_file(source: Any) -> bool:
    """Whether ``source`` is a plain ``.json`` file large enough for the compiled reader."""
    if not isinstance(source, (str, os.PathLike)) or os.fspath(source).endswith(".gz"):
        return False
    try:
        return os.path.getsize(source) >= _fast_from()
    except OSError:
        return True  # the reader opens it and reports the error


def _boxes_from_masks(data: list, gt: GroundTruth, position: np.ndarray, what: str):
    """bbox evaluation of results without boxes: as ``loadRes``, each box is its mask's
    ``toBbox`` (a result's own ``bbox`` is kept) and each area its mask's area."""
    from .._masks.convert import segmentations_to_rles

    segms = []
    for i, det in enumerate(data):
        segm = det.get("segmentation")
        if segm is None or (isinstance(segm, (list, dict)) and len(segm) == 0):
            raise ValueError(
                f"{what} {i} has neither 'bbox' nor 'segmentation' (bbox evaluation derives "
                "a missing box from the mask, as pycocotools' loadRes does)"
            )
        segms.append(segm)
    rles = segmentations_to_rles(
        segms, gt.heights[position], gt.widths[position], "detection segmentation", "coco_evaluate"
    )
    boxes, areas = boxes_of_rles(rles)
    given = [i for i, det in enumerate(data) if "bbox" in det]
    if given:
        boxes[given] = _boxes([data[i] for i in given], what)
    check_box_values(np.ascontiguousarray(boxes), "xywh", what, "coco_evaluate")
    return boxes, areas


def _read_detections(data: Any, gt: GroundTruth, iou_type: str) -> Detections:
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        data = data["annotations"]
    if not isinstance(data, list):
        raise ValueError(f"detections must be a list of results, got {type(data).__name__}")
    what = "detection"
    n = len(data)
    images = _image_ids(data, what)
    position = np.searchsorted(gt.image_ids, images)
    position = np.minimum(position, max(len(gt.image_ids) - 1, 0))
    unknown = (gt.image_ids[position] != images) if len(gt.image_ids) else np.ones(n, bool)
    if unknown.any():
        i = int(np.argmax(unknown))
        raise ValueError(
            f"{what} {i} refers to image {images[i]}, which is not in the ground truth"
        )
    category = _column(data, "category_id", what, "int")
    scores = _column(data, "score", what, "float")
    if n and not np.isfinite(scores).all():
        i = int(np.argmax(~np.isfinite(scores)))
        raise ValueError(f"{what} {i} has score {_show(data[i]['score'])}")
    from_boxes = n > 0 and bool(data[0].get("bbox"))
    boxes = _boxes(data, what) if from_boxes else None
    areas = boxes[:, 2] * boxes[:, 3] if boxes is not None else np.zeros(n)
    segms = None
    if iou_type == "bbox" and boxes is None and n:
        boxes, areas = _boxes_from_masks(data, gt, position, what)
    if iou_type == "segm":
        segms = []
        for i, det in enumerate(data):
            if "segmentation" in det and det["segmentation"] not in (None, []):
                segms.append(det["segmentation"])
            elif boxes is not None:
                x, y, w, h = boxes[i]
                segms.append([[x, y, x, y + h, x + w, y + h, x + w, y]])
            else:
                raise ValueError(f"{what} {i} has neither 'segmentation' nor 'bbox'")
    return Detections(position.astype(np.int64), category, scores, boxes, areas, segms)
