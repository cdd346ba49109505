"""A training-loop mAP: ioukit's streaming MeanAveragePrecision against torchmetrics'
(both backends, when torch and torchmetrics are installed) and against collecting
COCO dicts for pycocotools / faster-coco-eval.

    python -m benchmarks.peers.map_stream --images 5000 --batch 16

Every tool runs in its own fresh process on the same synthetic stream (seeded,
generated batch by batch so the stream itself holds no memory): about 7 objects and
53 detections per image over 80 classes, like COCO val2017. Reported per tool: the
time of all ``update`` calls, of ``compute``, the CPU time of both (all threads), the peak resident memory the process
gained, the state's bytes per image where the tool exposes it, the resident memory the
process gained from the start of the stream to the end of the updates (per image:
the state as it really sits in memory, object overheads included), and ``map`` (every
tool must agree). A tool that is not installed is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

COMMON = r"""
import json, os, resource, sys, time
import numpy as np

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def stream(n_images, batch, seed=0):
    rng = np.random.default_rng(seed)
    for start in range(0, n_images, batch):
        preds, targets = [], []
        for _ in range(min(batch, n_images - start)):
            n_gt = int(rng.poisson(7))
            xy = rng.random((n_gt, 2)) * [560, 400]
            wh = 4 + rng.random((n_gt, 2)) ** 2 * [300, 250]
            g = np.c_[xy, xy + wh].astype(np.float32)
            gl = rng.integers(0, 80, n_gt)
            n_dt = int(rng.integers(30, 77))
            src = rng.integers(0, max(n_gt, 1), n_dt)
            if n_gt:
                d = g[src] + rng.normal(0, 8, (n_dt, 4)).astype(np.float32)
                dl = np.where(rng.random(n_dt) < 0.7, gl[src], rng.integers(0, 80, n_dt))
            else:
                d = np.tile(rng.random((n_dt, 2)) * 500, 2).astype(np.float32)
                dl = rng.integers(0, 80, n_dt)
            d[:, 2:] = np.maximum(d[:, 2:], d[:, :2] + 1)
            preds.append({"boxes": d, "scores": rng.random(n_dt).astype(np.float32),
                          "labels": dl.astype(np.int64)})
            targets.append({"boxes": g, "labels": gl.astype(np.int64)})
        yield preds, targets

N, BATCH = int(sys.argv[1]), int(sys.argv[2])
"""

IOUKIT = r"""
from ioukit.evaluate import MeanAveragePrecision
MeanAveragePrecision().update(*next(stream(4, 4, seed=1)))  # load the compiled kernels
w = MeanAveragePrecision(); w.update(*next(stream(4, 4, seed=1))); w.compute()
base = rss()
m = MeanAveragePrecision()
t0, c0 = time.perf_counter(), time.process_time()
for p, t in stream(N, BATCH):
    m.update(p, t)
t1, c1 = time.perf_counter(), time.process_time()
held = rss() - base
out = m.compute()
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"update": t1 - t0, "compute": t2 - t1, "cpu": c2 - c0, "peak_mb": (peak() - base) / 2**20,
                  "state_bytes_per_image": m.nbytes / N, "held_per_image": held / N, "map": float(out["map"])}))
"""

DICTS = r"""
import contextlib, io
{imports}
base = rss()
images, anns, results = [], [], []
t0, c0 = time.perf_counter(), time.process_time()
for p, t in stream(N, BATCH):
    for pi, ti in zip(p, t):
        i = len(images)
        images.append({{"id": i}})
        b = ti["boxes"].astype(np.float64)
        for k in range(len(ti["labels"])):
            x0, y0, x1, y1 = b[k].tolist()
            anns.append({{"id": len(anns) + 1, "image_id": i, "category_id": int(ti["labels"][k]),
                         "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
                         "iscrowd": 0}})
        b = pi["boxes"].astype(np.float64)
        for k in range(len(pi["labels"])):
            x0, y0, x1, y1 = b[k].tolist()
            results.append({{"image_id": i, "category_id": int(pi["labels"][k]),
                            "bbox": [x0, y0, x1 - x0, y1 - y0], "score": float(pi["scores"][k])}})
