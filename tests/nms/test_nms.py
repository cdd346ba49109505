"""NMS family: greedy references with torchvision's arithmetic and order (and
torchvision itself when installed), ensemble-boxes' Soft-NMS, rotated and mask NMS."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from ioukit import rle
from tests.helpers.rotated import corners, greedy_reference, random_rotated, shapely_metrics


def torchvision_like_nms(boxes, scores, threshold):
    """torchvision's CPU kernel in NumPy: float32 IoU, stable descending order, ``>``."""
    b = np.asarray(boxes, np.float32)
    x0, y0, x1, y1 = b.T
    area = (x1 - x0) * (y1 - y0)
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    suppressed = np.zeros(len(b), bool)
    keep = []
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        j = order[pos + 1 :]
        w = np.maximum(np.float32(0), np.minimum(x1[i], x1[j]) - np.maximum(x0[i], x0[j]))
        h = np.maximum(np.float32(0), np.minimum(y1[i], y1[j]) - np.maximum(y0[i], y0[j]))
        inter = w * h
        with np.errstate(all="ignore"):
            ovr = inter / (area[i] + area[j] - inter)
        suppressed[j[ovr.astype(np.float64) > threshold]] = True
    return np.array(keep, dtype=np.int64)


def random_xyxy(rng, n, scale=100.0, dtype=np.float32):
    xy = rng.uniform(0, scale, (n, 2))
    wh = rng.uniform(0, scale / 3, (n, 2))
    wh[rng.random(n) < 0.05] = 0
    boxes = np.c_[xy, xy + wh]
    if n:
        boxes[rng.random(n) < 0.1] = boxes[0]  # exact duplicates
    return boxes.astype(dtype)


@pytest.mark.parametrize("n", [0, 1, 7, 300])
@pytest.mark.parametrize("threshold", [-0.5, 0.0, 0.3, 0.7, 1.0])
def test_nms_equals_torchvision_arithmetic(n, threshold):
    rng = np.random.default_rng(n)
    boxes = random_xyxy(rng, n)
    scores = np.round(rng.random(n), 1).astype(np.float32)  # many ties
    got = ioukit.nms(boxes, scores, threshold)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, torchvision_like_nms(boxes, scores, threshold))


def test_nms_against_torchvision_live():
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    rng = np.random.default_rng(1)
    boxes = random_xyxy(rng, 2000, scale=500)
    # distinct scores: torch's CPU sort is unstable (std::sort or x86-simd-sort), so
    # torchvision's own order of equal scores depends on the build
    scores = (rng.permutation(2000) / 2000).astype(np.float32)
    for t in (0.3, 0.5, 0.7):
        want = tv.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), t).numpy()
        got = ioukit.nms(torch.from_numpy(boxes), torch.from_numpy(scores), t)
        assert isinstance(got, torch.Tensor)
        np.testing.assert_array_equal(got.numpy(), want)
        labels = rng.integers(0, 5, 2000)
        want = tv.ops.batched_nms(
            torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(labels), t
        )
        np.testing.assert_array_equal(ioukit.batched_nms(boxes, scores, labels, t), want.numpy())


def test_formats_max_output_and_score_threshold():
    rng = np.random.default_rng(2)
    boxes = random_xyxy(rng, 400, dtype=np.float64)
    scores = rng.random(400)
    full = ioukit.nms(boxes, scores, 0.4)
    np.testing.assert_array_equal(ioukit.nms(boxes, scores, 0.4, max_output=5), full[:5])
    assert ioukit.nms(boxes, scores, 0.4, max_output=0).shape == (0,)
    floor = ioukit.nms(boxes, scores, 0.4, score_threshold=0.5)
    sub = np.flatnonzero(scores > 0.5)
    np.testing.assert_array_equal(floor, sub[ioukit.nms(boxes[sub], scores[sub], 0.4)])
    xywh = np.c_[boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]
    np.testing.assert_array_equal(ioukit.nms(xywh, scores, 0.4, fmt="xywh"), full)
    assert len(ioukit.nms(boxes, scores.astype(np.int32), 0.4)) > 0


