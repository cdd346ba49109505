"""Panoptic quality of COCO panoptic files: ioukit against panopticapi ``pq_compute``.

``python -m benchmarks.peers.panoptic --images 200`` writes a synthetic COCO panoptic
set to a temporary folder (512 x 512 PNGs, 20-60 segments each: irregular regions
from the nearest of random seeds, 133 categories of which 80 are things, about 3 %
crowd and 5 % void segments; the prediction merges, relabels and shifts them), then
times panopticapi's ``pq_compute`` (its multiprocessing pool, one process per CPU)
and its single-core loop against ``ioukit.evaluate.panoptic_evaluate`` (thread pool,
and one thread), medians of ``--repeat`` runs taken in alternation, wall time and
the CPU time of this process (all its threads). It checks that
both give the same numbers. panopticapi: ``pip install --no-deps panopticapi-lite``
(its metadata pins NumPy < 2; the evaluation code runs under NumPy 2). ioukit inflates
the PNGs with libdeflate when the optional ``deflate`` package is installed, else with
zlib; the header line says which.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ioukit.evaluate import panoptic_evaluate
from ioukit.evaluate.panoptic_png import LIBDEFLATE


def make_image(rng, size, n_seg, n_cats, n_things):
    small = size // 4
    yy, xx = np.mgrid[:small, :small]
    seeds = rng.uniform(0, small, (n_seg, 2))
    d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    region = np.repeat(np.repeat(np.argmin(d, -1), 4, 0), 4, 1)
    gt_ids = rng.choice(np.arange(1, 1 << 24), n_seg, replace=False)
    cats = rng.integers(1, n_cats + 1, n_seg)
    crowd = (rng.random(n_seg) < 0.03) & (cats <= n_things)
    void = rng.random(n_seg) < 0.05
    gt = np.where(void[region], 0, gt_ids[region])
    target = np.arange(n_seg)
    merged = rng.random(n_seg) < 0.15
    target[merged] = rng.integers(0, n_seg, merged.sum())
    pred_region = np.roll(target[region], tuple(rng.integers(-6, 7, 2)), axis=(0, 1))
    pred_ids = rng.choice(np.arange(1, 1 << 24), n_seg, replace=False)
    pred_cats = np.where(rng.random(n_seg) < 0.15, rng.integers(1, n_cats + 1, n_seg), cats)
    pred = pred_ids[pred_region]
    gt_segs = []
    gt_present, gt_area = np.unique(gt, return_counts=True)
    area = dict(zip(gt_present.tolist(), gt_area.tolist(), strict=True))
    for k in range(n_seg):
        if int(gt_ids[k]) in area:
            gt_segs.append(
                {
                    "id": int(gt_ids[k]),
                    "category_id": int(cats[k]),
                    "iscrowd": int(crowd[k]),
                    "area": area[int(gt_ids[k])],
                }
            )
    present = set(np.unique(pred).tolist())
    pred_segs = [
        {"id": int(pred_ids[k]), "category_id": int(pred_cats[k])}
        for k in range(n_seg)
        if int(pred_ids[k]) in present
    ]
    return gt, pred, gt_segs, pred_segs


def to_rgb(ids):
    return np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], -1).astype(np.uint8)


def write_set(root: Path, images: int, size: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    n_cats, n_things = 133, 80
    cats = [{"id": c, "name": f"c{c}", "isthing": int(c <= n_things)} for c in range(1, n_cats + 1)]
    gt_anns, pred_anns = [], []
    (root / "gt").mkdir()
    (root / "pred").mkdir()
    for k in range(images):
        gt, pred, gs, ps = make_image(rng, size, int(rng.integers(20, 61)), n_cats, n_things)
        name = f"{k:06d}.png"
        Image.fromarray(to_rgb(gt)).save(root / "gt" / name)
        Image.fromarray(to_rgb(pred)).save(root / "pred" / name)
        gt_anns.append({"image_id": k, "file_name": name, "segments_info": gs})
        pred_anns.append({"image_id": k, "file_name": name, "segments_info": ps})
    (root / "gt.json").write_text(json.dumps({"annotations": gt_anns, "categories": cats}))
    (root / "pred.json").write_text(json.dumps({"annotations": pred_anns}))
    return root / "gt.json", root / "pred.json"


def panopticapi_single_core(gt_json, pred_json, gt_folder, pred_folder):
    from panopticapi import evaluation

    gt = json.loads(Path(gt_json).read_text())
    pred = {a["image_id"]: a for a in json.loads(Path(pred_json).read_text())["annotations"]}
    cats = {c["id"]: c for c in gt["categories"]}
    pairs = [(a, pred[a["image_id"]]) for a in gt["annotations"]]
    stat = evaluation.pq_compute_single_core(0, pairs, gt_folder, pred_folder, cats)
    return {name: stat.pq_average(cats, t)[0] for name, t in (("All", None), ("Things", True))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        from panopticapi import evaluation
    except ImportError:
        raise SystemExit("panopticapi is missing: pip install --no-deps panopticapi-lite") from None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        gt_json, pred_json = write_set(root, args.images, args.size)
        gt_f, pred_f = str(root / "gt"), str(root / "pred")
        runs = {
            "panopticapi pq_compute (process pool)": lambda: evaluation.pq_compute(
                str(gt_json), str(pred_json), gt_f, pred_f
            )["All"]["pq"],
            "panopticapi, one core": lambda: panopticapi_single_core(
                gt_json, pred_json, gt_f, pred_f
            )["All"]["pq"],
            "ioukit panoptic_evaluate (thread pool)": lambda: (
                panoptic_evaluate(gt_json, pred_json, gt_f, pred_f).pq
            ),
            "ioukit panoptic_evaluate, one thread": lambda: (
                panoptic_evaluate(gt_json, pred_json, gt_f, pred_f, workers=1).pq
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        values: dict[str, float] = {}
        for _ in range(args.repeat + 1):  # the first round warms up (compiles, page cache)
            for name, fn in runs.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                with contextlib.redirect_stdout(io.StringIO()):
                    values[name] = fn()
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
        ref = values["panopticapi pq_compute (process pool)"]
        for name, v in values.items():
            assert abs(v - ref) < 1e-12, (name, v, ref)
        med = {name: statistics.median(t[1:]) for name, t in times.items()}
        segs = sum(len(a["segments_info"]) for a in json.loads(gt_json.read_text())["annotations"])
        print(
            f"# {args.images} images of {args.size} x {args.size}, {segs} gt segments, "
            f"{os.cpu_count()} CPUs, PQ = {ref:.6f} (all tools agree); median of {args.repeat}; "
            f"ioukit inflates with {'zlib' if LIBDEFLATE is None else 'libdeflate'}"
        )
        med_cpu = {name: statistics.median(t[1:]) for name, t in cpu.items()}
        print("| tool | time | images/s | pq_compute / this | CPU time (this process) |")
        print("|---|---|---|---|---|")
        base = med["panopticapi pq_compute (process pool)"]
        for name, t in med.items():
            in_pool = "pool" in name and "panopticapi" in name  # the work is in children
            cpu_text = "in worker processes" if in_pool else f"{med_cpu[name]:.2f} s"
            print(f"| {name} | {t:.2f} s | {args.images / t:.0f} | {base / t:.1f}x | {cpu_text} |")


if __name__ == "__main__":
    main()
