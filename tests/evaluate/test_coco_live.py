"""COCO AP/AR against pycocotools on synthetic sets from ../shared/tools/make_coco.py (several seeds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ioukit.evaluate import coco_evaluate

pytest.importorskip("pycocotools")


_MADE: dict[int, Path] = {}  # seed -> folder: each set is written once per process


@pytest.fixture(scope="module", params=[0, 1, 2])
def synthetic(request, shared_data, tmp_path_factory):
    tool = shared_data.parent / "tools" / "make_coco.py"
    if not tool.exists():
        pytest.skip("make_coco.py not found")
    seed = request.param
    if seed not in _MADE:
        out = tmp_path_factory.mktemp(f"coco{seed}")
        subprocess.run(
            [sys.executable, str(tool), str(out), "--images", "60", "--seed", str(seed)],
            check=True,
            capture_output=True,
        )
        _MADE[seed] = out
    out = _MADE[seed]
    data = {
        name: json.loads((out / f"{name}.json").read_text())
        for name in ("gt", "dt_bbox", "dt_segm")
    }
    data["paths"] = {name: out / f"{name}.json" for name in ("gt", "dt_bbox", "dt_segm")}
    return data


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_synthetic_sets_match_pycocotools(synthetic, iou_type):
    from tests.helpers.coco import pycocotools_eval

    gt, dt = synthetic["gt"], synthetic[f"dt_{iou_type}"]
    stats, precision, recall = pycocotools_eval(gt, dt, iou_type)
    ours = coco_evaluate(gt, dt, iou_type)
    np.testing.assert_allclose(ours.stats, stats, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.precision, precision)
    np.testing.assert_array_equal(ours.recall, recall)


# The tests below check one rule each (no categories, ids from 0, boxes from masks)
# against pycocotools: one seed each (a different one) instead of all three, whose
# general agreement test_synthetic_sets_match_pycocotools checks.


@pytest.mark.parametrize("synthetic", [0], indirect=True)
def test_synthetic_without_categories(synthetic):
    from tests.helpers.coco import pycocotools_eval

    stats, precision, _ = pycocotools_eval(synthetic["gt"], synthetic["dt_bbox"], "bbox", useCats=0)
    ours = coco_evaluate(synthetic["gt"], synthetic["dt_bbox"], "bbox", use_cats=False)
    np.testing.assert_array_equal(ours.precision, precision)
    np.testing.assert_allclose(ours.stats, stats, rtol=0, atol=1e-12)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_files_through_the_compiled_reader(synthetic, iou_type):
    """Paths go through the compiled results reader; the numbers must not change."""
    paths = synthetic["paths"]
    from_files = coco_evaluate(paths["gt"], paths[f"dt_{iou_type}"], iou_type)
    from_dicts = coco_evaluate(synthetic["gt"], synthetic[f"dt_{iou_type}"], iou_type)
    np.testing.assert_array_equal(from_files.stats, from_dicts.stats)
    np.testing.assert_array_equal(from_files.precision, from_dicts.precision)


@pytest.mark.parametrize("synthetic", [1], indirect=True)
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_ground_truth_id_zero_as_pycocotools(synthetic, iou_type):
    """Ids from 0: pycocotools never counts the match to id 0; neither does the
    default (with a warning); match_gt_id_zero=True scores as the ids from 1 do."""
    import copy
    import warnings

    from ioukit.evaluate import GtIdZeroWarning
    from tests.helpers.coco import pycocotools_eval

    gt = copy.deepcopy(synthetic["gt"])
    for ann in gt["annotations"]:
        ann["id"] -= min(a["id"] for a in synthetic["gt"]["annotations"])
    dt = synthetic[f"dt_{iou_type}"]
    stats, precision, recall = pycocotools_eval(gt, dt, iou_type)
    with pytest.warns(GtIdZeroWarning, match="ground-truth annotation 0 has id 0"):
        ours = coco_evaluate(gt, dt, iou_type)
    np.testing.assert_allclose(ours.stats, stats, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.precision, precision)
    np.testing.assert_array_equal(ours.recall, recall)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = coco_evaluate(gt, dt, iou_type, match_gt_id_zero=True)
        from_one = coco_evaluate(synthetic["gt"], dt, iou_type)
    np.testing.assert_array_equal(fixed.precision, from_one.precision)


def test_ground_truth_id_zero_single_object():
    from ioukit.evaluate import GtIdZeroWarning
    from tests.helpers.coco import pycocotools_eval

    gt = {
        "images": [{"id": 1, "height": 10, "width": 10}],
        "categories": [{"id": 1}],
        "annotations": [
            {
                "id": 0,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 4, 4],
                "area": 16,
                "iscrowd": 0,
            }
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "score": 0.8},
    ]
    stats, _, _ = pycocotools_eval(gt, dt, "bbox")
    with pytest.warns(GtIdZeroWarning):
        ours = coco_evaluate(gt, dt, "bbox")
    np.testing.assert_array_equal(ours.stats, stats)
    assert ours.stats[0] == 0.0
    assert coco_evaluate(gt, dt, "bbox", match_gt_id_zero=True).stats[0] == pytest.approx(1.0)


@pytest.mark.parametrize("synthetic", [2], indirect=True)
def test_bbox_evaluation_of_mask_only_results(synthetic, tmp_path):
    """Results with a segmentation and no bbox: pycocotools' loadRes derives the box
    (toBbox) and takes the mask's area; so do the dict path and the compiled reader."""
    from tests.helpers.coco import pycocotools_eval

    dt = [{k: v for k, v in det.items() if k != "bbox"} for det in synthetic["dt_segm"]]
    stats, precision, recall = pycocotools_eval(synthetic["gt"], dt, "bbox")
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(dt))
    for source in (dt, path):
        ours = coco_evaluate(synthetic["gt"], source, "bbox")
        np.testing.assert_allclose(ours.stats, stats, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(ours.precision, precision)
        np.testing.assert_array_equal(ours.recall, recall)
