"""Boxes against hostile or surprising input: huge finite coordinates, out=, crowd
flags, formats, torch tensors that require grad, and the rendered docstrings."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ioukit
from tests.helpers import reference as ref
from tests.helpers.fake_torch import FakeTensor

PAIRWISE = [ioukit.box_iou, ioukit.box_giou, ioukit.box_diou, ioukit.box_ciou, ioukit.box_ioa]
BOX_FUNCS = [*PAIRWISE, ioukit.box_area, ioukit.box_convert]


def _scale_of(values: np.ndarray) -> float:
    """The power of two the front-end's rare path applies to float64 coordinates."""
    return math.ldexp(1.0, 1 - math.frexp(float(np.abs(values).max()))[1])


# --- finite extreme boxes never give NaN or inf -------------------------------------


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("func", PAIRWISE)
def test_float32_extreme_boxes_reported_case(func):
    a = np.array([[0, 0, 2e19, 2e19], [0, 0, 1e19, 2e19]], np.float32)
    got = func(a, a)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    small = (a.astype(np.float64) / 2.0**64).astype(np.float32)  # exact: a power of two
    np.testing.assert_allclose(got, func(small, small), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(func(a, a, aligned=True), np.diagonal(got), rtol=1e-6)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("func", PAIRWISE)
@pytest.mark.parametrize("offset", [0, 1])
def test_float64_extreme_boxes_equal_scaled_down(func, offset):
    a = np.array([[0, 0, 1e155, 1e155], [3e154, -1e154, 9e154, 2e154], [0, 0, 1, 1]])
    b = np.array([[1e154, 1e154, 1.5e155, 1.1e155], [0, 0, 2, 3]])
    got = func(a, b, pixel_offset=offset)
    assert np.isfinite(got).all()
    # the rare path multiplies by a power of two (exact) and scales offset and eps
    s = _scale_of(np.concatenate([a, b]))
    kwargs = {"eps": 1e-7 * s * s} if func in (ioukit.box_diou, ioukit.box_ciou) else {}
    small = (
        func(a * s, b * s, pixel_offset=offset, validate=False, **kwargs) if offset == 0 else None
    )
    if small is not None:
        np.testing.assert_array_equal(got, small)
    want = {ioukit.box_iou: ref.iou, ioukit.box_ioa: ref.ioa}.get(func)
    if want is not None and offset == 0:
        np.testing.assert_allclose(got, want(a * s, b * s), rtol=1e-12, atol=1e-300)


def test_crowd_and_threshold_paths_with_extreme_boxes():
    a = np.array([[0, 0, 1e155, 1e155], [0, 0, 5e154, 1e155]])
    got = ioukit.box_iou(a, a, crowd=[False, True])
    np.testing.assert_allclose(got, [[1.0, 0.5], [0.5, 1.0]])
    np.testing.assert_array_equal(
        ioukit.box_iou(a, a, threshold=0.4).toarray(), ioukit.box_iou(a, a)
    )


# every finite value, up to the dtype's largest (a side then overflows the dtype)
magnitudes32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
magnitudes64 = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def huge_sets(draw, dtype):
    n = draw(st.integers(1, 6))
    elements = magnitudes32 if dtype == np.float32 else magnitudes64
    lo = draw(arrays(dtype, (n, 2), elements=elements))
    hi = draw(arrays(dtype, (n, 2), elements=elements))
    return np.concatenate([np.minimum(lo, hi), np.maximum(lo, hi)], axis=1)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(st.sampled_from([np.float32, np.float64]), st.data(), st.sampled_from([0, 1]))
def test_any_finite_boxes_give_finite_values(dtype, data, offset):
    a, b = data.draw(huge_sets(dtype)), data.draw(huge_sets(dtype))
    for func in PAIRWISE:
        got = func(a, b, pixel_offset=offset)
        assert got.dtype == dtype and np.isfinite(got).all(), func.__name__
        assert np.isfinite(func(a, a, aligned=True, pixel_offset=offset)).all()
    iou = ioukit.box_iou(a, b, pixel_offset=offset)
    assert np.all((iou >= 0) & (iou <= 1))
    assert not np.isnan(ioukit.box_area(a, pixel_offset=offset)).any()
    assert not np.isnan(ioukit.box_convert(a, "xyxy", "cxcywh")).any()


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_box_area_overflow_is_inf_never_nan():
    # decision: like torchvision (and IEEE), an area past the dtype's range is inf
    assert ioukit.box_area(np.array([[0, 0, 2e19, 2e19]], np.float32)).tolist() == [math.inf]
    assert ioukit.box_area(np.array([[0, 0, 1e155, 1e155]])).tolist() == [math.inf]
    # a zero side times an overflowing one is 0, not inf * 0 = NaN
    flat = np.array([[-3e38, 5, 3e38, 5]], np.float32)
    assert ioukit.box_area(flat).tolist() == [0.0]
    assert ioukit.box_area(np.array([[-1e308, 5, 1e308, 5]])).tolist() == [0.0]
    # finite areas stay exact on the rare path
    assert ioukit.box_area(np.array([[0, 0, 1e150, 2e3], [0, 0, 1e160, 1e-10]])).tolist() == [
        pytest.approx(2e153),
        pytest.approx(1e150),
    ]
    wide = np.array([[3e38, 0, 3e38, 1]], np.float32)  # xywh: x2 = 6e38 is past float32
    np.testing.assert_array_equal(
        ioukit.box_convert(wide, "xywh", "xyxy"), np.array([[3e38, 0, math.inf, 1]], np.float32)
    )
    assert ioukit.box_convert(np.array([[3e38, 0, 3e38, 1]], np.float32), "xyxy", "cxcywh")[
        0, 0
    ] == np.float32(3e38)


# --- out= -----------------------------------------------------------------------------


A = np.array([[0, 0, 10, 10], [5, 5, 15, 15]], float)


@pytest.mark.parametrize("out", [[[0.0, 0.0], [0.0, 0.0]], ((0.0, 0.0), (0.0, 0.0)), 3.0, "out"])
@pytest.mark.parametrize("func", PAIRWISE)
def test_out_must_be_an_array(func, out):
    with pytest.raises(TypeError, match="argument 'out' must be a writable NumPy array.*got"):
        func(A, A, out=out)


def test_out_mismatches_name_out():
    with pytest.raises(ValueError, match=r"argument 'out' has shape \(2,\), expected \(2, 2\)"):
        ioukit.box_iou(A, A, out=np.empty(2))
    with pytest.raises(TypeError, match="argument 'out' has dtype float32, expected float64"):
        ioukit.box_iou(A, A, out=np.empty((2, 2), np.float32))
    with pytest.raises(TypeError, match="argument 'out' has dtype int64"):
        ioukit.box_iou(A, A, out=np.empty((2, 2), np.int64))
    frozen = np.empty((2, 2))
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="argument 'out' is read-only"):
        ioukit.box_iou(A, A, out=frozen)
    with pytest.raises(ValueError, match=r"argument 'out' has shape \(2, 2\), expected \(2,\)"):
        ioukit.box_iou(A, A, aligned=True, out=np.empty((2, 2)))
    with pytest.raises(ValueError, match="without aligned= or out="):
        ioukit.box_iou(A, A, threshold=0.5, out=np.empty((2, 2)))


