"""Keypoint evaluation: OKS against a NumPy float64 reference, coco_evaluate(iou_type=
"keypoints") against pycocotools live, the CUDA kernel in numba's simulator, errors."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from ioukit.evaluate import coco_evaluate, keypoint_oks
from ioukit.evaluate.keypoints import COCO_KEYPOINT_SIGMAS
from tests.helpers.coco import pycocotools_eval


def oks_reference(dt, gt, areas, sigmas, boxes):
    """pycocotools' computeOks written out in float64, one pair at a time."""
    dt, gt = np.asarray(dt, np.float64), np.asarray(gt, np.float64)
    var = (np.asarray(sigmas, np.float64) * 2) ** 2
    out = np.zeros((len(dt), len(gt)))
    for j, g in enumerate(gt):
        xg, yg, vg = g[0::3], g[1::3], g[2::3]
        bx, by, bw, bh = boxes[j]
        x0, x1, y0, y1 = bx - bw, bx + bw * 2, by - bh, by + bh * 2
        for i, d in enumerate(dt):
            xd, yd = d[0::3], d[1::3]
            if (vg > 0).any():
                dx, dy = xd - xg, yd - yg
            else:
                dx = np.maximum(0, x0 - xd) + np.maximum(0, xd - x1)
                dy = np.maximum(0, y0 - yd) + np.maximum(0, yd - y1)
            e = (dx**2 + dy**2) / var / (areas[j] + np.spacing(1)) / 2
            if (vg > 0).any():
                e = e[vg > 0]
            out[i, j] = np.exp(-e).mean()
    return out


def random_keypoints(rng, n, k, hidden=0.3):
    xy = rng.uniform(0, 100, size=(n, k, 2))
    v = rng.choice([0, 1, 2], size=(n, k, 1), p=[hidden, 0.3, 1 - hidden - 0.3])
    return np.concatenate([xy, v], axis=2).reshape(n, 3 * k)


@pytest.mark.parametrize("k", [1, 5, 17, 40])
def test_oks_matches_numpy_reference(rng, k):
    sigmas = rng.uniform(0.02, 0.2, k)
    dt, gt = random_keypoints(rng, 9, k), random_keypoints(rng, 7, k)
    gt[2, 2::3] = 0  # no visible keypoint: measured against the grown box
    boxes = np.column_stack([rng.uniform(0, 50, (7, 2)), rng.uniform(1, 40, (7, 2))])
    areas = rng.uniform(0, 3000, 7)
    areas[0] = 0.0  # area + eps, never a division by zero
    got = keypoint_oks(dt, gt, areas, sigmas, gt_boxes=boxes)
    np.testing.assert_allclose(got, oks_reference(dt, gt, areas, sigmas, boxes), rtol=1e-13, atol=0)
    assert got.shape == (9, 7) and got.dtype == np.float64
    # (N, K, 3) input gives the same matrix
    np.testing.assert_array_equal(
        keypoint_oks(dt.reshape(9, k, 3), gt, areas, sigmas, gt_boxes=boxes), got
    )


def test_oks_edges():
    gt = [[10, 10, 2, 20, 20, 2]]
    assert keypoint_oks(np.zeros((0, 6)), gt, [1.0], [0.1, 0.1]).shape == (0, 1)
    assert keypoint_oks([[10, 10, 0, 20, 20, 0]], gt, [1.0], [0.1, 0.1])[0, 0] == 1.0
    assert keypoint_oks(np.zeros((3, 6)), np.zeros((0, 6)), [], [0.1, 0.1]).shape == (3, 0)
    # default sigmas: COCO's 17
    g = np.tile([5.0, 5.0, 2.0], 17)[None]
    assert keypoint_oks(g, g, [100.0])[0, 0] == 1.0
    assert COCO_KEYPOINT_SIGMAS.shape == (17,)


