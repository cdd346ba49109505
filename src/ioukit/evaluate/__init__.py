"""Data-set evaluation: matching, mean-IoU reports and COCO AP/AR."""

from .coco import STATS_NAMES, COCOParams, COCOResult, coco_evaluate

__all__ = ["STATS_NAMES", "COCOParams", "COCOResult", "coco_evaluate"]