# --- crowd flags: exactly one per box of b ---------------------------------------------


@pytest.mark.parametrize("crowd", [[1], [True], True, 1, [0, 1, 0], [[1, 0, 1]]])
def test_crowd_needs_one_flag_per_box(crowd):
    with pytest.raises(
        ValueError, match=r"crowd has shape .*expected one flag per box of 'b' \(shape \(2,\)"
    ):
        ioukit.box_iou(A, A, crowd=crowd)


def test_crowd_per_batch_flags():
    a = np.stack([A, A + 1])
    got = ioukit.box_iou(a, a, crowd=[[0, 1], [1, 0]])
    np.testing.assert_allclose(got[0], ioukit.box_iou(A, A, crowd=[0, 1]))
    np.testing.assert_allclose(got[1], ioukit.box_iou(A + 1, A + 1, crowd=[1, 0]))
    np.testing.assert_allclose(
        ioukit.box_iou(a, a, crowd=[[0, 1]])[1], ioukit.box_iou(A, A, crowd=[0, 1])
    )
    with pytest.raises(ValueError, match=r"crowd has shape \(3, 2\)"):
        ioukit.box_iou(a, a, crowd=np.zeros((3, 2), bool))


# --- xyxy / xywh confusion ------------------------------------------------------------


def test_xywh_passed_as_xyxy_gets_a_hint():
    coco = [[10, 20, 5, 8], [0, 0, 30, 40]]  # x, y, w, h
    with pytest.raises(ValueError, match=r'row 0: .*\(x2 < x1\).*pass fmt="xywh"'):
        ioukit.box_iou(coco, coco)
    with pytest.raises(ValueError, match=r'\(y2 < y1\).*pass fmt="xywh"'):
        ioukit.box_area([[0, 20, 5, 8]])
    np.testing.assert_allclose(
        ioukit.box_iou(coco, coco, fmt="xywh"), np.eye(2) + [[0, 40 / 1200], [40 / 1200, 0]]
    )


