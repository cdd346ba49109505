"""Data-set evaluation: matching, mean-IoU reports, COCO AP/AR (files or a streaming
metric), panoptic quality and the detection analyses (PR curves, F1, confusion matrix,
TIDE errors)."""

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
