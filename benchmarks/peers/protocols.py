"""Keypoints, LVIS and Boundary IoU evaluation: ioukit against each reference tool.

    python -m benchmarks.peers.protocols [--images 400] [--lvis-copies 4] [--repeat 3]

Generates the data sets in a temporary folder (nothing is written to the repository):
COCO-like keypoint ground truth and jittered detections (pycocotools is the reference),
the shared LVIS sample replicated ``--lvis-copies`` times with perturbed results and
false positives in negative categories (lvis-api), and 480x640 images of polygon masks
with jittered polygon results (faster-coco-eval, ``iouType="boundary"``). Every tool
runs in this process, on files, end to end (load, evaluate, accumulate, summarise);
the table gives the median of ``--repeat`` runs after one warm-up run each, and the
largest difference between the tools' summary numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import logging
import os
import tempfile
import time

import numpy as np

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
LVIS_GT = os.path.join(SHARED, "faster_coco_eval", "tests", "lvis_dataset", "lvis_val_100.json")


def median_run(fn, repeat):
    fn()
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def make_keypoints(folder, n_images, rng):
    images, anns, dets = [], [], []
    for i in range(n_images):
        images.append({"id": i + 1, "height": 480, "width": 640})
        for _ in range(rng.integers(2, 14)):
            w, h = rng.uniform(20, 200), rng.uniform(40, 300)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            kx, ky = rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17)
            v = rng.choice([0, 1, 2], 17, p=[0.3, 0.2, 0.5])
            kx, ky = np.where(v > 0, kx, 0), np.where(v > 0, ky, 0)
            kp = np.column_stack([kx, ky, v]).ravel().round(2).tolist()
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1,
                         "bbox": [x, y, w, h], "area": w * h * 0.6, "iscrowd": 0,
                         "num_keypoints": int((v > 0).sum()), "keypoints": kp})  # fmt: skip
            for _ in range(2):
                jx = np.where(v > 0, kx, rng.uniform(x, x + w, 17)) + rng.normal(0, 6, 17)
                jy = np.where(v > 0, ky, rng.uniform(y, y + h, 17)) + rng.normal(0, 6, 17)
                kd = np.column_stack([jx, jy, np.ones(17)]).ravel().round(2).tolist()
                dets.append({"image_id": i + 1, "category_id": 1, "keypoints": kd,
                             "score": float(rng.random())})  # fmt: skip
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": 1, "name": "person", "keypoints": [str(k) for k in range(17)]}]}  # fmt: skip
    return _write(folder, "kpt", gt, dets), f"{len(anns)} ground truth, {len(dets)} results"


def make_lvis(folder, copies, rng):
    from tests.helpers.lvis import make_lvis_results

    base = json.load(open(LVIS_GT))
    gt = copy.deepcopy(base)
    gt["images"], gt["annotations"] = [], []
    for c in range(copies):
        shift = c * 10**7
        for img in base["images"]:
            gt["images"].append(dict(img, id=img["id"] + shift))
        for ann in base["annotations"]:
            gt["annotations"].append(
                dict(ann, id=ann["id"] + shift * 10, image_id=ann["image_id"] + shift)
            )
    dets = make_lvis_results(gt, rng, extra_per_image=40)
    for d in dets:
        d.pop("segmentation")
    return _write(folder, "lvis", gt, dets), (
        f"{len(gt['images'])} images, {len(gt['annotations'])} ground truth, {len(dets)} results"
    )


def _polygon(rng, cx, cy, rx, ry, n=24):
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(0.7, 1.0, n)
    return np.column_stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)]).ravel()


def make_boundary(folder, n_images, rng):
    images, anns, dets = [], [], []
    for i in range(n_images):
        images.append({"id": i + 1, "height": 480, "width": 640})
        for _ in range(rng.integers(3, 12)):
            cat = int(rng.integers(1, 6))
            rx, ry = rng.uniform(8, 120, 2)
            cx, cy = rng.uniform(rx, 640 - rx), rng.uniform(ry, 480 - ry)
            poly = np.clip(_polygon(rng, cx, cy, rx, ry), 0, 639)
            x, y = poly[0::2], poly[1::2]
            box = [float(v) for v in (x.min(), y.min(), x.max() - x.min(), y.max() - y.min())]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cat,
                         "segmentation": [poly.round(2).tolist()], "bbox": box,
                         "area": box[2] * box[3] * 0.7, "iscrowd": 0})  # fmt: skip
            for _ in range(3):
                p = _polygon(rng, cx + rng.normal(0, rx / 8), cy + rng.normal(0, ry / 8), rx, ry)
                p = np.clip(p, 0, 639).round(2)
                px, py = p[0::2], p[1::2]
                dbox = [
                    float(v) for v in (px.min(), py.min(), px.max() - px.min(), py.max() - py.min())
                ]
                dets.append({"image_id": i + 1, "category_id": cat, "bbox": dbox,
                             "segmentation": [p.tolist()], "score": float(rng.random())})  # fmt: skip
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": c, "name": str(c)} for c in range(1, 6)]}  # fmt: skip
    return _write(folder, "bnd", gt, dets), f"{len(anns)} masks, {len(dets)} results"


def _write(folder, name, gt, dets):
    g, d = os.path.join(folder, f"{name}_gt.json"), os.path.join(folder, f"{name}_dt.json")
    json.dump(gt, open(g, "w"))
    json.dump(dets, open(d, "w"))
    return g, d


def pycocotools_keypoints(g, d):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(g)
        ev = COCOeval(gt, gt.loadRes(d), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def lvis_api(g, d):
    setattr(np, "float", float)  # noqa: B010  (lvis-api under NumPy 2)
    from lvis import LVIS, LVISEval, LVISResults

    logging.getLogger("lvis").setLevel(logging.ERROR)
    gt = LVIS(g)
    ev = LVISEval(gt, LVISResults(gt, d), "bbox")
    ev.run()
    return np.array(list(ev.get_results().values()), dtype=float)


def fce_boundary(g, d):
    from faster_coco_eval import COCO, COCOeval_faster

    logging.getLogger("faster_coco_eval").setLevel(logging.ERROR)
    gt = COCO(g)
    ev = COCOeval_faster(gt, gt.loadRes(d), "boundary", print_function=lambda *a: None)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return np.asarray(ev.stats[:12])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--lvis-copies", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from ioukit.evaluate import coco_evaluate, lvis_evaluate

    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        (g, d), size = make_keypoints(folder, args.images, rng)
        ours = median_run(lambda: coco_evaluate(g, d, "keypoints").stats, args.repeat)
        ref = median_run(lambda: pycocotools_keypoints(g, d), args.repeat)
        rows.append(("keypoints", size, "pycocotools", ours, ref))
        (g, d), size = make_lvis(folder, args.lvis_copies, rng)
        ours = median_run(lambda: np.array(list(lvis_evaluate(g, d).results.values())), args.repeat)
        ref = median_run(lambda: lvis_api(g, d), args.repeat)
        rows.append(("LVIS bbox", size, "lvis-api", ours, ref))
        (g, d), size = make_boundary(folder, args.images, rng)
        ours = median_run(lambda: coco_evaluate(g, d, "boundary").stats, args.repeat)
        ref = median_run(lambda: fce_boundary(g, d), args.repeat)
        rows.append(("boundary (0.02)", size, "faster-coco-eval", ours, ref))
    print(
        "| protocol | data | reference | reference median | ioukit median | speed-up | max stats diff |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, size, tool, (t_ours, s_ours), (t_ref, s_ref) in rows:
        diff = float(np.max(np.abs(np.asarray(s_ours) - np.asarray(s_ref))))
        print(f"| {name} | {size} | {tool} | {t_ref:.2f} s | {t_ours:.2f} s | "
              f"{t_ref / t_ours:.1f}x | {diff:.1e} |")  # fmt: skip


if __name__ == "__main__":
    main()
