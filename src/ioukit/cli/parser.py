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


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in [0, 1]")
    return value


def _thresholds(text: str) -> np.ndarray:
    """``0.5:0.95:0.05`` (start:stop:step, stop included) or ``0.5,0.75``."""
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if not (step > 0 and stop >= start and np.isfinite([start, stop, step]).all()):
                raise ValueError
            count = int(np.round((stop - start) / step)) + 1
            if count > 1000:
                raise argparse.ArgumentTypeError(f"{text!r}: more than 1000 thresholds")
            values = np.linspace(start, stop, count)
        else:
            values = np.array([float(v) for v in text.split(",")[:1001]])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not START:STOP:STEP or a comma-separated list of IoUs"
        ) from None
    if values.size == 0 or values.size > 1000 or not ((values >= 0) & (values <= 1)).all():
        raise argparse.ArgumentTypeError(f"{text!r}: 1 to 1000 thresholds in [0, 1]")
    return values


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def _max_dets(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from None
    if not values or len(values) > 10 or min(values) < 1 or max(values) > 10**9:
        raise argparse.ArgumentTypeError(f"{text!r}: one to ten counts from 1 to 10^9")
    return values


def _sigmas(text: str) -> np.ndarray | str:
    """``--kpt-oks-sigmas``: ``coco``, ``crowdpose`` or a comma-separated list."""
    if text in ("coco", "crowdpose"):
        return text
    try:
        values = np.array([float(v) for v in text.split(",")[:1001]])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not coco, crowdpose or a comma-separated list of numbers"
        ) from None
    if values.size > 1000:
        raise argparse.ArgumentTypeError(f"{text!r}: more than 1000 sigmas")
    if not (np.isfinite(values) & (values > 0)).all():
        bad = values[~(np.isfinite(values) & (values > 0))][0]
        raise argparse.ArgumentTypeError(f"{text!r}: sigma {bad:g} is not a positive number")
    return values


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _absent(text: str) -> str | float:
    if text in ("nan", "zero"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not nan, zero or a number") from None


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1 or value > 1024:
        raise argparse.ArgumentTypeError(f"{text} is not from 1 to 1024")
    return value


def _label(text: str) -> int:
    value = _count(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"{text} is past int64")
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


def _add_files(p: argparse.ArgumentParser) -> None:
    """The two files of ``eval`` and ``analyze``."""
    p.add_argument("gt", metavar="GT.json", help="COCO ground truth (.json or .json.gz)")
    p.add_argument(
        "dt", metavar="DT.json", help="results: a list of detections (.json or .json.gz)"
    )


def _add_outputs(p: argparse.ArgumentParser, per_class: int | None, plot: str | None) -> None:
    """``--per-class N``, ``--json FILE`` and (``plot`` given) ``--plot FILE.png``."""
    if per_class is not None:
        p.add_argument(
            "--per-class",
            type=_count,
            default=per_class,
            metavar="N",
            help=f"rows of the per-class table (default {per_class}; 0 hides it)",
        )
    p.add_argument("--json", metavar="FILE", help="also write every number to FILE as JSON")
    if plot is not None:
        p.add_argument("--plot", metavar="FILE.png", help=plot)


def _add_analyze(sub: Any) -> None:
    """``ioukit analyze {pr,f1,confusion,errors} GT.json DT.json [options]``."""
    analyze = sub.add_parser(
        "analyze",
        help="precision-recall curves, F1, the confusion matrix or TIDE's errors of a "
        "detection result file",
        description="Analyse COCO-format detections against ground truth: pr (precision-"
        "recall curves), f1 (best score threshold per class), confusion (detection confusion "
        "matrix) or errors (TIDE's error breakdown). Each prints a table, writes every "
        "number with --json FILE and draws its figure with --plot FILE.png.",
    )
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
        if name == "confusion":
            kind.add_argument(
                "--score-threshold",
                type=_score,
                default=0.25,
                metavar="S",
                help="keep detections scoring above S (default 0.25, ultralytics'; "
                "supervision uses 0.3)",
            )
        if name == "errors":
            kind.add_argument(
                "--bg-threshold",
                type=_fraction,
                default=0.1,
                metavar="T",
                help="a detection with IoU <= T with every object is background "
                "(default 0.1, TIDE's); at most --iou-threshold",
            )
        _add_outputs(kind, 20, "draw the figure (needs matplotlib)")


def _add_eval(sub: Any) -> None:
    """``ioukit eval GT.json DT.json [options]``: COCO, keypoints, boundary, LVIS, CrowdPose."""
    ev = sub.add_parser(
        "eval",
        help="AP/AR and mean IoU of a result file: COCO bbox / segm / keypoints / boundary, "
        "LVIS, CrowdPose",
        description="Evaluate COCO-format results against ground truth: the AP/AR numbers of "
        "the protocol (COCO's 12, identical to pycocotools; keypoints' 10 with OKS; Boundary "
        "IoU as faster-coco-eval; LVIS's federated protocol as lvis-api; CrowdPose's easy / "
        "medium / hard as xtcocotools), the mean IoU (OKS) of each ground-truth object with "
        "its match, the share of excellent (> 0.95), good (> 0.7) and poor matches, and a "
        "per-class table. An LVIS or CrowdPose ground truth is detected and says so.",
    )
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
    _add_outputs(ev, 20, "draw the IoU histogram and per-class bars")
    ev.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="evaluate on a running Dask cluster (needs ioukit[dask]; bbox and segm)",
    )