def test_huge_spread_and_big_boxes():
    rng = np.random.default_rng(3)
    boxes = random_xyxy(rng, 500, dtype=np.float64)
    boxes[:5] = [[-1e12, -1e12, 1e12, 1e12]] * 5  # boxes spanning the whole grid
    boxes[5:10] += 1e15
    scores = rng.random(500)
    np.testing.assert_array_equal(
        ioukit.nms(boxes, scores, 0.5), greedy_reference(_iou64(boxes), scores, 0.5)
    )


def _iou64(b):
    x0, y0, x1, y1 = (b[:, k] for k in range(4))
    w = np.clip(np.minimum(x1[:, None], x1) - np.maximum(x0[:, None], x0), 0, None)
    h = np.clip(np.minimum(y1[:, None], y1) - np.maximum(y0[:, None], y0), 0, None)
    inter = w * h
    area = (x1 - x0) * (y1 - y0)
    union = area[:, None] + area - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def test_batched_nms_is_per_label():
    rng = np.random.default_rng(4)
    boxes = random_xyxy(rng, 300)
    scores = np.round(rng.random(300), 1).astype(np.float32)
    labels = rng.integers(0, 4, 300)
    parts = []
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        parts.append(idx[torchvision_like_nms(boxes[idx], scores[idx], 0.5)])
    kept = np.concatenate(parts)
    want = kept[np.lexsort((kept, -scores[kept].astype(np.float64)))]
    np.testing.assert_array_equal(ioukit.batched_nms(boxes, scores, labels, 0.5), want)
    np.testing.assert_array_equal(
        ioukit.batched_nms(boxes, scores, labels, 0.5, max_output=7), want[:7]
    )
    same = ioukit.batched_nms(boxes, scores, np.zeros(300, int), 0.5)
    np.testing.assert_array_equal(same, ioukit.nms(boxes, scores, 0.5))


@pytest.mark.parametrize("fmt", ["cxcywha", "cxcywhr"])
def test_rotated_nms(fmt):
    pytest.importorskip("shapely", minversion="2")
    rng = np.random.default_rng(5)
    boxes = random_rotated(rng, 200, scale=200, fmt=fmt)
    scores = np.round(rng.random(200), 1)
    iou = shapely_metrics(corners(boxes, fmt), corners(boxes, fmt))[0]
    for t in (0.1, 0.5):
        np.testing.assert_array_equal(
            ioukit.nms(boxes, scores, t, fmt=fmt), greedy_reference(iou, scores, t)
        )


def soft_reference(boxes, scores, t, sigma, method, floor):
    b = np.asarray(boxes, np.float64)
    cur = np.asarray(scores, np.float64).copy()
    iou = _iou64(b)
    alive = np.ones(len(b), bool)
    out, out_s = [], []
    while alive.any():
        cand = np.flatnonzero(alive)
        best = cand[np.argmax(cur[cand])]
        if not cur[best] > floor:
            break
        out.append(best)
        out_s.append(cur[best])
        alive[best] = False
        rest = np.flatnonzero(alive)
        o = iou[best, rest]
        if method == "gaussian":
            cur[rest] *= np.exp(-(o * o) / sigma)
        else:
            cur[rest] *= np.where(o > t, 1 - o, 1.0)
    return np.array(out, dtype=np.int64), np.array(out_s)


@pytest.mark.parametrize("method", ["linear", "gaussian"])
def test_soft_nms_reference(method):
    rng = np.random.default_rng(6)
    boxes = random_xyxy(rng, 200, dtype=np.float64)
    scores = rng.random(200)
    idx, new = ioukit.soft_nms(boxes, scores, 0.3, method=method, sigma=0.4)
    want_idx, want_s = soft_reference(boxes, scores, 0.3, 0.4, method, 0.001)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(new, want_s, rtol=1e-12)
    idx5, new5 = ioukit.soft_nms(boxes, scores, 0.3, method=method, sigma=0.4, max_output=5)
    np.testing.assert_array_equal(idx5, want_idx[:5])
    assert (
        ioukit.soft_nms(boxes.astype(np.float32), scores.astype(np.float32))[1].dtype == np.float32
    )


