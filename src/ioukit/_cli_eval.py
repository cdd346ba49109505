"""``ioukit eval`` (and the evaluation part of ``ioukit demo``): COCO AP/AR, mean IoU, bands."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from ._progress import Progress
from .bands import DEFAULT_BANDS
from .evaluate.coco import COCOParams, COCOResult, evaluate_arrays
from .evaluate.coco_data import read_detections, read_ground_truth
from .evaluate.report import MeanIoUReport, report_from_result


def run_evaluation(
    gt: Any, dt: Any, iou_type: str, label: str = "", client: Any = None
) -> tuple[COCOResult, Any, int, float]:
    """Read, evaluate and accumulate with a progress bar: (result, truth, detections, seconds)."""
    start = time.perf_counter()
    with Progress(3, f"reading ground truth{label}") as bar:
        truth = read_ground_truth(gt, iou_type)
        bar.advance(label=f"reading detections{label}")
        dets = read_detections(dt, truth, iou_type)
        bar.advance(label=f"evaluating {iou_type}{label}")
        params = COCOParams(iou_type=iou_type).checked()
        if client is not None:
            from .distributed import evaluate_on_cluster

            result = evaluate_on_cluster(truth, dets, params, client)
        else:
            result = evaluate_arrays(truth, dets, params)
        bar.advance()
    return result, truth, len(dets.scores), time.perf_counter() - start


def _band_text(report: MeanIoUReport) -> str:
    parts = [f"{name} {100 * share:.1f} %" for name, share in report.bands.items()]
    return ", ".join(parts)


def describe(
    result: COCOResult,
    truth: Any,
    n_dets: int,
    report: MeanIoUReport,
    seconds: float,
    per_class: int,
) -> list[str]:
    """The human-readable evaluation report."""
    n_crowd = int(truth.crowd.sum())
    lines = [
        f"COCO {result.params.iou_type} evaluation: {len(truth.image_ids)} images, "
        f"{len(truth.ann_ids)} ground-truth objects ({n_crowd} crowd), "
        f"{n_dets} detections, {len(truth.category_ids)} categories "
        f"[{seconds:.2f} s]",
        "",
        result.summary(),
        "",
        f"Mean IoU of each ground-truth object with its COCO match (IoU >= {report.threshold:.2f}; "
        "unmatched objects count 0):",
        f"  mean IoU {report.mean_iou:.3f} over {report.gt_iou.shape[0]} objects; "
        f"{report.matched} matched: {_band_text(report)}",
        "  (bands: " + ", ".join(f"{n} > {v}" for n, v in DEFAULT_BANDS) + ", else poor)",
    ]
    if per_class:
        ap = result.per_category_ap()
        counts = {
            int(c): int(n)
            for c, n in zip(*np.unique(report.gt_category, return_counts=True), strict=True)
        }
        rows = sorted(ap, key=lambda c: -counts.get(c, 0))[:per_class]
        lines += ["", f"  {'class':<20} {'AP':>6} {'mean IoU':>9} {'objects':>8}"]
        for c in rows:
            name = result.category_names.get(c, str(c))[:20]
            miou = report.per_class.get(c, float("nan"))
            lines.append(f"  {name:<20} {ap[c]:>6.3f} {miou:>9.3f} {counts.get(c, 0):>8d}")
        if len(ap) > per_class:
            lines.append(f"  ... {len(ap) - per_class} more (--per-class N, or --json)")
    return lines


def as_json(result: COCOResult, report: MeanIoUReport, seconds: float) -> dict[str, Any]:
    ap = result.per_category_ap()
    names = result.category_names
    return {
        "iou_type": result.params.iou_type,
        "stats": result.as_dict(),
        "seconds": seconds,
        "mean_iou": report.as_dict(names),
        "per_class": {
            names.get(c, str(c)): {"ap": v, "mean_iou": report.per_class.get(c)}
            for c, v in ap.items()
        },
    }


def write_json(path: str, payload: dict[str, Any]) -> None:
    def clean(value: Any) -> Any:
        if isinstance(value, float) and value != value:
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    with open(path, "w") as handle:
        json.dump(clean(payload), handle, indent=2)


def evaluate_and_report(
    gt: Any,
    dt: Any,
    iou_type: str,
    threshold: float,
    per_class: int,
    label: str = "",
    client: Any = None,
):
    result, truth, n_dets, seconds = run_evaluation(gt, dt, iou_type, label, client)
    report = report_from_result(result, threshold)
    return result, report, describe(result, truth, n_dets, report, seconds, per_class), seconds
