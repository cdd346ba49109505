"""Panoptic quality on label arrays: published values (tf-models, deeplab2), a NumPy
reference of panopticapi's algorithm on random maps, streaming / merging, errors."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from ioukit.evaluate import PanopticQuality, panoptic_evaluate, panoptic_quality
from tests.helpers.panoptic import (
    CLASS_COLORS,
    DL2_DIR,
    random_image,
    reference_average,
    reference_image,
    write_set,
)

PIL = pytest.importorskip("PIL.Image")


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
    from ioukit.evaluate import panoptic_core

    rng = np.random.default_rng(12)
    cats = [{"id": c, "isthing": 1, "name": str(c)} for c in (1, 2)]
    gt_img, pred_img, gs, ps = random_image(rng, 64, 64, 30, 2)
    gt_json = write_set(tmp_path, "gt", [("a.png", gt_img, gs)], cats)
    pred_json = write_set(tmp_path, "pred", [("a.png", pred_img, ps)])
    dense = panoptic_evaluate(gt_json, pred_json)
    monkeypatch.setattr(panoptic_core, "DENSE_CELLS", 4)
    sparse = panoptic_evaluate(gt_json, pred_json)
    assert sparse.per_class == dense.per_class and sparse.iou.tolist() == dense.iou.tolist()
    bad = gt_img.copy()
    bad[5, 6] = 99
    write_set(tmp_path, "gt", [("a.png", bad, gs)], cats)
    with pytest.raises(ValueError, match=r"segment id 99 \(at x=6, y=5\) is in the PNG"):
        panoptic_evaluate(gt_json, pred_json)


def test_array_api_errors():
    gt = np.array([[1, 2]])
    with pytest.raises(ValueError, match=r"gt_ids has segment id 2 at index \(0, 1\)"):
        panoptic_quality(gt, gt, {1: 1}, {1: 1, 2: 1})
    with pytest.raises(ValueError, match=r"pred_ids \(image 1\) has segment id 7"):
        panoptic_quality(np.ones((2, 1, 2), int), np.array([[[1, 1]], [[1, 7]]]), {1: 1}, {1: 1})
    big = {k: 1 for k in range(1, 1100)}  # a mapping large enough to drop absent keys first
    with pytest.raises(ValueError, match=r"pred_ids has segment id 5000 at index \(0, 1\)"):
        panoptic_quality(gt, np.array([[1, 5000]]), big, big)
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
