"""asv benchmarks for the semantic-segmentation confusion matrix."""

import numpy as np

from ioukit.semantic import SegmentationIoU, confusion_matrix


def label_maps(frames, h=1024, w=2048, classes=19, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, classes, (frames, h // 32, w // 32)).astype(np.uint8)
    small[rng.random(small.shape) < 0.08] = 255
    target = np.repeat(np.repeat(small, 32, axis=1), 32, axis=2)
    pred = np.roll(target, (5, 7), axis=(1, 2))
    pred[pred == 255] = 0
    return target, pred


class ConfusionMatrix:
    params = ([1, 20], ["uint8", "int64"])
    param_names = ["frames", "dtype"]

    def setup(self, frames, dtype):
        target, pred = label_maps(frames)
        self.target, self.pred = target.astype(dtype), pred.astype(dtype)
        confusion_matrix(self.target[:1, :8, :8], self.pred[:1, :8, :8], 19, 255)

    def time_confusion_matrix(self, frames, dtype):
        confusion_matrix(self.target, self.pred, 19, ignore_index=255)

    def time_streaming(self, frames, dtype):
        metric = SegmentationIoU(19, ignore_index=255)
        for t, p in zip(self.target, self.pred, strict=True):
            metric.update(t, p)
        metric.compute()
