"""The ``ioukit`` argument parser and its value types (one-line usage errors)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np

from .. import __version__
from .errors import EXIT_USAGE

ALL_ROWS = 10**9
"""``--per-class`` given without a count: every row."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parsed(convert: Any, text: str, form: str) -> Any:
    """``convert(text)``, or a usage error saying that ``text`` is not ``form``."""
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {form}") from None


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise argparse.ArgumentTypeError(message)


def _fraction(text: str) -> float:
    value = _parsed(float, text, "a number")
    _check(0.0 <= value <= 1.0, f"{text} is not in [0, 1]")
    return value


def _threshold_values(text: str) -> np.ndarray:
    if ":" not in text:
        return np.array([float(v) for v in text.split(",")[:1001]])
    start, stop, step = (float(v) for v in text.split(":"))
    if not (step > 0 and stop >= start and np.isfinite([start, stop, step]).all()):
        raise ValueError(text)
    count = int(np.round((stop - start) / step)) + 1
    _check(count <= 1000, f"{text!r}: more than 1000 thresholds")
    return np.linspace(start, stop, count)


def _thresholds(text: str) -> np.ndarray:
    """``0.5:0.95:0.05`` (start:stop:step, stop included) or ``0.5,0.75``."""
    form = "START:STOP:STEP or a comma-separated list of IoUs"
    values = _parsed(_threshold_values, text, form)
    ok = 0 < values.size <= 1000 and ((values >= 0) & (values <= 1)).all()
    _check(ok, f"{text!r}: 1 to 1000 thresholds in [0, 1]")
    return values


def _score(text: str) -> float:
    value = _parsed(float, text, "a number")
    _check(bool(np.isfinite(value)), f"{text} is not a finite number")
    return value


def _max_dets(text: str) -> tuple[int, ...]:
    values = _parsed(
        lambda t: tuple(int(v) for v in t.split(",")), text, "a comma-separated list of integers"
    )
    ok = values and len(values) <= 10 and min(values) >= 1 and max(values) <= 10**9
    _check(bool(ok), f"{text!r}: one to ten counts from 1 to 10^9")
    return values


def _sigmas(text: str) -> np.ndarray | str:
    """``--kpt-oks-sigmas``: ``coco``, ``crowdpose`` or a comma-separated list."""
    if text in ("coco", "crowdpose"):
        return text
    form = "coco, crowdpose or a comma-separated list of numbers"
    values = _parsed(lambda t: np.array([float(v) for v in t.split(",")[:1001]]), text, form)
    _check(values.size <= 1000, f"{text!r}: more than 1000 sigmas")
    bad = values[~(np.isfinite(values) & (values > 0))]
    _check(bad.size == 0, f"{text!r}: sigma {bad[:1].sum():g} is not a positive number")
    return values


def _count(text: str) -> int:
    value = _parsed(int, text, "a whole number")
    _check(value >= 0, f"{text} is negative")
    return value


def _absent(text: str) -> str | float:
    if text in ("nan", "zero"):
        return text
    return _parsed(float, text, "nan, zero or a number")


def _positive(text: str) -> int:
    value = _count(text)
    _check(1 <= value <= 1024, f"{text} is not from 1 to 1024")
    return value


def _label(text: str) -> int:
    value = _count(text)
    _check(value < 2**63, f"{text} is past int64")
    return value


_ANALYSES = {
    "pr": (
        "precision-recall curves per class and overall (COCO's, at one IoU threshold)",
        "COCO's interpolated precision at 101 recall points, per class and averaged over "
        "the classes, at one IoU threshold (area all, 100 detections per image): the "
        "curves behind AP. --plot draws them.",
        0.5,
    ),
    "f1": (
        "F1 and the best score threshold per class",
        "F1 = 2PR / (P + R) at every score threshold (keep scores >= it), with COCO's "
        "matching at --iou-threshold; the table gives each class's best threshold and the "
        "precision and recall there. --plot draws F1 against the threshold.",
        0.5,
    ),
    "confusion": (
        "the detection confusion matrix (classes plus background)",
        "ultralytics' and supervision's detection confusion matrix: detections scoring "
        "above --score-threshold paired one to one with objects of any class at IoU above "
        "--iou-threshold; unpaired objects go to the background column, unpaired "
        "detections to the background row. --plot draws the heat map.",
        0.45,
    ),
    "errors": (
        "TIDE's error breakdown (classification, localisation, both, duplicate, "
        "background, missed)",
        "TIDE's six error types with tidecv's definitions, their counts per class and the "
        "AP gained by fixing each alone (dAP). A true positive has IoU >= --iou-threshold "
        "with an object of its class. --plot draws the dAP bars.",
        0.5,
    ),
}


