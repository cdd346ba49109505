"""Helpers of the panoptic tests: a NumPy reference of panopticapi's algorithm, panopticapi
itself when importable, and writers of synthetic COCO panoptic sets."""

from __future__ import annotations

import contextlib
import io
import json
import math
import struct
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

# ------------------------------------------------------------ shared test data

#: folders of ``../shared/data`` with published panoptic inputs (and their colour maps)
TF_DIR = "tensorflow-models/research/deeplab/evaluation/testdata"
DL2_DIR = "deeplab2/evaluation/testdata"
PANOPTICAPI_DIR = "panopticapi/sample_data"
#: the RGB colour -> class id map of the tensorflow-models and deeplab2 test PNGs
CLASS_COLORS = {
    (0, 0, 0): 0,
    (0, 0, 255): 1,
    (255, 0, 0): 2,
    (0, 255, 0): 3,
    (255, 0, 255): 4,
    (0, 255, 255): 5,
    (255, 255, 0): 6,
}

# ------------------------------------------------------------ NumPy reference


def reference_image(gt, pred, gt_segs, pred_segs, crowd_rule="last"):
    """panopticapi's per-image algorithm, written from its description: ``np.unique`` of
    the combined label, dict loops. ``gt_segs = {id: (category, iscrowd, area)}`` in
    segments_info order, ``pred_segs = {id: category}``. Returns ``{cat: [iou, tp, fp, fn]}``."""
    combined = gt.astype(np.uint64).ravel() * np.uint64(1 << 24) + pred.astype(np.uint64).ravel()
    labels, counts = np.unique(combined, return_counts=True)
    pairs = {(int(v) >> 24, int(v) & 0xFFFFFF): int(c) for v, c in zip(labels, counts, strict=True)}
    pred_area = defaultdict(int)
    for (_, p), c in pairs.items():
        pred_area[p] += c
    stats = defaultdict(lambda: [0.0, 0, 0, 0])
    matched_gt, matched_pred = set(), set()
    for (g, p), inter in sorted(pairs.items()):
        if g not in gt_segs or p not in pred_segs:
            continue
        cat, crowd, area = gt_segs[g]
        if crowd or cat != pred_segs[p]:
            continue
        iou = inter / (pred_area[p] + area - inter - pairs.get((0, p), 0))
        if iou > 0.5:
            stats[cat][0] += iou
            stats[cat][1] += 1
            matched_gt.add(g)
            matched_pred.add(p)
    crowd_of = {}
    for g, (cat, crowd, _) in gt_segs.items():
        if crowd:
            crowd_of[cat] = [g] if crowd_rule == "last" else [*crowd_of.get(cat, []), g]
        elif g not in matched_gt:
            stats[cat][3] += 1
    for p, cat in pred_segs.items():
        if p in matched_pred:
            continue
        excused = pairs.get((0, p), 0) + sum(pairs.get((g, p), 0) for g in crowd_of.get(cat, []))
        if excused / pred_area[p] <= 0.5:
            stats[cat][2] += 1
    return stats


def reference_average(stats, categories, isthing):
    out = {}
    for name, want in (("All", None), ("Things", True), ("Stuff", False)):
        pq = sq = rq = 0.0
        n = 0
        for cat in categories:
            if want is not None and isthing[cat] != want:
                continue
            iou, tp, fp, fn = stats.get(cat, (0.0, 0, 0, 0))
            if tp + fp + fn == 0:
                continue
            n += 1
            pq += iou / (tp + 0.5 * fp + 0.5 * fn)
            sq += iou / tp if tp else 0.0
            rq += tp / (tp + 0.5 * fp + 0.5 * fn)
        out[name] = {"pq": pq / n, "sq": sq / n, "rq": rq / n, "n": n} if n else None
    return out


def rgb2id(arr):
    arr = arr.astype(np.int64)
    return arr[..., 0] + 256 * arr[..., 1] + 65536 * arr[..., 2]


def reference_files(gt_json, pred_json, gt_folder, pred_folder):
    gt = json.loads(Path(gt_json).read_text())
    pred = json.loads(Path(pred_json).read_text())
    preds = {a["image_id"]: a for a in pred["annotations"]}
    total = defaultdict(lambda: [0.0, 0, 0, 0])
    for ann in gt["annotations"]:
        p_ann = preds[ann["image_id"]]
        g = rgb2id(np.asarray(_image().open(Path(gt_folder) / ann["file_name"]).convert("RGB")))
        p = rgb2id(np.asarray(_image().open(Path(pred_folder) / p_ann["file_name"]).convert("RGB")))
        gs = {
            s["id"]: (s["category_id"], s["iscrowd"] == 1, s["area"]) for s in ann["segments_info"]
        }
        ps = {s["id"]: s["category_id"] for s in p_ann["segments_info"]}
        for cat, v in reference_image(g, p, gs, ps).items():
            for j in range(4):
                total[cat][j] += v[j]
    isthing = {c["id"]: c["isthing"] == 1 for c in gt["categories"]}
    return total, reference_average(total, list(isthing), isthing)


