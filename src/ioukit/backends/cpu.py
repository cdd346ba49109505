"""The CPU backend: host arrays (NumPy, lists, torch CPU tensors, ``__array__``).

Box jobs run in :mod:`ioukit._boxes.cpu`; the host mask and semantic paths are
the front-ends themselves (:mod:`ioukit.masks`, :mod:`ioukit.semantic`), which
this module exposes under the backend interface of :mod:`ioukit.backends`.
"""

from __future__ import annotations

from typing import Any

from .._boxes.cpu import run_boxes  # noqa: F401 (the interface's box runner)

NAME = "CPU"

UNSUPPORTED_BOX_OPTIONS: dict[str, str] = {}


def mask_iou(a: Any, b: Any, crowd: Any = None) -> Any:
    """Mask IoU of host masks (dense, sparse or RLE): :func:`ioukit.mask_iou`."""
    from ..masks import mask_iou as host_mask_iou

    return host_mask_iou(a, b, crowd=crowd)


def confusion_matrix(target: Any, pred: Any, num_classes: int, ignore_index: int | None) -> Any:
    """Confusion matrix of host label maps: :func:`ioukit.semantic.confusion_matrix`."""
    from ..semantic import confusion_matrix as host_confusion_matrix

    return host_confusion_matrix(target, pred, num_classes, ignore_index)
