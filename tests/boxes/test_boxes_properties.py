"""Hypothesis properties of the box metrics."""

from __future__ import annotations

from functools import partial

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ioukit

# Multiples of 1/64: exactly representable, so translations and scalings are exact
# and invariance can be checked tightly (a 1e-155 wide box would round away).
coords = st.integers(-(10**6), 10**6).map(lambda v: v / 64)
extent = st.integers(0, 64 * 1000).map(lambda v: v / 64)


@st.composite
def box_sets(draw, min_size=0, max_size=12):
    n = draw(st.integers(min_size, max_size))
    xy = draw(arrays(np.float64, (n, 2), elements=coords))
    wh = draw(arrays(np.float64, (n, 2), elements=extent))
    return np.concatenate([xy, xy + wh], axis=1)


METRICS = [ioukit.box_iou, ioukit.box_giou, ioukit.box_diou, ioukit.box_ciou]
SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(box_sets(), box_sets())
def test_symmetry(a, b):
    for func in METRICS:
        np.testing.assert_allclose(func(a, b), func(b, a).T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        ioukit.box_ioa(a, b, over="a"), ioukit.box_ioa(b, a, over="b").T, rtol=1e-12, atol=1e-12
    )


@SETTINGS
@given(box_sets(), box_sets())
def test_bounds_and_finite(a, b):
    iou = ioukit.box_iou(a, b)
    assert np.all((iou >= 0) & (iou <= 1))
    giou = ioukit.box_giou(a, b)
    assert np.all((giou >= -1 - 1e-12) & (giou <= 1))
    assert np.all(giou <= iou + 1e-12)
    # DIoU lies in [-1, 1]; CIoU subtracts alpha * v <= 1/2 more, so it lies in [-1.5, 1]
    for func, lowest in ((ioukit.box_diou, -1.0), (ioukit.box_ciou, -1.5)):
        value = func(a, b)
        assert np.all(np.isfinite(value))
        assert np.all(value >= lowest - 1e-12) and np.all(value <= 1)
    ioa = ioukit.box_ioa(a, b, over="min")
    assert np.all((ioa >= 0) & (ioa <= 1 + 1e-12)) and np.all(ioa >= iou - 1e-12)


@SETTINGS
@given(box_sets(min_size=1))
def test_self_iou_is_one_for_nonempty_boxes(a):
    area = ioukit.box_area(a)
    diag = np.diagonal(ioukit.box_iou(a, a))
    np.testing.assert_allclose(diag[area > 0], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(diag[area == 0], 0.0)


@SETTINGS
@given(box_sets(), box_sets())
def test_aligned_is_diagonal_of_pairwise(a, b):
    n = min(len(a), len(b))
    for func in METRICS + [ioukit.box_ioa]:
        np.testing.assert_array_equal(
            func(a[:n], b[:n], aligned=True), np.diagonal(func(a[:n], b[:n]))
        )


@SETTINGS
@given(
    box_sets(min_size=1, max_size=6),
    box_sets(min_size=1, max_size=6),
    coords,
    coords,
    st.sampled_from([0.5, 2.0, 4.0]),
)
def test_translation_and_scale_invariance(a, b, dx, dy, scale):
    shift = np.array([dx, dy, dx, dy])
    # eps = 0 makes DIoU / CIoU exactly scale-free (eps / c^2 is not)
    exact = [
        ioukit.box_iou,
        ioukit.box_giou,
        partial(ioukit.box_diou, eps=0),
        partial(ioukit.box_ciou, eps=0),
    ]
    for func in exact:
        base = func(a, b)
        np.testing.assert_allclose(func(a + shift, b + shift), base, rtol=1e-9, atol=1e-12)
        # powers of two scale exactly, so the comparison can be tight
        np.testing.assert_allclose(func(a * scale, b * scale), base, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(box_sets(max_size=8), box_sets(max_size=8), st.sampled_from(["xywh", "cxcywh"]))
def test_formats_agree(a, b, fmt):
    a_fmt, b_fmt = ioukit.box_convert(a, "xyxy", fmt), ioukit.box_convert(b, "xyxy", fmt)
    for func in METRICS:
        np.testing.assert_allclose(func(a_fmt, b_fmt, fmt=fmt), func(a, b), atol=1e-6)