def live_panopticapi(gt_json, pred_json, gt_folder, pred_folder):
    """panopticapi's own single-core evaluation, or None when it is not importable
    (``pip install --no-deps panopticapi-lite``: its metadata pins NumPy < 2)."""
    try:
        from panopticapi import evaluation
    except ImportError:
        return None
    gt = json.loads(Path(gt_json).read_text())
    pred = json.loads(Path(pred_json).read_text())
    preds = {a["image_id"]: a for a in pred["annotations"]}
    cats = {c["id"]: c for c in gt["categories"]}
    pairs = [(a, preds[a["image_id"]]) for a in gt["annotations"]]
    with contextlib.redirect_stdout(io.StringIO()):
        stat = evaluation.pq_compute_single_core(0, pairs, str(gt_folder), str(pred_folder), cats)
    out = {}
    for name, isthing in (("All", None), ("Things", True), ("Stuff", False)):
        out[name], per_class = stat.pq_average(cats, isthing=isthing)
        if name == "All":
            out["per_class"] = per_class
    return out


def assert_matches_reference(result, gt_json, pred_json, gt_folder, pred_folder):
    counts, groups = reference_files(gt_json, pred_json, gt_folder, pred_folder)
    for k, cat in enumerate(result.categories):
        iou, tp, fp, fn = counts.get(cat, (0.0, 0, 0, 0))
        assert (int(result.tp[k]), int(result.fp[k]), int(result.fn[k])) == (tp, fp, fn), cat
        assert result.iou[k] == pytest.approx(iou, rel=1e-13, abs=1e-13)
    for name, g in groups.items():
        if g is None:
            assert result.groups[name]["n"] == 0 and math.isnan(result.groups[name]["pq"])
        else:
            for key in ("pq", "sq", "rq"):
                assert result.groups[name][key] == pytest.approx(g[key], rel=1e-12)
            assert result.groups[name]["n"] == g["n"]
    live = live_panopticapi(gt_json, pred_json, gt_folder, pred_folder)
    if live is not None:  # same summation order: equal to the last bit
        for name in ("All", "Things", "Stuff"):
            mine = result.groups[name]
            assert {k: mine[k] for k in live[name]} == live[name]
        assert result.per_class == live["per_class"]


def write_set(folder: Path, name: str, images, categories=None, image_ids=None):
    """Write ``images = [(file, ids, segments_info)]`` as a COCO panoptic JSON + PNG folder."""
    (folder / name).mkdir(parents=True, exist_ok=True)
    anns = []
    for k, (file_name, ids, segs) in enumerate(images):
        ids = np.asarray(ids, dtype=np.int64)
        rgb = np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)
        _image().fromarray(rgb).save(folder / name / file_name)
        image_id = k + 1 if image_ids is None else image_ids[k]
        anns.append({"image_id": image_id, "file_name": file_name, "segments_info": segs})
    data = {"annotations": anns}
    if categories is not None:
        data["categories"] = categories
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def random_image(rng, h, w, n_seg, n_cats, crowd_share=0.25):
    """Blocky Voronoi segments with random ids; gt with void and crowd, pred perturbed."""
    sh, sw = h // 4, w // 4
    yy, xx = np.mgrid[:sh, :sw]
    seeds = rng.uniform(0, 1, (n_seg, 2)) * (sh, sw)
    region = np.argmin((yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2, -1)
    region = np.repeat(np.repeat(region, 4, 0), 4, 1)
    gt_ids = rng.choice(np.arange(1, 1 << 24), n_seg, replace=False)
    gt_cat = rng.integers(1, n_cats + 1, n_seg)
    gt_crowd = rng.random(n_seg) < crowd_share
    gt_void = rng.random(n_seg) < 0.1
    gt = np.where(gt_void[region], 0, gt_ids[region])
    # prediction: merge some regions into neighbours, change some categories, shift
    target = np.arange(n_seg)
    merged = rng.random(n_seg) < 0.2
    target[merged] = rng.integers(0, n_seg, merged.sum())
    pred_region = np.roll(target[region], tuple(rng.integers(-3, 4, 2)), axis=(0, 1))
    pred_ids = rng.choice(np.arange(0, 1 << 24), n_seg, replace=False)  # id 0 may be a segment
    pred_cat = np.where(rng.random(n_seg) < 0.2, rng.integers(1, n_cats + 1, n_seg), gt_cat)
    pred_void = rng.random(n_seg) < 0.05
    pred = np.where(pred_void[pred_region] & (pred_ids[pred_region] != 0), 0, pred_ids[pred_region])
    gt_segs = [
        {
            "id": int(gt_ids[k]),
            "category_id": int(gt_cat[k]),
            "iscrowd": int(gt_crowd[k]),
            "area": int((gt == gt_ids[k]).sum()),
        }
        for k in rng.permutation(n_seg)
        if (gt == gt_ids[k]).any()
    ]
    present = set(np.unique(pred).tolist())
    pred_segs = [
        {"id": int(pred_ids[k]), "category_id": int(pred_cat[k])}
        for k in range(n_seg)
        if int(pred_ids[k]) in present
    ]
    return gt, pred, gt_segs, pred_segs


def chunk(kind, body):
    """One PNG chunk: length, kind, body, CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _image():
    from PIL import Image

    return Image
