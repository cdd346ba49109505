"""MeanAveragePrecision (streaming, torchmetrics-style) against pycocotools, live."""

from __future__ import annotations

import contextlib
import io
import pickle

import numpy as np
import pytest

from ioukit.evaluate import MeanAveragePrecision, mean_iou_report

pycocotools = pytest.importorskip("pycocotools")
from pycocotools import mask as mask_utils  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

H, W = 24, 30


def _rect_mask(rng, box):
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    m = np.zeros((H, W), bool)
    m[max(y0, 0) : max(min(y1, H), 0), max(x0, 0) : max(min(x1, W), 0)] = True
    # irregular: knock out random pixels so masks are not boxes
    m &= rng.random((H, W)) > 0.15
    return m


def random_stream(seed, n_images=30, n_classes=4, masks=False, crowd=True, area=True):
    """Per-image torchmetrics dicts (xyxy boxes) with near-miss detections, ties,
    crowd regions, given areas, empty images and images without predictions."""
    rng = np.random.default_rng(seed)
    preds, targets = [], []
    scale = (W, H) if masks else (200, 150)
    for i in range(n_images):
        n_gt = int(rng.integers(0, 6)) if i % 7 else 0
        xy = rng.random((n_gt, 2)) * np.array(scale) * 0.7
        wh = 2 + rng.random((n_gt, 2)) * np.array(scale) * 0.4
        g_boxes = np.concatenate([xy, xy + wh], axis=1)
        g_labels = rng.integers(0, n_classes, n_gt)
        t = {"boxes": g_boxes.astype(np.float32), "labels": g_labels}
        if crowd:
            t["iscrowd"] = (rng.random(n_gt) < 0.12).astype(np.int64)
        if area and rng.random() < 0.3:
            t["area"] = rng.random(n_gt) * 3000 * (rng.random(n_gt) < 0.7)
        n_dt = int(rng.integers(0, 8)) if i % 5 else 0
        src = rng.integers(0, max(n_gt, 1), n_dt)
        jitter = rng.normal(0, 0.12, (n_dt, 4)) * np.tile(np.array(scale) * 0.2, 2)
        if n_gt:
            d_boxes = g_boxes[src] + jitter
        else:
            d_boxes = np.tile(rng.random((n_dt, 2)) * np.array(scale) * 0.5, 2) + np.abs(jitter)
        d_boxes[:, 2:] = np.maximum(d_boxes[:, 2:], d_boxes[:, :2] + 0.5)
        d_labels = np.where(rng.random(n_dt) < 0.8, g_labels[src] if n_gt else 0, 0)
        d_labels = np.where(rng.random(n_dt) < 0.1, n_classes, d_labels)  # class without gt
        p = {
            "boxes": d_boxes.astype(np.float32),
            "scores": np.round(rng.random(n_dt), 1),
            "labels": d_labels.astype(np.int64),
        }
        if masks:
            t["masks"] = np.array([_rect_mask(rng, b) for b in g_boxes]).reshape(n_gt, H, W)
            p["masks"] = np.array([_rect_mask(rng, b) for b in d_boxes]).reshape(n_dt, H, W)
        preds.append(p)
        targets.append(t)
    return preds, targets


def to_coco(preds, targets, iou_type):
    """Independent conversion to COCO dicts (pycocotools' own mask encoder)."""
    images, anns, results = [], [], []
    labels = set()
    for i, (p, t) in enumerate(zip(preds, targets, strict=True)):
        images.append({"id": i, "height": H, "width": W})
        for k in range(len(t["labels"])):
            x0, y0, x1, y1 = (float(v) for v in np.asarray(t["boxes"][k], np.float64))
            ann = {
                "id": len(anns) + 1,
                "image_id": i,
                "category_id": int(t["labels"][k]),
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "iscrowd": int(t.get("iscrowd", np.zeros(len(t["labels"])))[k]),
            }
            given = float(t["area"][k]) if "area" in t else 0.0
            if iou_type == "segm":
                rle = mask_utils.encode(np.asfortranarray(t["masks"][k].astype(np.uint8)))
                ann["segmentation"] = rle
                ann["area"] = given if given > 0 else float(mask_utils.area(rle))
            else:
                ann["area"] = given if given > 0 else (x1 - x0) * (y1 - y0)
            anns.append(ann)
            labels.add(int(t["labels"][k]))
        for k in range(len(p["labels"])):
            x0, y0, x1, y1 = (float(v) for v in np.asarray(p["boxes"][k], np.float64))
            res = {
                "image_id": i,
                "category_id": int(p["labels"][k]),
                "score": float(p["scores"][k]),
            }
            if iou_type == "segm":
                res["segmentation"] = mask_utils.encode(
                    np.asfortranarray(p["masks"][k].astype(np.uint8))
                )
            else:
                res["bbox"] = [x0, y0, x1 - x0, y1 - y0]
            results.append(res)
            labels.add(int(p["labels"][k]))
    cats = [{"id": c, "name": str(c)} for c in sorted(labels)]
    return {"images": images, "annotations": anns, "categories": cats}, results


