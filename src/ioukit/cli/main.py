"""The ``ioukit`` command line: ``demo``, ``eval`` and ``semseg``.

Human-readable tables by default, ``--json FILE`` for machines, ``--plot FILE.png``
for figures. A mistake in the command or its files prints one line on stderr and
exits with 1 (2 for command-line usage errors), never a traceback; see
:mod:`ioukit.cli.errors` for every exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from .. import __version__
from .._core.compile_status import CompileWatch
from ..bands import DEFAULT_BANDS, iou_band
from .errors import EXIT_USAGE, check_writable, run_guarded


def _worked_example() -> list[str]:
    from .. import box_ciou, box_diou, box_giou, box_iou

    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 5.0, 15.0, 15.0]])
    iou = float(box_iou(a, b)[0, 0])
    bands = ", ".join(f"{name} > {limit}" for name, limit in DEFAULT_BANDS)
    return [
        "The IoU primer's worked example: two 10 x 10 boxes overlapping in a 5 x 5 square",
        "  box A (xyxy)  [0, 0, 10, 10]    area 100",
        "  box B (xyxy)  [5, 5, 15, 15]    area 100",
        "  intersection  [5, 5, 10, 10]    area 25",
        "  union         100 + 100 - 25  = 175",
        f"  IoU           25 / 175        = {iou:.4f}  -> {iou_band(iou)} ({bands}, else poor)",
        f"  GIoU {float(box_giou(a, b)[0, 0]):+.4f}   DIoU {float(box_diou(a, b)[0, 0]):+.4f}"
        f"   CIoU {float(box_ciou(a, b)[0, 0]):+.4f}",
    ]


def _speed_line(n: int = 2000) -> str:
    from .. import box_iou

    rng = np.random.default_rng(0)
    xy = rng.random((2, n, 2), dtype=np.float32) * 500
    wh = rng.random((2, n, 2), dtype=np.float32) * 100
    boxes = np.concatenate([xy, xy + wh], axis=-1)
    out = np.empty((n, n), dtype=np.float32)
    box_iou(boxes[0], boxes[1], out=out)  # compile or load from cache
    times = []
    for _ in range(5):
        start = time.perf_counter()
        box_iou(boxes[0], boxes[1], out=out)
        times.append(time.perf_counter() - start)
    best = float(np.median(times))
    return (
        f"box_iou of {n:,} x {n:,} float32 boxes: {best * 1e3:.2f} ms "
        f"({n * n / best / 1e9:.2f} billion pairs/s)"
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from ..data import sample_path
    from .eval_command import evaluate_and_report

    for line in _worked_example():
        print(line)
    print()
    print("The main job on the embedded sample: 100 COCO val2014 images with the official")
    print("pycocotools demo results (see ioukit/data/NOTICE.md), boxes then masks.")
    for iou_type in ("bbox", "segm"):
        with CompileWatch(announce=True) as watch:  # compile-time: say when compiling
            _, _, lines, _ = evaluate_and_report(
                sample_path("gt"), sample_path(iou_type), iou_type, 0.5, args.per_class
            )
        print()
        print("\n".join(lines + _compile_note(watch)))
    print()
    print(_speed_line())
    return 0


def _client(args: argparse.Namespace) -> object | None:
    """A Dask client for ``--scheduler ADDRESS``, else None."""
    if not getattr(args, "scheduler", None):
        return None
    from ..distributed import client_for

    return client_for(args.scheduler)


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse unwritable ``--json`` / ``--plot`` paths before any work."""
    if args.json:
        check_writable(args.json, "--json")
    if args.plot:
        from .plot import check_plot

        check_plot(args.plot)


def _check_input_file(path: str, what: str) -> None:
    if Path(path).is_dir():
        raise ValueError(f"{what} {path} is a folder, not a file")
    if not Path(path).exists():
        raise ValueError(f"cannot read {path}: no such file")


def _params(args: argparse.Namespace):
    from ..evaluate.coco import COCOParams

    params = COCOParams(iou_type=args.iou_type)
    if args.iou_thresholds is not None:
        params.iou_thrs = args.iou_thresholds
    if args.max_dets is not None:
        params.max_dets = args.max_dets
    return params


def cmd_eval(args: argparse.Namespace) -> int:
    from .eval_command import as_json, evaluate_and_report, write_json

    _check_input_file(args.gt, "ground truth")
    _check_input_file(args.dt, "detections")
    _check_outputs(args)
    client = _client(args)
    with CompileWatch(announce=True) as watch:  # compile-time: say when compiling
        result, report, lines, seconds = evaluate_and_report(
            args.gt,
            args.dt,
            args.iou_type,
            args.threshold,
            args.per_class,
            client=client,
            params=_params(args),
            min_score=args.min_score,
        )
    print("\n".join(lines + _compile_note(watch)))
    if args.json:
        write_json(args.json, dict(as_json(result, report, seconds), compile_seconds=watch.seconds))
    if args.plot:
        from .plot import plot_report

        names = result.category_names
        per_class = {names.get(c, str(c)): v for c, v in report.per_class.items()}
        plot_report(args.plot, report.gt_iou, per_class, f"{Path(args.dt).name} ({args.iou_type})")
    return 0


