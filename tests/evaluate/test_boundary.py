"""Boundary IoU: the band against a NumPy reference and OpenCV / faster-coco-eval live,
coco_evaluate(iou_type="boundary") against faster-coco-eval live, errors."""

from __future__ import annotations

import copy
import functools
import json

import numpy as np
import pytest

from ioukit import rle as ioukit_rle
from ioukit._masks.rleset import parse_rles, to_dicts
from ioukit.evaluate import boundary_iou, coco_evaluate, mask_boundary
from ioukit.evaluate.boundary import dilation_pixels, rle_bands


def band_reference(mask, d):
    """mask minus its erosion by a (2d+1)^2 square, outside the image background."""
    h, w = mask.shape
    padded = np.zeros((h + 2 * d, w + 2 * d), bool)
    padded[d : d + h, d : d + w] = mask.astype(bool)
    eroded = np.ones((h, w), bool)
    for dy in range(2 * d + 1):
        for dx in range(2 * d + 1):
            eroded &= padded[dy : dy + h, dx : dx + w]
    return mask.astype(bool) & ~eroded


def random_mask(rng, h, w):
    m = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(0, 4)):
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        m[y0 : y0 + rng.integers(1, 40), x0 : x0 + rng.integers(1, 40)] = 1
    if rng.random() < 0.3:
        m = (rng.random((h, w)) < 0.75).astype(np.uint8)
    return m


@pytest.mark.parametrize("seed", range(4))
def test_band_matches_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        m = random_mask(rng, h, w)
        ratio = float(rng.choice([0.0, 0.02, 0.05, 0.1, 0.3]))
        d = int(dilation_pixels(h, w, ratio))
        want = band_reference(m, d)
        np.testing.assert_array_equal(mask_boundary(m, ratio), want)
        rle = ioukit_rle.encode(m)
        np.testing.assert_array_equal(ioukit_rle.decode(mask_boundary(rle, ratio)), want)


def test_band_shapes_and_edges():
    stack = np.zeros((3, 8, 9), np.uint8)
    stack[1, 2:6, 2:7] = 1
    out = mask_boundary(stack)
    assert out.shape == (3, 8, 9) and out.dtype == bool and not out[0].any()
    assert mask_boundary(np.ones((2, 2), bool)).all()  # every 3x3 window leaves the image
    assert mask_boundary(np.ones((4, 4), bool)).sum() == 12
    assert mask_boundary([ioukit_rle.encode(stack[1])])[0]["size"] == [8, 9]
    assert mask_boundary(np.zeros((0, 5, 5), np.uint8)).shape == (0, 5, 5)
    assert dilation_pixels(480, 640, 0.02) == 16 and dilation_pixels(3, 4, 0.3) == 2
    assert dilation_pixels(3, 4, 0.3, fce=True) == 1  # faster-coco-eval: an exact half rounds down


def test_boundary_iou_is_band_iou(rng):
    a = np.stack([random_mask(rng, 30, 40) for _ in range(4)])
    b = np.stack([random_mask(rng, 30, 40) for _ in range(3)])
    ba = band_reference(a[0], 1)
    got = boundary_iou(a, b, dilation_ratio=0.02)
    for i in range(4):
        for j in range(3):
            x = band_reference(a[i], 1)
            y = band_reference(b[j], 1)
            union = (x | y).sum()
            assert got[i, j] == (0.0 if union == 0 else (x & y).sum() / union)
    assert ba.shape == (30, 40)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools decode under NumPy 2