t1, c1 = time.perf_counter(), time.process_time()
held = rss() - base
cats = sorted({{a["category_id"] for a in anns}} | {{r["category_id"] for r in results}})
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO()
    gt.dataset = {{"images": images, "annotations": anns, "categories": [{{"id": c}} for c in cats]}}
    gt.createIndex()
    dt = gt.loadRes(results)
    ev = COCOeval(gt, dt, "bbox")
    ev.evaluate(); ev.accumulate(); ev.summarize()
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({{"update": t1 - t0, "compute": t2 - t1, "cpu": c2 - c0, "peak_mb": (peak() - base) / 2**20,
                  "state_bytes_per_image": None, "held_per_image": held / N, "map": float(ev.stats[0])}}))
"""

TORCHMETRICS = r"""
import torch
from torchmetrics.detection import MeanAveragePrecision
base = rss()
m = MeanAveragePrecision(backend="{backend}")
m.warn_on_many_detections = False
t0, c0 = time.perf_counter(), time.process_time()
for p, t in stream(N, BATCH):
    tp = [{{k: torch.from_numpy(v) for k, v in d.items()}} for d in p]
    tt = [{{k: torch.from_numpy(v) for k, v in d.items()}} for d in t]
    m.update(tp, tt)
t1, c1 = time.perf_counter(), time.process_time()
held = rss() - base
out = m.compute()
t2, c2 = time.perf_counter(), time.process_time()
state = sum(x.element_size() * x.nelement() for name in
            ("detection_box", "detection_scores", "detection_labels", "groundtruth_box",
             "groundtruth_labels", "groundtruth_crowds", "groundtruth_area")
            for x in getattr(m, name))
print(json.dumps({{"update": t1 - t0, "compute": t2 - t1, "cpu": c2 - c0, "peak_mb": (peak() - base) / 2**20,
                  "state_bytes_per_image": state / N, "held_per_image": held / N, "map": float(out["map"])}}))
"""

TOOLS = {
    "ioukit MeanAveragePrecision": (IOUKIT, None),
    "torchmetrics (pycocotools)": (TORCHMETRICS.format(backend="pycocotools"), "torchmetrics"),
    "torchmetrics (faster_coco_eval)": (
        TORCHMETRICS.format(backend="faster_coco_eval"),
        "torchmetrics",
    ),
    "COCO dicts + pycocotools": (
        DICTS.format(
            imports="from pycocotools.coco import COCO; from pycocotools.cocoeval import COCOeval"
        ),
        "pycocotools",
    ),
    "COCO dicts + faster-coco-eval": (
        DICTS.format(imports="from faster_coco_eval import COCO, COCOeval_faster as COCOeval"),
        "faster_coco_eval",
    ),
}


def installed(module: str | None) -> bool:
    if module is None:
        return True
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="run only the tools whose name contains one of these",
    )
    args = ap.parse_args()
    print(f"{args.images} images, batches of {args.batch}\n")
    print(
        "| tool | update (s) | compute (s) | CPU time, all threads (s) | peak memory gained (MB) "
        "| state bytes / image | resident bytes / image after the updates | map |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (code, module) in TOOLS.items():
        if args.only and not any(word in name for word in args.only):
            continue
        if not installed(module):
            print(f"| {name} | skipped: {module} is not installed | | | | | | |")
            continue
        proc = subprocess.run(
            [sys.executable, "-c", COMMON + code, str(args.images), str(args.batch)],
            capture_output=True,
            text=True,
            env=dict(os.environ),
        )
        if proc.returncode:
            err = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
            print(f"| {name} | error: {err} | | | | | | |")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        state = r["state_bytes_per_image"]
        state = f"{state:,.0f}" if state is not None else "n/a"
        print(
            f"| {name} | {r['update']:.2f} | {r['compute']:.2f} | {r['cpu']:.2f} | {r['peak_mb']:.0f} "
            f"| {state} | {r['held_per_image']:,.0f} "
            f"| {r['map']:.6f} |"
        )


if __name__ == "__main__":
    main()
