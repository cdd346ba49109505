"""Panoptic quality: published values (tf-models, deeplab2), panopticapi live where it is
importable, a NumPy reference of panopticapi's algorithm, streaming / merging, errors."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from ioukit.evaluate import PanopticQuality, panoptic_evaluate, panoptic_quality

PIL = pytest.importorskip("PIL.Image")

TF_DIR = "tensorflow-models/research/deeplab/evaluation/testdata"
DL2_DIR = "deeplab2/evaluation/testdata"
PANOPTICAPI_DIR = "panopticapi/sample_data"
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
        g = rgb2id(np.asarray(PIL.open(Path(gt_folder) / ann["file_name"]).convert("RGB")))
        p = rgb2id(np.asarray(PIL.open(Path(pred_folder) / p_ann["file_name"]).convert("RGB")))
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


# ------------------------------------------------------------ published values (B3)


def test_tf_models_matches_by_iou():
    gt = np.ones((6, 6), np.uint16)
    gt[2, 2:5] = 2
    gt[3, 1:5] = 2
    good = np.ones((6, 6), np.uint16)
    good[2, 1:5] = 2
    good[3, 1:4] = 2
    bad = np.ones((6, 6), np.uint16)
    bad[2:5, 3:5] = 2
    one = {1: 0, 2: 0}
    r = panoptic_quality(gt, good, one, one)
    assert r.iou[0] == pytest.approx(28 / 30 + 6 / 8)
    assert (r.tp[0], r.fn[0], r.fp[0]) == (2, 0, 0)
    assert r.pq == pytest.approx((28 / 30 + 6 / 8) / 2)
    r = panoptic_quality(gt, bad, one, one)
    assert r.iou[0] == pytest.approx(27 / 32)
    assert (r.tp[0], r.fn[0], r.fp[0]) == (1, 1, 1)
    assert r.pq == pytest.approx(27 / 32 / 2)
    # test_merge_accumulates_all_across_instances: 2 good + 2 bad images, two workers
    a, b = PanopticQuality(), PanopticQuality()
    for _ in range(2):
        a.update(gt, good, one, one)
        b.update(gt, bad, one, one)
    r = a.merge(b).compute()
    assert r.iou[0] == pytest.approx(2 * (28 / 30 + 6 / 8) + 2 * (27 / 32))
    assert (r.tp[0], r.fn[0], r.fp[0]) == (6, 2, 2)
    assert r.pq == pytest.approx(0.63177083)


def _combine(category, instance, ignored):
    """(category, instance) maps -> segment ids (void where the category is ignored)."""
    ids = np.where(category == ignored, 0, category.astype(np.int64) * 1000 + instance + 1)
    return ids, {int(i): int(i) // 1000 for i in np.unique(ids) if i != 0}


def test_tf_models_small_cases():
    cats = np.ones((6, 6), np.uint16)
    cats[2:4, 1:3] = 2
    cats[2:4, 4:6] = 2
    pred_inst = np.zeros((6, 6), np.uint16)
    pred_inst[2:4, 4:6] = 1
    gt_inst = np.zeros((6, 6), np.uint16)
    # test_wrong_instances: the two gt regions of class 2 are one segment, IoU 0.5 each
    g, gm = _combine(cats, gt_inst, 0)
    p, pm = _combine(cats, pred_inst, 0)
    r = panoptic_quality(g, p, gm, pm, categories=[1, 2])
    assert r.tp.tolist() == [1, 0] and r.fn.tolist() == [0, 1] and r.fp.tolist() == [0, 2]
    assert r.pq == pytest.approx(0.5)
    # test_instance_order_is_arbitrary
    gt_inst[2:4, 1:3] = 1
    g, gm = _combine(cats, gt_inst, 0)
    r = panoptic_quality(g, p, gm, pm, categories=[1, 2])
    assert r.iou.tolist() == [1.0, 2.0] and r.tp.tolist() == [1, 2] and r.pq == 1.0
    # test_totally_wrong
    det = np.zeros((6, 6), np.uint16)
    det[1, [1, 4]] = 1
    det[2:4, 1:5] = 1
    zero = np.zeros((6, 6), np.uint16)
    g, gm = _combine(1 - det, zero, 2)
    p, pm = _combine(det, zero, 2)
    r = panoptic_quality(g, p, gm, pm)
    assert r.tp.tolist() == [0, 0] and r.fn.tolist() == [1, 1] and r.fp.tolist() == [1, 1]
    assert r.pq == 0.0


def _read(path, mode):
    with PIL.open(path) as img:
        return np.asarray(img.convert(mode))


def _deeplab_image(folder, gt_name, pred_inst, pred_class):
    gt = _read(folder / gt_name, "L").astype(np.int64)
    rgb = _read(folder / pred_class, "RGB")
    klass = np.zeros(rgb.shape[:2], np.int64)
    for color, c in CLASS_COLORS.items():
        klass[(rgb == color).all(axis=2)] = c
    inst = _read(folder / pred_inst, "L").astype(np.int64)
    pred = np.where(klass == 0, 0, klass * 256 + inst)
    return gt, pred, {int(i): int(i) // 256 for i in np.unique(pred) if i}


TEAM = {0: 0, 47: 1, 97: 1, 133: 1, 150: 1, 174: 1, 198: 2, 215: 1, 244: 1, 255: 1}


def test_tf_models_and_deeplab2_team(shared_data):
    gt, pred, pm = _deeplab_image(
        shared_data / DL2_DIR,
        "team_gt_instance.png",
        "team_pred_instance.png",
        "team_pred_class.png",
    )
    gm = {k: v for k, v in TEAM.items() if v != 0}  # instance 0 is class 0, the ignored label
    r = panoptic_quality(gt, pred, gm, pm, categories=[1, 2])
    np.testing.assert_array_almost_equal(r.iou, [5.26827, 0.54069], decimal=4)
    assert r.tp.tolist() == [7, 1] and r.fn.tolist() == [1, 0] and r.fp.tolist() == [0, 0]
    np.testing.assert_array_almost_equal(
        [r.per_class[c]["pq"] for c in (1, 2)], [0.702436, 0.54069]
    )
    assert r.pq == pytest.approx(0.62156287, abs=1e-7)
    assert (r.sq, r.rq) == pytest.approx((0.64664984, 0.9666667), abs=1e-4)  # deeplab2


def test_deeplab2_multiple_images(shared_data):
    folder = shared_data / DL2_DIR
    maps = [
        ("bird_gt.png", "bird", {92: 5, 176: 3, 255: 4}),
        ("cat_gt.png", "cat", {255: 6}),
        ("team_gt_instance.png", "team", {k: v for k, v in TEAM.items() if v}),
    ]
    metric = PanopticQuality(categories=range(1, 7))
    for gt_name, stem, gm in maps:
        gt, pred, pm = _deeplab_image(
            folder, gt_name, f"{stem}_pred_instance.png", f"{stem}_pred_class.png"
        )
        metric.update(gt, pred, gm, pm)
    r = metric.compute()
    n = r.groups["All"]["n"]
    got = [r.pq, r.sq, r.rq, r.tp.sum() / n, r.fn.sum() / n, r.fp.sum() / n]
    np.testing.assert_allclose(got, [0.76855499, 0.7769174, 0.98888892, 2.0, 1 / 6, 0.0], atol=1e-4)


# ------------------------------------------------------------ files: real data


def test_tf_models_files(shared_data):
    d = shared_data / TF_DIR
    r = panoptic_evaluate(d / "coco_gt.json", d / "coco_pred.json")
    assert r.images == 4 and r.groups["All"]["n"] == 6
    assert_matches_reference(
        r, d / "coco_gt.json", d / "coco_pred.json", d / "coco_gt", d / "coco_pred"
    )
    table = r.summary()
    assert table.splitlines()[0] == "          |    PQ     SQ     RQ     N"
    assert "All       |  67.4   68.3   82.1     6" in table
    out = r.as_dict()
    assert set(out) >= {"All", "Things", "Stuff", "per_class"}
    assert out["per_class"][1]["tp"] == 12 and out["per_class"][1]["name"] == "person"
    json.dumps(out)


def _write_set(folder: Path, name: str, images, categories=None, image_ids=None):
    """Write ``images = [(file, ids, segments_info)]`` as a COCO panoptic JSON + PNG folder."""
    (folder / name).mkdir(parents=True, exist_ok=True)
    anns = []
    for k, (file_name, ids, segs) in enumerate(images):
        ids = np.asarray(ids, dtype=np.int64)
        rgb = np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)
        PIL.fromarray(rgb).save(folder / name / file_name)
        image_id = k + 1 if image_ids is None else image_ids[k]
        anns.append({"image_id": image_id, "file_name": file_name, "segments_info": segs})
    data = {"annotations": anns}
    if categories is not None:
        data["categories"] = categories
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_panopticapi_sample(shared_data, tmp_path):
    d = shared_data / PANOPTICAPI_DIR
    gt_json = d / "panoptic_examples.json"
    gt_folder = d / "panoptic_examples"
    r = panoptic_evaluate(gt_json, gt_json, gt_folder, gt_folder)  # itself: every segment matches
    assert r.pq == 1.0 and r.fp.sum() == 0 and r.fn.sum() == 0
    gt = json.loads(gt_json.read_text())
    # a prediction: the ids shifted 7 px right, one segment relabelled, one dropped to void
    images = []
    for ann in gt["annotations"]:
        ids = rgb2id(np.asarray(PIL.open(gt_folder / ann["file_name"]).convert("RGB")))
        ids = np.roll(ids, 7, axis=1)
        segs = [dict(s) for s in ann["segments_info"]]
        ids[ids == segs[-1]["id"]] = 0
        segs = segs[:-1]
        segs[0]["category_id"] = segs[1]["category_id"]
        images.append((ann["file_name"], ids, segs))
    ids = [a["image_id"] for a in gt["annotations"]]
    pred_json = _write_set(tmp_path, "pred", images, image_ids=ids)
    r = panoptic_evaluate(gt_json, pred_json, gt_folder, tmp_path / "pred")
    assert 0 < r.pq < 1
    assert_matches_reference(r, gt_json, pred_json, gt_folder, tmp_path / "pred")


# ------------------------------------------------------------ synthetic sets


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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_files_against_reference(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n_cats = 4
    cats = [{"id": c, "isthing": int(c % 2 == 1), "name": f"c{c}"} for c in range(1, n_cats + 1)]
    gts, preds = [], []
    for k in range(6):
        h, w = rng.integers(8, 30, 2) * 4
        gt, pred, gs, ps = random_image(rng, h, w, int(rng.integers(2, 25)), n_cats)
        gts.append((f"{k}.png", gt, gs))
        preds.append((f"{k}.png", pred, ps))
    gt_json = _write_set(tmp_path, "gt", gts, cats)
    pred_json = _write_set(tmp_path, "pred", preds)
    r = panoptic_evaluate(gt_json, pred_json, workers=3)
    assert_matches_reference(r, gt_json, pred_json, tmp_path / "gt", tmp_path / "pred")
    assert panoptic_evaluate(gt_json, pred_json, workers=1).per_class == r.per_class


@pytest.mark.parametrize("seed", [3, 4])
def test_random_arrays_against_reference(seed):
    rng = np.random.default_rng(seed)
    metric = PanopticQuality(things={1, 3})
    whole = defaultdict(lambda: [0.0, 0, 0, 0])
    for _ in range(5):
        gt, pred, gs, ps = random_image(rng, 48, 64, 20, 4)
        gm = {s["id"]: s["category_id"] for s in gs}
        pm = {s["id"]: s["category_id"] for s in ps}
        crowd = [s["id"] for s in gs if s["iscrowd"]]
        if 0 in pm:  # in the array API id 0 is void: give that segment another id
            pred = np.where(pred == 0, (1 << 24) + 5, pred)
            pm[(1 << 24) + 5] = pm.pop(0)
        metric.update(gt, pred, gm, pm, gt_crowd=crowd)
        ref_gs = {s["id"]: (s["category_id"], bool(s["iscrowd"]), s["area"]) for s in gs}
        ref_pred = np.where(pred == (1 << 24) + 5, 0xFFFFFF, pred)
        ref_pm = {(0xFFFFFF if k == (1 << 24) + 5 else k): v for k, v in pm.items()}
        for cat, v in reference_image(gt, ref_pred, ref_gs, ref_pm, crowd_rule="all").items():
            for j in range(4):
                whole[cat][j] += v[j]
    r = metric.compute()
    for k, cat in enumerate(r.categories):
        iou, tp, fp, fn = whole[cat]
        assert (r.tp[k], r.fp[k], r.fn[k]) == (tp, fp, fn)
        assert r.iou[k] == pytest.approx(iou, rel=1e-13)
    ref = reference_average(whole, r.categories, {c: c in {1, 3} for c in r.categories})
    for name in ("All", "Things", "Stuff"):
        assert r.groups[name]["pq"] == pytest.approx(ref[name]["pq"], rel=1e-12)


def test_merge_equals_whole_and_batches():
    rng = np.random.default_rng(7)
    items = []
    for _ in range(6):
        gt, pred, gs, ps = random_image(rng, 32, 32, 12, 3)
        pred = np.where(pred == 0, 0, pred)  # id 0: void in the array API
        gm = {s["id"]: s["category_id"] for s in gs}
        pm = {s["id"]: s["category_id"] for s in ps if s["id"] != 0}
        pred = np.where(np.isin(pred, list(pm)), pred, 0)
        items.append((gt, pred, gm, pm, [s["id"] for s in gs if s["iscrowd"]]))
    whole = PanopticQuality(things={1})
    parts = [PanopticQuality(things={1}) for _ in range(3)]
    for k, it in enumerate(items):
        whole.update(*it)
        parts[k % 3].update(*it)
    merged = parts[0].merge(parts[1]).merge(parts[2])
    a, b = whole.compute(), merged.compute()
    assert a.tp.tolist() == b.tp.tolist() and a.fp.tolist() == b.fp.tolist()
    assert a.fn.tolist() == b.fn.tolist() and np.allclose(a.iou, b.iou, rtol=1e-14)
    assert a.images == b.images == 6
    batch = PanopticQuality(things={1})
    batch.update(
        np.stack([it[0] for it in items]),
        np.stack([it[1] for it in items]),
        [it[2] for it in items],
        [it[3] for it in items],
        [it[4] for it in items],
    )
    assert batch.compute().tp.tolist() == a.tp.tolist()
    whole.reset()
    assert whole.images == 0 and whole.compute().categories == ()
    with pytest.raises(ValueError, match="differ in things"):
        PanopticQuality(things={2}).merge(PanopticQuality(things={1}))
    with pytest.raises(TypeError, match="expected a PanopticQuality"):
        PanopticQuality().merge(object())


def test_array_api_details():
    gt = np.array([[1, 1, 0, 0], [1, 1, 2, 2]], np.uint8)
    pred = np.array([[5, 5, 5, 5], [5, 5, 6, 6]], np.int64)
    # void pixels leave the union: IoU(1, 5) = 4 / (6 + 4 - 4 - 2) = 1
    r = panoptic_quality(gt, pred, {1: 3, 2: 4, 9: 3}, {5: 3, 6: 4}, things=[3])
    assert r.iou.tolist() == [1.0, 1.0] and r.groups["Things"]["n"] == 1
    assert r.groups["Stuff"]["n"] == 1
    r = panoptic_quality(gt, pred, {1: 3, 2: 4}, {5: 3, 6: 4})
    assert set(r.groups) == {"All"}
    assert "All" in r.summary() and "Things" not in r.summary()
    # crowd: never matched, and excuses an unmatched prediction mostly inside it
    r = panoptic_quality(gt, pred, {1: 3, 2: 4}, {5: 3, 6: 4}, gt_crowd={1})
    assert r.tp.tolist() == [0, 1] and r.fn.tolist() == [0, 0] and r.fp.tolist() == [0, 0]
    # bool, torch-like lists, a large mapping (absent keys are dropped before the table)
    big = {k: 1 for k in range(1, 3000)}
    r = panoptic_quality([[True, False]], [[1, 2]], {1: 1}, big)  # pred 2 lies on void
    assert r.tp.tolist() == [1] and r.fp.tolist() == [0] and r.fn.tolist() == [0]
    r = panoptic_quality([[True, True]], [[1, 2]], {1: 1}, big)  # IoU 0.5: no match
    assert r.tp.tolist() == [0] and r.fp.tolist() == [2] and r.fn.tolist() == [1]
    r = panoptic_quality(np.uint64([[1, 1]]), np.uint32([[2, 2]]), {1: 1}, {2: 1})
    assert r.pq == 1.0
    empty = panoptic_quality(np.zeros((0, 3), int), np.zeros((0, 3), int), {}, {})
    assert empty.groups["All"]["n"] == 0 and math.isnan(empty.pq)


def test_many_segments_sparse_path(tmp_path, monkeypatch):
    """Thousands of segments: pairs are counted sparsely (no dense gt x pred table)."""
    rng = np.random.default_rng(11)
    gt = rng.permutation(np.arange(1, 1601)).reshape(40, 40)
    pred = gt.copy()
    pred[rng.random((40, 40)) < 0.3] = 5000  # one big predicted segment, and singles
    gm = {int(i): int(i) % 3 for i in range(1, 1601)}
    pm = {**gm, 5000: 1}
    r = panoptic_quality(gt, pred, gm, pm, gt_crowd={7, 8})
    here = set(np.unique(pred).tolist())
    ref = reference_image(
        gt,
        pred,
        {k: (v, k in (7, 8), 1) for k, v in gm.items()},
        {k: v for k, v in pm.items() if k in here},
        crowd_rule="all",
    )
    for k, cat in enumerate(r.categories):
        assert [r.iou[k], r.tp[k], r.fp[k], r.fn[k]] == pytest.approx(ref[cat])
    # files: the same pairs whether counted densely or sparsely
    from ioukit.evaluate import panoptic_files

    rng = np.random.default_rng(12)
    cats = [{"id": c, "isthing": 1, "name": str(c)} for c in (1, 2)]
    gt_img, pred_img, gs, ps = random_image(rng, 64, 64, 30, 2)
    gt_json = _write_set(tmp_path, "gt", [("a.png", gt_img, gs)], cats)
    pred_json = _write_set(tmp_path, "pred", [("a.png", pred_img, ps)])
    dense = panoptic_evaluate(gt_json, pred_json)
    monkeypatch.setattr(panoptic_files, "DENSE_CELLS", 4)
    sparse = panoptic_evaluate(gt_json, pred_json)
    assert sparse.per_class == dense.per_class and sparse.iou.tolist() == dense.iou.tolist()
    bad = gt_img.copy()
    bad[5, 6] = 99
    _write_set(tmp_path, "gt", [("a.png", bad, gs)], cats)
    with pytest.raises(ValueError, match=r"segment id 99 \(at x=6, y=5\) is in the PNG"):
        panoptic_evaluate(gt_json, pred_json)


def test_array_api_errors():
    gt = np.array([[1, 2]])
    with pytest.raises(ValueError, match=r"gt_ids has segment id 2 at index \(0, 1\)"):
        panoptic_quality(gt, gt, {1: 1}, {1: 1, 2: 1})
    with pytest.raises(ValueError, match=r"pred_ids \(image 1\) has segment id 7"):
        panoptic_quality(np.ones((2, 1, 2), int), np.array([[[1, 1]], [[1, 7]]]), {1: 1}, {1: 1})
    with pytest.raises(ValueError, match="shape"):
        panoptic_quality(gt, gt[:, :1], {1: 1, 2: 1}, {1: 1, 2: 1})
    with pytest.raises(ValueError, match="integer segment ids"):
        panoptic_quality(gt * 1.0, gt, {}, {})
    with pytest.raises(ValueError, match=r"\(H, W\) or \(B, H, W\)"):
        panoptic_quality(np.ones(3, int), np.ones(3, int), {1: 1}, {1: 1})
    with pytest.raises(ValueError, match="maps the void id 0"):
        panoptic_quality(gt, gt, {0: 1, 1: 1, 2: 1}, {1: 1, 2: 1})
    with pytest.raises(ValueError, match="category id 5 is not in categories"):
        panoptic_quality(gt, gt, {1: 1, 2: 5}, {1: 1, 2: 1}, categories=[1])
    with pytest.raises(TypeError, match="must map segment id"):
        panoptic_quality(gt, gt, [1, 2], {1: 1})
    with pytest.raises(ValueError, match="is not integer -> integer"):
        panoptic_quality(gt, gt, {1: "a", 2: 1}, {1: 1, 2: 1})
    with pytest.raises(ValueError, match="sequence of 2"):
        panoptic_quality(np.ones((2, 1, 2), int), np.ones((2, 1, 2), int), [{1: 1}], {1: 1})
    with pytest.raises(ValueError, match="does not fit in int64"):
        panoptic_quality(np.uint64([[2**63]]), np.uint64([[1]]), {}, {1: 1})
    with pytest.raises(ValueError, match="gt_crowd must hold integer"):
        panoptic_quality(gt, gt, {1: 1, 2: 1}, {1: 1, 2: 1}, gt_crowd=["x"])
    with pytest.raises(ValueError, match="void_id must be an integer"):
        PanopticQuality(void_id=1.5)
    with pytest.raises(ValueError, match="duplicate"):
        PanopticQuality(categories=[1, 1])


# ------------------------------------------------------------ file errors


@pytest.fixture
def small_set(tmp_path):
    ids = np.zeros((4, 6), np.int64)
    ids[:, :3] = 1
    ids[:, 3:] = 300
    segs = [
        {"id": 1, "category_id": 1, "iscrowd": 0, "area": 12},
        {"id": 300, "category_id": 2, "iscrowd": 0, "area": 12},
    ]
    cats = [{"id": 1, "isthing": 1, "name": "a"}, {"id": 2, "isthing": 0, "name": "b"}]

    def make(gt_ids=ids, gt_segs=segs, pred_ids=ids, pred_segs=segs, extra=None):
        gt_json = _write_set(tmp_path, "gt", [("x.png", gt_ids, gt_segs)], cats)
        pred_json = _write_set(tmp_path, "pred", [("x.png", pred_ids, pred_segs)])
        if extra:
            data = json.loads(pred_json.read_text())
            extra(data)
            pred_json.write_text(json.dumps(data))
        return gt_json, pred_json

    return make, ids, segs


def test_file_errors(small_set, tmp_path):
    make, ids, segs = small_set
    assert panoptic_evaluate(*make()).pq == 1.0
    bad = ids.copy()
    bad[2, 5] = 77
    with pytest.raises(
        ValueError, match=r"image_id 1: segment id 77 \(at x=5, y=2\) is in the PNG .*pred"
    ):
        panoptic_evaluate(*make(pred_ids=bad))
    with pytest.raises(ValueError, match=r"segment id 77 .* is in the PNG .*gt"):
        panoptic_evaluate(*make(gt_ids=bad))
    with pytest.raises(
        ValueError, match=r"prediction segment ids \[5\] are in segments_info but not"
    ):
        panoptic_evaluate(*make(pred_segs=[*segs, {"id": 5, "category_id": 1}]))
    with pytest.raises(ValueError, match=r"ground truth segment ids \[5\]"):
        panoptic_evaluate(*make(gt_segs=[*segs, {"id": 5, "category_id": 1, "area": 1}]))
    with pytest.raises(ValueError, match="segment 300 has unknown category_id 9"):
        panoptic_evaluate(*make(pred_segs=[segs[0], {"id": 300, "category_id": 9}]))
    with pytest.raises(ValueError, match="duplicate segment id 1"):
        panoptic_evaluate(*make(pred_segs=[*segs, segs[0]]))
    with pytest.raises(ValueError, match="segment id 0 is outside"):
        panoptic_evaluate(*make(gt_segs=[*segs, {"id": 0, "category_id": 1, "area": 1}]))
    with pytest.raises(ValueError, match=r"is 5x4 but the ground truth .* is 6x4"):
        panoptic_evaluate(*make(pred_ids=ids[:, :5]))
    with pytest.raises(ValueError, match="two predictions for image_id 1"):
        panoptic_evaluate(*make(extra=lambda d: d["annotations"].append(d["annotations"][0])))
    with pytest.raises(ValueError, match="no prediction for the image with id 1"):
        panoptic_evaluate(*make(extra=lambda d: d["annotations"][0].update(image_id=2)))
    with pytest.raises(ValueError, match="category_id of segment 1 must be an integer"):
        panoptic_evaluate(*make(pred_segs=[{"id": 1, "category_id": "a"}, segs[1]]))
    gt_json, pred_json = make()
    with pytest.raises(ValueError, match="is not valid JSON"):
        (tmp_path / "broken.json").write_text("{")
        panoptic_evaluate(gt_json, tmp_path / "broken.json", pred_folder=tmp_path / "pred")
    with pytest.raises(ValueError, match="is not a folder"):
        panoptic_evaluate(gt_json, pred_json, pred_folder=tmp_path / "nope")
    with pytest.raises(ValueError, match="workers must be an integer"):
        panoptic_evaluate(gt_json, pred_json, workers=0)
    import struct
    import zlib

    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 6, 4, 8, 2, 0, 0, 0))
    rows = b"".join(bytes([7 if y == 2 else 0]) + bytes(18) for y in range(4))
    png = b"\x89PNG\r\n\x1a\n" + header + _chunk(b"IDAT", zlib.compress(rows))
    (tmp_path / "pred" / "x.png").write_bytes(png + _chunk(b"IEND", b""))
    with pytest.raises(ValueError, match=r"pred/x.png: corrupt PNG \(row 2 has an unknown filter"):
        panoptic_evaluate(gt_json, pred_json)
    rgba = np.zeros((4, 6, 4), np.uint8)  # RGBA is read too (alpha ignored)
    rgba[:, :3, 0], rgba[:, 3:, 0], rgba[:, 3:, 1], rgba[..., 3] = 1, 300 % 256, 1, 255
    PIL.fromarray(rgba).save(tmp_path / "pred" / "x.png")
    assert panoptic_evaluate(gt_json, pred_json).pq == 1.0
    (tmp_path / "pred" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n trunc")
    with pytest.raises(ValueError, match="truncated PNG"):
        panoptic_evaluate(gt_json, pred_json)
    (tmp_path / "pred" / "x.png").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="cannot read"):
        panoptic_evaluate(gt_json, pred_json)
    PIL.fromarray(np.zeros((4, 6), np.uint8)).save(tmp_path / "pred" / "x.png")
    with pytest.raises(ValueError, match="is a 'L' image"):
        panoptic_evaluate(gt_json, pred_json)


def test_file_quirks_of_panopticapi(small_set):
    """The JSON area of a gt segment is used as is, pred id 0 can be a segment, only the
    last crowd segment of a category excuses false positives, progress is reported."""
    make, ids, segs = small_set
    gt_ids = ids.copy()
    gt_ids[:2, :3] = 2  # two crowd segments of category 1
    gt_segs = [
        {"id": 1, "category_id": 1, "iscrowd": 1, "area": 6},
        {"id": 2, "category_id": 1, "iscrowd": 1, "area": 6},
        {"id": 300, "category_id": 2, "iscrowd": 0, "area": 20},  # the JSON says 20, not 12
    ]
    pred_ids = ids.copy()
    pred_ids[:2, :3] = 0  # pred segment 0 lies on gt crowd 2, segment 1 on gt crowd 1
    pred_segs = [{"id": 0, "category_id": 1}, {"id": 1, "category_id": 1}, segs[1]]
    seen = []
    r = panoptic_evaluate(
        *make(gt_ids, gt_segs, pred_ids, pred_segs), progress=lambda d, n: seen.append((d, n))
    )
    assert seen == [(1, 1)]
    assert r.iou[1] == 12 / 20 and r.tp.tolist() == [0, 1]
    # crowd 2 (the last) excuses pred 0; pred 1 lies on crowd 1 only: a false positive
    assert r.fp.tolist() == [1, 0] and r.fn.tolist() == [0, 0]


def test_missing_pillow_message(monkeypatch, small_set):
    import builtins

    make = small_set[0]
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    paths = make()
    grey = np.zeros((4, 6), np.uint8)  # not RGB: only Pillow reads it
    PIL.fromarray(grey).save(paths[1].parent / "pred" / "x.png")
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"ioukit\[image\]"):
        panoptic_evaluate(*paths)


# ------------------------------------------------------------ the PNG reader


def _png(arr, **kw):
    buf = io.BytesIO()
    PIL.fromarray(arr).save(buf, format="PNG", **kw)
    return buf.getvalue()


def _chunk(kind, body):
    import struct
    import zlib

    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_png_reader_equals_pillow():
    from ioukit.evaluate.panoptic_png import read_pixels

    rng = np.random.default_rng(0)
    for k in range(40):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        ch = 3 if k % 2 else 4
        if k % 3 == 0:
            arr = rng.integers(0, 256, (h, w, ch), dtype=np.uint8)  # noise: every filter type
        elif k % 3 == 1:
            small = rng.integers(0, 256, (h // 5 + 1, w // 5 + 1, ch), dtype=np.uint8)
            arr = np.repeat(np.repeat(small, 5, 0), 5, 1)[:h, :w]
        else:
            ramp = np.add.outer(np.arange(h), 3 * np.arange(w))[..., None] * np.arange(1, ch + 1)
            arr = ramp.astype(np.uint8)
        arr = np.ascontiguousarray(arr)
        for kw in ({}, {"optimize": True}, {"compress_level": 0}):
            np.testing.assert_array_equal(read_pixels(_png(arr, **kw), "x.png"), arr)


def test_png_reader_errors():
    import struct
    import zlib

    from ioukit.evaluate.panoptic_png import NotFastPng, read_pixels

    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
    rows = b"\x00" + bytes(6) + b"\x07" + bytes(6)  # filter type 7 on row 1
    good = sig + ihdr + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="row 1 has an unknown filter type"):
        read_pixels(good, "a.png")
    short = sig + ihdr + _chunk(b"IDAT", zlib.compress(rows[:9])) + _chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="truncated PNG image data"):
        read_pixels(short, "a.png")
    bad_zlib = sig + ihdr + _chunk(b"IDAT", b"xx" + zlib.compress(rows)) + _chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="corrupt PNG image data"):
        read_pixels(bad_zlib, "a.png")
    flipped = bytearray(good)
    flipped[20] ^= 1
    with pytest.raises(ValueError, match="bad CRC"):
        read_pixels(bytes(flipped), "a.png")
    with pytest.raises(ValueError, match="truncated PNG"):
        read_pixels(good[:40], "a.png")
    huge = sig + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1 << 20, 1 << 20, 8, 2, 0, 0, 0))
    with pytest.raises(ValueError, match="too large"):
        read_pixels(huge + _chunk(b"IEND", b""), "a.png")
    with pytest.raises(ValueError, match="IHDR of 3 bytes"):
        read_pixels(sig + _chunk(b"IHDR", b"abc"), "a.png")
    with pytest.raises(NotFastPng):  # interlaced: left to Pillow
        laced = _chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 1))
        read_pixels(sig + laced + _chunk(b"IDAT", b"") + _chunk(b"IEND", b""), "a")
    with pytest.raises(NotFastPng):
        read_pixels(_png(np.zeros((3, 3), np.uint8)), "grey.png")
