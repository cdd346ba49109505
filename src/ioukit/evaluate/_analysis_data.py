"""Shared input handling of the detection analyses: any source to evaluation arrays,
objects grouped by image, and pairwise IoU within one image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .readers import read_detections, read_ground_truth
from .records import Detections, GroundTruth


def _rles(segmentations: list, images: np.ndarray, truth: GroundTruth, name: str, func: str):
    from .._masks.convert import segmentations_to_rles

    return segmentations_to_rles(
        list(segmentations), truth.heights[images], truth.widths[images], name, func
    )


@dataclass
class Source:
    """Ground truth and detections as arrays, grouped by image."""

    truth: GroundTruth
    dets: Detections
    iou_type: str
    gt_rles: Any = None
    dt_rles: Any = None

    def __post_init__(self) -> None:
        n_img = self.truth.image_ids.shape[0]
        self.g_order = np.argsort(self.truth.ann_image, kind="stable")
        self.d_order = np.argsort(self.dets.image, kind="stable")
        bounds = np.arange(n_img + 1)
        self.g_start = np.searchsorted(self.truth.ann_image[self.g_order], bounds)
        self.d_start = np.searchsorted(self.dets.image[self.d_order], bounds)

    @property
    def n_images(self) -> int:
        return int(self.truth.image_ids.shape[0])

    def image(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(ground-truth rows, detection rows) of image ``i``, in input order."""
        g = self.g_order[self.g_start[i] : self.g_start[i + 1]]
        d = self.d_order[self.d_start[i] : self.d_start[i + 1]]
        return g, d

    def iou(self, d: np.ndarray, g: np.ndarray, crowd: bool = False) -> np.ndarray:
        """(len(d), len(g)) IoU of detections ``d`` with ground truth ``g`` (COCO's
        crowd rule against every ``g`` when ``crowd``)."""
        if d.shape[0] == 0 or g.shape[0] == 0:
            return np.zeros((d.shape[0], g.shape[0]))
        if self.iou_type == "bbox":
            return _xywh_iou(self.dets.boxes[d], self.truth.boxes[g], crowd)
        flags = np.full(g.shape[0], crowd)
        from .._masks.rleset import subset
        from ..masks import mask_iou

        return mask_iou(subset(self.dt_rles, d), subset(self.gt_rles, g), crowd=flags)


def _xywh_iou(a: np.ndarray, b: np.ndarray, crowd: bool) -> np.ndarray:
    """pycocotools' box IoU of every ``a`` with every ``b`` (xywh, float64), in NumPy:
    one image's few boxes cost less than a call into a parallel kernel."""
    w = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    w = np.maximum(w - np.maximum(a[:, None, 0], b[None, :, 0]), 0)
    h = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    h = np.maximum(h - np.maximum(a[:, None, 1], b[None, :, 1]), 0)
    inter = w * h
    area_a = (a[:, 2] * a[:, 3])[:, None]
    union = area_a if crowd else area_a + (b[:, 2] * b[:, 3])[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def load(source: Any, dt: Any, iou_type: str | None, func: str) -> Source:
    """A :class:`Source` from a MeanAveragePrecision or COCO ground truth + results."""
    from .streaming import MeanAveragePrecision

    if isinstance(source, MeanAveragePrecision):
        if dt is not None:
            raise TypeError(f"{func}: dt must be None when the source is a MeanAveragePrecision")
        iou_type = source._one_type(iou_type)
        truth, dets = source.arrays(iou_type)
    else:
        if dt is None:
            raise TypeError(f"{func}: give the detections (dt) with COCO ground truth")
        iou_type = iou_type or "bbox"
        if iou_type not in ("bbox", "segm"):
            raise ValueError(f"{func}: iou_type={iou_type!r} is not 'bbox' or 'segm'")
        if isinstance(source, GroundTruth) and isinstance(dt, Detections):
            truth, dets = source, dt  # read already (the command line reads once)
            if iou_type == "segm" and truth.segmentations is None:
                raise ValueError(f"{func}: the ground truth was read for bbox, not segm")
        else:
            truth = read_ground_truth(source, iou_type)
            dets = read_detections(dt, truth, iou_type)
    out = Source(truth, dets, iou_type)
    if iou_type == "segm":
        out.gt_rles = _rles(truth.segmentations, truth.ann_image, truth, "ground truth", func)
        if dets.rles is not None:
            out.dt_rles = dets.rles
        else:
            out.dt_rles = _rles(dets.segmentations, dets.image, truth, "detections", func)
    return out


def class_index(source: Source) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(classes, ground-truth class index, detection class index); detections of a
    category absent from the ground truth's list get their own classes."""
    classes = np.union1d(source.truth.category_ids, source.truth.ann_category)
    classes = np.union1d(classes, source.dets.category)
    return (
        classes,
        np.searchsorted(classes, source.truth.ann_category),
        np.searchsorted(classes, source.dets.category),
    )


def jsonable(value: Any) -> Any:
    """Floats with NaN as None, arrays as lists, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
