"""Semantic segmentation: confusion matrices, mIoU, streaming, label maps."""
