"""Edge cases (empty, degenerate, touching, identical, huge) and every bad-input rule."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit

FUNCS = [ioukit.box_iou, ioukit.box_giou, ioukit.box_diou, ioukit.box_ciou, ioukit.box_ioa]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("n,m", [(0, 0), (0, 3), (3, 0)])
def test_empty_inputs_keep_shapes(func, n, m):
    got = func(np.zeros((n, 4), np.float32), np.zeros((m, 4), np.float32))
    assert got.shape == (n, m) and got.dtype == np.float32
    assert func(np.zeros((2, n, 4)), np.zeros((m, 4))).shape == (2, n, m)
    assert func(np.zeros((0, 5, 4)), np.zeros((5, 4)), aligned=True).shape == (0, 5)


@pytest.mark.parametrize("func", FUNCS)
def test_degenerate_boxes_are_finite(func):
    points = np.array([[0, 0, 0, 0], [5, 5, 5, 5], [0, 0, 0, 10], [0, 0, 10, 0]], np.float64)
    got = func(points, points)
    assert np.all(np.isfinite(got))
    if func in (ioukit.box_iou, ioukit.box_ioa):
        np.testing.assert_array_equal(got, 0.0)
    # identical zero-size boxes: zero union and zero enclosing box give no penalty
    assert func([[3, 3, 3, 3]], [[3, 3, 3, 3]])[0, 0] == 0.0


def test_touching_identical_and_nested():
    assert ioukit.box_iou([[0, 0, 10, 10]], [[10, 0, 20, 10]])[0, 0] == 0.0
    assert ioukit.box_iou([[0, 0, 10, 10]], [[0, 0, 10, 10]])[0, 0] == 1.0
    assert ioukit.box_giou([[0, 0, 10, 10]], [[10, 0, 20, 10]])[0, 0] == 0.0
    assert ioukit.box_iou([[0, 0, 10, 10]], [[2, 2, 8, 8]])[0, 0] == pytest.approx(0.36)
    # with the +1 convention touching boxes share a column of pixels
    assert ioukit.box_iou([[0, 0, 9, 9]], [[9, 0, 18, 9]], pixel_offset=1)[0, 0] == pytest.approx(
        10 / 190
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_coordinates(dtype):
    big = 1e15 if dtype == np.float64 else 1e7
    a = np.array([[big, big, big + big / 2, big + big / 2]], dtype)
    got = ioukit.box_iou(a, a)
    assert got[0, 0] == pytest.approx(1.0)
    for func in FUNCS:
        assert np.all(np.isfinite(func(a, a + np.array(big / 4, dtype))))


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(
    "bad,why",
    [
        ([5, 0, 4, 1], "x2 < x1"),
        ([0, 5, 1, 4], "y2 < y1"),
        ([0, 0, np.nan, 1], "not finite"),
        ([0, -np.inf, 1, 1], "not finite"),
    ],
)
def test_invalid_xyxy_rows_are_named(func, bad, why):
    a = np.array([[0, 0, 1, 1], [0, 0, 1, 1], bad], np.float64)
    with pytest.raises(
        ValueError, match=rf"argument 'a' has an invalid xyxy box at row 2: .*\({why}\)"
    ):
        func(a, [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"argument 'b' has an invalid xyxy box at row \(1, 2\)"):
        func([[0, 0, 1, 1]], np.stack([a[:2].repeat(2, 0)[:3], a]))
    # validate=False skips the check and still returns finite-shaped output without crashing
    assert func(a, [[0, 0, 1, 1]], validate=False).shape == (3, 1)


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
def test_negative_extent(fmt):
    with pytest.raises(ValueError, match="row 1: .*negative width"):
        ioukit.box_iou([[0, 0, 1, 1], [0, 0, -1, 1]], [[0, 0, 1, 1]], fmt=fmt)
    with pytest.raises(ValueError, match="row 0: .*negative height"):
        ioukit.box_area([[0, 0, 1, -1]], fmt=fmt)


def test_bad_shapes():
    with pytest.raises(
        ValueError, match=r"argument 'a' must have shape \(\.\.\., N, 4\), got \(4,\).*a\[None\]"
    ):
        ioukit.box_iou([0, 0, 1, 1], [[0, 0, 1, 1]])
    with pytest.raises(
        ValueError, match=r"argument 'b' must have shape \(\.\.\., N, 4\), got \(2, 3\)"
    ):
        ioukit.box_iou([[0, 0, 1, 1]], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="do not broadcast"):
        ioukit.box_iou(np.zeros((2, 3, 4)), np.zeros((3, 3, 4)))
    with pytest.raises(ValueError, match="aligned=True needs as many boxes"):
        ioukit.box_giou(np.zeros((2, 4)), np.zeros((3, 4)), aligned=True)
    with pytest.raises(ValueError, match="argument 'a' must have shape"):
        ioukit.box_area(np.zeros(3))


def test_bad_dtypes():
    with pytest.raises(
        TypeError, match="argument 'a' must hold integer or floating-point numbers, got dtype bool"
    ):
        ioukit.box_iou(np.zeros((1, 4), bool), np.zeros((1, 4)))
    with pytest.raises(TypeError, match="argument 'b' must hold .* got dtype <U1"):
        ioukit.box_iou(np.zeros((1, 4)), [["a", "b", "c", "d"]])
    with pytest.raises(TypeError, match="complex"):
        ioukit.box_diou(np.zeros((1, 4), complex), np.zeros((1, 4)))
    with pytest.raises(TypeError, match="argument 'a' must hold"):
        ioukit.box_iou([[object(), 1, 2, 3]], [[0, 0, 1, 1]])
    with pytest.raises(TypeError, match="cannot be read as an array"):
        ioukit.box_iou([[0, 0, 1], [0, 0, 1, 1]], [[0, 0, 1, 1]])


def test_bad_options():
    with pytest.raises(ValueError, match=r"fmt='xxyy' is not one of 'xyxy', 'xywh', 'cxcywh'"):
        ioukit.box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]], fmt="xxyy")
    with pytest.raises(ValueError, match="pixel_offset must be 0 or 1"):
        ioukit.box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]], pixel_offset=2)
    with pytest.raises(ValueError, match="pixel_offset must be 0 or 1"):
        ioukit.box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]], pixel_offset=True)
    with pytest.raises(ValueError, match="dst='polar'"):
        ioukit.box_convert([[0, 0, 1, 1]], "xyxy", "polar")
    with pytest.raises(ValueError, match="src='polar'"):
        ioukit.box_convert([[0, 0, 1, 1]], "polar", "xyxy")
    with pytest.raises(TypeError, match="unexpected keyword"):
        ioukit.box_giou([[0, 0, 1, 1]], [[0, 0, 1, 1]], crowd=[True])


def test_bad_crowd():
    boxes = [[0, 0, 1, 1], [0, 0, 2, 2]]
    with pytest.raises(
        ValueError, match=r"crowd has shape \(3,\), expected one flag per box of 'b'"
    ):
        ioukit.box_iou(boxes, boxes, crowd=[True, False, True])
    with pytest.raises(ValueError, match="crowd must hold only 0/1, found 2 at row 1"):
        ioukit.box_iou(boxes, boxes, crowd=[0, 2])
    with pytest.raises(TypeError, match="crowd must be booleans or 0/1 integers"):
        ioukit.box_iou(boxes, boxes, crowd=[0.5, 1.0])


def test_bad_out():
    a = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match=r"argument 'out' has shape \(3, 2\), expected \(2, 2\)"):
        ioukit.box_iou(a, a, out=np.zeros((3, 2), np.float32))
    with pytest.raises(TypeError, match="argument 'out' has dtype float64, expected float32"):
        ioukit.box_iou(a, a, out=np.zeros((2, 2), np.float64))
    read_only = np.zeros((2, 2), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="argument 'out' is read-only"):
        ioukit.box_iou(a, a, out=read_only)