_COMMANDS = {
    "analyze": (
        "precision-recall curves, F1, the confusion matrix or TIDE's errors of a "
        "detection result file",
        "Analyse COCO-format detections against ground truth: pr (precision-"
        "recall curves), f1 (best score threshold per class), confusion (detection confusion "
        "matrix) or errors (TIDE's error breakdown). Each prints a table, writes every "
        "number with --json FILE and draws its figure with --plot FILE.png.",
    ),
    "eval": (
        "AP/AR and mean IoU of a result file: COCO bbox / segm / keypoints / boundary, "
        "LVIS, CrowdPose",
        "Evaluate COCO-format results against ground truth: the AP/AR numbers of "
        "the protocol (COCO's 12, identical to pycocotools; keypoints' 10 with OKS; Boundary "
        "IoU as faster-coco-eval; LVIS's federated protocol as lvis-api; CrowdPose's easy / "
        "medium / hard as xtcocotools and faster-coco-eval), the mean IoU (OKS) of each "
        "ground-truth object with its match, the share of excellent (> 0.95), good (> 0.7) "
        "and poor matches, and a per-class table. An LVIS or CrowdPose ground truth is "
        "detected and says so.",
    ),
    "panoptic": (
        "panoptic quality (PQ, SQ, RQ) of COCO panoptic files, as panopticapi",
        "Panoptic quality of a COCO panoptic prediction (JSON + PNG folder) "
        "against the ground truth, identical to panopticapi's pq_compute: PQ, SQ and RQ "
        "for All, Things and Stuff, and per class.",
    ),
    "demo": (
        "the IoU primer's worked example, then COCO evaluation of the embedded sample",
        "Explain IoU on the primer's worked example (25 / 175), then run the main "
        "job, COCO bbox and segm evaluation, on the embedded 100-image val2014 sample.",
    ),
    "semseg": (
        "per-class IoU and mIoU over two folders of label-map images",
        "Pair label maps by file name (GT_DIR/x.png with PRED_DIR/x.png) and "
        "report per-class IoU, mIoU, pixel accuracy, mean accuracy and frequency-weighted IoU.",
    ),
    "warmup": (
        "compile every kernel now into the on-disk cache, so later runs start fast",
        "Compile (or load from the numba cache) every kernel family, in "
        "parallel worker processes with --jobs.",
    ),
}
"""Each command's one-line help and its description."""


def _command(sub: Any, name: str) -> argparse.ArgumentParser:
    summary, description = _COMMANDS[name]
    return sub.add_parser(name, help=summary, description=description)


def _add_files(p: argparse.ArgumentParser) -> None:
    """The two files of ``eval`` and ``analyze``."""
    p.add_argument("gt", metavar="GT.json", help="COCO ground truth (.json or .json.gz)")
    p.add_argument(
        "dt", metavar="DT.json", help="results: a list of detections (.json or .json.gz)"
    )


def _add_outputs(
    p: argparse.ArgumentParser,
    per_class: tuple[Any, str] | None,
    plot: str | None,
    scheduler: str | None = None,
) -> None:
    """``--per-class`` (``(default, help)``), ``--json FILE``, and where given
    ``--plot FILE.png`` and ``--scheduler ADDRESS`` (with these helps)."""
    if per_class is not None:
        default, text = per_class
        extra = {"nargs": "?", "const": ALL_ROWS} if default == 0 else {}
        p.add_argument("--per-class", type=_count, default=default, metavar="N", help=text, **extra)
    p.add_argument("--json", metavar="FILE", help="also write every number to FILE as JSON")
    if plot is not None:
        p.add_argument("--plot", metavar="FILE.png", help=plot)
    if scheduler is not None:
        p.add_argument("--scheduler", metavar="ADDRESS", help=scheduler)


_ROWS = (20, "rows of the per-class table (default 20; 0 hides it)")


_ANALYSIS_OPTIONS = {
    "confusion": (
        "--score-threshold",
        _score,
        0.25,
        "S",
        "keep detections scoring above S (default 0.25, ultralytics'; supervision uses 0.3)",
    ),
    "errors": (
        "--bg-threshold",
        _fraction,
        0.1,
        "T",
        "a detection with IoU <= T with every object is background (default 0.1, TIDE's); "
        "at most --iou-threshold",
    ),
}
"""The option one analysis has and the others do not."""


