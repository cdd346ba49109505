"""Detection analyses: PR curves and F1 against pycocotools, the confusion matrix
against a transcription of ultralytics' rule and hand cases, TIDE against tidecv."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import types

import numpy as np
import pytest

from ioukit.evaluate import MeanAveragePrecision, coco_evaluate
from ioukit.evaluate.analysis import (
    confusion_matrix,
    error_breakdown,
    f1_scores,
    precision_recall,
)

pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402


def random_coco(seed, n_images=25, n_classes=3, crowd=0.1):
    rng = np.random.default_rng(seed)
    images, anns, dts = [], [], []
    for i in range(1, n_images + 1):
        images.append({"id": i, "height": 100, "width": 100})
        n_gt = int(rng.integers(1, 6))
        boxes = np.c_[rng.random((n_gt, 2)) * 60, 5 + rng.random((n_gt, 2)) * 30]
        cls = rng.integers(1, n_classes + 1, n_gt)
        for k in range(n_gt):
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": int(cls[k]),
                    "bbox": boxes[k].tolist(),
                    "area": float(boxes[k, 2] * boxes[k, 3]),
                    "iscrowd": int(rng.random() < crowd),
                }
            )
        n_dt = int(rng.integers(0, 9))
        src = rng.integers(0, n_gt, n_dt)
        d = boxes[src] + rng.normal(0, 4, (n_dt, 4))
        d[:, 2:] = np.maximum(d[:, 2:], 1)
        far = rng.random(n_dt) < 0.2
        d[far, :2] += 50
        dcls = np.where(rng.random(n_dt) < 0.75, cls[src], rng.integers(1, n_classes + 1, n_dt))
        for k in range(n_dt):
            dts.append(
                {
                    "image_id": i,
                    "category_id": int(dcls[k]),
                    "bbox": d[k].tolist(),
                    "score": float(rng.random()),
                }
            )
    cats = [{"id": c, "name": f"c{c}"} for c in range(1, n_classes + 1)]
    return {"images": images, "annotations": anns, "categories": cats}, dts


def _cocoeval(gt, dt, **params):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = json.loads(json.dumps(gt))
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(json.loads(json.dumps(dt)))
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        for k, v in params.items():
            setattr(ev.params, k, v)
        ev.evaluate()
        ev.accumulate()
    return ev


# ----------------------------------------------------------------------------- PR curves


@pytest.mark.parametrize("thr", [0.3, 0.5, 0.75])
def test_pr_curves_equal_pycocotools(thr):
    gt, dt = random_coco(1)
    ev = _cocoeval(gt, dt, iouThrs=np.array([thr]))
    pr = precision_recall(gt, dt, iou_threshold=thr)
    np.testing.assert_array_equal(pr.precision, ev.eval["precision"][0, :, :, 0, -1].T)
    np.testing.assert_array_equal(pr.scores, ev.eval["scores"][0, :, :, 0, -1].T)
    valid = ev.eval["precision"][0, :, :, 0, -1]
    assert pr.map == pytest.approx(valid[valid > -1].mean(), abs=1e-12)
    # a full evaluation sliced gives the same curves
    sliced = precision_recall(coco_evaluate(gt, dt, iou_thrs=[0.3, 0.5, 0.75]), iou_threshold=thr)
    np.testing.assert_array_equal(sliced.precision, pr.precision)
    json.dumps(pr.as_dict())


def test_pr_curves_from_streaming_metric():
    m = MeanAveragePrecision()
    rng = np.random.default_rng(0)
    for _ in range(5):
        boxes = np.c_[rng.random((4, 2)) * 50, 60 + rng.random((4, 2)) * 30]
        m.update(
            [{"boxes": boxes + 2, "scores": rng.random(4), "labels": np.array([0, 1, 0, 1])}],
            [{"boxes": boxes, "labels": np.array([0, 1, 1, 1])}],
        )
    gt, dt = m.to_coco()
    np.testing.assert_array_equal(
        precision_recall(m, iou_threshold=0.6).precision,
        precision_recall(gt, dt, iou_threshold=0.6).precision,
    )


def test_pr_curve_errors():
    gt, dt = random_coco(2, n_images=3)
    with pytest.raises(ValueError, match=r"has no IoU threshold 0.33"):
        precision_recall(coco_evaluate(gt, dt), iou_threshold=0.33)
    with pytest.raises(TypeError, match=r"give the detections \(dt\)"):
        precision_recall(gt)
    with pytest.raises(ValueError, match=r"area='tiny'"):
        precision_recall(gt, dt, area="tiny")


# ----------------------------------------------------------------------------- F1


def _brute_f1(ev, cat_ids):
    """Best F1 per category from pycocotools' own matches (evalImgs)."""
    out = {}
    for c in cat_ids:
        scores, tp, npos = [], [], 0
        for e in ev.evalImgs:
            if e is None or e["category_id"] != c or e["aRng"] != ev.params.areaRng[0]:
                continue
            npos += int((~np.asarray(e["gtIgnore"], bool)).sum())
            keep = ~e["dtIgnore"][0]
            scores += list(np.asarray(e["dtScores"])[keep])
            tp += list(e["dtMatches"][0][keep] > 0)
        scores, tp = np.array(scores), np.array(tp, bool)
        best = (0.0, None) if npos else (None, None)
        for s in np.unique(scores):
            kept = scores >= s
            t = tp[kept].sum()
            if npos and t:
                p, r = t / kept.sum(), t / npos
                f1 = 2 * p * r / (p + r)
                if f1 > best[0] + 1e-15 or (abs(f1 - best[0]) <= 1e-15 and s > best[1]):
                    best = (f1, s)
        out[c] = best
    return out


