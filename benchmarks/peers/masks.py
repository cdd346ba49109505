"""Mask IoU and the RLE codec: ioukit against pycocotools, faster-coco-eval and supervision.

``python -m benchmarks.peers.masks --n 1000`` builds N realistic instance masks
(filled ellipses, 480 x 640, like COCO objects) for each side and times, on the
same data: RLE IoU, dense IoU (pycocotools' encode + iou; supervision's
``mask_iou_batch``), ``encode`` and ``decode``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import ioukit
from benchmarks.inputs import ellipses
from benchmarks.timing import fmt_seconds, median_seconds
from ioukit import rle


def row(task: str, ours: float, peer: str, theirs: float | None) -> None:
    if theirs is None:
        print(f"| {task} | {fmt_seconds(ours)} | {peer} | not installed | |")
    else:
        print(
            f"| {task} | {fmt_seconds(ours)} | {peer} | {fmt_seconds(theirs)} | {theirs / ours:.1f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument(
        "--sv-n", type=int, default=100, help="masks per side for supervision (it is slow)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    a, b = ellipses(rng, args.n), ellipses(rng, args.n)
    print(f"# {os.cpu_count()} cores; {args.n} x {args.n} masks of 480 x 640")
    print("| task | ioukit | peer | peer time | peer / ioukit |")
    print("|---|---|---|---|---|")
    try:
        from pycocotools import mask as cm
    except ImportError:
        cm = None
    a_f = np.asfortranarray(np.moveaxis(a.astype(np.uint8), 0, -1))
    b_f = np.asfortranarray(np.moveaxis(b.astype(np.uint8), 0, -1))
    ra, rb = rle.encode(a), rle.encode(b)
    crowd = [0] * args.n

    t = median_seconds(lambda: ioukit.mask_iou(ra, rb), repeat=5)
    row(
        f"RLE IoU {args.n} x {args.n}",
        t,
        "pycocotools mask.iou",
        cm and median_seconds(lambda: cm.iou(ra, rb, crowd), repeat=3),
    )
    try:
        import faster_coco_eval.core.mask as fm

        row(
            f"RLE IoU {args.n} x {args.n}",
            t,
            "faster-coco-eval mask.iou",
            median_seconds(lambda: fm.iou(ra, rb, crowd), repeat=3),
        )
    except ImportError:
        pass

    t = median_seconds(lambda: ioukit.mask_iou(a, b), repeat=5)
    row(
        f"dense IoU {args.n} x {args.n} (bool N,H,W)",
        t,
        "pycocotools encode + iou",
        cm and median_seconds(lambda: cm.iou(cm.encode(a_f), cm.encode(b_f), crowd), repeat=3),
    )

    t = median_seconds(lambda: rle.encode(a), repeat=5)
    row(
        f"encode {args.n} masks",
        t,
        "pycocotools encode (Fortran input)",
        cm and median_seconds(lambda: cm.encode(a_f), repeat=3),
    )
    t = median_seconds(lambda: rle.decode(ra), repeat=5)
    row(
        f"decode {args.n} masks",
        t,
        "pycocotools decode",
        cm and median_seconds(lambda: cm.decode(ra), repeat=3),
    )

    n = min(args.sv_n, args.n)
    try:
        from supervision.detection.utils.iou_and_nms import mask_iou_batch

        t = median_seconds(lambda: ioukit.mask_iou(a[:n], b[:n]), repeat=5)
        row(
            f"dense IoU {n} x {n}",
            t,
            "supervision mask_iou_batch",
            median_seconds(lambda: mask_iou_batch(a[:n], b[:n]), repeat=3),
        )
    except ImportError:
        pass


if __name__ == "__main__":
    main()
