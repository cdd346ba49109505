"""``ioukit eval`` (and the evaluation part of ``ioukit demo``): COCO AP/AR, mean IoU, bands."""

from __future__ import annotations

import json
import math
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from ..bands import DEFAULT_BANDS
from ..evaluate.params import COCOParams, COCOResult
from ..evaluate.protocols import PROTOCOL_IOU_TYPES, protocol_defaults, read_protocol_inputs
from ..evaluate.readers import read_detections, read_ground_truth
from ..evaluate.records import Detections
from ..evaluate.report import MeanIoUReport, report_from_result
from ..evaluate.stages import evaluate_arrays
from .errors import name_error, os_error_text, read_error
from .progress import Progress


def _read(reader: Any, path: Any, what: str, *args: Any) -> Any:
    """Call a reader; failures of the gzip / JSON layers become one-line ValueErrors."""
    try:
        return reader(path, *args)
    except (EOFError, zlib.error, RecursionError, MemoryError, OSError) as err:
        translated = read_error(path, what, err)
        if translated is None:
            raise
        raise translated from None


def keep_detections(dets: Detections, keep: np.ndarray) -> Detections:
    """The detections where ``keep`` is True (``--min-score``), in file order."""
    index = np.flatnonzero(keep)
    kept = dets.take(index)
    keypoints = getattr(dets, "keypoints", None)  # take() keeps the base fields only
    return kept if keypoints is None else replace(kept, keypoints=keypoints[index])


def _evaluate(truth: Any, dets: Detections, params: COCOParams, client: Any) -> COCOResult:
    if client is not None:
        from ..evaluate.cluster import evaluate_on_cluster

        return evaluate_on_cluster(truth, dets, params, client)
    return evaluate_arrays(truth, dets, params)


@contextmanager
def _stages(bar: Progress | None, steps: int, label: str) -> Iterator[Progress]:
    """A progress bar of ``steps`` more steps: ``bar`` extended, or a new one."""
    if bar is None:
        with Progress(steps, label) as own:
            yield own
        return
    bar.total = bar.done + steps
    bar.advance(0, label=label)
    yield bar


def _read_inputs(gt: Any, dt: Any, params: COCOParams, gt_name: str | None, bar, label: str):
    """``(truth, dets)``: COCO's readers, or the keypoint / boundary ones."""
    iou_type = params.iou_type
    try:
        if iou_type in PROTOCOL_IOU_TYPES:  # one reader for both files
            bar.advance(0, label=f"reading both files{label}")
            truth, dets = _read(
                lambda path: read_protocol_inputs(gt, path, params), dt, "detections"
            )
            bar.advance()
            return truth, dets
        truth = _read(read_ground_truth, gt, "ground truth", iou_type)
    except ValueError as err:
        if gt_name is None:
            raise
        raise name_error(err, gt_name, str(dt)) from None
    bar.advance(label=f"reading detections{label}")
    dets = _read(lambda path: read_detections(path, truth, iou_type), dt, "detections")
    return truth, dets


