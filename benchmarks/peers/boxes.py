"""Box IoU: ioukit against cython_bbox, pycocotools, supervision and torchvision.

Run ``python -m benchmarks.peers.boxes`` (``--sizes 100 2000``). Every peer that is
installed is timed on the same inputs in the same process; the table shows the
median time and the ratio peer / ioukit (how many times faster ioukit is).
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import ioukit
from benchmarks.inputs import random_boxes
from benchmarks.timing import fmt_seconds, median_seconds


def peers(metric: str, a64: np.ndarray, b64: np.ndarray, a32: np.ndarray, b32: np.ndarray):
    """Yield (name, callable) for every installed peer of ``metric``."""
    if metric == "iou":
        try:
            from cython_bbox import bbox_overlaps  # +1 pixel convention, float64

            yield "cython_bbox (f64, +1)", lambda: bbox_overlaps(a64, b64)
        except ImportError:
            pass
        try:
            from pycocotools import mask as mask_utils

            aw, bw = a64.copy(), b64.copy()
            aw[:, 2:] -= aw[:, :2]
            bw[:, 2:] -= bw[:, :2]
            crowd = [0] * len(bw)
            yield "pycocotools mask.iou (f64)", lambda: mask_utils.iou(aw, bw, crowd)
        except ImportError:
            pass
        try:
            from supervision.detection.utils.iou_and_nms import box_iou_batch

            yield "supervision box_iou_batch (f32)", lambda: box_iou_batch(a32, b32)
        except ImportError:
            pass
    try:
        import torch
        import torchvision.ops as ops

        fn = {
            "iou": ops.box_iou,
            "giou": ops.generalized_box_iou,
            "diou": ops.distance_box_iou,
            "ciou": ops.complete_box_iou,
        }[metric]
        ta, tb = torch.from_numpy(a32), torch.from_numpy(b32)
        yield (
            f"torchvision {fn.__name__} (f32, {torch.get_num_threads()} threads)",
            lambda: fn(ta, tb),
        )
    except ImportError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 2000, 5000])
    parser.add_argument("--metrics", nargs="+", default=["iou", "giou", "diou", "ciou"])
    parser.add_argument("--json", metavar="FILE", help="also write the timings (seconds) to FILE")
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}"
    )
    funcs = {
        "iou": ioukit.box_iou,
        "giou": ioukit.box_giou,
        "diou": ioukit.box_diou,
        "ciou": ioukit.box_ciou,
    }
    rng = np.random.default_rng(0)
    records = []
    print(
        "| metric | N = M | ioukit f32 (out=) | pairs/s | ioukit f64 | peer | peer time | peer / ioukit |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        a64, b64 = random_boxes(rng, n, np.float64), random_boxes(rng, n, np.float64)
        a32, b32 = a64.astype(np.float32), b64.astype(np.float32)
        out32, out64 = np.empty((n, n), np.float32), np.empty((n, n), np.float64)
        for metric in args.metrics:
            f = funcs[metric]
            t32 = median_seconds(lambda: f(a32, b32, out=out32))  # noqa: B023
            t64 = median_seconds(lambda: f(a64, b64, out=out64))  # noqa: B023
            head = f"| {metric} | {n:,} | {fmt_seconds(t32)} | {n * n / t32 / 1e9:.2f} G | {fmt_seconds(t64)} "
            records += [
                {"metric": metric, "n": n, "tool": "ioukit (f32, out=)", "seconds": t32},
                {"metric": metric, "n": n, "tool": "ioukit (f64, out=)", "seconds": t64},
            ]
            rows = 0
            for name, fn in peers(metric, a64, b64, a32, b32):
                tp = median_seconds(fn, repeat=5)
                ours = t64 if "f64" in name else t32
                print(f"{head}| {name} | {fmt_seconds(tp)} | {tp / ours:.1f}x |")
                records.append({"metric": metric, "n": n, "tool": name, "seconds": tp})
                rows += 1
            if not rows:
                print(f"{head}| (no peer installed) | | |")
    if args.json:
        import json

        with open(args.json, "w") as handle:
            json.dump({"machine": f"{os.cpu_count()} cores", "records": records}, handle, indent=1)


if __name__ == "__main__":
    main()
