"""asv benchmarks for the semantic-segmentation confusion matrix."""

from ioukit.semantic import SegmentationIoU, confusion_matrix

from .common import label_maps


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
