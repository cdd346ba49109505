"""COCO AP/AR against pycocotools on synthetic sets from ../shared/tools/make_coco.py (several seeds)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ioukit.evaluate import coco_evaluate

pytest.importorskip("pycocotools")


@pytest.fixture(scope="module", params=[0, 1, 2])
def synthetic(request, shared_data, tmp_path_factory):
    tool = shared_data.parent / "tools" / "make_coco.py"
    if not tool.exists():
        pytest.skip("make_coco.py not found")
    out = tmp_path_factory.mktemp(f"coco{request.param}")
    subprocess.run(
        [sys.executable, str(tool), str(out), "--images", "60", "--seed", str(request.param)],
        check=True, capture_output=True,
    )
    data = {name: json.loads((out / f"{name}.json").read_text()) for name in ("gt", "dt_bbox", "dt_segm")}
    data["paths"] = {name: out / f"{name}.json" for name in ("gt", "dt_bbox", "dt_segm")}
    return data


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_synthetic_sets_match_pycocotools(synthetic, iou_type):
    from coco_util import pycocotools_eval

    gt, dt = synthetic["gt"], synthetic[f"dt_{iou_type}"]
    stats, precision, recall = pycocotools_eval(gt, dt, iou_type)
    ours = coco_evaluate(gt, dt, iou_type)
    np.testing.assert_allclose(ours.stats, stats, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.precision, precision)
    np.testing.assert_array_equal(ours.recall, recall)


def test_synthetic_without_categories(synthetic):
    from coco_util import pycocotools_eval

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
