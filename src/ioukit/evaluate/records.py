"""The records that the COCO readers fill and the evaluation reads: ground truth and
detections as flat arrays (one row per image, category, annotation or result)."""

from __future__ import annotations

from dataclasses import dataclass, replace
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

    def take_annotations(self, index: np.ndarray) -> GroundTruth:
        """The same images and categories with the annotations at ``index`` only."""
        return replace(
            self,
            ann_ids=self.ann_ids[index],
            ann_image=self.ann_image[index],
            ann_category=self.ann_category[index],
            boxes=self.boxes[index],
            areas=self.areas[index],
            crowd=self.crowd[index],
            segmentations=_take_list(self.segmentations, index),
        )


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

    def take(self, index: np.ndarray) -> Detections:
        """The detections at ``index`` (an array of positions), in that order."""
        rles = self.rles
        if rles is not None:
            from .._masks.rleset import subset

            rles = subset(rles, index)
        return replace(
            self,
            image=self.image[index],
            category=self.category[index],
            scores=self.scores[index],
            boxes=None if self.boxes is None else self.boxes[index],
            areas=self.areas[index],
            segmentations=_take_list(self.segmentations, index),
            rles=rles,
        )


def _take_list(items: list | None, index: np.ndarray) -> list | None:
    return None if items is None else [items[i] for i in index.tolist()]


def boxes_of_rles(rles: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(boxes, areas)`` of an RLESet: pycocotools' ``toBbox`` and ``area``."""
    from ..rle import to_bbox

    return to_bbox(rles).reshape(len(rles), 4), rles.areas().astype(np.float64)
