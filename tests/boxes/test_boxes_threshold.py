"""box_iou(..., threshold=t): the sparse grid path equals the dense result filtered at t.

CPU only (no dask needed); tests/test_dask.py checks the lazy path against the same rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ioukit
from tests.helpers.boxes import random_boxes

# integers and halves: boxes that touch, nest and share edges are common, so the
# +1 of pixel_offset=1 decides many pairs
# small boxes over a wider field, so that the grid has many cells
coords = st.integers(0, 60).map(lambda v: v / 2)
sizes = st.integers(0, 8).map(lambda v: v / 2)


@st.composite
def box_sets(draw, fmt):
    n = draw(st.integers(0, 40))
    xy = draw(arrays(np.float64, (n, 2), elements=coords))
    wh = draw(arrays(np.float64, (n, 2), elements=sizes))
    if fmt == "xyxy":
        return np.concatenate([xy, xy + wh], axis=1)
    return np.concatenate([xy, wh], axis=1)  # xywh, or cxcywh around xy


def dense_filtered(a, b, t, **kwargs):
    dense = ioukit.box_iou(a, b, **kwargs)
    dense[dense < t] = 0
    return dense


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["xyxy", "xywh", "cxcywh"]),
    st.data(),
    st.sampled_from([0, 1]),
    st.sampled_from([0.01, 0.1, 0.25, 1 / 3, 0.5, 0.7, 1.0]),
    st.sampled_from([np.float64, np.float32]),
)
def test_sparse_equals_dense_filtered(fmt, data, offset, t, dtype):
    a = data.draw(box_sets(fmt)).astype(dtype)
    b = data.draw(box_sets(fmt)).astype(dtype)
    crowd = data.draw(arrays(np.bool_, (b.shape[0],))) if data.draw(st.booleans()) else None
    kwargs = dict(fmt=fmt, pixel_offset=offset, crowd=crowd)
    got = ioukit.box_iou(a, b, threshold=t, **kwargs)
    assert got.shape == (a.shape[0], b.shape[0]) and got.dtype == dtype
    np.testing.assert_array_equal(got.toarray(), dense_filtered(a, b, t, **kwargs))


@pytest.mark.parametrize("offset", [0, 1])
@pytest.mark.parametrize("threshold", [0.05, 0.5, 0.9])
def test_sparse_many_boxes_and_big_ones(rng, offset, threshold):
    a, b = random_boxes(rng, 400, scale=300), random_boxes(rng, 350, scale=300)
    b[:3, 2:] += 400  # a few huge boxes take the brute-force list
    crowd = rng.random(350) < 0.2
    kwargs = dict(crowd=crowd, pixel_offset=offset)
    got = ioukit.box_iou(a, b, threshold=threshold, **kwargs)
    np.testing.assert_array_equal(got.toarray(), dense_filtered(a, b, threshold, **kwargs))


def test_pixel_offset_one_reported_case():
    # Found on the old grid: with +1 pixels, b = [4.5, 15.5, 5.5, 15.5] overlaps
    # a = [3.5, 16, 6.5, 18] (y: 15.5 + 1 > 16), but the intersection's corner
    # y = 16 lies past b's registered cells, so the pair was never examined.
    rng = np.random.default_rng(0)
    xy, wh = rng.integers(0, 40, (30, 2)) / 2, rng.integers(0, 8, (30, 2)) / 2
    a = np.concatenate([xy, xy + wh], 1)
    xy, wh = rng.integers(0, 40, (30, 2)) / 2, rng.integers(0, 8, (30, 2)) / 2
    b = np.concatenate([xy, xy + wh], 1)
    dense = dense_filtered(a, b, 0.01, pixel_offset=1)
    assert (
        dense[np.all(a == [3.5, 16, 6.5, 18], axis=1)][
            :, np.all(b == [4.5, 15.5, 5.5, 15.5], axis=1)
        ].max()
        > 0
    )
    got = ioukit.box_iou(a, b, pixel_offset=1, threshold=0.01)
    np.testing.assert_array_equal(got.toarray(), dense)


def test_threshold_is_exact_in_float32():
    # 0.1 rounds down in float32: a pair at float32(0.1) < 0.1 is not reported
    a = np.array([[0, 0, 10, 1]], np.float32)
    b = np.array([[9, 0, 10, 1]], np.float32)  # IoU exactly 0.1 in float64, float32(0.1)
    value = ioukit.box_iou(a, b)[0, 0]
    got = ioukit.box_iou(a, b, threshold=0.1).toarray()[0, 0]
    assert got == (value if value >= 0.1 else 0)


@pytest.mark.parametrize("bad", [0, -0.5, 1.5, float("nan"), True, "0.5"])
def test_threshold_range(bad):
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        ioukit.box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]], threshold=bad)


def test_threshold_needs_2d_without_out_or_aligned():
    a = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="threshold= needs 2-D"):
        ioukit.box_iou(a, a, threshold=0.5)
    with pytest.raises(ValueError, match="threshold= needs 2-D"):
        ioukit.box_iou(a[0], a[0], threshold=0.5, aligned=True)


def test_threshold_extreme_boxes_stay_finite():
    a = np.array([[0, 0, 2e19, 2e19], [0, 0, 1, 1]], np.float32)
    got = ioukit.box_iou(a, a, threshold=0.5)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.toarray(), np.eye(2))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_threshold_with_unvalidated_non_finite_boxes(bad):
    a = np.array([[0, 0, 1, 1], [0, 0, bad, 1]])
    with pytest.raises(ValueError, match="threshold= needs finite boxes; validate=False"):
        ioukit.box_iou(a, a, threshold=0.5, validate=False)
