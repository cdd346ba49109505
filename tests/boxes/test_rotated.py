"""Rotated boxes through the front-end hooks of ``ioukit._boxes.rotated``: shapely float64
reference, detectron2's published values, degenerate cases, properties and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ioukit import rotated_box_corners
from ioukit._boxes import rotated as R
from tests.helpers.rotated import corners, random_rotated, shapely_metrics

shapely = pytest.importorskip("shapely", minversion="2")


def iou(a, b, **kw):
    kw.setdefault("fmt", "cxcywha")
    return R.rotated_pairwise("iou", np.asarray(a, float), np.asarray(b, float), **kw)


# ----------------------------------------------------------------- published (detectron2)


def test_detectron2_published_values():
    # tests/structures/test_rotated_boxes.py of detectron2 (shared/data/expected_values.md)
    assert iou([[0.5, 0.5, 1, 1, 0]], [[0.25, 0.5, 0.5, 1, 0]])[0, 0] == pytest.approx(0.5)
    assert iou([[565, 565, 10, 10, 0]], [[565, 565, 10, 8.3, 0]])[0, 0] == pytest.approx(0.83)
    s2 = math.sqrt(2)
    got = iou([[1, 1, s2, s2, 45], [1, 1, 2 * s2, 2 * s2, -45]], [[1, 1, 2, 2, 0]])
    np.testing.assert_allclose(got, [[0.5], [0.5]], atol=1e-12)
    got = iou([[5, 5, 10, 6, 55]], [[5, 5, 10, 6, -35]])
    assert got[0, 0] == pytest.approx(36 / (36 + 24 + 24), abs=1e-12)
    a = [[299.5, 417.370422, 600, 364.259186, 27.1828]]
    b = [[299.5, 417.370422, 600, 364.259155, 27.1828]]
    assert iou(a, b)[0, 0] == pytest.approx(364.259155 / 364.259186, abs=1e-9)


def test_axis_aligned_angles_equal_box_iou():
    from ioukit import box_iou

    rng = np.random.default_rng(3)
    a, b = random_rotated(rng, 20), random_rotated(rng, 15)
    a[:, 4], b[:, 4] = 0.0, 180.0
    xyxy = lambda r: np.c_[r[:, :2] - r[:, 2:4] / 2, r[:, :2] + r[:, 2:4] / 2]  # noqa: E731
    np.testing.assert_allclose(iou(a, b), box_iou(xyxy(a), xyxy(b)), atol=1e-12)


# ----------------------------------------------------------------- shapely reference


@pytest.mark.parametrize("fmt", ["cxcywha", "cxcywhr"])
def test_pairwise_metrics_match_shapely(fmt):
    rng = np.random.default_rng(7)
    a, b = random_rotated(rng, 60, fmt=fmt), random_rotated(rng, 45, fmt=fmt)
    ref_iou, ref_giou, inter, area_a, area_b = shapely_metrics(corners(a, fmt), corners(b, fmt))
    np.testing.assert_allclose(R.rotated_pairwise("iou", a, b, fmt=fmt), ref_iou, atol=1e-6)
    np.testing.assert_allclose(R.rotated_pairwise("giou", a, b, fmt=fmt), ref_giou, atol=1e-6)
    ioa = np.divide(inter, area_a, out=np.zeros_like(inter), where=area_a > 0)
    np.testing.assert_allclose(R.rotated_pairwise("ioa", a, b, fmt=fmt), ioa, atol=1e-6)
    iob = np.divide(inter, area_b, out=np.zeros_like(inter), where=area_b > 0)
    got = R.rotated_pairwise("ioa", a, b, fmt=fmt, over="b")
    np.testing.assert_allclose(got, iob, atol=1e-6)
    small = np.minimum(area_a, area_b)
    iomin = np.divide(inter, small, out=np.zeros_like(inter), where=small > 0)
    got = R.rotated_pairwise("ioa", a, b, fmt=fmt, over="min")
    np.testing.assert_allclose(got, iomin, atol=1e-6)


def test_formats_agree_and_corners_follow_the_issue_formula():
    rng = np.random.default_rng(8)
    a, b = random_rotated(rng, 30), random_rotated(rng, 20)
    ar, br = R.rotated_convert(a, "cxcywha", "cxcywhr"), R.rotated_convert(b, "cxcywha", "cxcywhr")
    np.testing.assert_allclose(iou(a, b), iou(ar, br, fmt="cxcywhr"), atol=1e-12)
    np.testing.assert_allclose(R.rotated_convert(ar, "cxcywhr", "cxcywha"), a, atol=1e-9)
    np.testing.assert_allclose(rotated_box_corners(a), corners(a), atol=1e-9)
    np.testing.assert_allclose(rotated_box_corners(ar, "cxcywhr"), corners(a), atol=1e-9)
    bbox = R.rotated_convert(a, "cxcywha", "xyxy")
    c = corners(a)
    np.testing.assert_allclose(bbox, np.c_[c.min(1), c.max(1)], atol=1e-9)
    np.testing.assert_array_equal(R.rotated_area(a, fmt="cxcywha"), a[:, 2] * a[:, 3])


def test_aligned_batches_and_dtypes():
    rng = np.random.default_rng(9)
    a, b = random_rotated(rng, 12).reshape(3, 4, 5), random_rotated(rng, 4)
    full = iou(a, b)
    assert full.shape == (3, 4, 4)
    for k in range(3):
        np.testing.assert_array_equal(full[k], iou(a[k], b))
    aligned = iou(a, b[None].repeat(3, 0), aligned=True)
    np.testing.assert_array_equal(aligned, np.stack([np.diag(full[k]) for k in range(3)]))
    got32 = R.rotated_pairwise("iou", a.astype(np.float32), b.astype(np.float32), fmt="cxcywha")
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, full, atol=1e-5)
    assert (
        R.rotated_pairwise("iou", a.astype(np.int32), b.astype(np.int32), fmt="cxcywha").dtype
        == np.float64
    )
    assert R.rotated_pairwise("iou", a.astype(np.float16), b, fmt="cxcywha").dtype == np.float64
    assert iou(np.zeros((0, 5)), b).shape == (0, 4)
    assert iou(b, np.zeros((0, 5))).shape == (4, 0)


# ----------------------------------------------------------------- degenerate cases


def test_zero_area_identical_and_turned_boxes():
    box = [10.0, 20.0, 8.0, 3.0, 30.0]
    zero_w, zero_both = [10.0, 20.0, 0.0, 3.0, 30.0], [10.0, 20.0, 0.0, 0.0, 0.0]
    got = iou([box, zero_w, zero_both], [box, zero_w, zero_both])
    np.testing.assert_array_equal(got, [[1, 0, 0], [0, 0, 0], [0, 0, 0]])
    for metric in ("giou", "ioa"):
        assert np.isfinite(
            R.rotated_pairwise(metric, np.array([zero_both]), np.array([zero_both]), fmt="cxcywha")
        ).all()
    turned = [[10.0, 20.0, 8.0, 3.0, a] for a in (210.0, -150.0, 390.0, 30.0 + 720.0)]
    np.testing.assert_allclose(iou([box], turned), 1.0, atol=1e-12)
    r = math.radians(30.0)
    np.testing.assert_allclose(
        iou([[10, 20, 8, 3, -r]], [[10, 20, 8, 3, math.pi - r]], fmt="cxcywhr"), 1.0, atol=1e-12
    )
    np.testing.assert_array_equal(iou([[0, 0, 4, 2, 90]], [[0, 0, 2, 4, 0]]), [[1.0]])


def test_collinear_edges_and_touching_corners():
    # side by side sharing an edge, at 37 degrees: IoU 0; shifted half a width: 1/3
    a = np.array([[0.0, 0.0, 2.0, 2.0, 37.0]])
    c = corners(a)[0]
    step = c[0] - c[1]  # the box's own x axis (length w)
    side = np.array([[*(a[0, :2] + step), 2.0, 2.0, 37.0]])
    assert iou(a, side)[0, 0] == pytest.approx(0.0, abs=1e-12)
    half = np.array([[*(a[0, :2] + step / 2), 2.0, 2.0, 37.0]])
    assert iou(a, half)[0, 0] == pytest.approx(1 / 3, abs=1e-12)
    # corner to corner: the diagonal neighbour touches in one point
    diag = np.array([[*(a[0, :2] + c[0] - c[2]), 2.0, 2.0, 37.0]])
    assert iou(a, diag)[0, 0] == pytest.approx(0.0, abs=1e-12)
    # axis-aligned touching corners and nested boxes with collinear edges
    got = iou([[0, 0, 2, 2, 0]], [[2, 2, 2, 2, 0], [0.5, 0, 1, 2, 0], [0, 0, 2, 2, 90]])
    np.testing.assert_allclose(got, [[0.0, 0.5, 1.0]], atol=1e-15)


@pytest.mark.parametrize("offset", [1e8, 1e12, -1e15])
def test_huge_coordinates(offset):
    a = np.array([[offset, offset, 10.0, 4.0, 30.0]])
    b = np.array([[offset + 1.0, offset, 10.0, 4.0, 30.0]])
    ref = iou(a - [offset, offset, 0, 0, 0], b - [offset, offset, 0, 0, 0])
    np.testing.assert_allclose(iou(a, b), ref, rtol=1e-6)


def test_huge_and_tiny_sizes_stay_finite():
    for size in (1e300, 1e-300, 1e154):
        a = np.array([[0.0, 0.0, size, size / 2, 20.0]])
        b = np.array([[size / 4, 0.0, size, size / 2, 25.0]])
        for metric in ("iou", "ioa", "giou"):
            v = R.rotated_pairwise(metric, a, b, fmt="cxcywha")
            assert np.isfinite(v).all() and -1 <= v[0, 0] <= 1
        ref = iou(
            a / size * [1, 1, 1, 1, 0] + [0, 0, 0, 0, 20.0],
            b / size * [1, 1, 1, 1, 0] + [0, 0, 0, 0, 25.0],
        )
        np.testing.assert_allclose(iou(a, b), ref, rtol=1e-9)


# ----------------------------------------------------------------- properties

finite = st.floats(-1e4, 1e4, allow_nan=False)
# zero, or not thinner than 1e-6 of the longest side (see the documented limit)
side = st.one_of(st.just(0.0), st.floats(1e-3, 1e3, allow_nan=False))
angle = st.floats(-720.0, 720.0, allow_nan=False)
box = st.tuples(finite, finite, side, side, angle)


@settings(max_examples=60, deadline=None)
@given(st.lists(box, min_size=1, max_size=6), st.lists(box, min_size=1, max_size=6),
       st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), st.floats(-360, 360))  # fmt: skip
def test_symmetry_bounds_and_invariance(a, b, dx, dy, turn):
    a, b = np.array(a), np.array(b)
    forward = iou(a, b)
    assert np.isfinite(forward).all() and (forward >= 0).all() and (forward <= 1).all()
    np.testing.assert_allclose(forward, iou(b, a).T, atol=1e-9)
    giou = R.rotated_pairwise("giou", a, b, fmt="cxcywha")
    assert (giou >= -1).all() and (giou <= forward + 1e-12).all()
    self_iou = np.diag(iou(a, a))
    # corners are stored as offsets, so sides below ~1e-12 of the other side round away
    sound = np.minimum(a[:, 2], a[:, 3]) > 1e-9 * np.maximum(a[:, 2], a[:, 3])
    np.testing.assert_allclose(self_iou[sound], 1.0, atol=1e-9)
    moved = lambda x: x + [dx, dy, 0, 0, 0]  # noqa: E731
    np.testing.assert_allclose(iou(moved(a), moved(b)), forward, atol=1e-6)
    t = math.radians(turn)  # turn both about the origin; cxcywha angles grow the other way

    def spun(x):
        c, s = math.cos(t), math.sin(t)
        cx, cy = x[:, 0] * c + x[:, 1] * s, -x[:, 0] * s + x[:, 1] * c
        return np.c_[cx, cy, x[:, 2:4], x[:, 4] + turn]

    np.testing.assert_allclose(iou(spun(a), spun(b)), forward, atol=1e-6)


# ----------------------------------------------------------------- sparse threshold


def test_sparse_threshold_matches_dense():
    rng = np.random.default_rng(11)
    a, b = random_rotated(rng, 200, scale=300), random_rotated(rng, 150, scale=300)
    b[:3, 2:4] = 400.0  # shapes spanning many grid cells
    dense = iou(a, b)
    for t in (0.05, 0.3, 1.0):
        got = R.rotated_sparse(a, b, fmt="cxcywha", threshold=t).toarray()
        np.testing.assert_allclose(got, np.where(dense >= t, dense, 0), atol=1e-12)
    empty = R.rotated_sparse(np.zeros((0, 5)), b, fmt="cxcywha", threshold=0.5)
    assert empty.shape == (0, 150)
    assert (
        R.rotated_sparse(
            a.astype(np.float32), b.astype(np.float32), fmt="cxcywha", threshold=0.5
        ).dtype
        == np.float32
    )


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("a", "fmt", "match"),
    [
        (np.zeros((3, 4)), "cxcywha", r"argument 'a' must have shape \(\.\.\., N, 5\)"),
        (np.zeros(5), "cxcywha", r"for one box use a\[None\]"),
        (np.array([[0, 0, 1, 1, 0], [0, 0, np.nan, 1, 0]]), "cxcywha", r"row 1: .*not finite"),
        (np.array([[0, 0, 1, 1, np.inf]]), "cxcywhr", r"row 0: .*not finite"),
        (np.array([[0, 0, -1, 1, 0]]), "cxcywha", "negative width"),
        (np.array([[0, 0, 1, 1, 0], [0, 0, 1, -2, 0]]), "cxcywha", "row 1.*negative height"),
        (np.zeros((1, 5)), "xyxy", "fmt='xyxy' is not one of"),
    ],
)
def test_invalid_boxes(a, fmt, match):
    with pytest.raises(ValueError, match=match):
        R.rotated_pairwise("iou", a, np.zeros((1, 5)), fmt=fmt)


def test_other_errors():
    z = np.zeros((2, 5))
    with pytest.raises(ValueError, match="metric='diou' is not one of"):
        R.rotated_pairwise("diou", z, z, fmt="cxcywha")
    with pytest.raises(ValueError, match="over='c' is not one of"):
        R.rotated_pairwise("ioa", z, z, fmt="cxcywha", over="c")
    with pytest.raises(ValueError, match="aligned=True needs as many boxes"):
        R.rotated_pairwise("iou", z, np.zeros((3, 5)), fmt="cxcywha", aligned=True)
    with pytest.raises(ValueError, match="do not broadcast"):
        R.rotated_pairwise("iou", np.zeros((2, 2, 5)), np.zeros((3, 2, 5)), fmt="cxcywha")
    with pytest.raises(TypeError, match="must hold integer or floating-point"):
        R.rotated_pairwise("iou", z.astype(bool), z, fmt="cxcywha")
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        R.rotated_sparse(z, z, fmt="cxcywha", threshold=0)
    with pytest.raises(TypeError, match="threshold must be a number"):
        R.rotated_sparse(z, z, fmt="cxcywha", threshold="0.5")
    with pytest.raises(ValueError, match="dst='xywh' is not one of"):
        R.rotated_convert(z, "cxcywha", "xywh")
    # validate=False skips the O(N) check (a NaN then gives 0, not a crash)
    bad = np.array([[0, 0, np.nan, 1, 0]])
    assert np.isfinite(R.rotated_pairwise("iou", bad, z, fmt="cxcywha", validate=False)).all()
