"""The compiled reader of result files gives exactly what the JSON parser gives, and
steps aside (returns None) for anything unusual."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ioukit._rleset import parse_rles
from ioukit.evaluate.coco_data import read_detections, read_ground_truth
from ioukit.evaluate.fast_results import read_results_file

VAL2014 = "faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json"
FILES = [
    (VAL2014, "cocoapi/results/instances_val2014_fakebbox100_results.json", "bbox"),
    (VAL2014, "cocoapi/results/instances_val2014_fakesegm100_results.json", "segm"),
    ("detectron2/tests/data/test_coco_evaluation__gt_annotations.json",
     "detectron2/tests/data/test_coco_evaluation__detections.json", "bbox"),
    ("detectron2/tests/data/test_coco_evaluation__gt_annotations.json",
     "detectron2/tests/data/test_coco_evaluation__detections.json", "segm"),
]


@pytest.mark.parametrize("gt_path,dt_path,iou_type", FILES)
def test_same_arrays_as_the_json_parser(shared_data, gt_path, dt_path, iou_type):
    truth = read_ground_truth(shared_data / gt_path, iou_type)
    fast = read_results_file(shared_data / dt_path, truth, iou_type)
    assert fast is not None
    slow = read_detections(json.loads((shared_data / dt_path).read_text()), truth, iou_type)
    for name in ("image", "category", "scores", "areas"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    if slow.boxes is not None:
        np.testing.assert_array_equal(fast.boxes, slow.boxes)
    if iou_type == "segm":
        expected, _ = parse_rles(slow.segmentations, "x", "test")
        np.testing.assert_array_equal(fast.rles.counts, expected.counts)
        np.testing.assert_array_equal(fast.rles.offsets, expected.offsets)


def write(tmp_path, text):
    path = tmp_path / "dt.json"
    path.write_text(text)
    return path


GT = {"images": [{"id": 1, "height": 4, "width": 4}], "categories": [{"id": 1}], "annotations": []}


@pytest.mark.parametrize(
    "text",
    [
        '[{"image_id": "1", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]',  # string id
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]',  # no score
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1], "score": 0.5}]',  # bad box
        '[{"image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]',  # unknown image
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 0.5}]',  # short box
        '[{"image_\\u0069d": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]',  # escaped key
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}',  # truncated
        '{"annotations": []}',
        "[]",
    ],
)
def test_unusual_files_take_the_ordinary_path(tmp_path, text):
    truth = read_ground_truth(GT, "bbox")
    assert read_results_file(write(tmp_path, text), truth, "bbox") is None


def test_extra_fields_whitespace_and_escaped_counts(tmp_path):
    truth = read_ground_truth(dict(GT, images=[{"id": 1, "height": 20, "width": 20}]), "segm")
    text = (  # the counts string of published case B1: a backslash, escaped in JSON
        '[ {"id": 9, "extra": {"a": [1, "x]", {"b": null}]}, "image_id": 1, "category_id": 1,\n'
        '   "segmentation": {"size": [20, 20], "counts": "\\\\14`00000000P8"}, "score": 1e-1} ]'
    )
    fast = read_results_file(write(tmp_path, text), truth, "segm")
    slow = read_detections(json.loads(text), truth, "segm")
    assert fast is not None and fast.scores.tolist() == slow.scores.tolist() == [0.1]
    expected, _ = parse_rles(slow.segmentations, "x", "test")
    np.testing.assert_array_equal(fast.rles.counts, expected.counts)
