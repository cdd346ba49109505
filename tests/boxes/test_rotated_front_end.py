"""The box functions with the rotated formats: the same numbers as the rotated kernels,
shapely for IoU, and the options without a rotated meaning refused by name."""

import numpy as np
import pytest

import ioukit
from ioukit._boxes import rotated

shapely = pytest.importorskip("shapely")


def _boxes(n, seed):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0, 20, (n, 2))
    size = rng.uniform(1, 8, (n, 2))
    angle = rng.uniform(-180, 180, (n, 1))
    return np.hstack([centre, size, angle])


def _shapely_iou(a, b):
    corners_a = ioukit.box_convert(a, "cxcywha", "corners")
    corners_b = ioukit.box_convert(b, "cxcywha", "corners")
    pa = [shapely.Polygon(c) for c in corners_a]
    pb = [shapely.Polygon(c) for c in corners_b]
    out = np.zeros((len(pa), len(pb)))
    for i, p in enumerate(pa):
        for j, q in enumerate(pb):
            inter = p.intersection(q).area
            out[i, j] = inter / (p.area + q.area - inter)
    return out


@pytest.mark.parametrize("fmt", ["cxcywha", "cxcywhr"])
def test_box_functions_equal_the_rotated_kernels(fmt):
    a, b = _boxes(7, 0), _boxes(5, 1)
    if fmt == "cxcywhr":
        a[:, 4], b[:, 4] = np.deg2rad(a[:, 4]), np.deg2rad(b[:, 4])
    for func, metric in (
        (ioukit.box_iou, "iou"),
        (ioukit.box_giou, "giou"),
        (ioukit.box_ioa, "ioa"),
    ):
        want = rotated.rotated_pairwise(metric, a, b, fmt=fmt)
        np.testing.assert_array_equal(func(a, b, fmt=fmt), want)
        aligned = func(a[:5], b, fmt=fmt, aligned=True)
        np.testing.assert_array_equal(aligned, np.diagonal(want[:5]))
    np.testing.assert_array_equal(
        ioukit.box_ioa(a, b, fmt=fmt, over="min"),
        rotated.rotated_pairwise("ioa", a, b, fmt=fmt, over="min"),
    )


def test_box_iou_matches_shapely_and_the_dense_result():
    a, b = _boxes(9, 2), _boxes(6, 3)
    dense = ioukit.box_iou(a, b, fmt="cxcywha")
    np.testing.assert_allclose(dense, _shapely_iou(a, b), atol=1e-9)
    sparse = ioukit.box_iou(a, b, fmt="cxcywha", threshold=0.05).toarray()
    np.testing.assert_allclose(sparse, np.where(dense >= 0.05, dense, 0.0), atol=1e-12)


def test_out_dtype_area_and_convert():
    a = _boxes(4, 4).astype(np.float32)
    out = np.empty((4, 4), np.float32)
    assert ioukit.box_iou(a, a, fmt="cxcywha", out=out) is out
    np.testing.assert_allclose(np.diagonal(out), 1.0, atol=1e-6)
    assert (
        ioukit.box_iou(a.astype(np.float16), a.astype(np.float16), fmt="cxcywha").dtype
        == np.float32
    )
    np.testing.assert_allclose(ioukit.box_area(a, fmt="cxcywha"), a[:, 2] * a[:, 3], rtol=1e-6)
    back = ioukit.box_convert(ioukit.box_convert(a, "cxcywha", "cxcywhr"), "cxcywhr", "cxcywha")
    np.testing.assert_allclose(back, a, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="'out' has shape"):
        ioukit.box_iou(a, a, fmt="cxcywha", out=np.empty((3, 4), np.float32))


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda a: ioukit.box_iou(a, a, fmt="cxcywha", crowd=[False] * 3),
            "crowd= is not supported",
        ),
        (
            lambda a: ioukit.box_iou(a, a, fmt="cxcywha", pixel_offset=1),
            "pixel_offset=1 is not supported",
        ),
        (lambda a: ioukit.box_diou(a, a, fmt="cxcywha"), "supports IoU, IoA and GIoU, not diou"),
        (lambda a: ioukit.box_ciou(a, a, fmt="cxcywhr"), "not ciou"),
        (
            lambda a: ioukit.box_iou(a, a, fmt="cxcywha", threshold=2.0),
            r"threshold must be in \(0, 1\]",
        ),
        (lambda a: ioukit.box_giou(a[:, :4], a[:, :4], fmt="cxcywha"), r"shape \(\.\.\., N, 5\)"),
    ],
)
def test_options_without_a_rotated_meaning_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call(_boxes(3, 5))