def test_oks_errors():
    gt = [[10, 10, 2, 20, 20, 2]]
    with pytest.raises(ValueError, match=r"dt_kpts has shape \(1, 5\); expected \(N, 6\)"):
        keypoint_oks([[1, 2, 3, 4, 5]], gt, [1.0], [0.1, 0.1])
    with pytest.raises(ValueError, match=r"gt_kpts has shape \(1, 6\); expected \(N, 9\)"):
        keypoint_oks([[1] * 9], gt, [1.0], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match=r"keypoint_oks: sigmas\[1\] = -0.1 is not a positive"):
        keypoint_oks(gt, gt, [1.0], [0.1, -0.1])
    with pytest.raises(ValueError, match="gt_areas has shape"):
        keypoint_oks(gt, gt, [1.0, 2.0], [0.1, 0.1])
    with pytest.raises(ValueError, match="dt_kpts row 1 holds NaN"):
        keypoint_oks([[1] * 6, [np.nan] * 6], gt, [1.0], [0.1, 0.1])
    with pytest.raises(ValueError, match="gt_kpts row 0 has no visible keypoint; pass gt_boxes"):
        keypoint_oks(gt, [[1, 1, 0, 2, 2, 0]], [1.0], [0.1, 0.1])
    with pytest.raises(ValueError, match=r"gt_boxes has shape \(1, 3\)"):
        keypoint_oks(gt, gt, [1.0], [0.1, 0.1], gt_boxes=[[0, 0, 1]])


def test_cuda_oks_kernel_matches_cpu(rng):
    cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
    if not cuda.is_available():  # pragma: no cover
        pytest.skip("no CUDA GPU and the simulator is off")
    from ioukit.kernels import cuda_oks

    k = 6
    sigmas = rng.uniform(0.05, 0.2, k)
    dt = random_keypoints(rng, 5, k).reshape(5, k, 3)
    gt = random_keypoints(rng, 4, k).reshape(4, k, 3)
    gt[1, :, 2] = 0
    boxes = np.column_stack([rng.uniform(0, 50, (4, 2)), rng.uniform(1, 40, (4, 2))])
    areas = rng.uniform(1, 3000, 4)
    out = cuda.device_array((5, 4))
    cuda_oks.oks_matrix[(1, 1), (8, 8)](
        dt, gt, boxes, areas, (sigmas * 2) ** 2, float(np.spacing(1)), out
    )
    want = keypoint_oks(dt, gt, areas, sigmas, gt_boxes=boxes)
    np.testing.assert_allclose(out.copy_to_host(), want, rtol=1e-13, atol=0)


# ------------------------------------------------------------------ coco_evaluate, live


@pytest.fixture(scope="module")
def keypoints_data(shared_data):
    folder = shared_data / "faster_coco_eval" / "tests" / "keypoints_dataset"
    gt = json.loads((folder / "gt_dataset.json").read_text())
    dt = json.loads((folder / "dt_dataset.json").read_text())
    return folder, gt, dt


def test_keypoints_equal_pycocotools(keypoints_data):
    folder, gt, dt = keypoints_data
    stats, precision, recall = pycocotools_eval(gt, dt, "keypoints")
    r = coco_evaluate(folder / "gt_dataset.json", folder / "dt_dataset.json", "keypoints")
    np.testing.assert_array_equal(r.stats, stats)
    np.testing.assert_array_equal(r.precision, precision)
    np.testing.assert_array_equal(r.recall, recall)
    assert r.params.max_dets == (20,) and r.params.area_rng_lbl == ("all", "medium", "large")
    assert list(r.as_dict()) == [
        "AP",
        "AP50",
        "AP75",
        "APm",
        "APl",
        "AR",
        "AR50",
        "AR75",
        "ARm",
        "ARl",
    ]
    assert len(r.summary().splitlines()) == 10 and "maxDets= 20" in r.summary()


