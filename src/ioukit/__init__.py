"""ioukit: fast Intersection over Union for boxes, masks and segmentation.

Importing ioukit compiles nothing and imports no numba: kernels are compiled
(or loaded from the on-disk cache) on first use, or ahead of time by
:func:`ioukit.warmup`. The public names load on first use too (PEP 562), so a
command that needs only part of the library imports only that part.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names the lazy loader below provides
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


_MODULES = ("rle", "semantic", "evaluate", "distributed")
_NAMES = {
    "warmup": "._core.warmup",
    **dict.fromkeys(
        ("box_area", "box_ciou", "box_convert", "box_diou", "box_giou", "box_ioa", "box_iou"),
        ".boxes",
    ),
    **dict.fromkeys(("LabelOverlap", "label_overlap", "mask_iou"), ".masks"),
    **dict.fromkeys(("polygon_iou", "rotated_box_corners"), ".polygons"),
    **dict.fromkeys(("batched_nms", "mask_nms", "nms", "soft_nms"), ".suppression"),
}


def __getattr__(name: str) -> object:
    """Load a public name (and its module) on first use: ``import ioukit`` imports
    neither numba nor the parts of ioukit a program never touches."""
    if name in _MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
    elif name in _NAMES:
        module = getattr(importlib.import_module(_NAMES[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_MODULES))
