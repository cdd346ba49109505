"""The records that the COCO readers fill and the evaluation reads: ground truth and
detections as flat arrays (one row per image, category, annotation or result)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


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


def boxes_of_rles(rles: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(boxes, areas)`` of an RLESet: pycocotools' ``toBbox`` and ``area``."""
    from ..rle import _kernels, _parallel_call

    boxes = np.zeros((len(rles), 4), dtype=np.float64)
    if len(rles):
        _parallel_call(
            _kernels().bboxes_from_counts, rles.counts, rles.offsets, rles.heights, boxes
        )
    return boxes, rles.areas().astype(np.float64)
