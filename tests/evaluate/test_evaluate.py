"""match(), the mean-IoU report and malformed COCO input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ioukit.evaluate import coco_evaluate, match, mean_iou_report, report_from_result

GT = {
    "images": [{"id": 1, "height": 100, "width": 100}, {"id": 2, "height": 100, "width": 100}],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    "annotations": [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [0, 0, 10, 10],
            "area": 100,
            "iscrowd": 0,
            "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]],
        },
        {
            "id": 2,
            "image_id": 1,
            "category_id": 2,
            "bbox": [50, 50, 20, 20],
            "area": 400,
            "iscrowd": 0,
            "segmentation": [[50, 50, 70, 50, 70, 70, 50, 70]],
        },
        {
            "id": 3,
            "image_id": 2,
            "category_id": 1,
            "bbox": [5, 5, 30, 30],
            "area": 900,
            "iscrowd": 1,
            "segmentation": [[5, 5, 35, 5, 35, 35, 5, 35]],
        },
    ],
}
DT = [
    {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 9], "score": 0.9},
    {"image_id": 1, "category_id": 2, "bbox": [55, 55, 20, 20], "score": 0.8},
    {"image_id": 2, "category_id": 1, "bbox": [6, 6, 10, 10], "score": 0.7},
]


def test_match_greedy_optimal_and_crowd():
    iou = np.array([[0.9, 0.6], [0.8, 0.1]])
    greedy = match(iou)
    assert greedy.pairs.tolist() == [[0, 0]]
    assert greedy.unmatched_rows.tolist() == [1] and greedy.unmatched_cols.tolist() == [1]
    assert match(iou, scores=[0.1, 0.9]).pairs.tolist() == [[1, 0], [0, 1]]
    optimal = match(iou, method="optimal")
    assert optimal.pairs.tolist() == [[0, 1], [1, 0]]
    np.testing.assert_allclose(optimal.ious, [0.6, 0.8])
    crowd = match(np.array([[0.7, 0.9], [0.2, 0.8], [0.6, 0.0]]), crowd=[False, True])
    assert crowd.pairs.tolist() == [[0, 0], [1, 1]]  # regular first; the crowd column absorbs
    assert match(np.array([[0.5, 0.5]])).pairs.tolist() == [[0, 1]]  # COCO: last of equal IoUs
    assert match(np.zeros((0, 3))).pairs.shape == (0, 2)
    with pytest.raises(ValueError, match="method='best'"):
        match(iou, method="best")
    with pytest.raises(ValueError, match="2-D"):
        match(np.zeros(3))
    with pytest.raises(ValueError, match="scores has 3 values for 2 rows"):
        match(iou, scores=[1, 2, 3])


def test_mean_iou_report():
    report = mean_iou_report(GT, DT)
    assert report.gt_iou.shape == (2,)  # the crowd object is not averaged
    np.testing.assert_allclose(report.gt_iou, [0.9, 0.0])  # 225 / 575 is below 0.5: unmatched
    assert report.mean_iou == pytest.approx((0.9 + 0) / 2)  # 225/575 < 0.5: unmatched
    assert report.matched == 1
    assert report.per_class == {1: pytest.approx(0.9), 2: 0.0}
    assert report.bands == {"excellent": 0.0, "good": 1.0, "poor": 0.0}
    only_matched = mean_iou_report(GT, DT, include_unmatched=False)
    assert only_matched.mean_iou == pytest.approx(0.9)
    low = mean_iou_report(GT, DT, threshold=0.3)
    assert low.matched == 2
    full = coco_evaluate(GT, DT)
    assert report_from_result(full).mean_iou == pytest.approx(report.mean_iou)
    assert report.as_dict({1: "cat", 2: "dog"})["per_class"]["cat"] == pytest.approx(0.9)
    segm = mean_iou_report(GT, [dict(d, bbox=d["bbox"]) for d in DT], iou_type="segm")
    assert segm.matched >= 1


def bad(**changes):
    gt = json.loads(json.dumps(GT))
    for path, value in changes.items():
        target = gt
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is None:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return gt


@pytest.mark.parametrize(
    "gt,message",
    [
        (bad(annotations__0__area=None), r"ground-truth annotation 0 \(id 1\) has no 'area'"),
        (
            bad(annotations__1__category_id=None),
            r"ground-truth annotation 1 \(id 2\) has no 'category_id'",
        ),
        (bad(annotations__0__id=None), r"ground-truth annotation 0 \(id \?\) has no 'id'"),
        (bad(annotations__0__image_id=None), "ground-truth annotation 0 has no 'image_id'"),
        (bad(annotations__0__image_id=7), "refers to image 7, which is not in 'images'"),
        (bad(annotations__0__image_id="seven"), "has image id 'seven'"),
        (
            bad(annotations__2__bbox=[0, 0, -5, 3]),
            r"argument 'ground-truth annotation' has an invalid xywh box at row 2",
        ),
        (
            bad(annotations__2__bbox=[0, 0, 3]),
            r"ground-truth annotation 2 \(id 3\) has bbox \[0, 0, 3\]",
        ),
        (bad(annotations__0__area="big"), "has area='big'"),
        (bad(images=None), "ground truth has no 'images' list"),
        (bad(images__1__id=1), "lists image id 1 twice"),
        (
            bad(categories=[{"id": 1}, {"id": 2}, {"id": 1}]),
            "ground-truth category 2 repeats category id 1",
        ),
        (bad(categories=[{"id": 1}, {"name": "x"}]), r"ground-truth category 1 .*has no 'id'"),
        (bad(categories={"id": 1}), "'categories' is a dict, not a list"),
        ([1, 2], "ground truth must be a COCO dict"),
    ],
)
def test_malformed_ground_truth(gt, message):
    with pytest.raises(ValueError, match=message):
        coco_evaluate(gt, DT)


def test_malformed_segmentation():
    gt = bad(annotations__0__segmentation=[[0, 0, 1, 1]])
    with pytest.raises(
        ValueError, match="ground-truth segmentation item 0 polygon 0 has fewer than 3 points"
    ):
        coco_evaluate(gt, DT, "segm")
    gt = bad(annotations__1__segmentation={"size": [100, 100], "counts": "not-an-rle!"})
    with pytest.raises(ValueError, match="corrupt RLE"):
        coco_evaluate(gt, DT, "segm")
    with pytest.raises(ValueError, match="has no 'segmentation'"):
        coco_evaluate(bad(annotations__0__segmentation=None), DT, "segm")


@pytest.mark.parametrize(
    "dt,message",
    [
        (
            [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}],
            "detection 0 .* has no 'score'",
        ),
        (
            [{"image_id": 9, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}],
            "detection 0 refers to image 9",
        ),
        ([{"image_id": 1, "category_id": 1, "bbox": [0, 0, np.nan, 1], "score": 1}], "not finite"),
        (
            [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": float("nan")}],
            "has score nan",
        ),
        (
            [{"image_id": 1, "category_id": 1, "score": 1}],
            "detection 0 has neither 'bbox' nor 'segmentation'",
        ),
        ({"not": "a list"}, "detections must be a list"),
        (["oops"], "detection 0 is a str"),
    ],
)
def test_malformed_detections(dt, message):
    with pytest.raises(ValueError, match=message):
        coco_evaluate(GT, dt)


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_error_message_of_deeply_nested_value():
    # the message shows a bounded repr: no RecursionError from repr() of the value
    dt = [{"image_id": 1, "category_id": 1, "score": 0.5, "bbox": _nested(100_000)}]
    with pytest.raises(ValueError, match=r"detection 0 \(id \?\) has bbox \[\[\[\[\.\.\.\]\]\]\]"):
        coco_evaluate(GT, dt)
    dt = [{"image_id": _nested(100_000), "category_id": 1, "score": 0.5, "bbox": [0, 0, 1, 1]}]
    with pytest.raises(ValueError, match=r"detection 0 has image id \[\[\[\[\.\.\.\]\]\]\]"):
        coco_evaluate(GT, dt)


def test_documented_handling():
    # string image ids are cast to int, a missing iscrowd is 0, empty results evaluate
    gt = bad(images__0__id="1", annotations__0__image_id="1", annotations__1__iscrowd=None)
    dt = [dict(DT[0], image_id="1"), DT[1], DT[2]]
    assert np.allclose(coco_evaluate(gt, dt).stats, coco_evaluate(GT, DT).stats)
    assert coco_evaluate(GT, []).stats[0] == 0.0
    with pytest.raises(ValueError, match="iou_type='kpts'"):
        coco_evaluate(GT, DT, "kpts")
    with pytest.raises(ValueError, match="ground-truth annotation 0 .* has no 'keypoints' list"):
        coco_evaluate(GT, DT, "keypoints")  # a bbox file has no keypoints


def test_bad_files(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="ground truth file .* is not valid JSON"):
        coco_evaluate(path, DT)
    with pytest.raises(FileNotFoundError):
        coco_evaluate(tmp_path / "missing.json", DT)


@pytest.mark.parametrize(
    "change,message",
    [
        (
            lambda g: g["images"][0].update(height="100"),
            r"ground-truth image 0 \(id \?\) has height='100'",
        ),
        (
            lambda g: g["categories"][1].update(id=2**70),
            r"ground-truth category 1 \(id .*\) has id=.*, expected an integer",
        ),
        (
            lambda g: g["annotations"][0].update(category_id=2**64),
            r"ground-truth annotation 0 \(id 1\) has category_id=",
        ),
        (
            lambda g: g["annotations"][0].update(area="100"),
            r"ground-truth annotation 0 \(id 1\) has area='100'",
        ),
        (
            lambda g: g["annotations"][0].update(image_id=2**64),
            r"ground-truth annotation 0 has image id (18446744073709551616|1\.8446744073709552e\+19)",
        ),
        (lambda g: g["images"].append([]), r"ground-truth image 2 must be a dict, got list"),
        (
            lambda g: g["annotations"][0].update(image_id="--1"),
            r"ground-truth annotation 0 has image id '--1', expected an integer or a string",
        ),
        (
            lambda g: g["annotations"][0].update(image_id="\u00b2"),
            r"ground-truth annotation 0 has image id '\u00b2', expected an integer or a string",
        ),
        (
            lambda g: g["annotations"].insert(1, 7),
            r"ground-truth annotation 1 must be a dict, got int",
        ),
    ],
)
def test_ground_truth_types_and_int64_range(change, message, tmp_path):
    gt = json.loads(json.dumps(GT))
    change(gt)
    with pytest.raises(ValueError, match=message):
        coco_evaluate(gt, DT)
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    with pytest.raises(ValueError, match=r"ground truth file '.*gt\.json': " + message):
        coco_evaluate(path, DT)


def test_evaluate_reachable_after_bare_import():
    """``import ioukit`` alone reaches ``ioukit.evaluate`` and ``ioukit.distributed``
    (loaded on first use: the bare import still loads neither, nor numba)."""
    import subprocess
    import sys

    code = (
        "import sys, ioukit\n"
        "assert 'ioukit.evaluate' not in sys.modules and 'numba' not in sys.modules\n"
        "assert callable(ioukit.evaluate.coco_evaluate)\n"
        "assert callable(ioukit.distributed.client_for)\n"
        "try:\n"
        "    ioukit.no_such_name\n"
        "except AttributeError as err:\n"
        "    assert 'no_such_name' in str(err)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
