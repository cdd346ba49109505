"""Evaluation on a Dask cluster (``client=``) for keypoints, CrowdPose, boundary, LVIS
and panoptic quality: the same numbers as in one process, to the last bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ioukit.evaluate import coco_evaluate, crowdpose_evaluate, lvis_evaluate, panoptic_evaluate
from tests.helpers.lvis import make_lvis_results
from tests.helpers.panoptic import random_image, write_set

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.Client(
        processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as c:
        yield c


def assert_same_coco(remote, local):
    np.testing.assert_array_equal(remote.stats, local.stats)
    np.testing.assert_array_equal(remote.precision, local.precision)
    np.testing.assert_array_equal(remote.recall, local.recall)
    np.testing.assert_array_equal(remote.scores, local.scores)


def test_keypoints_on_cluster(client, shared_data):
    folder = shared_data / "faster_coco_eval" / "tests" / "keypoints_dataset"
    gt, dt = folder / "gt_dataset.json", folder / "dt_dataset.json"
    local = coco_evaluate(gt, dt, "keypoints")
    assert_same_coco(coco_evaluate(gt, dt, "keypoints", client=client), local)
    # more shares than images with keypoints: empty shares merge too
    from ioukit.evaluate.cluster import evaluate_on_cluster
    from ioukit.evaluate.params import COCOParams
    from ioukit.evaluate.protocols import read_protocol_inputs

    p = COCOParams(iou_type="keypoints", max_dets=(20,), area_rng=local.params.area_rng,
                   area_rng_lbl=local.params.area_rng_lbl).checked()  # fmt: skip
    truth, dets = read_protocol_inputs(gt, dt, p)
    many = evaluate_on_cluster(truth, dets, p, client, parts=len(truth.image_ids))
    assert_same_coco(many, local)


def test_crowdpose_on_cluster(client, shared_data):
    root = shared_data / "faster_coco_eval" / "tests" / "dataset"
    gt, dt = root / "example_crowdpose_val.json", root / "example_crowdpose_preds.json"
    assert crowdpose_evaluate(gt, dt, client=client) == crowdpose_evaluate(gt, dt)


def test_boundary_on_cluster(client, shared_data):
    root = shared_data / "faster_coco_eval" / "tests" / "dataset"
    gt, dt = root / "gt_dataset.json", root / "dt_dataset.json"
    local = coco_evaluate(gt, dt, "boundary")
    remote = coco_evaluate(gt, dt, "boundary", client=client)
    assert_same_coco(remote, local)

    # the per-ground-truth arrays come grouped by worker share: the same rows, reordered
    def by_group(r):
        return np.lexsort((r.gt_image, r.gt_category))

    mine, theirs = by_group(remote), by_group(local)
    np.testing.assert_array_equal(remote.gt_image[mine], local.gt_image[theirs])
    np.testing.assert_array_equal(remote.gt_match_iou[..., mine], local.gt_match_iou[..., theirs])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_lvis_on_cluster(client, shared_data, iou_type):
    path = shared_data / "faster_coco_eval" / "tests" / "lvis_dataset" / "lvis_val_100.json"
    gt = json.loads(path.read_text())
    results = make_lvis_results(gt, np.random.default_rng(3))
    local = lvis_evaluate(gt, results, iou_type)
    remote = lvis_evaluate(gt, results, iou_type, client=client)
    assert remote.results == local.results
    np.testing.assert_array_equal(remote.precision, local.precision)
    np.testing.assert_array_equal(remote.recall, local.recall)


def _panoptic_set(tmp_path, seed=0, images=9):
    rng = np.random.default_rng(seed)
    cats = [{"id": c, "isthing": int(c % 2 == 1), "name": f"c{c}"} for c in range(1, 6)]
    gts, preds = [], []
    for k in range(images):
        h, w = rng.integers(8, 30, 2) * 4
        gt, pred, gs, ps = random_image(rng, h, w, int(rng.integers(2, 25)), 5)
        gts.append((f"{k}.png", gt, gs))
        preds.append((f"{k}.png", pred, ps))
    return write_set(tmp_path, "gt", gts, cats), write_set(tmp_path, "pred", preds)


def test_panoptic_on_cluster(client, tmp_path):
    pytest.importorskip("PIL.Image")
    gt_json, pred_json = _panoptic_set(tmp_path)
    local = panoptic_evaluate(gt_json, pred_json, workers=1)
    seen = []
    remote = panoptic_evaluate(
        gt_json, pred_json, client=client, progress=lambda d, t: seen.append((d, t))
    )
    assert remote.as_dict() == local.as_dict()
    np.testing.assert_array_equal(remote.iou, local.iou)  # summed in the same order
    assert seen == [(k, 9) for k in range(1, 10)]


def test_panoptic_on_cluster_errors(client, tmp_path):
    pytest.importorskip("PIL.Image")
    gt_json, pred_json = _panoptic_set(tmp_path, seed=1, images=4)
    data = json.loads(pred_json.read_text())
    data["annotations"][2]["segments_info"] = data["annotations"][2]["segments_info"][1:]
    pred_json.write_text(json.dumps(data))
    # a worker's error reaches the caller with its message
    with pytest.raises(
        ValueError, match="image_id 3: segment id .* is in the PNG .* but not in its segments_info"
    ):
        panoptic_evaluate(gt_json, pred_json, client=client)
