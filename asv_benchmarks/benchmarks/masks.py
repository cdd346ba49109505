"""asv benchmarks for mask IoU (dense, sparse, RLE), the RLE codec and label_overlap."""

import numpy as np
from scipy import sparse

import ioukit
from ioukit import rle

from .common import ellipses, inputs


class MaskIoU:
    params = ([10, 100, 1000], ["dense", "rle", "sparse"])
    param_names = ["n", "representation"]

    def setup(self, n, representation):
        a, b = ellipses(n, seed=1), ellipses(n, seed=2)
        if representation == "rle":
            a, b = rle.encode(a), rle.encode(b)
        elif representation == "sparse":
            a, b = sparse.csr_array(a.reshape(n, -1)), sparse.csr_array(b.reshape(n, -1))
        self.a, self.b = a, b
        ioukit.mask_iou(a, b)  # compile outside the timing

    def time_mask_iou(self, n, representation):
        ioukit.mask_iou(self.a, self.b)


class RLECodec:
    params = ([100, 1000],)
    param_names = ["n"]

    def setup(self, n):
        self.masks = ellipses(n)
        self.rles = rle.encode(self.masks)
        self.polygons = inputs.polygons(n)
        rle.decode(self.rles[:2])
        rle.from_polygons(self.polygons[:2], 480, 640)

    def time_encode(self, n):
        rle.encode(self.masks)

    def time_decode(self, n):
        rle.decode(self.rles)

    def time_area_and_bbox(self, n):
        rle.area(self.rles)
        rle.to_bbox(self.rles)

    def time_from_polygons(self, n):
        rle.from_polygons(self.polygons, 480, 640)


class LabelOverlap:
    params = ([100, 1000],)
    param_names = ["instances"]

    def setup(self, instances):
        rng = np.random.default_rng(0)
        self.a = rng.integers(0, instances, (1024, 1024)).astype(np.int32)
        self.b = np.roll(self.a, 3, axis=1)
        ioukit.label_overlap(self.a[:4, :4], self.b[:4, :4])

    def time_label_overlap(self, instances):
        ioukit.label_overlap(self.a, self.b)
