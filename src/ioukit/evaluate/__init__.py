"""Data-set evaluation: matching, mean-IoU reports, COCO AP/AR (files or a streaming
metric), panoptic quality and the detection analyses (PR curves, F1, confusion matrix,
TIDE errors)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names the lazy loader below provides
    from .analysis import confusion_matrix, error_breakdown, f1_scores, precision_recall
    from .boundary import boundary_iou, mask_boundary
    from .coco import coco_evaluate
    from .crowdpose import crowdpose_evaluate
    from .keypoints import keypoint_oks
    from .lvis import LVISResult, is_lvis, lvis_evaluate
    from .matching import Matches, match
    from .panoptic import PanopticQuality, panoptic_quality
    from .panoptic_core import PanopticResult
    from .panoptic_files import panoptic_evaluate
    from .params import STATS_NAMES, COCOParams, COCOResult, GtIdZeroWarning
    from .report import MeanIoUReport, mean_iou_report, report_from_result
    from .streaming import MeanAveragePrecision

__all__ = [
    "STATS_NAMES",
    "COCOParams",
    "COCOResult",
    "GtIdZeroWarning",
    "LVISResult",
    "Matches",
    "MeanAveragePrecision",
    "MeanIoUReport",
    "PanopticQuality",
    "PanopticResult",
    "boundary_iou",
    "coco_evaluate",
    "confusion_matrix",
    "crowdpose_evaluate",
    "error_breakdown",
    "f1_scores",
    "is_lvis",
    "keypoint_oks",
    "lvis_evaluate",
    "mask_boundary",
    "match",
    "mean_iou_report",
    "panoptic_evaluate",
    "panoptic_quality",
    "precision_recall",
    "report_from_result",
]

# Each public name and the submodule that defines it: loaded on first use (PEP 562),
# so ``ioukit eval`` imports the COCO path and not the analyses, panoptic or streaming.
_WHERE = {
    **dict.fromkeys(
        ("confusion_matrix", "error_breakdown", "f1_scores", "precision_recall"), "analysis"
    ),
    **dict.fromkeys(("boundary_iou", "mask_boundary"), "boundary"),
    "coco_evaluate": "coco",
    "crowdpose_evaluate": "crowdpose",
    "keypoint_oks": "keypoints",
    **dict.fromkeys(("LVISResult", "is_lvis", "lvis_evaluate"), "lvis"),
    **dict.fromkeys(("Matches", "match"), "matching"),
    **dict.fromkeys(("PanopticQuality", "panoptic_quality"), "panoptic"),
    "PanopticResult": "panoptic_core",
    "panoptic_evaluate": "panoptic_files",
    **dict.fromkeys(("STATS_NAMES", "COCOParams", "COCOResult", "GtIdZeroWarning"), "params"),
    **dict.fromkeys(("MeanIoUReport", "mean_iou_report", "report_from_result"), "report"),
    "MeanAveragePrecision": "streaming",
}


def __getattr__(name: str) -> object:
    """Import the submodule defining ``name`` on first use."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{where}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
