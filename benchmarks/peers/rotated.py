"""Rotated-box IoU: ioukit against shapely 2's vectorised ``intersection`` (and
detectron2 / mmcv when installed).

Run ``python -m benchmarks.peers.rotated`` (``--sizes 1000``). Every installed peer is
timed on the same inputs in the same process; the table shows the median time and
the ratio peer / ioukit. shapely's polygons are built outside the timing, so it is
timed on ``intersection`` + ``area`` + the union arithmetic only.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import ioukit
from benchmarks.timing import fmt_seconds, median_seconds
from ioukit._boxes import rotated as _rotated


def random_rotated(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.random((n, 2)) * 600
    wh = rng.random((n, 2)) * 120 + 1
    return np.c_[xy, wh, rng.uniform(-180, 180, n)]


def rotated_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``box_iou(a, b, fmt="cxcywha")`` once the front-end routes rotated formats."""
    try:
        return ioukit.box_iou(a, b, fmt="cxcywha")
    except ValueError:  # this ioukit's box_iou does not take fmt="cxcywha" yet
        return _rotated.rotated_pairwise("iou", a, b, fmt="cxcywha")


def peers(a: np.ndarray, b: np.ndarray):
    """Yield (name, callable) for every installed peer."""
    try:
        import shapely

        pa = shapely.polygons(ioukit.rotated_box_corners(a))[:, None]
        pb = shapely.polygons(ioukit.rotated_box_corners(b))[None, :]
        area_a, area_b = shapely.area(pa), shapely.area(pb)

        def shapely_iou():
            inter = shapely.area(shapely.intersection(pa, pb))
            return inter / (area_a + area_b - inter)

        yield f"shapely {shapely.__version__} intersection (f64)", shapely_iou
    except ImportError:
        pass
    try:
        import torch
        from detectron2.layers import pairwise_iou_rotated

        ta, tb = torch.from_numpy(a.astype(np.float32)), torch.from_numpy(b.astype(np.float32))
        yield "detectron2 pairwise_iou_rotated (f32)", lambda: pairwise_iou_rotated(ta, tb)
    except ImportError:
        pass
    try:
        import torch
        from mmcv.ops import box_iou_rotated

        ra, rb = a.copy(), b.copy()
        ra[:, 4], rb[:, 4] = -np.deg2rad(ra[:, 4]), -np.deg2rad(rb[:, 4])
        ta, tb = torch.from_numpy(ra.astype(np.float32)), torch.from_numpy(rb.astype(np.float32))
        yield "mmcv box_iou_rotated (f32)", lambda: box_iou_rotated(ta, tb)
    except ImportError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}"
    )
    rng = np.random.default_rng(0)
    print("| N = M | ioukit f64 | ioukit f32 | peer | peer time | peer / ioukit f64 |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        a, b = random_rotated(rng, n), random_rotated(rng, n)
        a32, b32 = a.astype(np.float32), b.astype(np.float32)
        t64 = median_seconds(lambda: rotated_iou(a, b), repeat=args.repeat)  # noqa: B023
        t32 = median_seconds(lambda: rotated_iou(a32, b32), repeat=args.repeat)  # noqa: B023
        head = f"| {n:,} | {fmt_seconds(t64)} | {fmt_seconds(t32)} "
        rows = 0
        for name, fn in peers(a, b):
            tp = median_seconds(fn, repeat=args.repeat)
            print(f"{head}| {name} | {fmt_seconds(tp)} | {tp / t64:.1f}x |")
            rows += 1
        if not rows:
            print(f"{head}| (no peer installed) | | |")


if __name__ == "__main__":
    main()
