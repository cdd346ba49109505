"""COCO AP/AR: the published values of expected_values.md section C, and pycocotools live."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ioukit import rle
from ioukit.evaluate import coco_evaluate

VAL2014 = "faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json"
C1_BBOX = [
    0.5045806987249628,
    0.6969727247299577,
    0.5729816669904824,
    0.5856257209410443,
    0.5193996948036719,
    0.5013978986347466,
    0.38681277964578054,
    0.5936795762842003,
    0.595352982877607,
    0.6398109626113442,
    0.5664205978994309,
    0.5642905982905982,
]
C1_SEGM = [
    0.3195452758576433,
    0.5622883972521636,
    0.29892653412086784,
    0.3873740315997838,
    0.31018272403369485,
    0.3269339071005138,
    0.2682297225711534,
    0.41544868114906375,
    0.4168394992198818,
    0.4694498622754236,
    0.37675922666197265,
    0.3814715099715099,
]


def load(shared_data, path):
    return json.loads((shared_data / path).read_text())


@pytest.mark.parametrize(
    "iou_type,results,want",
    [
        ("bbox", "cocoapi/results/instances_val2014_fakebbox100_results.json", C1_BBOX),
        ("segm", "cocoapi/results/instances_val2014_fakesegm100_results.json", C1_SEGM),
    ],
)
def test_c1_val2014_fake_results(shared_data, iou_type, results, want):
    result = coco_evaluate(shared_data / VAL2014, shared_data / results, iou_type)
    np.testing.assert_allclose(result.stats, want, rtol=0, atol=1e-12)


def test_c1_matches_pycocotools_arrays(shared_data):
    pytest.importorskip("pycocotools")
    from tests.helpers.coco import pycocotools_eval

    gt = load(shared_data, VAL2014)
    for iou_type, path in (
        ("bbox", "cocoapi/results/instances_val2014_fakebbox100_results.json"),
        ("segm", "cocoapi/results/instances_val2014_fakesegm100_results.json"),
    ):
        dt = load(shared_data, path)
        stats, precision, recall = pycocotools_eval(gt, dt, iou_type)
        ours = coco_evaluate(gt, dt, iou_type)
        np.testing.assert_allclose(ours.stats, stats, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(ours.precision, precision)
        np.testing.assert_array_equal(ours.recall, recall)


def test_c2_crowd_box_and_string_image_ids(shared_data):
    gt = load(shared_data, "faster_coco_eval/tests/dataset/gt_ignore_test.json")
    dt = [
        d
        for d in load(shared_data, "faster_coco_eval/tests/dataset/dt_ignore_test.json")
        if d["score"] >= 0.1
    ]
    result = coco_evaluate(gt, dt, "bbox")
    want = [
        0.7099009900990099,
        1.0,
        0.8415841584158416,
        -1.0,
        0.7099009900990099,
        -1.0,
        0.0,
        0.45384615384615384,
        0.7153846153846154,
        -1.0,
        0.7153846153846154,
        -1.0,
    ]
    np.testing.assert_allclose(result.stats, want, rtol=0, atol=1e-12)
    recall = result.recall[:, :, 0, -1]
    assert recall[0].mean() == pytest.approx(1.0) and recall[5].mean() == pytest.approx(
        0.8461538461538461
    )


def test_c3_synthetic_polygons(shared_data):
    gt = load(shared_data, "faster_coco_eval/tests/dataset/gt_dataset.json")
    dt = load(shared_data, "faster_coco_eval/tests/dataset/dt_dataset.json")
    sizes = {img["id"]: (img["height"], img["width"]) for img in gt["images"]}
    converted = []
    for d in dt:
        h, w = sizes[d["image_id"]]
        d = {k: v for k, v in d.items() if k != "bbox"}
        d["segmentation"] = rle.from_segmentation(d["segmentation"], h, w)
        converted.append(d)
    want = [
        0.6947194719471946,
        0.6947194719471946,
        0.6947194719471946,
        -1.0,
        0.7367986798679867,
        0.0,
        0.6666666666666666,
        0.75,
        0.75,
        -1.0,
        0.7916666666666666,
        0.0,
    ]
    np.testing.assert_allclose(coco_evaluate(gt, converted, "segm").stats, want, rtol=0, atol=1e-12)


# B2. deeplab2 single-image mask AP
def test_b2_deeplab2_single_image():
    gt_mask = np.array(
        [[0, 0, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]], np.uint8
    )
    det_mask = np.array(
        [[0, 0, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 0]], np.uint8
    )
    gt = {
        "images": [{"id": 1, "height": 4, "width": 5}],
        "categories": [{"id": 8}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 8,
                "segmentation": rle.encode(gt_mask),
                "area": 5,
                "iscrowd": 0,
            }
        ],
    }
    dt = [{"image_id": 1, "category_id": 8, "segmentation": rle.encode(det_mask), "score": 0.8}]
    want = [0.7, 1, 1, 0.7, -1, -1, 0.7, 0.7, 0.7, 0.7, -1, -1]
    np.testing.assert_allclose(coco_evaluate(gt, dt, "segm").stats, want, atol=1e-12)


def test_c4_detectron2_real_masks(shared_data):
    pytest.importorskip("pycocotools")
    from tests.helpers.coco import pycocotools_eval

    gt = load(shared_data, "detectron2/tests/data/test_coco_evaluation__gt_annotations.json")
    dt = load(shared_data, "detectron2/tests/data/test_coco_evaluation__detections.json")
    for iou_type in ("bbox", "segm"):
        stats, precision, recall = pycocotools_eval(gt, dt, iou_type)
        ours = coco_evaluate(gt, dt, iou_type)
        np.testing.assert_allclose(ours.stats, stats, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(ours.precision, precision)
        np.testing.assert_array_equal(ours.recall, recall)


EDGE_SETTINGS = [
    {"useCats": 0},
    {"iouThrs": np.array([])},
    {"recThrs": np.array([])},
    {"maxDets": [1, 5, 20]},
    {"areaRng": [], "areaRngLbl": []},
    {"iouThrs": np.array([0.3, 0.55, 0.9])},
    {"areaRng": [[0, 1e10], [0, 2000]], "areaRngLbl": ["all", "small"]},
]


@pytest.mark.parametrize("settings", EDGE_SETTINGS, ids=lambda s: ",".join(s))
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_c4_edge_settings(shared_data, settings, iou_type):
    pytest.importorskip("pycocotools")
    from tests.helpers.coco import pycocotools_eval

    gt = load(shared_data, VAL2014)
    dt = load(shared_data, f"cocoapi/results/instances_val2014_fake{iou_type}100_results.json")
    stats, precision, recall = pycocotools_eval(gt, dt, iou_type, **settings)
    names = {
        "useCats": "use_cats",
        "iouThrs": "iou_thrs",
        "recThrs": "rec_thrs",
        "maxDets": "max_dets",
        "areaRng": "area_rng",
        "areaRngLbl": "area_rng_lbl",
    }
    ours = coco_evaluate(gt, dt, iou_type, **{names[k]: v for k, v in settings.items()})
    np.testing.assert_array_equal(ours.precision, precision)
    np.testing.assert_array_equal(ours.recall, recall)
    if stats is not None:
        np.testing.assert_allclose(ours.stats, stats, rtol=0, atol=1e-12)
    assert isinstance(ours.summary(), str)


def test_c4_empty_gt_images_and_subsets(shared_data):
    pytest.importorskip("pycocotools")
    from tests.helpers.coco import pycocotools_eval

    gt = load(shared_data, VAL2014)
    dt = load(shared_data, "cocoapi/results/instances_val2014_fakebbox100_results.json")
    img_ids = sorted({a["image_id"] for a in gt["annotations"]})[:30]
    cat_ids = [1, 3, 18, 62]
    stats, precision, recall = pycocotools_eval(gt, dt, "bbox", imgIds=img_ids, catIds=cat_ids)
    ours = coco_evaluate(gt, dt, "bbox", img_ids=img_ids, cat_ids=cat_ids)
    np.testing.assert_array_equal(ours.precision, precision)
    np.testing.assert_allclose(ours.stats, stats, rtol=0, atol=1e-12)
    no_gt = dict(gt, annotations=[])
    result = coco_evaluate(no_gt, dt, "bbox")
    assert (result.stats == -1).all()
    empty = coco_evaluate(gt, [], "bbox")
    assert empty.stats[0] == 0.0 and empty.stats[8] == 0.0