def _add_panoptic(sub: Any) -> None:
    """``ioukit panoptic GT.json PRED.json [options]``."""
    pan = sub.add_parser(
        "panoptic",
        help="panoptic quality (PQ, SQ, RQ) of COCO panoptic files, as panopticapi",
        description="Panoptic quality of a COCO panoptic prediction (JSON + PNG folder) "
        "against the ground truth, identical to panopticapi's pq_compute: PQ, SQ and RQ "
        "for All, Things and Stuff, and per class.",
    )
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
        "--per-class",
        type=_count,
        nargs="?",
        const=ALL_ROWS,
        default=0,
        metavar="N",
        help="add the per-class table: every class, or the N with most ground-truth "
        "segments (default none)",
    )
    pan.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="threads reading and counting images (default the CPU count, at most 16)",
    )
    _add_outputs(pan, None, None)


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

    demo = sub.add_parser(
        "demo",
        help="the IoU primer's worked example, then COCO evaluation of the embedded sample",
        description="Explain IoU on the primer's worked example (25 / 175), then run the main "
        "job, COCO bbox and segm evaluation, on the embedded 100-image val2014 sample.",
    )
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

    sem = sub.add_parser(
        "semseg",
        help="per-class IoU and mIoU over two folders of label-map images",
        description="Pair label maps by file name (GT_DIR/x.png with PRED_DIR/x.png) and "
        "report per-class IoU, mIoU, pixel accuracy, mean accuracy and frequency-weighted IoU.",
    )
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
    sem.add_argument(
        "--per-class",
        type=_count,
        default=None,
        metavar="N",
        help="rows of the per-class table: the N classes with most ground-truth pixels "
        "(default all; 0 hides it)",
    )
    sem.add_argument("--json", metavar="FILE", help="also write every number to FILE as JSON")
    sem.add_argument("--plot", metavar="FILE.png", help="draw the per-class IoU figure")
    sem.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="read and count on a running Dask cluster (needs ioukit[dask])",
    )

    warm = sub.add_parser(  # compile-time
        "warmup",
        help="compile every kernel now into the on-disk cache, so later runs start fast",
        description="Compile (or load from the numba cache) every kernel family, in "
        "parallel worker processes with --jobs.",
    )
    warm.add_argument("--family", action="append", metavar="NAME", help="only this family")
    warm.add_argument(
        "--jobs", type=int, default=None, help="worker processes (default: one per CPU)"
    )
    return parser