def test_keypoints_variants_equal_pycocotools(keypoints_data, rng):
    _, gt, dt = keypoints_data
    gt = copy.deepcopy(gt)
    gt["annotations"][0]["num_keypoints"] = 0  # ignored, as pycocotools does
    gt["annotations"][1]["iscrowd"] = 1
    gt["annotations"][2]["keypoints"][2::3] = [0] * 17  # no visible keypoint: box rule
    no_box = [{k: v for k, v in d.items() if k != "bbox"} for d in dt]  # area from keypoints
    sigmas = rng.uniform(0.03, 0.12, 17)
    for results in (dt, no_box):
        for kw in ({}, {"kpt_oks_sigmas": sigmas}):
            stats, precision, _ = pycocotools_eval(gt, results, "keypoints", **kw)
            r = coco_evaluate(gt, results, "keypoints", **kw)
            np.testing.assert_array_equal(r.stats, stats)
            np.testing.assert_array_equal(r.precision, precision)


def test_keypoints_equal_faster_coco_eval(keypoints_data):
    fce = pytest.importorskip("faster_coco_eval")
    folder, _, _ = keypoints_data
    gt = fce.COCO(str(folder / "gt_dataset.json"))
    ev = fce.COCOeval_faster(gt, gt.loadRes(str(folder / "dt_dataset.json")), "keypoints")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    r = coco_evaluate(folder / "gt_dataset.json", folder / "dt_dataset.json", "keypoints")
    np.testing.assert_allclose(r.stats, ev.stats[:10], rtol=0, atol=1e-12)


def test_keypoints_errors(keypoints_data):
    _, gt, dt = keypoints_data
    bad_gt = copy.deepcopy(gt)
    bad_gt["annotations"][3]["keypoints"] = [1, 2, 2]
    with pytest.raises(
        ValueError, match=r"ground-truth annotation 3 .* keypoints of length 3, expected 51"
    ):
        coco_evaluate(bad_gt, dt, "keypoints")
    with pytest.raises(ValueError, match=r"ground-truth annotation 0 .*length 51, expected 30"):
        coco_evaluate(gt, dt, "keypoints", kpt_oks_sigmas=[0.1] * 10)
    bad_dt = copy.deepcopy(dt)
    bad_dt[5]["keypoints"] = bad_dt[5]["keypoints"][:-3]
    with pytest.raises(ValueError, match=r"detection 5 .*length 48, expected 51"):
        coco_evaluate(gt, bad_dt, "keypoints")
    no_num = copy.deepcopy(gt)
    del no_num["annotations"][4]["num_keypoints"]
    with pytest.raises(ValueError, match=r"ground-truth annotation 4 .*has no 'num_keypoints'"):
        coco_evaluate(no_num, dt, "keypoints")
    with pytest.raises(ValueError, match=r"kpt_oks_sigmas\[0\] = nan"):
        coco_evaluate(gt, dt, "keypoints", kpt_oks_sigmas=[np.nan] * 17)
    with pytest.raises(ValueError, match="iou_type='kpts' is not"):
        coco_evaluate(gt, dt, "kpts")


def test_crowdpose_equals_faster_coco_eval(shared_data):
    fce = pytest.importorskip("faster_coco_eval")
    from ioukit.evaluate import crowdpose_evaluate
    from ioukit.evaluate.crowdpose import CROWDPOSE_SIGMAS

    root = shared_data / "faster_coco_eval" / "tests" / "dataset"
    gt_path, dt_path = root / "example_crowdpose_val.json", root / "example_crowdpose_preds.json"
    gt = fce.COCO(str(gt_path))
    ev = fce.COCOeval_faster(
        gt,
        gt.loadRes(str(dt_path)),
        "keypoints_crowd",
        kpt_oks_sigmas=CROWDPOSE_SIGMAS.tolist(),
        use_area=False,
        print_function=lambda *a: None,
    )
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    got = crowdpose_evaluate(gt_path, dt_path)
    np.testing.assert_allclose(list(got.values()), ev.stats[:9], rtol=0, atol=1e-12)
    data = json.loads(gt_path.read_text())
    del data["images"][2]["crowdIndex"]
    with pytest.raises(ValueError, match="ground-truth image 2 has crowdIndex None"):
        crowdpose_evaluate(data, dt_path)