def coco_oracle(preds, targets, iou_type, iou_thrs=None, rec_thrs=None, max_dets=None):
    """(stats, {class: (AP, AR)}) from pycocotools, per class as torchmetrics does."""
    gt, dt = to_coco(preds, targets, iou_type)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dt) if dt else COCO()
        if not dt:
            coco_dt.dataset = {
                "images": gt["images"],
                "categories": gt["categories"],
                "annotations": [],
            }
            coco_dt.createIndex()

        def run(cat_ids=None):
            ev = COCOeval(coco_gt, coco_dt, iou_type)
            if iou_thrs is not None:
                ev.params.iouThrs = np.array(iou_thrs, dtype=np.float64)
            if rec_thrs is not None:
                ev.params.recThrs = np.array(rec_thrs, dtype=np.float64)
            if max_dets is not None:
                ev.params.maxDets = list(max_dets)
            if cat_ids is not None:
                ev.params.catIds = cat_ids
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            return np.array(ev.stats)

        stats = run()
        per = {c["id"]: run([c["id"]])[[0, 8]] for c in gt["categories"]}
    return stats, per


KEYS = [
    "map",
    "map_50",
    "map_75",
    "map_small",
    "map_medium",
    "map_large",
    "mar_1",
    "mar_10",
    "mar_100",
    "mar_small",
    "mar_medium",
    "mar_large",
]


def check_against(out, stats, per, prefix="", keys=KEYS):
    for name, value in zip(keys, stats, strict=True):
        assert float(out[prefix + name]) == pytest.approx(float(value), abs=1e-12), name
    classes = sorted(per)
    np.testing.assert_array_equal(out["classes"], classes)
    per_key = [k for k in out if k.startswith(prefix + "mar_") and k.endswith("_per_class")][0]
    np.testing.assert_allclose(
        out[prefix + "map_per_class"], [per[c][0] for c in classes], atol=1e-12
    )
    np.testing.assert_allclose(out[per_key], [per[c][1] for c in classes], atol=1e-12)


def feed(metric, preds, targets, batch):
    for s in range(0, len(preds), batch):
        metric.update(preds[s : s + batch], targets[s : s + batch])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bbox_batches_two_metrics_merged(seed):
    preds, targets = random_stream(seed, n_images=40)
    a = MeanAveragePrecision(class_metrics=True)
    b = MeanAveragePrecision(class_metrics=True)
    feed(a, preds[:23], targets[:23], 4)
    feed(b, preds[23:], targets[23:], 7)
    out = a.merge(b).compute()
    stats, per = coco_oracle(preds, targets, "bbox")
    check_against(out, stats, per)
    assert a.num_images == 40


def test_segm_and_tuple_keys():
    preds, targets = random_stream(5, n_images=25, masks=True)
    m = MeanAveragePrecision(iou_type="segm", class_metrics=True)
    feed(m, preds, targets, 6)
    stats, per = coco_oracle(preds, targets, "segm")
    check_against(m.compute(), stats, per)
    both = MeanAveragePrecision(iou_type=("bbox", "segm"), class_metrics=True)
    feed(both, preds, targets, 9)
    out = both.compute()
    check_against(out, stats, per, prefix="segm_")
    check_against(out, *coco_oracle(preds, targets, "bbox"), prefix="bbox_")
    assert "classes" in out and "map" not in out


