"""Every box kernel against the NumPy float64 reference, over formats, options and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from tests.helpers import reference as ref
from tests.helpers.boxes import random_boxes

FUNCS = {
    "iou": ioukit.box_iou,
    "giou": ioukit.box_giou,
    "diou": ioukit.box_diou,
    "ciou": ioukit.box_ciou,
    "ioa": ioukit.box_ioa,
}


@pytest.mark.parametrize("metric", sorted(FUNCS))
@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("offset", [0, 1])
def test_pairwise_matches_reference(metric, fmt, offset, rng):
    a = random_boxes(rng, 37, fmt)
    b = random_boxes(rng, 53, fmt)
    got = FUNCS[metric](a, b, fmt=fmt, pixel_offset=offset)
    want = ref.METRICS[metric](a, b, fmt=fmt, offset=offset)
    assert got.shape == (37, 53) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("metric", sorted(FUNCS))
def test_aligned_matches_reference_and_diagonal(metric, rng):
    a = random_boxes(rng, 41)
    b = random_boxes(rng, 41)
    got = FUNCS[metric](a, b, aligned=True)
    np.testing.assert_allclose(got, ref.METRICS[metric](a, b, aligned=True), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, np.diagonal(FUNCS[metric](a, b)), rtol=0, atol=0)


@pytest.mark.parametrize("over", ["a", "b", "min"])
def test_ioa_over(over, rng):
    a, b = random_boxes(rng, 20), random_boxes(rng, 30)
    np.testing.assert_allclose(
        ioukit.box_ioa(a, b, over=over), ref.ioa(a, b, over=over), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        ioukit.box_ioa(a, b[:20], over=over, aligned=True),
        ref.ioa(a, b[:20], over=over, aligned=True),
        rtol=1e-12,
        atol=1e-12,
    )


def test_crowd_pairwise_and_aligned(rng):
    a, b = random_boxes(rng, 25), random_boxes(rng, 25)
    crowd = rng.random(25) < 0.4
    np.testing.assert_allclose(
        ioukit.box_iou(a, b, crowd=crowd), ref.iou(a, b, crowd=crowd), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        ioukit.box_iou(a, b, crowd=crowd, aligned=True),
        ref.iou(a, b, crowd=crowd, aligned=True),
        rtol=1e-12,
        atol=1e-12,
    )
    # crowd of all False is plain IoU; crowd as 0/1 ints is accepted
    np.testing.assert_array_equal(
        ioukit.box_iou(a, b, crowd=np.zeros(25, int)), ioukit.box_iou(a, b)
    )


@pytest.mark.parametrize("metric", sorted(FUNCS))
def test_float32_close_to_float64(metric, rng):
    a, b = random_boxes(rng, 60), random_boxes(rng, 70)
    got = FUNCS[metric](a.astype(np.float32), b.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref.METRICS[metric](a, b), atol=2e-5)


@pytest.mark.parametrize("metric", sorted(FUNCS))
def test_batch_dimensions_broadcast(metric, rng):
    a = np.stack([random_boxes(rng, 7) for _ in range(6)]).reshape(2, 3, 7, 4)
    b = np.stack([random_boxes(rng, 5) for _ in range(3)]).reshape(1, 3, 5, 4)
    got = FUNCS[metric](a, b)
    assert got.shape == (2, 3, 7, 5)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(got[i, j], FUNCS[metric](a[i, j], b[0, j]), rtol=0, atol=0)
    shared = FUNCS[metric](a, b[0, 0])  # unbatched b shared by every batch
    np.testing.assert_allclose(shared[1, 2], FUNCS[metric](a[1, 2], b[0, 0]), rtol=0, atol=0)
    aligned = FUNCS[metric](a[..., :5, :], b, aligned=True)
    assert aligned.shape == (2, 3, 5)


def test_batched_crowd(rng):
    a = random_boxes(rng, 8).reshape(2, 4, 4)
    b = random_boxes(rng, 6).reshape(2, 3, 4)
    crowd = np.array([[True, False, False], [False, False, True]])
    got = ioukit.box_iou(a, b, crowd=crowd)
    for k in range(2):
        np.testing.assert_allclose(got[k], ref.iou(a[k], b[k], crowd=crowd[k]), rtol=1e-12)


def test_box_area_and_convert_roundtrip(rng):
    for fmt in ("xyxy", "xywh", "cxcywh"):
        boxes = random_boxes(rng, 30, fmt)
        for offset in (0, 1):
            np.testing.assert_allclose(
                ioukit.box_area(boxes, fmt=fmt, pixel_offset=offset),
                ref.area(boxes, fmt, offset),
                rtol=1e-12,
            )
        for dst in ("xyxy", "xywh", "cxcywh"):
            there = ioukit.box_convert(boxes, fmt, dst)
            np.testing.assert_allclose(ref.to_xyxy(there, dst), ref.to_xyxy(boxes, fmt), atol=1e-9)
            np.testing.assert_allclose(ioukit.box_convert(there, dst, fmt), boxes, atol=1e-9)


def test_out_is_filled_and_returned(rng):
    a, b = random_boxes(rng, 10).astype(np.float32), random_boxes(rng, 12).astype(np.float32)
    out = np.full((10, 12), -5, dtype=np.float32)
    result = ioukit.box_giou(a, b, out=out)
    assert result is out
    np.testing.assert_array_equal(out, ioukit.box_giou(a, b))
    strided = np.zeros((12, 10), dtype=np.float32).T  # not C-contiguous: filled through a copy
    assert ioukit.box_iou(a, b, out=strided) is strided
    np.testing.assert_array_equal(strided, ioukit.box_iou(a, b))
    single = np.zeros((10, 12), dtype=np.float32)  # half inputs give float32 results
    ioukit.box_iou(a.astype(np.float16), b.astype(np.float16), out=single)
    np.testing.assert_allclose(single, ioukit.box_iou(a, b), atol=2e-3)
    with pytest.raises(TypeError, match="'out' has dtype float16, expected float32"):
        ioukit.box_iou(a.astype(np.float16), b, out=single.astype(np.float16))


def test_large_matrix_uses_every_row(rng):
    a, b = random_boxes(rng, 1500), random_boxes(rng, 700)
    np.testing.assert_allclose(ioukit.box_iou(a, b), ref.iou(a, b), rtol=1e-12, atol=1e-12)