def _add_analyze(sub: Any) -> None:
    """``ioukit analyze {pr,f1,confusion,errors} GT.json DT.json [options]``."""
    analyze = _command(sub, "analyze")
    kinds = analyze.add_subparsers(
        dest="analysis", metavar="{pr,f1,confusion,errors}", parser_class=_Parser, required=True
    )
    for name, (summary, description, iou_default) in _ANALYSES.items():
        kind = kinds.add_parser(name, help=summary, description=description)
        _add_files(kind)
        kind.add_argument(
            "--iou-type",
            choices=("bbox", "segm"),
            default="bbox",
            help="compare boxes or masks (default bbox)",
        )
        kind.add_argument(
            *(("--iou-threshold", "--pos-threshold") if name == "errors" else ("--iou-threshold",)),
            dest="iou_threshold",
            type=_fraction,
            default=iou_default,
            metavar="T",
            help=f"IoU threshold, any value in [0, 1] (default {iou_default})",
        )
        if name in _ANALYSIS_OPTIONS:
            flag, value_type, default, metavar, text = _ANALYSIS_OPTIONS[name]
            kind.add_argument(flag, type=value_type, default=default, metavar=metavar, help=text)
        _add_outputs(kind, _ROWS, "draw the figure (needs matplotlib)")


def _add_eval(sub: Any) -> None:
    """``ioukit eval GT.json DT.json [options]``: COCO, keypoints, boundary, LVIS, CrowdPose."""
    ev = _command(sub, "eval")
    _add_files(ev)
    ev.add_argument(
        "--iou-type",
        choices=("bbox", "segm", "keypoints", "boundary"),
        default=None,
        help="compare boxes, masks, keypoints (OKS) or mask boundaries (Boundary IoU); "
        "default bbox (keypoints for a CrowdPose ground truth)",
    )
    ev.add_argument(
        "--kpt-oks-sigmas",
        type=_sigmas,
        metavar="coco|crowdpose|S1,S2,...",
        help="OKS sigmas of the skeleton, one per keypoint (default COCO's 17, CrowdPose's "
        "14 for CrowdPose); needs --iou-type keypoints",
    )
    ev.add_argument(
        "--dilation-ratio",
        type=_fraction,
        metavar="R",
        help="Boundary IoU band width as a fraction of the image diagonal (default 0.02); "
        "needs --iou-type boundary",
    )
    which = ev.add_mutually_exclusive_group()
    which.add_argument(
        "--lvis",
        action="store_true",
        help="LVIS's federated protocol (lvis-api), also for a ground truth not detected as LVIS",
    )
    which.add_argument(
        "--crowdpose",
        action="store_true",
        help="CrowdPose's protocol (keypoints; AP by easy / medium / hard crowd index)",
    )
    which.add_argument(
        "--coco",
        action="store_true",
        help="COCO's protocol even for a ground truth detected as LVIS or CrowdPose",
    )
    ev.add_argument(
        "--threshold",
        type=_fraction,
        default=0.5,
        help="IoU threshold of the matching behind the mean-IoU report (default 0.5; any "
        "value in [0, 1]: one outside --iou-thresholds is matched in a second pass)",
    )
    ev.add_argument(
        "--iou-thresholds",
        type=_thresholds,
        metavar="START:STOP:STEP|T1,T2",
        help="IoU thresholds of AP/AR (default COCO's 0.5:0.95:0.05)",
    )
    ev.add_argument(
        "--max-dets",
        type=_max_dets,
        metavar="N1,N2,N3",
        help="detections per image for AR (default 1,10,100; keypoints 20; LVIS one value, "
        "300; AP uses the largest)",
    )
    ev.add_argument(
        "--min-score",
        type=_score,
        metavar="S",
        help="drop detections scoring below S before evaluating",
    )
    _add_outputs(
        ev,
        _ROWS,
        "draw the IoU histogram and per-class bars",
        "evaluate on a running Dask cluster (needs ioukit[dask])",
    )