def test_segm_rle_inputs_equal_dense():
    preds, targets = random_stream(6, n_images=12, masks=True)
    dense = MeanAveragePrecision(iou_type="segm")
    dense.update(preds, targets)
    rle_preds = [
        dict(
            p, masks=[mask_utils.encode(np.asfortranarray(m.astype(np.uint8))) for m in p["masks"]]
        )
        for p in preds
    ]
    rle = MeanAveragePrecision(iou_type="segm")
    rle.update(rle_preds, targets)
    a, b = dense.compute(), rle.compute()
    for key in KEYS:
        assert a[key] == b[key]


@pytest.mark.parametrize("box_format", ["xywh", "cxcywh"])
def test_box_formats(box_format):
    preds, targets = random_stream(3, n_images=15)

    def conv(b):
        b = np.asarray(b, np.float64)
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        if box_format == "xywh":
            return np.stack([b[:, 0], b[:, 1], w, h], 1)
        return np.stack([b[:, 0] + w / 2, b[:, 1] + h / 2, w, h], 1)

    m = MeanAveragePrecision(box_format=box_format)
    m.update(
        [dict(p, boxes=conv(p["boxes"])) for p in preds],
        [dict(t, boxes=conv(t["boxes"])) for t in targets],
    )
    stats, _ = coco_oracle(preds, targets, "bbox")
    for name, value in zip(KEYS, stats, strict=True):
        assert float(m.compute()[name]) == pytest.approx(value, abs=1e-9)


def test_custom_thresholds_and_max_dets():
    preds, targets = random_stream(7, n_images=30)
    kw = dict(iou_thresholds=[0.3, 0.5, 0.75], rec_thresholds=[0.0, 0.25, 0.5, 0.75, 1.0])
    m = MeanAveragePrecision(max_detection_thresholds=[2, 5, 100], class_metrics=True, **kw)
    m.update(preds, targets)
    out = m.compute()
    stats, per = coco_oracle(
        preds,
        targets,
        "bbox",
        iou_thrs=kw["iou_thresholds"],
        rec_thrs=kw["rec_thresholds"],
        max_dets=[2, 5, 100],
    )
    keys = [k.replace("mar_1", "mar_2", 1) if k == "mar_1" else k for k in KEYS]
    keys = [{"mar_10": "mar_5"}.get(k, k) for k in keys]
    check_against(out, stats, per, keys=keys)
    assert "mar_2" in out and "mar_5" in out


def test_max_dets_without_100_gives_pycocotools_minus_one():
    preds, targets = random_stream(8, n_images=10)
    m = MeanAveragePrecision(max_detection_thresholds=[1, 10, 50], class_metrics=True)
    m.update(preds, targets)
    out = m.compute()
    assert out["map"] == -1.0  # pycocotools' summarize reads maxDets=100 for "map"
    assert "mar_50_per_class" in out


def test_no_crowd_no_area_and_micro():
    preds, targets = random_stream(9, n_images=20, crowd=False, area=False)
    m = MeanAveragePrecision(average="micro")
    m.update(preds, targets)
    flat_p = [dict(p, labels=np.zeros_like(p["labels"])) for p in preds]
    flat_t = [dict(t, labels=np.zeros_like(t["labels"])) for t in targets]
    stats, _ = coco_oracle(flat_p, flat_t, "bbox")
    out = m.compute()
    for name, value in zip(KEYS, stats, strict=True):
        assert float(out[name]) == pytest.approx(value, abs=1e-12)
    assert len(out["classes"]) > 1  # classes stay the real labels


