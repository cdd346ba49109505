"""asv benchmarks for the box kernels over size, dtype and metric grids."""

import numpy as np

import ioukit

from .common import random_boxes, spread_boxes

METRICS = {
    "iou": ioukit.box_iou,
    "giou": ioukit.box_giou,
    "diou": ioukit.box_diou,
    "ciou": ioukit.box_ciou,
    "ioa": ioukit.box_ioa,
}


class PairwiseBoxes:
    """N x M pairwise matrices written into a preallocated ``out``."""

    params = ([100, 1000, 2000, 5000], ["float32", "float64"], list(METRICS))
    param_names = ["n", "dtype", "metric"]

    def setup(self, n, dtype, metric):
        self.a = random_boxes(n, dtype, seed=1)
        self.b = random_boxes(n, dtype, seed=2)
        self.out = np.empty((n, n), dtype=dtype)
        self.func = METRICS[metric]
        self.func(self.a, self.b, out=self.out)  # compile / load outside the timing

    def time_pairwise(self, n, dtype, metric):
        self.func(self.a, self.b, out=self.out)

    def time_pairwise_no_validation(self, n, dtype, metric):
        self.func(self.a, self.b, out=self.out, validate=False)


class AlignedBoxes:
    params = ([10_000, 1_000_000], ["float32", "float64"], list(METRICS))
    param_names = ["n", "dtype", "metric"]

    def setup(self, n, dtype, metric):
        self.a = random_boxes(n, dtype, seed=1)
        self.b = random_boxes(n, dtype, seed=2)
        self.func = METRICS[metric]
        self.func(self.a[:2], self.b[:2], aligned=True)

    def time_aligned(self, n, dtype, metric):
        self.func(self.a, self.b, aligned=True)


class ThresholdBoxes:
    """``box_iou(threshold=)``: the sparse path, only the pairs at or above the
    threshold, on boxes with a few neighbours each (a dense result would not fit)."""

    params = ([10_000, 300_000], [0.5, 0.9])
    param_names = ["n", "threshold"]

    def setup(self, n, threshold):
        self.a = spread_boxes(n, seed=1)
        self.b = spread_boxes(n, seed=2)
        ioukit.box_iou(self.a[:100], self.b[:100], threshold=threshold)

    def time_box_iou_threshold(self, n, threshold):
        ioukit.box_iou(self.a, self.b, threshold=threshold)

    def peakmem_box_iou_threshold(self, n, threshold):
        ioukit.box_iou(self.a, self.b, threshold=threshold)


class CrowdAndFormats:
    params = ([1000], ["xyxy", "xywh", "cxcywh"])
    param_names = ["n", "fmt"]

    def setup(self, n, fmt):
        boxes = random_boxes(n, "float64")
        self.a = ioukit.box_convert(boxes, "xyxy", fmt)
        self.b = ioukit.box_convert(random_boxes(n, "float64", seed=3), "xyxy", fmt)
        self.crowd = np.arange(n) % 7 == 0
        self.fmt = fmt
        ioukit.box_iou(self.a, self.b, fmt=fmt, crowd=self.crowd)

    def time_crowd_iou(self, n, fmt):
        ioukit.box_iou(self.a, self.b, fmt=self.fmt, crowd=self.crowd)


class SmallCalls:
    """Per-call overhead: many tiny matrices, as in per-image evaluation."""

    params = ([10, 100],)
    param_names = ["n"]

    def setup(self, n):
        self.a = random_boxes(n, "float64", seed=1)
        self.b = random_boxes(n, "float64", seed=2)
        ioukit.box_iou(self.a, self.b)

    def time_small_box_iou(self, n):
        ioukit.box_iou(self.a, self.b)


class Helpers:
    params = ([100_000],)
    param_names = ["n"]

    def setup(self, n):
        self.boxes = random_boxes(n, "float32")
        ioukit.box_area(self.boxes[:2])
        ioukit.box_convert(self.boxes[:2], "xyxy", "cxcywh")

    def time_box_area(self, n):
        ioukit.box_area(self.boxes)

    def time_box_convert(self, n):
        ioukit.box_convert(self.boxes, "xyxy", "cxcywh")


class StartUp:
    """Time to import ioukit (compiles nothing)."""

    def timeraw_import(self):
        return "import ioukit"