@pytest.mark.parametrize(("seed", "thr"), [(3, 0.5), (4, 0.3), (5, 0.7)])
def test_f1_against_pycocotools_matches(seed, thr):
    gt, dt = random_coco(seed, crowd=0.15)
    ev = _cocoeval(gt, dt, iouThrs=np.array([thr]), maxDets=[100], areaRng=[[0, 1e10]])
    ref = _brute_f1(ev, [1, 2, 3])
    table = f1_scores(gt, dt, iou_threshold=thr)
    for k, c in enumerate(table.classes):
        f1, s = ref[int(c)]
        if f1 is None:
            assert np.isnan(table.best_f1[k])
        else:
            assert table.best_f1[k] == pytest.approx(f1, abs=1e-12)
            if s is not None:
                assert table.best_threshold[k] == s
    json.dumps(table.as_dict())
    assert 0 < table.overall["f1"] <= 1


def test_f1_hand_case():
    gt = {
        "images": [{"id": 1}],
        "categories": [{"id": 1}, {"id": 2}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [20, 0, 10, 10], "area": 100},
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [60, 0, 10, 10], "score": 0.8},
        {"image_id": 1, "category_id": 1, "bbox": [20, 0, 10, 10], "score": 0.3},
    ]
    t = f1_scores(gt, dt)
    # s >= 0.9: P 1, R 0.5, F1 2/3;  s >= 0.3: P 2/3, R 1, F1 0.8
    assert t.best_f1[0] == pytest.approx(0.8)
    assert t.best_threshold[0] == 0.3
    assert np.isnan(t.best_f1[1])  # no ground truth in class 2


# ----------------------------------------------------------------------------- confusion


def _ultralytics_reference(gt, dt, iou_thr, conf):
    """ultralytics' ConfusionMatrix.process_batch, transcribed (loops, numpy)."""
    from ioukit import box_iou

    cats = sorted({c["id"] for c in gt["categories"]} | {d["category_id"] for d in dt})
    idx = {c: i for i, c in enumerate(cats)}
    nc = len(cats)
    matrix = np.zeros((nc + 1, nc + 1), int)  # [pred, true] as ultralytics
    for img in gt["images"]:
        g = [a for a in gt["annotations"] if a["image_id"] == img["id"] and not a["iscrowd"]]
        d = [x for x in dt if x["image_id"] == img["id"] and x["score"] > conf]
        gc = [idx[a["category_id"]] for a in g]
        dc = [idx[x["category_id"]] for x in d]
        if not g:
            for c in dc:
                matrix[c, nc] += 1
            continue
        if not d:
            for c in gc:
                matrix[nc, c] += 1
            continue
        iou = box_iou([a["bbox"] for a in g], [x["bbox"] for x in d], fmt="xywh")
        x = np.where(iou > iou_thr)
        if x[0].shape[0]:
            matches = np.c_[x[0], x[1], iou[x]]
            if x[0].shape[0] > 1:
                matches = matches[matches[:, 2].argsort()[::-1]]
                matches = matches[np.unique(matches[:, 1], return_index=True)[1]]
                matches = matches[matches[:, 2].argsort()[::-1]]
                matches = matches[np.unique(matches[:, 0], return_index=True)[1]]
        else:
            matches = np.zeros((0, 3))
        m0, m1 = matches[:, 0].astype(int), matches[:, 1].astype(int)
        for i, c in enumerate(gc):
            j = m0 == i
            if matches.shape[0] and j.sum() == 1:
                matrix[dc[m1[j][0]], c] += 1
            else:
                matrix[nc, c] += 1
        for i, c in enumerate(dc):
            if not (m1 == i).any():
                matrix[c, nc] += 1
    return matrix


