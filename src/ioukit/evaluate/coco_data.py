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
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import check_box_values


def load_json(source: Any, what: str) -> Any:
    """``source`` itself if already loaded, else the JSON file it names."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    path = os.fspath(source)
    if path.endswith(".gz"):
        import gzip

        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    else:
        with open(path, "rb") as handle:
            raw = handle.read()
    try:
        import orjson  # optional, several times faster on large result files

        return orjson.loads(raw)
    except ImportError:
        pass
    except ValueError as err:
        raise ValueError(f"{what} file {os.fspath(source)!r} is not valid JSON: {err}") from None
    try:
        return json.loads(raw)
    except ValueError as err:
        raise ValueError(f"{what} file {os.fspath(source)!r} is not valid JSON: {err}") from None


def _image_id(value: Any, where: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where} has image id {value!r}, expected an integer")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"{where} has image id {value!r}, expected an integer or a string of digits")


def _image_ids(items: list, what: str) -> np.ndarray:
    try:
        ids = np.fromiter((item["image_id"] for item in items), dtype=np.int64, count=len(items))
    except (KeyError, TypeError, ValueError, OverflowError):
        ids = np.empty(len(items), dtype=np.int64)
        for i, item in enumerate(items):
            where = f"{what} {i}"
            if not isinstance(item, dict):
                raise ValueError(f"{where} is a {type(item).__name__}, not an object") from None
            if "image_id" not in item:
                raise ValueError(f"{where} has no 'image_id'") from None
            ids[i] = _image_id(item["image_id"], where)
    return ids


def _column(items: list, key: str, what: str, dtype: Any, default: Any = None) -> np.ndarray:
    try:
        if default is None:
            values = [item[key] for item in items]
        else:
            values = [item.get(key, default) for item in items]
        arr = np.asarray(values, dtype=dtype)
        if arr.shape != (len(items),):
            raise ValueError
        return arr
    except (KeyError, TypeError, ValueError):
        pass
    for i, item in enumerate(items):
        if key not in item and default is None:
            raise ValueError(f"{what} {i} (id {item.get('id', '?')}) has no {key!r}")
        value = item.get(key, default)
        try:
            ok = np.asarray(value, dtype=dtype).shape == ()
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{what} {i} (id {item.get('id', '?')}) has {key}={value!r}")
    raise ValueError(f"{what}: cannot read {key!r}")


def _boxes(items: list, what: str) -> np.ndarray:
    try:
        flat = itertools.chain.from_iterable(item["bbox"] for item in items)
        boxes = np.fromiter(flat, dtype=np.float64, count=4 * len(items)).reshape(-1, 4)
        if any(len(item["bbox"]) != 4 for item in items):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        for i, item in enumerate(items):
            box = item.get("bbox")
            try:
                ok = np.asarray(box, dtype=np.float64).shape == (4,)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(
                    f"{what} {i} (id {item.get('id', '?')}) has bbox {box!r}, expected [x, y, w, h]"
                ) from None
        raise
    check_box_values(np.ascontiguousarray(boxes), "xywh", what, "coco_evaluate")
    return boxes


@dataclass
class GroundTruth:
    """COCO ground truth as arrays (annotations in file order)."""

    image_ids: np.ndarray  # sorted unique ids of the images
    heights: np.ndarray
    widths: np.ndarray
    category_ids: np.ndarray  # sorted
    category_names: dict[int, str]
    ann_ids: np.ndarray
    ann_image: np.ndarray  # index into image_ids
    ann_category: np.ndarray  # category id
    boxes: np.ndarray  # xywh
    areas: np.ndarray
    crowd: np.ndarray
    segmentations: list | None


@dataclass
class Detections:
    """Detection results as arrays (in file order)."""

    image: np.ndarray  # index into the ground truth's image_ids
    category: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray | None
    areas: np.ndarray
    segmentations: list | None
    rles: Any = None  # an RLESet instead of ``segmentations`` (the fast reader)


def read_ground_truth(source: Any, iou_type: str) -> GroundTruth:
    """Validate and flatten a COCO ground-truth file or dict."""
    data = load_json(source, "ground truth")
    if not isinstance(data, dict):
        raise ValueError(f"ground truth must be a COCO dict, got {type(data).__name__}")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise ValueError(f"ground truth has no {key!r} list")
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
    heights = np.array([images[i].get("height", 0) or 0 for i in order], dtype=np.int64)
    widths = np.array([images[i].get("width", 0) or 0 for i in order], dtype=np.int64)
    categories = data.get("categories") or []
    category_ids = np.unique(
        np.array([c["id"] for c in categories if isinstance(c, dict) and "id" in c], dtype=np.int64)
    )
    names = {int(c["id"]): str(c.get("name", c["id"])) for c in categories if "id" in c}
    anns = data["annotations"]
    what = "ground-truth annotation"
    ann_images = _image_ids(anns, what)
    position = np.searchsorted(sorted_ids, ann_images)
    position = np.minimum(position, max(len(sorted_ids) - 1, 0))
    unknown = (sorted_ids[position] != ann_images) if len(sorted_ids) else np.ones(len(anns), bool)
    if unknown.any():
        i = int(np.argmax(unknown))
        raise ValueError(
            f"{what} {i} (id {anns[i].get('id', '?')}) refers to image {ann_images[i]}, "
            "which is not in 'images'"
        )
    segms = None
    if iou_type == "segm":
        missing = [i for i, a in enumerate(anns) if "segmentation" not in a]
        if missing:
            i = missing[0]
            raise ValueError(f"{what} {i} (id {anns[i].get('id', '?')}) has no 'segmentation'")
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
        ann_ids=_column(anns, "id", what, np.int64),
        ann_image=position.astype(np.int64),
        ann_category=_column(anns, "category_id", what, np.int64),
        boxes=_boxes(anns, what) if iou_type == "bbox" else np.zeros((len(anns), 4)),
        areas=_column(anns, "area", what, np.float64),
        crowd=_column(anns, "iscrowd", what, np.int64, default=0) != 0,
        segmentations=segms,
    )


def read_detections(source: Any, gt: GroundTruth, iou_type: str) -> Detections:
    """Validate and flatten detection results (pycocotools ``loadRes`` rules).

    Files in the common shape go through a compiled reader (no Python dicts); any
    other input, and any file that reader is unsure of, through the JSON parser.
    """
    if isinstance(source, (str, os.PathLike)) and not os.fspath(source).endswith(".gz"):
        from .fast_results import read_results_file

        fast = read_results_file(source, gt, iou_type)
        if fast is not None:
            return fast
    data = load_json(source, "detections")
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
    category = _column(data, "category_id", what, np.int64)
    scores = _column(data, "score", what, np.float64)
    if n and not np.isfinite(scores).all():
        i = int(np.argmax(~np.isfinite(scores)))
        raise ValueError(f"{what} {i} has score {data[i]['score']!r}")
    from_boxes = n > 0 and bool(data[0].get("bbox"))
    boxes = _boxes(data, what) if from_boxes else None
    segms = None
    if iou_type == "bbox" and boxes is None and n:
        raise ValueError(f"{what} 0 has no 'bbox': bbox evaluation needs boxes")
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
    areas = boxes[:, 2] * boxes[:, 3] if boxes is not None else np.zeros(n)
    return Detections(position.astype(np.int64), category, scores, boxes, areas, segms)
