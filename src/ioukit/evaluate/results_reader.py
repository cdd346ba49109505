"""The compiled reader of result files (see ``kernels.cpu_json``) behind ``read_detections``.

Returns None whenever the file is not in the plain shape or anything in it would
need an error message, so that the ordinary path (the strict JSON parser, then
the checks with their messages) handles it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .records import Detections, boxes_of_rles


def _scan(raw: bytes, masks: bool) -> Any:
    """``(image_ids, categories, values, sizes, counts, offsets)`` of a results file in
    the plain shape, or None."""
    from ..kernels import cpu_json

    # a result takes at least 40 bytes ({"image_id":1,"category_id":1,"score":1}), so
    # the per-result arrays stay within the file's size; more results: FAIL
    cap = min(raw.count(b"{"), len(raw) // 40) + 1
    buf = np.frombuffer(raw, dtype=np.uint8)
    image_ids = np.empty(cap, dtype=np.int64)
    category = np.empty(cap, dtype=np.int64)
    score_text = np.empty(len(raw) + 16, dtype=np.uint8)
    box_text = np.empty(len(raw) + 16, dtype=np.uint8)
    sizes = np.empty((cap if masks else 1, 2), dtype=np.int64)
    counts = np.empty(len(raw) + 1 if masks else 1, dtype=np.uint8)
    offsets = np.empty(cap + 1, dtype=np.int64)
    status, n, n_score, n_box, has_bbox = cpu_json.scan_results(
        buf, masks, image_ids, category, score_text, box_text, sizes, counts, offsets
    )
    if status != cpu_json.OK or n == 0:
        return None
    scores = np.fromstring(score_text[:n_score].tobytes(), dtype=np.float64, sep=" ")
    boxes = None
    if has_bbox:
        boxes = np.fromstring(box_text[:n_box].tobytes(), dtype=np.float64, sep=" ")
        if boxes.shape[0] != 4 * n:
            return None
        boxes = boxes.reshape(n, 4)
    if scores.shape[0] != n:
        return None
    return image_ids[:n], category[:n], scores, boxes, sizes[:n], counts, offsets[: n + 1]


def read_results_file(path: Any, gt: Any, iou_type: str) -> Any:
    from .._core.validate import check_box_values
    from .._masks.rleset import RLESet, decode_buffer

    with open(os.fspath(path), "rb") as handle:
        raw = handle.read()
    masks = iou_type == "segm"
    scan = _scan(raw, masks)
    if scan is not None and scan[3] is None and iou_type == "bbox":
        scan = _scan(raw, True)  # no boxes: bbox evaluation derives them from the masks
        masks = True
    if scan is None:
        return None
    image_ids, category, scores, boxes, sizes, counts, offsets = scan
    n = len(scores)
    if len(gt.image_ids) == 0 or not np.isfinite(scores).all():
        return None
    position = np.minimum(np.searchsorted(gt.image_ids, image_ids), len(gt.image_ids) - 1)
    if (gt.image_ids[position] != image_ids).any():
        return None
    if boxes is not None:
        try:
            check_box_values(boxes, "xywh", "detection", "coco_evaluate")
        except ValueError:
            return None
    rles = None
    if masks:
        if (sizes[:, 0] < 0).any():
            return None  # some results have boxes only: their polygons take the usual path
        if (sizes > 2**31).any():
            return None  # the RLE reader's messages (and no overflow in h * w here)
        try:
            decoded, starts = decode_buffer(
                counts,
                offsets[:-1],
                offsets[1:],
                sizes[:, 0] * sizes[:, 1],
                "detection segmentation",
                "coco_evaluate",
            )
        except (ValueError, OverflowError):
            return None
        rles = RLESet(sizes[:, 0].copy(), sizes[:, 1].copy(), decoded, starts)
    if boxes is None and iou_type == "bbox":
        boxes, areas = boxes_of_rles(rles)
        return Detections(position.astype(np.int64), category, scores, boxes, areas, None, None)
    areas = boxes[:, 2] * boxes[:, 3] if boxes is not None else np.zeros(n)
    return Detections(position.astype(np.int64), category, scores, boxes, areas, None, rles)
