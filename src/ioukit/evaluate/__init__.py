"""Data-set evaluation: matching, mean-IoU reports, COCO AP/AR (files or a streaming
metric) and the detection analyses (PR curves, F1, confusion matrix, TIDE errors)."""

from .analysis import confusion_matrix, error_breakdown, f1_scores, precision_recall
from .coco import coco_evaluate
from .matching import Matches, match
from .params import STATS_NAMES, COCOParams, COCOResult, GtIdZeroWarning
from .report import MeanIoUReport, mean_iou_report, report_from_result
from .streaming import MeanAveragePrecision

__all__ = [
    "STATS_NAMES",
    "COCOParams",
    "COCOResult",
    "GtIdZeroWarning",
    "Matches",
    "MeanAveragePrecision",
    "MeanIoUReport",
    "coco_evaluate",
    "confusion_matrix",
    "error_breakdown",
    "f1_scores",
    "match",
    "mean_iou_report",
    "precision_recall",
    "report_from_result",
]