@pytest.mark.parametrize(("seed", "iou", "conf"), [(6, 0.45, 0.25), (7, 0.5, 0.0), (8, 0.3, 0.6)])
def test_confusion_matches_ultralytics_rule(seed, iou, conf):
    gt, dt = random_coco(seed)
    cm = confusion_matrix(gt, dt, iou_threshold=iou, score_threshold=conf)
    np.testing.assert_array_equal(cm.matrix, _ultralytics_reference(gt, dt, iou, conf).T)
    non_crowd = sum(1 for a in gt["annotations"] if not a["iscrowd"])
    assert cm.matrix[:-1].sum() == non_crowd
    json.dumps(cm.as_dict())


def test_confusion_hand_case():
    gt = {
        "images": [{"id": 1}, {"id": 2}],
        "categories": [{"id": 1}, {"id": 2}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [30, 0, 10, 10], "area": 100},
            {"id": 3, "image_id": 2, "category_id": 2, "bbox": [0, 0, 10, 10], "area": 100},
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},  # TP 1
        {"image_id": 1, "category_id": 1, "bbox": [1, 0, 10, 10], "score": 0.8},  # dup: FP
        {"image_id": 1, "category_id": 1, "bbox": [30, 0, 10, 10], "score": 0.7},  # 2 as 1
        {"image_id": 2, "category_id": 2, "bbox": [0, 0, 10, 10], "score": 0.1},  # below score
    ]
    m = confusion_matrix(gt, dt, iou_threshold=0.5, score_threshold=0.25).matrix
    assert m.tolist() == [[1, 0, 0], [1, 0, 1], [1, 0, 0]]


# ----------------------------------------------------------------------------- TIDE


def _box(x, y, w=10, h=10):
    return [x, y, w, h]


