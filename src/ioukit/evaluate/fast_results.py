"""The compiled reader of result files (see ``kernels.cpu_json``) behind ``read_detections``.

Returns None whenever the file is not in the plain shape or anything in it would
need an error message, so that the ordinary path, with its messages, handles it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def read_results_file(path: Any, gt: Any, iou_type: str) -> Any:
    from .._rleset import RLESet, decode_buffer
    from .._validate import check_box_values
    from ..kernels import cpu_json
    from .coco_data import Detections

    with open(os.fspath(path), "rb") as handle:
        raw = handle.read()
    cap = raw.count(b"{") + 1
    masks = iou_type == "segm"
    buf = np.frombuffer(raw, dtype=np.uint8)
    image_ids = np.empty(cap, dtype=np.int64)
    category = np.empty(cap, dtype=np.int64)
    numbers = np.empty(len(raw) + 16, dtype=np.uint8)
    sizes = np.empty((cap if masks else 1, 2), dtype=np.int64)
    counts = np.empty(len(raw) + 1 if masks else 1, dtype=np.uint8)
    count_offsets = np.empty(cap + 1, dtype=np.int64)
    status, n, n_number_bytes, _, has_bbox = cpu_json.scan_results(
        buf, masks, image_ids, category, numbers, sizes, counts, count_offsets
    )
    if status != cpu_json.OK or n == 0:
        return None
    values = np.fromstring(numbers[:n_number_bytes].tobytes(), dtype=np.float64, sep=" ")
    if values.shape[0] != n * (5 if has_bbox else 1):
        return None
    values = values.reshape(n, -1)
    scores = values[:, 0].copy()
    image_ids, category = image_ids[:n], category[:n]
    if len(gt.image_ids) == 0 or not np.isfinite(scores).all():
        return None
    position = np.minimum(np.searchsorted(gt.image_ids, image_ids), len(gt.image_ids) - 1)
    if (gt.image_ids[position] != image_ids).any():
        return None
    boxes = np.ascontiguousarray(values[:, 1:]) if has_bbox else None
    if boxes is not None:
        try:
            check_box_values(boxes, "xywh", "detection", "coco_evaluate")
        except ValueError:
            return None
    elif iou_type == "bbox":
        return None
    rles = None
    if masks:
        sizes = sizes[:n]
        if (sizes[:, 0] < 0).any():
            return None  # some results have boxes only: their polygons take the usual path
        offsets = count_offsets[: n + 1]
        try:
            decoded, starts = decode_buffer(
                counts,
                offsets[:-1],
                offsets[1:],
                sizes[:, 0] * sizes[:, 1],
                "detection segmentation",
                "coco_evaluate",
            )
        except ValueError:
            return None
        rles = RLESet(sizes[:, 0].copy(), sizes[:, 1].copy(), decoded, starts)
    areas = boxes[:, 2] * boxes[:, 3] if boxes is not None else np.zeros(n)
    return Detections(position.astype(np.int64), category, scores, boxes, areas, None, rles)