def test_band_matches_faster_coco_eval_and_opencv(rng):
    fce_mask = pytest.importorskip("faster_coco_eval.core.mask")
    import pycocotools.mask as pm

    try:
        import cv2  # noqa: F401

        has_cv = True
    except ImportError:  # pragma: no cover
        has_cv = False
    for _ in range(150):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        m = random_mask(rng, h, w)
        ratio = float(rng.choice([0.0, 0.02, 0.05, 0.1, 0.125, 0.3]))
        rle = pm.encode(np.asfortranarray(m))
        ours = rle_bands(parse_rles([rle], "m", "test")[0], ratio, fce=True)
        want = pm.decode(fce_mask.rleToBoundary(rle, ratio))  # faster-coco-eval's C++ band
        np.testing.assert_array_equal(pm.decode(to_dicts(ours)[0]), want)
        if has_cv:  # the paper's OpenCV band (Python rounding)
            np.testing.assert_array_equal(
                mask_boundary(m, ratio), pm.decode(fce_mask.rleToBoundaryCV(rle, ratio))
            )


def _fce_boundary(gt_path, dt_path, ratio):
    fce = pytest.importorskip("faster_coco_eval")
    gt = fce.COCO(str(gt_path))
    ev = fce.COCOeval_faster(
        gt, gt.loadRes(str(dt_path)), "boundary", boundary_dilation_ratio=ratio
    )
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return np.asarray(ev.stats[:12]), ev.eval["precision"]


@pytest.mark.parametrize("ratio", [0.02, 0.05])
@pytest.mark.parametrize(
    "pair",
    [
        (
            "dataset/cocoapi/instances_val2014_100.json",
            "dataset/cocoapi/instances_val2014_fakesegm100_results.json",
        ),
        ("dataset/gt_dataset.json", "dataset/dt_dataset.json"),
    ],
    ids=["val2014", "shapes"],
)
def test_boundary_equals_faster_coco_eval(shared_data, pair, ratio):
    root = shared_data / "faster_coco_eval" / "tests"
    gt, dt = root / pair[0], root / pair[1]
    stats, precision = _fce_boundary(gt, dt, ratio)
    r = coco_evaluate(gt, dt, "boundary", dilation_ratio=ratio)
    np.testing.assert_allclose(r.stats, stats, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.precision, precision, rtol=0, atol=1e-12)
    # boundary IoU never exceeds mask IoU, so AP cannot rise
    assert r.stats[0] <= _segm_ap(str(gt), str(dt)) + 1e-12


@functools.cache
def _segm_ap(gt: str, dt: str) -> float:
    """Mask AP of a pair (the same for every dilation ratio: computed once)."""
    return float(coco_evaluate(gt, dt, "segm").stats[0])


def test_boundary_errors(shared_data):
    root = shared_data / "faster_coco_eval" / "tests" / "dataset"
    gt = json.loads((root / "gt_dataset.json").read_text())
    dt = json.loads((root / "dt_dataset.json").read_text())
    with pytest.raises(
        ValueError, match=r"coco_evaluate: dilation_ratio=-0.1 must be a finite number >= 0"
    ):
        coco_evaluate(gt, dt, "boundary", dilation_ratio=-0.1)
    with pytest.raises(ValueError, match="dilation_ratio=1.5 must be at most 1"):
        mask_boundary(np.ones((3, 3), np.uint8), dilation_ratio=1.5)
    with pytest.raises(ValueError, match="dilation_ratio=nan"):
        mask_boundary(np.ones((3, 3), np.uint8), dilation_ratio=float("nan"))
    with pytest.raises(TypeError, match="dilation_ratio must be a number"):
        mask_boundary(np.ones((3, 3), np.uint8), dilation_ratio="0.02")
    with pytest.raises(ValueError, match="masks mask 1 holds values other than 0 and 1"):
        mask_boundary(np.stack([np.zeros((3, 3)), np.full((3, 3), 2)]).astype(np.uint8))
    with pytest.raises(ValueError, match="a holds 3x3 masks, b 4x4"):
        boundary_iou(np.ones((1, 3, 3), np.uint8), np.ones((1, 4, 4), np.uint8))
    bad = copy.deepcopy(dt)
    bad[2]["segmentation"] = 5
    with pytest.raises(ValueError, match="detection"):
        coco_evaluate(gt, bad, "boundary")