def _add_panoptic(sub: Any) -> None:
    """``ioukit panoptic GT.json PRED.json [options]``."""
    pan = _command(sub, "panoptic")
    pan.add_argument("gt", metavar="GT.json", help="COCO panoptic ground truth JSON")
    pan.add_argument("pred", metavar="PRED.json", help="COCO panoptic prediction JSON")
    pan.add_argument(
        "--gt-folder",
        metavar="DIR",
        help="folder of the ground-truth PNGs (default GT.json without .json)",
    )
    pan.add_argument(
        "--pred-folder",
        metavar="DIR",
        help="folder of the predicted PNGs (default PRED.json without .json)",
    )
    pan.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="threads reading and counting images (default the CPU count, at most 16)",
    )
    text = "add the per-class table: every class, or the N with most ground-truth segments"
    _add_outputs(
        pan,
        (0, text),
        None,
        "read and match on a running Dask cluster (needs ioukit[dask]; the PNG folders at "
        "the same paths on every worker)",
    )


def _eval_conflict(args: argparse.Namespace) -> str | None:
    """An ``eval`` option that cannot apply whatever the ground truth (None: none)."""
    from .eval_protocols import Protocol, conflict, requested

    fixed = requested(args)
    if fixed is None and args.iou_type == "boundary":  # never LVIS or CrowdPose
        fixed = Protocol("coco", "boundary", "default")
    if fixed is not None:
        return conflict(fixed, args)
    if args.dilation_ratio is not None:
        return "--dilation-ratio needs --iou-type boundary"
    if args.kpt_oks_sigmas is not None and args.iou_type in ("bbox", "segm"):
        return "--kpt-oks-sigmas needs --iou-type keypoints (or --crowdpose)"
    return None


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser.parse_args`` plus the checks that involve two options."""
    args = parser.parse_args(argv)
    if args.command == "eval":
        problem = _eval_conflict(args)
        if problem:
            parser.error(f"eval: {problem}")
    if getattr(args, "analysis", None) == "errors" and args.bg_threshold > args.iou_threshold:
        parser.error(
            f"analyze errors: --bg-threshold {args.bg_threshold:g} is above "
            f"--iou-threshold {args.iou_threshold:g}"
        )
    return args


def build_parser() -> argparse.ArgumentParser:
    """The ``ioukit`` argument parser (demo, eval, analyze, panoptic, semseg, warmup)."""
    parser = _Parser(
        prog="ioukit",
        description="Fast Intersection over Union for boxes, masks and segmentation.",
        epilog="Exit codes: 0 done, 1 a mistake in the files or values, 2 a usage error, "
        "70 an internal error (please report it), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"ioukit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = _command(sub, "demo")
    demo.add_argument(
        "--per-class",
        type=_count,
        default=5,
        metavar="N",
        help="show the N classes with most objects (default 5)",
    )

    _add_eval(sub)
    _add_analyze(sub)
    _add_panoptic(sub)

    sem = _command(sub, "semseg")
    sem.add_argument("gt_dir", metavar="GT_DIR", help="folder of ground-truth label maps")
    sem.add_argument("pred_dir", metavar="PRED_DIR", help="folder of predicted label maps")
    sem.add_argument(
        "--num-classes", type=_count, required=True, metavar="C", help="number of classes C"
    )
    sem.add_argument(
        "--ignore-index",
        type=_label,
        default=None,
        metavar="LABEL",
        help="ground-truth label to skip (255 for Cityscapes; for ADE20K use --reduce-labels)",
    )
    sem.add_argument(
        "--reduce-labels",
        nargs="?",
        const="both",
        choices=("both", "gt"),
        default=None,
        help="ADE20K's reduction: label 0 becomes ignored (--ignore-index, default 255) and "
        "every label k becomes k - 1, in both folders (or in the ground truth only: gt)",
    )
    sem.add_argument("--class-names", metavar="FILE", help="text file, one class name per line")
    sem.add_argument(
        "--colors",
        metavar="FILE",
        help="colour-coded label maps: a text file of 'R G B' lines (label = line order) "
        "or 'R G B LABEL' lines",
    )
    sem.add_argument(
        "--absent",
        type=_absent,
        default="nan",
        help="value for classes never seen: nan (left out of the mean), zero, or a number",
    )
    _add_outputs(
        sem,
        (None, "rows of the per-class table: the N classes with most ground-truth pixels "
         "(default all; 0 hides it)"),
        "draw the per-class IoU figure",
        "read and count on a running Dask cluster (needs ioukit[dask])",
    )  # fmt: skip

    warm = _command(sub, "warmup")  # compile-time
    warm.add_argument("--family", action="append", metavar="NAME", help="only this family")
    warm.add_argument(
        "--jobs", type=int, default=None, help="worker processes (default: one per CPU)"
    )
    return parser