def run_evaluation(
    gt: Any,
    dt: Any,
    iou_type: str,
    label: str = "",
    client: Any = None,
    params: COCOParams | None = None,
    min_score: float | None = None,
    threshold: float | None = None,
    *,
    bar: Progress | None = None,
    gt_name: str | None = None,
) -> tuple[COCOResult, Any, int, float, COCOResult | None]:
    """Read, evaluate and accumulate with a progress bar (``bar``, or a new one).

    ``gt`` may be the loaded ground truth (``gt_name``: its file, for the messages).
    Returns (result, truth, detections, seconds, matching): ``matching`` is a second
    evaluation at ``threshold`` alone when the thresholds of ``params`` do not hold
    it (the mean-IoU report needs COCO's matching at that threshold), else None.
    """
    start = time.perf_counter()
    params = (params or COCOParams(iou_type=iou_type, **protocol_defaults(iou_type))).checked()
    extra = threshold is not None and not np.isclose(params.iou_thrs, threshold, rtol=0).any()
    with _stages(bar, 3 + extra, f"reading ground truth{label}") as bar:
        truth, dets = _read_inputs(gt, dt, params, gt_name, bar, label)
        if min_score is not None:
            dets = keep_detections(dets, dets.scores >= min_score)
        bar.advance(label=f"evaluating {iou_type}{label}")
        result = _evaluate(truth, dets, params, client)
        matching = None
        if extra:
            bar.advance(label=f"matching at IoU {threshold}{label}")
            alone = replace(
                params,
                iou_thrs=np.array([threshold]),
                max_dets=(params.max_dets[-1],),
                area_rng=((0.0, 1e10),),
                area_rng_lbl=("all",),
            ).checked()
            matching = _evaluate(truth, dets, alone, client)
        bar.advance()
    return result, truth, len(dets.scores), time.perf_counter() - start, matching


def _band_text(report: MeanIoUReport) -> str:
    parts = [f"{name} {100 * share:.1f} %" for name, share in report.bands.items()]
    return ", ".join(parts)


_MEASURE = {"keypoints": "OKS", "boundary": "Boundary IoU"}
"""What the mean-IoU report averages, where it is not IoU."""


def describe(
    result: COCOResult,
    truth: Any,
    n_dets: int,
    report: MeanIoUReport,
    seconds: float,
    per_class: int,
    protocol: str | None = None,
) -> list[str]:
    """The human-readable evaluation report (``protocol``: its ``protocol: ...`` line)."""
    iou_type = result.params.iou_type
    measure = _MEASURE.get(iou_type, "IoU")
    n_crowd = int(truth.crowd.sum())
    lines = [
        f"COCO {iou_type} evaluation: {len(truth.image_ids)} images, "
        f"{len(truth.ann_ids)} ground-truth objects ({n_crowd} crowd), "
        f"{n_dets} detections, {len(truth.category_ids)} categories "
        f"[{seconds:.2f} s]",
        protocol or f"protocol: COCO {iou_type} (pycocotools' COCOeval)",
        "",
        result.summary(),
        "",
        f"Mean {measure} of each ground-truth object with its COCO match "
        f"({measure} >= {report.threshold:.2f}; unmatched objects count 0):",
        f"  mean {measure} {report.mean_iou:.3f} over {report.gt_iou.shape[0]} objects; "
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
        head = {"OKS": "mean OKS", "Boundary IoU": "mean BIoU"}.get(measure, "mean IoU")
        lines += ["", f"  {'class':<20} {'AP':>6} {head:>9} {'objects':>8}"]
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


def _clean(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become null (JSON has no NaN)."""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` as strict JSON (NaN written as null)."""
    text = json.dumps(_clean(payload), indent=2, allow_nan=False)
    try:
        with open(path, "w") as handle:
            handle.write(text + "\n")
    except OSError as err:
        reason = os_error_text(err).split(": ", 1)[-1] if err.filename else os_error_text(err)
        raise ValueError(f"--json {path}: cannot write: {reason}") from None


def evaluate_and_report(
    gt: Any,
    dt: Any,
    iou_type: str,
    threshold: float,
    per_class: int,
    protocol: str | None = None,
    **options: Any,
) -> tuple[COCOResult, MeanIoUReport, list[str], float]:
    """Evaluate, build the mean-IoU report at ``threshold`` and the text report.

    ``options`` go to :func:`run_evaluation` (``label``, ``client``, ``params``,
    ``min_score``, ``bar``, ``gt_name``); ``protocol`` is the report's protocol line.
    """
    result, truth, n_dets, seconds, matching = run_evaluation(
        gt, dt, iou_type, threshold=threshold, **options
    )
    report = report_from_result(matching or result, threshold)
    lines = describe(result, truth, n_dets, report, seconds, per_class, protocol)
    return result, report, lines, seconds