def _read_names(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [line.strip() for line in handle.read().splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise ValueError(f"--class-names {path} is not UTF-8 text") from None


def cmd_semseg(args: argparse.Namespace) -> int:
    from .eval_command import write_json
    from .semseg_command import describe, evaluate_folders

    names = _read_names(args.class_names) if args.class_names else None
    if names is not None and len(names) != args.num_classes:
        raise ValueError(
            f"--class-names {args.class_names} lists {len(names)} names for "
            f"--num-classes {args.num_classes}"
        )
    colors = None
    if args.colors:
        from ..labelmaps import read_color_table

        try:
            colors = read_color_table(args.colors)
        except ValueError as err:
            raise ValueError(str(err).replace("read_color_table: ", "--colors ")) from None
    _check_outputs(args)
    client = _client(args)
    result, images = evaluate_folders(
        Path(args.gt_dir),
        Path(args.pred_dir),
        args.num_classes,
        args.ignore_index,
        names,
        args.absent,
        client=client,
        colors=colors,
        reduce=args.reduce_labels,
    )
    print("\n".join(describe(result, images, args.per_class)))
    if args.json:
        write_json(args.json, dict(result.as_dict(), images=images))
    if args.plot:
        from .plot import plot_semseg

        labels = list(result.class_names or [str(i) for i in range(len(result.iou))])
        pixels = result.confusion.sum(axis=0) + result.confusion.sum(axis=1)
        plot_semseg(args.plot, result.iou, labels, pixels, result.miou)
    return 0


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


def _label(text: str) -> int:
    value = _count(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"{text} is past int64")
    return value


def _compile_note(watch: CompileWatch) -> list[str]:
    """compile-time: what share of the reported time went to compiling (cold runs only)."""
    if not watch.cold:
        return []
    return [
        "",
        f"(the time above includes {watch.seconds:.1f} s compiling kernels: first run only)",
    ]


def cmd_warmup(args: argparse.Namespace) -> int:
    """compile-time: ``ioukit warmup``: compile every kernel family into the on-disk cache."""
    from .._core.warmup import FAMILIES, cold_families, warmup

    names = args.family or list(FAMILIES)
    cold = cold_families(names)  # workers compile out of sight: say so up front
    if cold:
        families = ", ".join(cold)
        print(f"ioukit: compiling the kernels of {families} (first run only)", file=sys.stderr)
    with CompileWatch(announce=not cold) as watch:
        seconds = warmup(families=names, jobs=args.jobs)
    state = "compiled" if cold or watch.cold else "all loaded from the cache"
    print(f"warmed up {', '.join(names)} in {seconds:.1f} s ({state})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``ioukit`` argument parser (demo, eval, semseg)."""
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
    demo.set_defaults(handler=cmd_demo)

    ev = sub.add_parser(
        "eval",
        help="COCO AP/AR and mean IoU of a detection or segmentation result file",
        description="Evaluate COCO-format results against ground truth: the 12 COCO AP/AR "
        "numbers (identical to pycocotools), the mean IoU of each ground-truth object with "
        "its match, the share of excellent (> 0.95), good (> 0.7) and poor matches, and a "
        "per-class table.",
    )
    ev.add_argument("gt", metavar="GT.json", help="COCO ground truth (.json or .json.gz)")
    ev.add_argument(
        "dt", metavar="DT.json", help="results: a list of detections (.json or .json.gz)"
    )
    ev.add_argument(
        "--iou-type",
        choices=("bbox", "segm"),
        default="bbox",
        help="compare boxes or masks (default bbox)",
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
        help="detections per image for AR (default 1,10,100; AP uses the largest)",
    )
    ev.add_argument(
        "--min-score",
        type=_score,
        metavar="S",
        help="drop detections scoring below S before evaluating",
    )
    ev.add_argument(
        "--per-class",
        type=_count,
        default=20,
        metavar="N",
        help="rows of the per-class table (default 20; 0 hides it)",
    )
    ev.add_argument("--json", metavar="FILE", help="also write every number to FILE as JSON")
    ev.add_argument("--plot", metavar="FILE.png", help="draw the IoU histogram and per-class bars")
    ev.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="evaluate on a running Dask cluster (needs ioukit[dask])",
    )
    ev.set_defaults(handler=cmd_eval)

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
    sem.set_defaults(handler=cmd_semseg)

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
    warm.set_defaults(handler=cmd_warmup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ioukit`` command; returns the exit code.

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    return run_guarded(lambda: args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