def test_tide_hand_cases():
    anns = [
        (1, 1, _box(0, 0)),  # matched by d1
        (1, 1, _box(100, 0)),  # localisation target (d3)
        (1, 2, _box(200, 0)),  # classification target (d4)
        (1, 1, _box(300, 0)),  # missed
        (1, 1, _box(400, 0, 40, 40)),  # crowd
    ]
    gt = {
        "images": [{"id": 1}, {"id": 2}],
        "categories": [{"id": 1}, {"id": 2}],
        "annotations": [
            {
                "id": k + 1,
                "image_id": i,
                "category_id": c,
                "bbox": b,
                "area": b[2] * b[3],
                "iscrowd": int(k == 4),
            }
            for k, (i, c, b) in enumerate(anns)
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": _box(0, 0), "score": 0.9},  # TP
        {"image_id": 1, "category_id": 1, "bbox": _box(1, 0), "score": 0.8},  # duplicate
        {"image_id": 1, "category_id": 1, "bbox": _box(106, 0), "score": 0.7},  # loc (IoU .25)
        {"image_id": 1, "category_id": 1, "bbox": _box(200, 0), "score": 0.6},  # cls
        {"image_id": 1, "category_id": 2, "bbox": _box(106, 0), "score": 0.5},  # both
        {"image_id": 1, "category_id": 1, "bbox": _box(600, 0), "score": 0.4},  # background
        {"image_id": 1, "category_id": 1, "bbox": _box(405, 5), "score": 0.3},  # in crowd
        {"image_id": 2, "category_id": 2, "bbox": _box(0, 0), "score": 0.2},  # bkg: no gt
    ]
    e = error_breakdown(gt, dt)
    assert e.counts == {
        "classification": 1,
        "localisation": 1,
        "both": 1,
        "duplicate": 1,
        "background": 2,
        "missed": 1,
    }
    assert e.true_positives == 1 and e.ignored == 1
    assert e.detection_error.tolist() == [-1, 3, 1, 0, 2, 4, -2, 4]
    json.dumps(e.as_dict())
    with pytest.raises(ValueError, match=r"bg_threshold <= pos_threshold"):
        error_breakdown(gt, dt, pos_threshold=0.1, bg_threshold=0.5)


def _tidecv(monkeypatch):
    """tidecv, with stubs for what it imports only to draw and download (cv2,
    seaborn, pandas, appdirs) when those are not installed."""
    import importlib.util

    for name in ("cv2", "seaborn", "pandas", "appdirs"):
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            stub = types.ModuleType(name)
            stub.__getattr__ = lambda attr: lambda *a, **k: None  # PEP 562: no-op calls
            stub.FONT_HERSHEY_SIMPLEX = 0
            monkeypatch.setitem(sys.modules, name, stub)
    return pytest.importorskip("tidecv")


@pytest.mark.parametrize("seed", [10, 11, 12, 13, 14, 15])
def test_tide_against_tidecv(seed, monkeypatch):
    tidecv = _tidecv(monkeypatch)
    from tidecv.errors import main_errors as me

    gt, dt = random_coco(seed, n_images=30, crowd=0.0)
    t_gt, t_dt = tidecv.Data("gt"), tidecv.Data("dt")
    for a in gt["annotations"]:
        t_gt.add_ground_truth(a["image_id"], a["category_id"], box=a["bbox"])
    for img in gt["images"]:
        t_dt._make_default_image(img["id"])
    for d in dt:
        t_dt.add_detection(d["image_id"], d["category_id"], d["score"], box=d["bbox"])
    from tidecv.quantify import TIDERun  # TIDE().evaluate minus its seaborn plotter

    with contextlib.redirect_stdout(io.StringIO()):
        run = TIDERun(t_gt, t_dt, 0.5, 0.1, tidecv.TIDE.BOX, t_gt.max_dets, True)
    theirs = {
        "classification": len(run.error_dict[me.ClassError]),
        "localisation": len(run.error_dict[me.BoxError]),
        "both": len(run.error_dict[me.OtherError]),
        "duplicate": len(run.error_dict[me.DuplicateError]),
        "background": len(run.error_dict[me.BackgroundError]),
        "missed": len(run.error_dict[me.MissedError]),
    }
    ours = error_breakdown(gt, dt)
    assert ours.counts == theirs
    assert ours.ap * 100 == pytest.approx(run.ap, abs=1e-9)
    fixed = run.fix_main_errors()
    names = {
        me.ClassError: "classification",
        me.BoxError: "localisation",
        me.OtherError: "both",
        me.DuplicateError: "duplicate",
        me.BackgroundError: "background",
        me.MissedError: "missed",
    }
    for cls, name in names.items():
        assert ours.delta_ap[name] * 100 == pytest.approx(fixed[cls], abs=1e-9), name


# ----------------------------------------------------------------------------- segm, plots


def test_segm_source_from_metric():
    rng = np.random.default_rng(3)
    m = MeanAveragePrecision(iou_type="segm")
    for _ in range(4):
        g = np.zeros((2, 20, 20), bool)
        g[0, 2:9, 2:9] = True
        g[1, 10:18, 5:15] = True
        d = g.copy()
        d[0, 2:4] = False
        d[1] = np.roll(d[1], int(rng.integers(0, 6)), axis=1)
        m.update(
            [{"masks": d, "scores": rng.random(2), "labels": np.array([0, 1])}],
            [{"masks": g, "labels": np.array([0, 1])}],
        )
    gt, dt = m.to_coco()
    for func in (confusion_matrix, error_breakdown):
        a = func(m).as_dict()
        b = func(gt, dt, iou_type="segm").as_dict()
        assert a == b
    assert f1_scores(m).as_dict() == f1_scores(gt, dt, iou_type="segm").as_dict()


def test_plots(tmp_path):
    pytest.importorskip("matplotlib")
    from ioukit.evaluate import analysis_plots as ap

    gt, dt = random_coco(20)
    names = {1: "cat", 2: "dog"}
    figs = [
        ap.plot_precision_recall(precision_recall(gt, dt), names=names),
        ap.plot_f1(f1_scores(gt, dt), names=names),
        ap.plot_confusion_matrix(confusion_matrix(gt, dt), names=names, normalize=True),
        ap.plot_error_breakdown(error_breakdown(gt, dt)),
        ap.plot_error_breakdown(error_breakdown(gt, dt), what="counts"),
    ]
    for k, fig in enumerate(figs):
        fig.savefig(tmp_path / f"{k}.png")
        assert (tmp_path / f"{k}.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"what='ap' is not 'delta_ap' or 'counts'"):
        ap.plot_error_breakdown(error_breakdown(gt, dt), what="ap")


def test_plot_without_matplotlib(monkeypatch):
    from ioukit.evaluate import analysis_plots as ap

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'ioukit\[plot\]'"):
        ap.plot_error_breakdown(error_breakdown(*random_coco(21, n_images=2)))
