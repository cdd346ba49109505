"""The ``ioukit`` command line: ``demo``, ``eval``, ``analyze``, ``panoptic``, ``semseg``,
``warmup``.

Human-readable tables by default, ``--json FILE`` for machines, ``--plot FILE.png``
for figures. A mistake in the command or its files prints one line on stderr and
exits with 1 (2 for command-line usage errors), never a traceback; see
:mod:`ioukit.cli.errors` for every exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._core.compile_status import CompileWatch
from ..bands import DEFAULT_BANDS, iou_band
from .errors import EXIT_USAGE, check_writable, run_guarded
from .parser import build_parser, parse_args


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
    if getattr(args, "plot", None):
        from .plot import check_plot

        check_plot(args.plot)


def _check_input_file(path: str, what: str) -> None:
    if Path(path).is_dir():
        raise ValueError(f"{what} {path} is a folder, not a file")
    if not Path(path).exists():
        raise ValueError(f"cannot read {path}: no such file")


def _run_report(
    args: argparse.Namespace,
    inputs: dict[str, str],
    work: Callable[[], tuple[list[str], Callable[[float], None]]],
) -> int:
    """Check the ``inputs`` (``{path: what}``) and the output paths, then run ``work``
    (returns its text lines and a function writing ``--json`` / ``--plot`` given the
    compile seconds), print the lines and save."""
    for path, what in inputs.items():
        _check_input_file(path, what)
    _check_outputs(args)
    with CompileWatch(announce=True) as watch:  # compile-time: say when compiling
        lines, save = work()
    print("\n".join(lines + _compile_note(watch)))
    save(watch.seconds)
    return 0


def _saver(args: argparse.Namespace, payload: dict, plot: Any = None) -> Callable[[float], None]:
    """Write ``payload`` to ``--json`` (with the compile seconds), call ``plot(--plot)``."""
    from .eval_command import write_json

    def save(compile_seconds: float) -> None:
        if args.json:
            write_json(args.json, dict(payload, compile_seconds=compile_seconds))
        if getattr(args, "plot", None) and plot is not None:
            plot(args.plot)

    return save


class _LazyClient:
    """``--scheduler``'s Dask client, connected on the first call (once the options
    are known to fit the protocol) and closed with ``close()``."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.client: Any = None

    def __call__(self) -> Any:
        if self.client is None:
            self.client = _client(self.args)
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def cmd_eval(args: argparse.Namespace) -> int:
    client = _LazyClient(args)

    def work() -> tuple[list[str], Callable[[float], None]]:
        from . import eval_protocols

        try:
            outcome = eval_protocols.run(args, client)
        finally:
            client.close()
        return outcome.lines, _saver(args, outcome.payload, outcome.plot)

    return _run_report(args, {args.gt: "ground truth", args.dt: "detections"}, work)


def cmd_panoptic(args: argparse.Namespace) -> int:
    client = _LazyClient(args)

    def work() -> tuple[list[str], Callable[[float], None]]:
        from .panoptic_command import run_panoptic

        try:
            lines, payload = run_panoptic(args, client)
        finally:
            client.close()
        return lines, _saver(args, payload)

    return _run_report(args, {args.gt: "ground truth", args.pred: "prediction"}, work)


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


def cmd_analyze(args: argparse.Namespace) -> int:
    def work() -> tuple[list[str], Callable[[float], None]]:
        from .analysis_command import run_analysis

        lines, save = run_analysis(args)
        return lines, lambda _seconds: save()

    return _run_report(args, {args.gt: "ground truth", args.dt: "detections"}, work)


_HANDLERS = {
    "demo": cmd_demo,
    "eval": cmd_eval,
    "analyze": cmd_analyze,
    "panoptic": cmd_panoptic,
    "semseg": cmd_semseg,
    "warmup": cmd_warmup,
}


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
    args = parse_args(parser, argv)
    handler = _HANDLERS.get(args.command)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    return run_guarded(lambda: handler(args))


if __name__ == "__main__":
    sys.exit(main())
