"""NMS of CUDA inputs (numba's simulator in CI): the bit-mask formulation gives the
kept indices of the CPU path, ties included; soft_nms and mask_nms accept CUDA
inputs; results come back on the device, in the input's library."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from ioukit.backends import cuda as cuda_backend
from tests.helpers import cuda as cuda_helpers
from tests.helpers.cuda import FakeCudaTensor, host, require_cuda
from tests.helpers.rotated import random_rotated
from tests.nms.test_nms import random_xyxy, torchvision_like_nms

cuda = require_cuda()
fake_torch_cuda = cuda_helpers.fake_torch_cuda  # the fixture


def on_device(*arrays):
    return [cuda.to_device(np.ascontiguousarray(x)) for x in arrays]


@pytest.mark.parametrize("n", [0, 1, 70])  # 70 boxes: two 64-bit words a row
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nms_matches_cpu_with_ties(n, dtype):
    rng = np.random.default_rng(n)
    boxes = random_xyxy(rng, n, dtype=dtype)  # exact duplicates and zero-area boxes
    scores = np.round(rng.random(n), 1).astype(dtype)  # many ties
    db, ds = on_device(boxes, scores)
    for threshold in (-0.5, 0.0, 0.3, 1.0):
        got = ioukit.nms(db, ds, threshold)
        assert hasattr(got, "copy_to_host") and host(got).dtype == np.int64
        want = ioukit.nms(boxes, scores, threshold)
        np.testing.assert_array_equal(host(got), want)
        if dtype == np.float32:
            np.testing.assert_array_equal(host(got), torchvision_like_nms(boxes, scores, threshold))


def test_formats_max_output_score_threshold_and_blocks(monkeypatch):
    rng = np.random.default_rng(1)
    boxes = random_xyxy(rng, 70, dtype=np.float64)
    scores = np.round(rng.random(70), 1)
    monkeypatch.setattr(cuda_backend, "NMS_MASK_BYTES", 16 * 5)  # 5 rows a block: 14 blocks
    for fmt in ("xyxy", "xywh", "cxcywh"):
        b = ioukit.box_convert(boxes, "xyxy", fmt)
        db, ds = on_device(b, scores)
        for options in ({}, {"max_output": 4}, {"max_output": 0}, {"score_threshold": 0.45}):
            got = ioukit.nms(db, ds, 0.2, fmt=fmt, **options)
            np.testing.assert_array_equal(host(got), ioukit.nms(b, scores, 0.2, fmt=fmt, **options))


def test_all_suppressed_and_degenerate():
    same = np.tile([[1.0, 2.0, 5.0, 7.0]], (66, 1))
    scores = np.ones(66)
    np.testing.assert_array_equal(host(ioukit.nms(*on_device(same, scores), 0.5)), [0])
    flat = np.tile([[1.0, 2.0, 1.0, 7.0]], (3, 1))  # zero area: IoU 0/0 is never above
    np.testing.assert_array_equal(host(ioukit.nms(*on_device(flat, scores[:3]), 0.0)), [0, 1, 2])


@pytest.mark.parametrize("fmt", ["cxcywha", "cxcywhr"])
def test_rotated_nms_matches_cpu(fmt):
    rng = np.random.default_rng(2)
    boxes = random_rotated(rng, 70, scale=40, fmt=fmt)
    boxes[5] = boxes[3]  # identical boxes
    scores = np.round(rng.random(70), 1)
    labels = rng.integers(0, 3, 70)
    db, ds, dl = on_device(boxes, scores, labels)
    for threshold in (0.0, 0.3):
        got = ioukit.nms(db, ds, threshold, fmt=fmt)
        np.testing.assert_array_equal(host(got), ioukit.nms(boxes, scores, threshold, fmt=fmt))
        got = ioukit.batched_nms(db, ds, dl, threshold, fmt=fmt, max_output=9)
        want = ioukit.batched_nms(boxes, scores, labels, threshold, fmt=fmt, max_output=9)
        np.testing.assert_array_equal(host(got), want)


def test_batched_nms_matches_cpu():
    rng = np.random.default_rng(3)
    boxes = random_xyxy(rng, 70)
    scores = np.round(rng.random(70), 1).astype(np.float32)
    labels = rng.integers(0, 4, 70).astype(np.int32)
    db, ds, dl = on_device(boxes, scores, labels)
    for options in ({}, {"max_output": 5}, {"score_threshold": 0.5}):
        got = ioukit.batched_nms(db, ds, dl, 0.3, **options)
        np.testing.assert_array_equal(host(got), ioukit.batched_nms(boxes, scores, labels, 0.3,
                                                                    **options))  # fmt: skip
    empty = ioukit.batched_nms(*on_device(boxes[:0], scores[:0], labels[:0]), 0.3)
    assert host(empty).shape == (0,)


def test_soft_and_mask_nms_on_device():
    rng = np.random.default_rng(4)
    boxes = random_xyxy(rng, 30)
    scores = rng.random(30).astype(np.float32)
    idx, new = ioukit.soft_nms(*on_device(boxes, scores), 0.3, method="gaussian")
    want_idx, want_new = ioukit.soft_nms(boxes, scores, 0.3, method="gaussian")
    np.testing.assert_array_equal(host(idx), want_idx)
    np.testing.assert_array_equal(host(new), want_new)
    masks = np.zeros((12, 16, 16), np.uint8)
    for i in range(12):
        y, x = rng.integers(0, 10, 2)
        masks[i, y : y + 6, x : x + rng.integers(2, 7)] = 1
    mscores = np.round(rng.random(12), 1)
    got = ioukit.mask_nms(*on_device(masks, mscores), 0.3, max_output=5)
    np.testing.assert_array_equal(
        host(got), ioukit.mask_nms(masks.astype(bool), mscores, 0.3, max_output=5)
    )


def test_torch_cuda_in_torch_cuda_out(fake_torch_cuda):
    rng = np.random.default_rng(5)
    boxes, scores = random_xyxy(rng, 20), rng.random(20).astype(np.float32)
    got = ioukit.nms(fake_torch_cuda.tensor(boxes), fake_torch_cuda.tensor(scores), 0.3)
    assert isinstance(got, FakeCudaTensor) and host(got).dtype == np.int64
    np.testing.assert_array_equal(host(got), ioukit.nms(boxes, scores, 0.3))


def test_errors_on_device():
    b, s = on_device(np.array([[0, 0, 1, 1], [2, 0, 1, 1]], np.float32), np.ones(2))
    with pytest.raises(ValueError, match=r"invalid xyxy box at row 1.*x2 < x1"):
        ioukit.nms(b, s, 0.5)
    b = cuda.to_device(np.array([[0, 0, 1, 1], [0, 0, 2, 1]], np.float32))
    with pytest.raises(TypeError, match="inputs must all live in one place"):
        ioukit.nms(b, np.ones(2), 0.5)
    with pytest.raises(ValueError, match=r"scores must have shape \(2,\)"):
        ioukit.nms(b, cuda.to_device(np.ones(3)), 0.5)
    with pytest.raises(TypeError, match="labels must be integers"):
        ioukit.batched_nms(b, s, cuda.to_device(np.ones(2)), 0.5)
    with pytest.raises(ValueError, match=r"invalid cxcywha box at row 0.*negative width"):
        ioukit.nms(*on_device(np.array([[0, 0, -1, 1, 0.0]]), np.ones(1)), 0.5, fmt="cxcywha")
