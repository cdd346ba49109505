"""asv benchmarks for rotated-box IoU, polygon IoU and NMS."""

import numpy as np

import ioukit
from ioukit._boxes import rotated as _rotated

from .common import random_boxes


def random_rotated(n: int, dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 600
    wh = rng.random((n, 2)) * 120 + 1
    return np.c_[xy, wh, rng.uniform(-180, 180, n)].astype(dtype)


class PairwiseRotated:
    """N x N rotated IoU / GIoU (exact convex clipping)."""

    params = ([100, 1000], ["float32", "float64"], ["iou", "giou"])
    param_names = ["n", "dtype", "metric"]

    def setup(self, n, dtype, metric):
        self.a = random_rotated(n, dtype, seed=1)
        self.b = random_rotated(n, dtype, seed=2)
        _rotated.rotated_pairwise(metric, self.a[:2], self.b[:2], fmt="cxcywha")

    def time_pairwise(self, n, dtype, metric):
        _rotated.rotated_pairwise(metric, self.a, self.b, fmt="cxcywha")


class PolygonIoU:
    params = ([100, 1000],)
    param_names = ["n"]

    def setup(self, n):
        self.a = ioukit.rotated_box_corners(random_rotated(n, "float64", seed=3))
        self.b = ioukit.rotated_box_corners(random_rotated(n, "float64", seed=4))
        ioukit.polygon_iou(self.a[:2], self.b[:2])

    def time_polygon_iou(self, n):
        ioukit.polygon_iou(self.a, self.b)


class NMS:
    """Greedy NMS on axis-aligned and rotated boxes, and Soft-NMS."""

    params = ([1000, 20000], ["xyxy", "cxcywha"])
    param_names = ["n", "fmt"]

    def setup(self, n, fmt):
        rng = np.random.default_rng(5)
        self.boxes = (
            random_boxes(n, "float32", seed=6)
            if fmt == "xyxy"
            else random_rotated(n, "float32", seed=6)
        )
        self.scores = rng.random(n).astype(np.float32)
        ioukit.nms(self.boxes[:4], self.scores[:4], 0.5, fmt=fmt)

    def time_nms(self, n, fmt):
        ioukit.nms(self.boxes, self.scores, 0.5, fmt=fmt)


class SoftNMS:
    params = ([1000],)
    param_names = ["n"]

    def setup(self, n):
        rng = np.random.default_rng(7)
        self.boxes = random_boxes(n, "float64", seed=8)
        self.scores = rng.random(n)
        ioukit.soft_nms(self.boxes[:4], self.scores[:4])

    def time_soft_nms(self, n):
        ioukit.soft_nms(self.boxes, self.scores, method="gaussian")
