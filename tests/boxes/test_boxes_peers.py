"""Live comparison with the peers that install without torch (skipped when absent)."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from tests.helpers.boxes import random_boxes


def test_pycocotools_box_iou_with_crowd(rng):
    mask_utils = pytest.importorskip("pycocotools.mask")
    dt = random_boxes(rng, 40, "xywh")
    gt = random_boxes(rng, 30, "xywh")
    crowd = rng.random(30) < 0.3
    want = mask_utils.iou(dt.tolist(), gt.tolist(), crowd.astype(np.uint8).tolist())
    got = ioukit.box_iou(dt, gt, fmt="xywh", crowd=crowd)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_faster_coco_eval_box_iou(rng):
    mask_api = pytest.importorskip("faster_coco_eval.core.mask")
    dt = random_boxes(rng, 25, "xywh")
    gt = random_boxes(rng, 20, "xywh")
    crowd = rng.random(20) < 0.3
    want = mask_api.iou(dt.tolist(), gt.tolist(), crowd.astype(np.uint8).tolist())
    np.testing.assert_allclose(ioukit.box_iou(dt, gt, fmt="xywh", crowd=crowd), want, rtol=1e-12)


def test_cython_bbox_plus_one(rng):
    cython_bbox = pytest.importorskip("cython_bbox")
    a = np.round(random_boxes(rng, 50, scale=300))
    b = np.round(random_boxes(rng, 60, scale=300))
    want = cython_bbox.bbox_overlaps(np.ascontiguousarray(a), np.ascontiguousarray(b))
    np.testing.assert_allclose(ioukit.box_iou(a, b, pixel_offset=1), want, rtol=1e-12, atol=1e-15)


def test_faster_coco_eval_crowd_matrix(shared_data):
    """The 36 x 14 matrix stored by faster_coco_eval (C2), crowd column included."""
    import json

    gt = json.loads(
        (shared_data / "faster_coco_eval/tests/dataset/gt_ignore_test.json").read_text()
    )
    dt = json.loads(
        (shared_data / "faster_coco_eval/tests/dataset/dt_ignore_test.json").read_text()
    )
    want = np.load(shared_data / "faster_coco_eval/tests/dataset/2299_1.npy")
    gts = [a for a in gt["annotations"] if int(a["image_id"]) == 2299 and a["category_id"] == 1]
    dts = [
        d for d in dt if int(d["image_id"]) == 2299 and d["category_id"] == 1 and d["score"] >= 0.1
    ]
    order = np.argsort([-d["score"] for d in dts], kind="mergesort")
    dts = [dts[i] for i in order]
    got = ioukit.box_iou(
        [d["bbox"] for d in dts],
        [g["bbox"] for g in gts],
        fmt="xywh",
        crowd=[bool(g.get("iscrowd", 0)) for g in gts],
    )
    assert got.shape == want.shape == (36, 14)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
