"""LVIS evaluation against lvis-api live (bbox and segm, per-image cap, federated
filters), is_lvis, errors."""

from __future__ import annotations

import copy
import json
import logging

import numpy as np
import pytest

from ioukit.evaluate import is_lvis, lvis_evaluate
from tests.helpers.lvis import make_lvis_results

if not hasattr(np, "float"):
    setattr(np, "float", float)  # noqa: B010  (lvis-api uses the alias NumPy 2 removed)
lvis = pytest.importorskip("lvis", reason="lvis-api (pip install lvis) is not installed")
logging.getLogger("lvis").setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def lvis_gt(shared_data):
    path = shared_data / "faster_coco_eval" / "tests" / "lvis_dataset" / "lvis_val_100.json"
    return path, json.loads(path.read_text())


def lvis_api(path, results, iou_type, max_dets=300):
    gt = lvis.LVIS(str(path))
    res = lvis.LVISResults(gt, copy.deepcopy(results), max_dets=max_dets)
    ev = lvis.LVISEval(gt, res, iou_type)
    ev.run()
    return ev


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_lvis_equals_lvis_api(lvis_gt, iou_type):
    path, gt = lvis_gt
    results = make_lvis_results(gt, np.random.default_rng(1))
    ev = lvis_api(path, results, iou_type)
    r = lvis_evaluate(path, copy.deepcopy(results), iou_type)
    want = ev.get_results()
    assert list(r.results) == list(want)
    for key, value in want.items():
        assert r.results[key] == value, key
    np.testing.assert_array_equal(r.precision, ev.eval["precision"])
    np.testing.assert_array_equal(r.recall, ev.eval["recall"])
    assert "catIds=  r] =" in r.summary() and r.as_dict() == r.results


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_lvis_variants_equal_lvis_api(lvis_gt):
    path, gt = lvis_gt
    rng = np.random.default_rng(2)
    gt = copy.deepcopy(gt)
    gt["annotations"][3]["ignore"] = 1
    gt["annotations"][4]["area"] = 0.0  # lvis-api drops areas outside (0, inf)
    results = make_lvis_results(gt, rng, extra_per_image=8)
    results[0]["bbox"][2] = 0.0  # a zero-area result is dropped too
    segm_only = [{k: v for k, v in d.items() if k != "bbox"} for d in results]
    import pycocotools.mask as pm

    sizes = {img["id"]: (img["height"], img["width"]) for img in gt["images"]}
    for d in segm_only:  # lvis-api takes compressed RLE for results without boxes
        h, w = sizes[d["image_id"]]
        rle = pm.merge(pm.frPyObjects(d["segmentation"], h, w))
        d["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode()}

    class Gt(lvis.LVIS):
        def __init__(self, data):
            self.logger = logging.getLogger("lvis")
            self.dataset = copy.deepcopy(data)
            self._create_index()

    for res, iou_type, cap in (
        (results, "bbox", 300),
        (results, "bbox", 4),
        (segm_only, "segm", 300),
    ):
        api = Gt(gt)
        ev = lvis.LVISEval(api, lvis.LVISResults(api, copy.deepcopy(res), max_dets=cap), iou_type)
        ev.run()
        r = lvis_evaluate(gt, copy.deepcopy(res), iou_type, max_dets=cap)
        assert list(r.results.values()) == list(ev.get_results().values()), (iou_type, cap)


def test_is_lvis(lvis_gt):
    _, gt = lvis_gt
    assert is_lvis(gt)
    assert not is_lvis({"images": [{"id": 1}], "annotations": []})
    assert not is_lvis([])


def test_lvis_errors(lvis_gt):
    _, gt = lvis_gt
    results = [
        {"image_id": gt["images"][0]["id"], "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}
    ]
    bad = copy.deepcopy(gt)
    del bad["images"][7]["neg_category_ids"]
    with pytest.raises(ValueError, match=r"ground-truth image 7 .*has no 'neg_category_ids' list"):
        lvis_evaluate(bad, results)
    bad = copy.deepcopy(gt)
    bad["categories"][5]["frequency"] = "x"
    with pytest.raises(ValueError, match=r"ground-truth category 5 .*frequency 'x'"):
        lvis_evaluate(bad, results)
    with pytest.raises(ValueError, match="max_dets=0 must be at least 1"):
        lvis_evaluate(gt, results, max_dets=0)
    with pytest.raises(ValueError, match="iou_type='keypoints' is not 'bbox' or 'segm'"):
        lvis_evaluate(gt, results, "keypoints")
    with pytest.raises(ValueError, match="detection 0 refers to image 1"):
        lvis_evaluate(gt, [dict(results[0], image_id=1)])


def test_lvis_category_list_errors(lvis_gt):
    """A category without an integer id or a repeated id is a ValueError naming it
    (a missing id was a KeyError traceback)."""
    _, gt = lvis_gt
    results = [
        {"image_id": gt["images"][0]["id"], "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}
    ]
    bad = copy.deepcopy(gt)
    del bad["categories"][3]["id"]
    with pytest.raises(ValueError, match=r"category 3 .*has no (integer )?'id'"):
        lvis_evaluate(bad, results)
    bad = copy.deepcopy(gt)
    bad["categories"][4]["id"] = bad["categories"][2]["id"]
    with pytest.raises(ValueError, match=r"category 4 repeats (category )?id"):
        lvis_evaluate(bad, results)
