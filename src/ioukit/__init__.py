"""ioukit: fast Intersection over Union for boxes, masks and segmentation.

Importing ioukit compiles nothing and imports no numba: kernels are compiled
(or loaded from the on-disk cache) on first use, or ahead of time by
:func:`ioukit.warmup`.
"""

from . import rle, semantic
from ._core.warmup import warmup
from .boxes import box_area, box_ciou, box_convert, box_diou, box_giou, box_ioa, box_iou
from .masks import LabelOverlap, label_overlap, mask_iou
from .polygons import polygon_iou, rotated_box_corners
from .suppression import batched_nms, mask_nms, nms, soft_nms

__version__ = "0.1.0"

__all__ = [
    "LabelOverlap",
    "label_overlap",
    "mask_iou",
    "rle",
    "semantic",
    "box_area",
    "box_ciou",
    "box_convert",
    "box_diou",
    "box_giou",
    "box_ioa",
    "box_iou",
    "warmup",
    "nms",
    "batched_nms",
    "soft_nms",
    "mask_nms",
    "polygon_iou",
    "rotated_box_corners",
    "__version__",
]


def __getattr__(name: str) -> object:
    """``ioukit.evaluate`` and ``ioukit.distributed`` load on first use, so that a bare
    ``import ioukit`` reaches them and still imports neither them nor numba."""
    if name in ("evaluate", "distributed"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
