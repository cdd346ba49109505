"""Data-set mean-IoU report: how well each ground-truth object is covered by its match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..bands import DEFAULT_BANDS, band_shares
from .coco import coco_evaluate
from .params import COCOResult


@dataclass(frozen=True)
class MeanIoUReport:
    """IoU of each ground-truth object with the prediction matched to it."""

    threshold: float
    gt_iou: np.ndarray
    """IoU per evaluated (non-crowd) ground-truth object, 0 when unmatched."""
    gt_category: np.ndarray
    gt_image: np.ndarray
    mean_iou: float
    """Mean over the set (unmatched objects count 0 unless ``include_unmatched=False``)."""
    per_class: dict[int, float]
    per_image: dict[int, float]
    matched: int
    bands: dict[str, float]
    """Share of matched pairs in each band (excellent > 0.95, good > 0.7, poor)."""

    def __repr__(self) -> str:
        """Headline numbers and sizes, not the per-object arrays."""
        bands = ", ".join(f"{k}={v:.3f}" for k, v in self.bands.items())
        return (
            f"MeanIoUReport(threshold={self.threshold}, mean_iou={self.mean_iou:.4f}, "
            f"objects={self.gt_iou.shape[0]}, matched={self.matched}, bands={{{bands}}}, "
            f"classes={len(self.per_class)}, images={len(self.per_image)})"
        )

    def as_dict(self, names: dict[int, str] | None = None) -> dict[str, Any]:
        label = (lambda c: names.get(c, str(c))) if names else str
        return {
            "threshold": self.threshold,
            "mean_iou": self.mean_iou,
            "objects": int(self.gt_iou.shape[0]),
            "matched": self.matched,
            "bands": self.bands,
            "per_class": {label(c): v for c, v in self.per_class.items()},
        }


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def report_from_result(
    result: COCOResult,
    threshold: float = 0.5,
    include_unmatched: bool = True,
    bands: tuple[tuple[str, float], ...] = DEFAULT_BANDS,
) -> MeanIoUReport:
    """Build the report from a :class:`COCOResult` whose thresholds include ``threshold``.

    Uses COCO's greedy matching at that threshold, area range "all", the largest maxDets.

    Examples
    --------
    >>> from ioukit.evaluate import coco_evaluate, report_from_result
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10],
    ...                        "area": 100, "iscrowd": 0}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 8], "score": 0.9}]
    >>> report_from_result(coco_evaluate(gt, dt), threshold=0.75).mean_iou
    0.8
    """
    where = np.flatnonzero(np.isclose(result.params.iou_thrs, threshold, rtol=0, atol=1e-12))
    if where.size == 0 or "all" not in result.params.area_rng_lbl:
        raise ValueError(f"the evaluation has no IoU threshold {threshold} and area range 'all'")
    a = result.params.area_rng_lbl.index("all")
    keep = ~result.gt_ignored
    ious = result.gt_match_iou[a, where[0]][keep]
    cats, images = result.gt_category[keep], result.gt_image[keep]
    matched = ious > 0
    use = np.ones(ious.shape, bool) if include_unmatched else matched
    per_class = {int(c): _mean(ious[(cats == c) & use]) for c in np.unique(cats)}
    per_image = {int(i): _mean(ious[(images == i) & use]) for i in np.unique(images)}
    return MeanIoUReport(
        threshold=float(threshold),
        gt_iou=ious,
        gt_category=cats,
        gt_image=images,
        mean_iou=_mean(ious[use]),
        per_class=per_class,
        per_image=per_image,
        matched=int(matched.sum()),
        bands=band_shares(ious[matched], bands),
    )


def mean_iou_report(
    gt: Any,
    dt: Any,
    iou_type: str = "bbox",
    threshold: float = 0.5,
    include_unmatched: bool = True,
    bands: tuple[tuple[str, float], ...] = DEFAULT_BANDS,
) -> MeanIoUReport:
    """Mean IoU over a test set: each ground-truth object against its matched prediction.

    Matching is COCO's (greedy by score within each image and category, crowd regions
    excluded from the average) at ``threshold``.

    Parameters
    ----------
    gt, dt : path or loaded COCO data
    iou_type : {"bbox", "segm"}
    threshold : float, default 0.5
    include_unmatched : bool, default True
        Count unmatched ground truth as IoU 0 (False: average matched pairs only).
    bands : tuple of (name, lower bound)
        Interpretation bands, best first.

    Examples
    --------
    >>> from ioukit.evaluate import mean_iou_report
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10],
    ...                        "area": 100, "iscrowd": 0},
    ...                       {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10],
    ...                        "area": 100, "iscrowd": 0}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 11], "score": 0.9}]
    >>> r = mean_iou_report(gt, dt)
    >>> round(r.mean_iou, 4), r.matched, r.bands["good"]
    (0.4545, 1, 1.0)
    """
    result = coco_evaluate(
        gt,
        dt,
        iou_type,
        iou_thrs=[threshold],
        area_rng=[(0, 1e10)],
        area_rng_lbl=["all"],
        max_dets=[100],
    )
    return report_from_result(result, threshold, include_unmatched, bands)
