"""The ``ioukit`` command line: ``demo``, ``eval`` and ``semseg``.

Human-readable tables by default, ``--json FILE`` for machines, ``--plot FILE.png``
for figures. A mistake in the command or its files prints one line on stderr and
exits with 1 (2 for command-line usage errors), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from ._compile_status import CompileWatch
from .bands import DEFAULT_BANDS, iou_band


def _worked_example() -> list[str]:
    from . import box_ciou, box_diou, box_giou, box_iou

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
    from . import box_iou

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
    from ._cli_eval import evaluate_and_report
    from .data import sample_path

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
    from .distributed import client_for

    return client_for(args.scheduler)


def cmd_eval(args: argparse.Namespace) -> int:
    from ._cli_eval import as_json, evaluate_and_report, write_json

    client = _client(args)
    with CompileWatch(announce=True) as watch:  # compile-time: say when compiling
        result, report, lines, seconds = evaluate_and_report(
            args.gt, args.dt, args.iou_type, args.threshold, args.per_class, client=client
        )
    print("\n".join(lines + _compile_note(watch)))
    if args.json:
        write_json(args.json, dict(as_json(result, report, seconds), compile_seconds=watch.seconds))
    if args.plot:
        from ._plot import plot_report

        names = result.category_names
        per_class = {names.get(c, str(c)): v for c, v in report.per_class.items()}
        plot_report(args.plot, report.gt_iou, per_class, f"{Path(args.dt).name} ({args.iou_type})")
    return 0


def cmd_semseg(args: argparse.Namespace) -> int:
    from ._cli_eval import write_json
    from ._cli_semseg import describe, evaluate_folders

    names = None
    if args.class_names:
        names = [
            line.strip() for line in Path(args.class_names).read_text().splitlines() if line.strip()
        ]
    absent = args.absent if args.absent in ("nan", "zero") else float(args.absent)
    client = _client(args)
    result, images = evaluate_folders(
        Path(args.gt_dir),
        Path(args.pred_dir),
        args.num_classes,
        args.ignore_index,
        names,
        absent,
        client=client,
    )
    print("\n".join(describe(result, images)))
    if args.json:
        write_json(args.json, dict(result.as_dict(), images=images))
    if args.plot:
        from ._plot import plot_report

        labels = result.class_names or [str(i) for i in range(len(result.iou))]
        plot_report(
            args.plot,
            result.iou[~np.isnan(result.iou)],
            dict(zip(labels, result.iou, strict=True)),
            "per-class IoU",
        )
    return 0


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
    from ._warmup import FAMILIES, cold_families, warmup

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
    parser = argparse.ArgumentParser(
        prog="ioukit",
        description="Fast Intersection over Union for boxes, masks and segmentation.",
    )
    parser.add_argument("--version", action="version", version=f"ioukit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="the IoU primer's worked example, then COCO evaluation of the embedded sample",
        description="Explain IoU on the primer's worked example (25 / 175), then run the main "
        "job, COCO bbox and segm evaluation, on the embedded 100-image val2014 sample.",
    )
    demo.add_argument(
        "--per-class",
        type=int,
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
        type=float,
        default=0.5,
        help="IoU threshold of the mean-IoU matching (one of COCO's: 0.5 ... 0.95)",
    )
    ev.add_argument(
        "--per-class",
        type=int,
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
    sem.add_argument("--num-classes", type=int, required=True, help="number of classes C")
    sem.add_argument(
        "--ignore-index",
        type=int,
        default=None,
        help="ground-truth label to skip (255 for Cityscapes, 0 for ADE20K)",
    )
    sem.add_argument("--class-names", metavar="FILE", help="text file, one class name per line")
    sem.add_argument(
        "--absent",
        default="nan",
        help="value for classes never seen: nan (left out of the mean), zero, or a number",
    )
    sem.add_argument("--json", metavar="FILE", help="also write every number to FILE as JSON")
    sem.add_argument("--plot", metavar="FILE.png", help="draw per-class IoU bars")
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
        return 2
    try:
        return int(args.handler(args))
    except FileNotFoundError as err:
        print(f"ioukit: error: cannot read {err.filename}: no such file", file=sys.stderr)
    except (ValueError, TypeError, OSError, ImportError) as err:
        print(f"ioukit: error: {err}", file=sys.stderr)
    except KeyboardInterrupt:
        print("ioukit: interrupted", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