def test_empty_states():
    m = MeanAveragePrecision(class_metrics=True)
    out = m.compute()
    assert all(out[k] == -1 for k in KEYS)
    assert out["classes"].shape == (0,)
    m.update(
        [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, int)}],
        [{"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int)}],
    )
    out = m.compute()
    assert all(out[k] == -1 for k in KEYS)
    # ground truth but no predictions at all: AP 0, as pycocotools
    m.reset()
    m.update(
        [{"boxes": [], "scores": [], "labels": []}], [{"boxes": [[0, 0, 5, 5]], "labels": [1]}]
    )
    out = m.compute()
    assert out["map"] == 0 and out["mar_100"] == 0
    np.testing.assert_array_equal(out["classes"], [1])


def test_reset_and_pickle():
    preds, targets = random_stream(10, n_images=8)
    m = MeanAveragePrecision()
    m.update(preds, targets)
    first = m.compute()
    clone = pickle.loads(pickle.dumps(m))
    assert clone.compute()["map"] == first["map"]
    m.reset()
    assert m.num_images == 0
    m.update(preds, targets)
    assert m.compute()["map"] == first["map"]


class FakeTensor:
    """What the metric may touch of a torch tensor: detach / cpu / numpy."""

    def __init__(self, a):
        self._a = np.asarray(a)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self._a


class DLPackOnly:
    def __init__(self, a):
        self._a = np.ascontiguousarray(a)

    def __dlpack__(self, **kw):
        return self._a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


@pytest.mark.parametrize("wrap", [FakeTensor, DLPackOnly, lambda a: np.asarray(a).tolist()])
def test_tensor_like_inputs(wrap):
    preds, targets = random_stream(11, n_images=12)
    ref = MeanAveragePrecision()
    ref.update(preds, targets)
    m = MeanAveragePrecision()
    m.update(
        [{k: wrap(v) for k, v in p.items()} for p in preds],
        [{k: wrap(v) for k, v in t.items()} for t in targets],
    )
    assert m.compute()["map"] == ref.compute()["map"]


def test_mean_iou_report_and_to_coco():
    preds, targets = random_stream(12, n_images=20)
    m = MeanAveragePrecision()
    m.update(preds, targets)
    gt, dt = m.to_coco()
    direct = m.mean_iou_report(0.5)
    via_files = mean_iou_report(gt, dt, threshold=0.5)
    assert direct.mean_iou == via_files.mean_iou
    np.testing.assert_array_equal(direct.gt_iou, via_files.gt_iou)
    stats, _ = coco_oracle(preds, targets, "bbox")
    np.testing.assert_allclose(m.result().stats, stats, atol=1e-12)


def test_nbytes_is_compact():
    preds, targets = random_stream(13, n_images=200)
    m = MeanAveragePrecision()
    feed(m, preds, targets, 16)
    n_objects = sum(
        len(p["labels"]) + len(t["labels"]) for p, t in zip(preds, targets, strict=True)
    )
    assert m.nbytes < 2 * (n_objects * 64 + 200 * 32) + 20 * 64 * 40


# ----------------------------------------------------------------------------- bad input

GOOD_P = {"boxes": np.array([[0, 0, 2, 2.0]]), "scores": np.array([0.5]), "labels": np.array([1])}
GOOD_T = {"boxes": np.array([[0, 0, 2, 2.0]]), "labels": np.array([1])}


@pytest.mark.parametrize(
    ("preds", "targets", "exc", "match"),
    [
        ([GOOD_P], [GOOD_T, GOOD_T], ValueError, r"one dict per image each, got 1 and 2"),
        (GOOD_P, [GOOD_T], TypeError, r"preds must be a list of dicts"),
        ([GOOD_P, [1]], [GOOD_T, GOOD_T], TypeError, r"preds\[1\] is a list, expected a dict"),
        (
            [GOOD_P, {"boxes": GOOD_P["boxes"], "labels": [1]}],
            [GOOD_T] * 2,
            ValueError,
            r"preds\[1\] has no 'scores' key",
        ),
        ([GOOD_P], [{"labels": [1]}], ValueError, r"targets\[0\] has no 'boxes' key"),
        (
            [dict(GOOD_P, scores=[0.5, 0.4])],
            [GOOD_T],
            ValueError,
            r"preds\[0\] has different lengths: 'labels' 1, 'boxes' 1, 'scores' 2",
        ),
        (
            [GOOD_P, dict(GOOD_P, boxes=[[0, 0, np.nan, 1]])],
            [GOOD_T] * 2,
            ValueError,
            r"preds\[1\]\['boxes'\] row 0 is \[0.0, 0.0, nan, 1.0\] in xyxy \(not finite\)",
        ),
        (
            [GOOD_P],
            [dict(GOOD_T, boxes=[[0, 0, 2, 2], [5, 5, 4, 9]], labels=[1, 2])],
            ValueError,
            r"targets\[0\]\['boxes'\] row 1 .* \(negative width or height\)",
        ),
        (
            [dict(GOOD_P, boxes=[[0, 0, 1]])],
            [GOOD_T],
            ValueError,
            r"preds\[0\]\['boxes'\] has shape \(1, 3\), expected \(N, 4\)",
        ),
        (
            [dict(GOOD_P, labels=[1.5])],
            [GOOD_T],
            TypeError,
            r"preds\[0\]\['labels'\] has dtype float64, expected integers",
        ),
        (
            [dict(GOOD_P, scores=[np.inf])],
            [GOOD_T],
            ValueError,
            r"preds\[0\]\['scores'\] row 0 is inf, not finite",
        ),
        (
            [GOOD_P],
            [dict(GOOD_T, area=[np.nan])],
            ValueError,
            r"targets\[0\]\['area'\] row 0 is nan, not finite",
        ),
        (
            [GOOD_P],
            [dict(GOOD_T, iscrowd=[0, 1])],
            ValueError,
            r"targets\[0\] has different lengths: 'labels' 1, 'boxes' 1, 'iscrowd' 2",
        ),
        (
            [dict(GOOD_P, labels=["a"])],
            [GOOD_T],
            TypeError,
            r"preds\[0\]\['labels'\] holds <U1 values",
        ),
        (
            [dict(GOOD_P, boxes=object())],
            [GOOD_T],
            TypeError,
            r"preds\[0\]\['boxes'\] is a object, expected an array",
        ),
    ],
)
def test_bad_input(preds, targets, exc, match):
    m = MeanAveragePrecision()
    m.update([GOOD_P], [GOOD_T])
    with pytest.raises(exc, match=match):
        m.update(preds, targets)
    assert m.num_images == 1  # a bad batch stores nothing


def test_bad_masks():
    m = MeanAveragePrecision(iou_type="segm")
    mask = np.zeros((1, 4, 5), bool)
    mask[0, 1:3, 1:3] = True
    p = {"masks": mask, "scores": [0.9], "labels": [0]}
    with pytest.raises(
        ValueError,
        match=r"image 0: preds\[0\]\['masks'\] are 4x5 but targets\[0\]\['masks'\] are 4x6",
    ):
        m.update([p], [{"masks": np.zeros((1, 4, 6), bool), "labels": [0]}])
    with pytest.raises(
        ValueError, match=r"targets\[0\]\['masks'\] mask 0 holds values other than 0 and 1"
    ):
        m.update([p], [{"masks": mask * 3, "labels": [0]}])
    with pytest.raises(
        ValueError, match=r"preds\[0\]\['masks'\] has shape \(4, 5\), expected \(N, H, W\)"
    ):
        m.update([dict(p, masks=mask[0])], [{"masks": mask, "labels": [0]}])
    with pytest.raises(ValueError, match=r"corrupt RLE"):
        m.update(
            [dict(p, masks=[{"size": [4, 5], "counts": "\x7f\x7f"}])],
            [{"masks": mask, "labels": [0]}],
        )
    with pytest.raises(ValueError, match=r"targets\[0\] has no 'masks' key"):
        m.update([p], [{"boxes": [[0, 0, 1, 1]], "labels": [0]}])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"box_format": "xyx"}, r"box_format='xyx'"),
        ({"iou_type": "keypoints"}, r"iou_type='keypoints'"),
        ({"iou_type": ("bbox", "bbox")}, r"iou_type="),
        ({"max_detection_thresholds": [1, 10]}, r"must be 3 positive integers"),
        ({"iou_thresholds": [0.5, 1.5]}, r"iou_thresholds=.* must be numbers in \[0, 1\]"),
        ({"class_metrics": "yes"}, r"class_metrics='yes'"),
        ({"average": "weighted"}, r"average='weighted'"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MeanAveragePrecision(**kwargs)


def test_merge_checks_settings():
    with pytest.raises(ValueError, match=r"merge: iou_thresholds differ"):
        MeanAveragePrecision().merge(MeanAveragePrecision(iou_thresholds=[0.5]))
    with pytest.raises(TypeError, match=r"expected a MeanAveragePrecision"):
        MeanAveragePrecision().merge({})
