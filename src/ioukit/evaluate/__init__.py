"""Data-set evaluation: matching, mean-IoU reports and COCO AP/AR."""

from .coco import STATS_NAMES, COCOParams, COCOResult, coco_evaluate
from .matching import Matches, match
from .report import MeanIoUReport, mean_iou_report, report_from_result
from .streaming import MeanAveragePrecision

__all__ = [
    "STATS_NAMES",
    "COCOParams",
    "COCOResult",
    "Matches",
    "MeanAveragePrecision",
    "MeanIoUReport",
    "coco_evaluate",
    "match",
    "mean_iou_report",
    "report_from_result",
]
