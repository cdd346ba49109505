"""The ``ioukit`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from . import __version__
from .bands import DEFAULT_BANDS, iou_band


class UserError(Exception):
    """A mistake in the command line or its inputs: one line on stderr, exit code 2."""


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
    for line in _worked_example():
        print(line)
    print()
    print(_speed_line())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ioukit",
        description="Fast Intersection over Union for boxes, masks and segmentation.",
    )
    parser.add_argument("--version", action="version", version=f"ioukit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo", help="explain IoU on the primer's worked example and time the box kernel"
    )
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ioukit`` command; returns the exit code.

    Examples
    --------
    >>> main(["--help"])  # doctest: +ELLIPSIS
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
    except UserError as err:
        print(f"ioukit: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as err:
        print(f"ioukit: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