def test_no_xywh_hint_when_it_would_not_fit():
    with pytest.raises(ValueError, match=r"\(x2 < x1\)$"):
        ioukit.box_iou([[10, 20, 5, 8], [0, 0, -3, 4]], A)


# --- box_convert keywords -------------------------------------------------------------


def test_box_convert_accepts_torchvision_keywords():
    boxes = [[10, 20, 30, 40]]
    want = ioukit.box_convert(boxes, "xywh", "cxcywh")
    np.testing.assert_array_equal(ioukit.box_convert(boxes, in_fmt="xywh", out_fmt="cxcywh"), want)
    np.testing.assert_array_equal(ioukit.box_convert(boxes, src="xywh", dst="cxcywh"), want)
    np.testing.assert_array_equal(ioukit.box_convert(boxes, "xywh", out_fmt="cxcywh"), want)
    with pytest.raises(TypeError, match="give src= or in_fmt=, not both"):
        ioukit.box_convert(boxes, "xywh", "xyxy", in_fmt="xywh")
    with pytest.raises(TypeError, match="give dst= or out_fmt=, not both"):
        ioukit.box_convert(boxes, "xywh", "xyxy", out_fmt="xyxy")
    with pytest.raises(TypeError, match=r"missing the box format dst= \(or out_fmt=\)"):
        ioukit.box_convert(boxes, in_fmt="xywh")
    with pytest.raises(ValueError, match="in_fmt='xyz' is not one of"):
        ioukit.box_convert(boxes, in_fmt="xyz", out_fmt="xyxy")
    with pytest.raises(ValueError, match="dst='xyz' is not one of"):
        ioukit.box_convert(boxes, "xyxy", "xyz")


# --- torch: requires_grad is refused; torch in, torch out -------------------------------


@pytest.mark.parametrize("func", PAIRWISE)
def test_requires_grad_is_refused_with_alternatives(fake_torch, func):
    a = FakeTensor(A, requires_grad=True)
    with pytest.raises(
        TypeError,
        match=r"argument 'a' is a torch tensor that requires grad.*generalized_box_iou_loss.*a\.detach\(\)",
    ):
        func(a, FakeTensor(A))
    with pytest.raises(TypeError, match=r"argument 'b' .*requires grad.*b\.detach\(\)"):
        func(A, a)
    got = func(a.detach(), FakeTensor(A))
    assert isinstance(got, FakeTensor)
    np.testing.assert_array_equal(got.data, func(A, A))


def test_torch_half_gives_float32(fake_torch):
    got = ioukit.box_area(FakeTensor(np.array([[0, 0, 300, 300]], np.float16)))
    assert (
        isinstance(got, FakeTensor)
        and got.data.dtype == np.float32
        and got.data.tolist() == [90000.0]
    )


# --- docstrings ---------------------------------------------------------------------------


@pytest.mark.parametrize("func", BOX_FUNCS, ids=lambda f: f.__name__)
def test_docstring_sections_render(func):
    doc = inspect.getdoc(func)
    for section in ("Parameters", "Returns", "Examples"):
        assert f"\n{section}\n{'-' * len(section)}\n" in doc, section
    assert "{" + "common}" not in doc and "{" + "returns}" not in doc
    numpydoc = pytest.importorskip("numpydoc.validate")
    errors = [code for code, _ in numpydoc.validate(f"ioukit.{func.__name__}")["errors"]]
    assert not [c for c in errors if c.startswith(("PR", "RT", "GL", "EX"))], errors
