"""``polygon_iou`` on convex polygons (DOTA quadrilaterals and more): shapely float64
reference, orientation, degenerate polygons and the convexity errors."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from ioukit._boxes import rotated as R
from tests.helpers.rotated import corners, random_rotated, shapely_metrics

shapely = pytest.importorskip("shapely", minversion="2")


def random_convex(rng, n, k, scale=40.0):
    """``n`` convex polygons of exactly ``k`` vertices (hulls of random points, padded by
    repeating the last vertex), in random orientation."""
    out = np.empty((n, k, 2))
    for i in range(n):
        while True:
            pts = rng.uniform(0, 10, size=(k + 3, 2)) + rng.uniform(0, scale, size=2)
            hull = shapely.get_coordinates(shapely.convex_hull(shapely.multipoints(pts)))[:-1]
            if 3 <= len(hull) <= k:
                break
        hull = np.concatenate([hull, np.repeat(hull[-1:], k - len(hull), axis=0)])
        out[i] = hull if rng.random() < 0.5 else hull[::-1]
    return out


@pytest.mark.parametrize(("k", "l"), [(4, 4), (3, 6), (8, 5)])
def test_matches_shapely(k, l):  # noqa: E741
    rng = np.random.default_rng(k * 10 + l)
    a, b = random_convex(rng, 25, k), random_convex(rng, 20, l)
    ref_iou, ref_giou, *_ = shapely_metrics(a, b)
    np.testing.assert_allclose(ioukit.polygon_iou(a, b), ref_iou, atol=1e-6)
    np.testing.assert_allclose(R.polygon_pairwise("giou", a, b), ref_giou, atol=1e-6)
    np.testing.assert_allclose(
        ioukit.polygon_iou(a[:20], b, aligned=True), np.diag(ref_iou[:20]), atol=1e-6
    )


def test_dota_quadrilaterals_equal_rotated_boxes():
    rng = np.random.default_rng(5)
    a, b = random_rotated(rng, 30), random_rotated(rng, 20)
    qa, qb = ioukit.rotated_box_corners(a), ioukit.rotated_box_corners(b)[:, ::-1]  # clockwise
    np.testing.assert_allclose(
        ioukit.polygon_iou(qa, qb), R.rotated_pairwise("iou", a, b, fmt="cxcywha"), atol=1e-9
    )


def test_dtypes_batches_and_degenerate():
    sq = np.array([[[0, 0], [2, 0], [2, 2], [0, 2]]], dtype=np.float32)
    assert ioukit.polygon_iou(sq, sq).dtype == np.float32
    assert ioukit.polygon_iou(sq.astype(np.int64), sq.astype(np.int64)).dtype == np.float64
    got = ioukit.polygon_iou(np.stack([sq, sq + 1]), sq)
    np.testing.assert_allclose(got[:, 0, 0], [1.0, 1 / 7], rtol=1e-6)
    line = np.array([[[0, 0], [1, 1], [2, 2], [1, 1]]], float)  # zero area, collinear
    point = np.zeros((1, 3, 2))
    got = ioukit.polygon_iou(np.concatenate([line, point[:, [0, 1, 2, 0]]]), sq.astype(float))
    np.testing.assert_array_equal(got, [[0.0], [0.0]])
    collinear = np.array([[[0, 0], [1, 0], [2, 0], [2, 2], [0, 2]]], float)  # a vertex mid-edge
    assert ioukit.polygon_iou(collinear, sq.astype(float))[0, 0] == pytest.approx(1.0)
    assert ioukit.polygon_iou(np.zeros((0, 4, 2)), sq).shape == (0, 1)


def test_huge_coordinates():
    sq = np.array([[[0, 0], [2, 0], [2, 2], [0, 2]]], float)
    shifted = sq + [1.0, 0.5]
    ref = ioukit.polygon_iou(sq, shifted)
    for offset in (1e9, 1e13):
        np.testing.assert_allclose(
            ioukit.polygon_iou(sq + offset, shifted + offset), ref, rtol=1e-6
        )
    assert np.isfinite(ioukit.polygon_iou(sq * 1e300, shifted * 1e300)).all()


def test_rotated_corners_formula():
    box = np.array([[3.0, 4.0, 6.0, 2.0, 30.0]])
    np.testing.assert_allclose(ioukit.rotated_box_corners(box), corners(box), atol=1e-12)
    assert ioukit.rotated_box_corners(box.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    ("poly", "match"),
    [
        ([[0, 0], [2, 0], [1, 0.5], [2, 2], [0, 2]], r"polygon at row 1 is not convex"),
        ([[0, 0], [2, 2], [2, 0], [0, 2]], r"polygon at row 1 is not convex"),  # bow-tie
        ([[0, 0], [2, 0], [np.nan, 1], [2, 2], [0, 2]], r"polygon at row 1 is not finite"),
    ],
)
def test_bad_polygons(poly, match):
    ok = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 1]], float)[: len(poly)]
    ok = np.concatenate([ok, np.repeat(ok[-1:], len(poly) - len(ok), 0)])
    a = np.stack([ok, np.asarray(poly, float)])
    with pytest.raises(ValueError, match=match):
        ioukit.polygon_iou(a, ok[None])


def test_self_intersecting_and_shapes():
    t = np.arange(5) * 4 * np.pi / 5  # a pentagram: every turn the same way, twice around
    star = np.stack([np.cos(t), np.sin(t)], axis=1)[None]
    with pytest.raises(ValueError, match=r"argument 'b' polygon at row 0 is self-intersecting"):
        ioukit.polygon_iou(np.zeros((1, 3, 2)), star)
    with pytest.raises(ValueError, match=r"K >= 3 vertices"):
        ioukit.polygon_iou(np.zeros((1, 2, 2)), np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., N, K, 2\)"):
        ioukit.polygon_iou(np.zeros((4, 2)), np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="aligned=True needs as many"):
        ioukit.polygon_iou(np.zeros((2, 3, 2)), np.zeros((1, 3, 2)), aligned=True)
