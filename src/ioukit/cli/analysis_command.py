"""``ioukit analyze pr|f1|confusion|errors``: the detection analyses as text tables,
JSON (``--json``) and figures (``--plot``).

The files are read once (with the reader's one-line errors and the progress bar);
the analysis functions of :mod:`ioukit.evaluate.analysis` then run on the arrays.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..evaluate import analysis
from ..evaluate.coco import COCOParams, evaluate_arrays
from ..evaluate.readers import read_detections, read_ground_truth
from .eval_command import _read, write_json
from .progress import Progress

NAME_WIDTH = 20


def _name(names: dict[int, str], c: Any) -> str:
    return names.get(int(c), str(c))[:NAME_WIDTH]


def _num(value: float, width: int, digits: int = 3) -> str:
    """A number, or ``-`` where it is undefined (NaN, COCO's -1)."""
    if not np.isfinite(value) or value < 0:
        return f"{'-':>{width}}"
    return f"{value:>{width}.{digits}f}"


def _rows(classes: np.ndarray, objects: np.ndarray, per_class: int) -> list[int]:
    """Indices of the ``per_class`` classes with most objects (ties by class id)."""
    order = np.lexsort((classes, -objects))
    return order[:per_class].tolist()


def _more(lines: list[str], shown: int, total: int) -> None:
    if total > shown:
        lines.append(f"  ... {total - shown} more (--per-class N, or --json)")


def _class_table(
    lines: list[str],
    head: str,
    classes: np.ndarray,
    objects: np.ndarray,
    names: dict,
    n: int,
    row: Callable[[int], str],
) -> None:
    """Append the per-class table of the ``n`` classes with most objects: the class and
    objects columns, then ``head`` over ``row(k)`` (the other columns of class ``k``)."""
    lines += ["", f"  {'class':<{NAME_WIDTH}} {'objects':>8} {head}"]
    rows = _rows(classes, objects, n)
    for k in rows:
        lines.append(f"  {_name(names, classes[k]):<{NAME_WIDTH}} {int(objects[k]):>8d} {row(k)}")
    _more(lines, len(rows), len(classes))


def _objects(truth: Any, classes: np.ndarray) -> np.ndarray:
    """Non-crowd ground-truth objects of each class."""
    cats = truth.ann_category[~truth.crowd]
    ids, counts = np.unique(cats, return_counts=True)
    pos = np.minimum(np.searchsorted(ids, classes), max(ids.size - 1, 0))
    found = ids[pos] == classes if ids.size else np.zeros(classes.shape, bool)
    return np.where(found, counts[pos] if ids.size else 0, 0)


# ----------------------------------------------------------------------------- tables


def describe_pr(res: analysis.PRCurves, names: dict, objects: np.ndarray, n: int) -> list[str]:
    """Text of :func:`~ioukit.evaluate.analysis.precision_recall`."""
    recall = res.recall
    at = {r: int(np.argmin(np.abs(recall - r))) for r in (0.5, 0.8)}
    with_gt = int((res.ap > -1).sum())
    lines = [
        f"mAP {res.map:.3f} at IoU >= {res.iou_threshold:g} over {with_gt} classes with "
        "objects (COCO's AP at this one threshold: area all, 101 recall points)"
        if res.map > -1
        else f"mAP undefined at IoU >= {res.iou_threshold:g}: no class has ground-truth objects"
    ]
    if res.map > -1:
        points = [int(np.argmin(np.abs(recall - r))) for r in np.linspace(0, 1, 11)]
        lines += [
            "  recall     " + " ".join(f"{recall[i]:>5.1f}" for i in points),
            "  precision  " + " ".join(f"{res.overall[i]:>5.3f}"[:5] for i in points),
        ]

    def row(k: int) -> str:
        p = res.precision[k]
        reached = float(recall[p > 0].max()) if (p > 0).any() else (0.0 if p[0] > -1 else -1)
        return (
            f"{_num(res.ap[k], 6)} {_num(p[at[0.5]], 7)} {_num(p[at[0.8]], 7)} "
            f"{_num(reached, 10, 2)}"
        )

    if n:
        head = f"{'AP':>6} {'P@R=.5':>7} {'P@R=.8':>7} {'max recall':>10}"
        _class_table(lines, head, res.classes, objects, names, n, row)
    return lines


def describe_f1(res: analysis.F1Table, names: dict, n: int) -> list[str]:
    """Text of :func:`~ioukit.evaluate.analysis.f1_scores`."""
    o = res.overall
    lines = [
        f"F1 at IoU >= {res.iou_threshold:g}: the score threshold (keep scores >= it) with "
        "the highest F1, per class",
        f"  all classes pooled: F1 {o['f1']:.3f}"
        + (
            f" at score >= {o['threshold']:.4g} (precision {o['precision']:.3f}, "
            f"recall {o['recall']:.3f})"
            if np.isfinite(o["threshold"])
            else " (nothing matched)"
        ),
    ]

    def row(k: int) -> str:
        threshold = res.best_threshold[k]
        score = f"{threshold:>9.4g}" if np.isfinite(threshold) else f"{'-':>9}"
        return f"{_num(res.best_f1[k], 6)} {score} {_num(res.precision[k], 9)} " + _num(
            res.recall[k], 7
        )

    if n:
        head = f"{'F1':>6} {'score >=':>9} {'precision':>9} {'recall':>7}"
        _class_table(lines, head, res.classes, res.num_gt, names, n, row)
    return lines


def _matrix_lines(res: analysis.DetectionConfusion, names: dict) -> list[str]:
    labels = [_name(names, c)[:9] for c in res.classes] + ["backgr."]
    width = max(9, len(str(int(res.matrix.max()))) + 1 if res.matrix.size else 9)
    corner = "true \\ predicted"
    lines = [f"  {corner:<16}" + "".join(f"{x:>{width}}" for x in labels)]
    for label, row in zip(labels, res.matrix, strict=True):
        lines.append(f"  {label:<16}" + "".join(f"{int(v):>{width}d}" for v in row))
    return lines


def describe_confusion(res: analysis.DetectionConfusion, names: dict, n: int) -> list[str]:
    """Text of :func:`~ioukit.evaluate.analysis.confusion_matrix`."""
    m = res.matrix
    k_n = res.classes.shape[0]
    objects = m[:k_n].sum(axis=1)
    right = np.diagonal(m)[:k_n]
    missed = m[:k_n, k_n]
    other = objects - right - missed
    false_pos = m[k_n, :k_n]
    lines = [
        f"Detection confusion matrix at IoU > {res.iou_threshold:g}, score > "
        f"{res.score_threshold:g} (rows: true class, columns: predicted class)",
        f"  {int(objects.sum())} objects: {int(right.sum())} found with their class, "
        f"{int(other.sum())} with another class, {int(missed.sum())} missed; "
        f"{int(false_pos.sum())} false positives (unpaired detections)",
    ]
    if 0 < k_n <= 8:
        lines += ["", *_matrix_lines(res, names)]

    def row(k: int) -> str:
        off = m[k, :k_n].copy()
        off[k] = 0
        j = int(np.argmax(off)) if k_n else 0
        taken = f"{_name(names, res.classes[j])} ({int(off[j])})" if k_n and off[j] else "-"
        return f"{right[k]:>6d} {other[k]:>6d} {missed[k]:>7d} {false_pos[k]:>10d}  {taken}"

    if n:
        head = f"{'right':>6} {'other':>6} {'missed':>7} {'false pos.':>10}  most often taken for"
        _class_table(lines, head, res.classes, objects, names, n, row)
    return lines


_SHORT = {
    "classification": "cls",
    "localisation": "loc",
    "both": "both",
    "duplicate": "dupe",
    "background": "bkg",
    "missed": "missed",
}


def describe_errors(
    res: analysis.ErrorBreakdown, names: dict, objects: np.ndarray, n: int
) -> list[str]:
    """Text of :func:`~ioukit.evaluate.analysis.error_breakdown`."""
    delta = res.delta_ap or {}
    lines = [
        f"TIDE error breakdown: true positive at IoU >= {res.pos_threshold:g}, "
        f"background at IoU <= {res.bg_threshold:g}",
        f"  AP {res.ap:.3f} (TIDE's, at IoU {res.pos_threshold:g}); "
        f"{res.true_positives} true positives, {res.ignored} ignored (in crowd regions)",
        "",
        f"  {'error':<16} {'count':>7} {'dAP':>7}  (dAP: the AP gained by fixing it alone)",
    ]
    for name in analysis.ERROR_TYPES:
        lines.append(f"  {name:<16} {res.counts[name]:>7d} {_num(delta.get(name, np.nan), 7, 4)}")
    if n:
        head = " ".join(f"{_SHORT[e]:>6}" for e in analysis.ERROR_TYPES)
        counts = lambda k: " ".join(f"{int(v):>6d}" for v in res.per_class[k])  # noqa: E731
        _class_table(lines, head, res.classes, objects, names, n, counts)
    return lines


# ----------------------------------------------------------------------------- running


def _save_figure(fig: Any, path: str) -> None:
    from .plot import _pyplot

    try:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    except OSError as err:
        raise ValueError(f"--plot {path}: cannot write: {err.strerror or err}") from None
    finally:
        _pyplot().close(fig)


def _analyse(args: argparse.Namespace, truth: Any, dets: Any, names: dict) -> tuple:
    """(result, text lines, plot function) of the analysis ``args.analysis``."""
    n = args.per_class
    if args.analysis == "pr":
        params = COCOParams(
            iou_type=args.iou_type,
            iou_thrs=np.array([args.iou_threshold]),
            max_dets=(100,),
            area_rng=((0.0, 1e10),),
            area_rng_lbl=("all",),
        ).checked()
        res = analysis.precision_recall(
            evaluate_arrays(truth, dets, params), iou_threshold=args.iou_threshold
        )
        return (
            res,
            describe_pr(res, names, _objects(truth, res.classes), n),
            "plot_precision_recall",
        )
    if args.analysis == "f1":
        res = analysis.f1_scores(
            truth, dets, iou_threshold=args.iou_threshold, iou_type=args.iou_type
        )
        return res, describe_f1(res, names, n), "plot_f1"
    if args.analysis == "confusion":
        limits = {"iou_threshold": args.iou_threshold, "score_threshold": args.score_threshold}
        res = analysis.confusion_matrix(truth, dets, iou_type=args.iou_type, **limits)
        return res, describe_confusion(res, names, n), "plot_confusion_matrix"
    limits = {"pos_threshold": args.iou_threshold, "bg_threshold": args.bg_threshold}
    res = analysis.error_breakdown(truth, dets, iou_type=args.iou_type, **limits)
    lines = describe_errors(res, names, _objects(truth, res.classes), n)
    return res, lines, "plot_error_breakdown"


def run_analysis(args: argparse.Namespace) -> tuple[list[str], Callable[[], None]]:
    """Read the files, run the analysis; returns (text lines, a function writing
    ``--json`` / ``--plot``)."""
    with Progress(3, "reading ground truth") as bar:
        truth = _read(read_ground_truth, args.gt, "ground truth", args.iou_type)
        bar.advance(label="reading detections")
        dets = _read(
            lambda path: read_detections(path, truth, args.iou_type), args.dt, "detections"
        )
        bar.advance(label=f"analysing ({args.analysis})")
        names = dict(truth.category_names)
        res, lines, plot_name = _analyse(args, truth, dets, names)
        bar.advance()
    header = (
        f"{args.analysis} analysis of {args.iou_type} results: {len(truth.image_ids)} images, "
        f"{len(truth.ann_ids)} ground-truth objects ({int(truth.crowd.sum())} crowd), "
        f"{len(dets.scores)} detections, {len(truth.category_ids)} categories"
    )

    def save() -> None:
        if args.json:
            payload = {"analysis": args.analysis, "iou_type": args.iou_type}
            payload["category_names"] = names
            write_json(args.json, dict(payload, **res.as_dict()))
        if args.plot:
            from ..evaluate import analysis_plots

            plot = getattr(analysis_plots, plot_name)
            with warnings.catch_warnings():  # an empty figure has no legend: say nothing
                warnings.filterwarnings("ignore", "No artists with labels", UserWarning)
                fig = plot(res) if plot_name == "plot_error_breakdown" else plot(res, names=names)
            _save_figure(fig, args.plot)

    return [header, "", *lines], save