@pytest.mark.parametrize(("method", "code"), [("linear", 1), ("gaussian", 2)])
def test_soft_nms_against_ensemble_boxes(method, code):
    eb = pytest.importorskip("ensemble_boxes")
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 0.8, (60, 2))
    boxes = np.c_[xy, xy + rng.uniform(0.02, 0.2, (60, 2))]
    scores = rng.random(60)
    b, s, _lab = eb.soft_nms(
        [boxes], [scores], [np.zeros(60)], method=code, iou_thr=0.3, sigma=0.5, thresh=0.01
    )
    idx, new = ioukit.soft_nms(boxes, scores, 0.3, method=method, sigma=0.5, score_threshold=0.01)
    # ensemble-boxes returns the boxes in selection order with their *original* scores
    np.testing.assert_allclose(boxes[idx], b, atol=1e-12)
    np.testing.assert_allclose(scores[idx], s, rtol=1e-12)
    want_idx, want_s = soft_reference(boxes, scores, 0.3, 0.5, method, 0.01)
    np.testing.assert_allclose(new, want_s, rtol=1e-12)


def test_mask_nms_dense_and_rle():
    rng = np.random.default_rng(8)
    masks = np.zeros((40, 32, 32), bool)
    for i in range(40):
        y, x = rng.integers(0, 24, 2)
        hh, ww = rng.integers(2, 9, 2)
        masks[i, y : y + hh, x : x + ww] = True
    scores = np.round(rng.random(40), 1)
    iou = ioukit.mask_iou(masks, masks)
    want = greedy_reference(iou, scores, 0.3)
    np.testing.assert_array_equal(ioukit.mask_nms(masks, scores, 0.3), want)
    encoded = rle.encode(masks)
    np.testing.assert_array_equal(ioukit.mask_nms(list(encoded), scores, 0.3), want)
    np.testing.assert_array_equal(ioukit.mask_nms(masks, scores, 0.3, max_output=3), want[:3])
    assert ioukit.mask_nms(masks, scores, 0.3, score_threshold=2.0).shape == (0,)


def test_errors():
    b = np.array([[0, 0, 1, 1], [0, 0, 2, 2]], np.float32)
    s = np.array([0.5, 0.4], np.float32)
    with pytest.raises(ValueError, match=r"scores must have shape \(2,\)"):
        ioukit.nms(b, s[:1], 0.5)
    with pytest.raises(ValueError, match=r"scores\[1\] is nan"):
        ioukit.nms(b, [0.5, np.nan], 0.5)
    with pytest.raises(ValueError, match=r"invalid xyxy box at row 1.*x2 < x1"):
        ioukit.nms([[0, 0, 1, 1], [2, 0, 1, 1]], s, 0.5)
    with pytest.raises(ValueError, match=r"invalid cxcywha box at row 0.*negative width"):
        ioukit.nms([[0, 0, -1, 1, 0]], [1.0], 0.5, fmt="cxcywha")
    with pytest.raises(ValueError, match=r"boxes must be 2-D"):
        ioukit.nms(b[None], s, 0.5)
    with pytest.raises(ValueError, match="iou_threshold must be finite"):
        ioukit.nms(b, s, float("nan"))
    with pytest.raises(TypeError, match="iou_threshold must be a number"):
        ioukit.nms(b, s, "0.5")
    with pytest.raises(ValueError, match="max_output must be a non-negative integer"):
        ioukit.nms(b, s, 0.5, max_output=-1)
    with pytest.raises(ValueError, match="fmt='xyxyr' is not one of"):
        ioukit.nms(b, s, 0.5, fmt="xyxyr")
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        ioukit.batched_nms(b, s, [0], 0.5)
    with pytest.raises(TypeError, match="labels must be integers"):
        ioukit.batched_nms(b, s, [0.0, 1.0], 0.5)
    with pytest.raises(ValueError, match="method='hard' is not one of"):
        ioukit.soft_nms(b, s, method="hard")
    with pytest.raises(ValueError, match="sigma must be > 0"):
        ioukit.soft_nms(b, s, sigma=0)
    with pytest.raises(ValueError, match=r"scores must have shape \(3,\)"):
        ioukit.mask_nms(np.zeros((3, 4, 4), bool), [1.0], 0.5)
