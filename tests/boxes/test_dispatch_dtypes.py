"""Input kinds (array-likes, DLPack, torch), the dtype rules and mixed-kind errors."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from ioukit._core import dispatch as _dispatch

A = [[0, 0, 10, 10], [5, 5, 15, 15]]
B = [[0, 0, 10, 10], [20, 20, 30, 30], [2, 2, 8, 8]]
WANT = np.array([[1.0, 0.0, 0.36], [25 / 175, 0.0, 9 / 127]])


class DLPackOnly:
    """An array exposing only the DLPack protocol (like a foreign tensor)."""

    def __init__(self, arr):
        self._arr = np.asarray(arr)

    def __dlpack__(self, **kwargs):
        return self._arr.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._arr.__dlpack_device__()


class ArrayOnly:
    def __init__(self, arr):
        self._arr = np.asarray(arr)

    def __array__(self, dtype=None, copy=None):
        return self._arr if dtype is None else self._arr.astype(dtype)


@pytest.mark.parametrize(
    "dtype,result",
    [
        (np.float64, np.float64),
        (np.float32, np.float32),
        (np.float16, np.float32),  # computed and returned in float32, as torchvision
        (np.int8, np.float64),
        (np.int16, np.float64),
        (np.int32, np.float64),
        (np.int64, np.float64),
        (np.uint8, np.float64),
        (np.uint16, np.float64),
        (np.uint32, np.float64),
        (np.uint64, np.float64),
    ],
)
def test_every_dtype(dtype, result):
    got = ioukit.box_iou(np.array(A, dtype), np.array(B, dtype))
    assert got.dtype == result
    np.testing.assert_allclose(
        got.astype(np.float64), WANT, atol=2e-3 if dtype == np.float16 else 1e-6
    )
    for func in (
        ioukit.box_giou,
        ioukit.box_diou,
        ioukit.box_ciou,
        ioukit.box_ioa,
        ioukit.box_area,
    ):
        value = (
            func(np.array(A, dtype), np.array(B, dtype))
            if func is not ioukit.box_area
            else func(np.array(A, dtype))
        )
        assert value.dtype == result


@pytest.mark.parametrize(
    "da,db,result",
    [
        (np.float16, np.float32, np.float32),
        (np.int32, np.float32, np.float64),
        (np.float32, np.float64, np.float64),
        (np.int64, np.float16, np.float64),
    ],
)
def test_mixed_dtypes_promote(da, db, result):
    assert ioukit.box_iou(np.array(A, da), np.array(B, db)).dtype == result


def test_bfloat16_computed_and_returned_in_float32():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = np.array(A, dtype=ml_dtypes.bfloat16)
    got = ioukit.box_iou(a, a)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ioukit.box_iou(A, A), atol=1e-2)
    for func in (ioukit.box_giou, ioukit.box_diou, ioukit.box_ciou, ioukit.box_ioa):
        assert func(a, a).dtype == np.float32
    assert ioukit.box_area(a).dtype == np.float32
    assert ioukit.box_convert(a, "xyxy", "xywh").dtype == np.float32


def test_half_area_does_not_overflow():
    # 300 x 300 = 90000 > 65504, the float16 maximum: float32 results keep it
    box = np.array([[0, 0, 300, 300]], dtype=np.float16)
    for fmt in ("xyxy", "xywh"):
        area = ioukit.box_area(box, fmt=fmt)
        assert area.dtype == np.float32 and area.tolist() == [90000.0]
        assert ioukit.box_iou(box, box, fmt=fmt).tolist() == [[1.0]]
        assert ioukit.box_giou(box, box, fmt=fmt).tolist() == [[1.0]]


@pytest.mark.parametrize("wrap", [list, tuple, np.asarray, DLPackOnly, ArrayOnly])
def test_array_likes(wrap):
    a = wrap([tuple(r) for r in A]) if wrap is tuple else wrap(A)
    np.testing.assert_allclose(ioukit.box_iou(a, wrap(B) if wrap is not tuple else B), WANT)


def test_non_contiguous_and_big_endian_inputs():
    a = np.asfortranarray(np.array(A, np.float64))
    b = np.array(B, dtype=">f8")
    np.testing.assert_allclose(ioukit.box_iou(a, b), WANT)
    strided = np.zeros((2, 8))
    strided[:, ::2] = A
    np.testing.assert_allclose(ioukit.box_iou(strided[:, ::2], B), WANT)


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    a = torch.tensor(A, dtype=torch.float32)
    got = ioukit.box_iou(a, torch.tensor(B, dtype=torch.float32))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), WANT, atol=1e-6)
    half = ioukit.box_giou(
        torch.tensor(A, dtype=torch.bfloat16), torch.tensor(B, dtype=torch.bfloat16)
    )
    assert half.dtype == torch.float32
    with pytest.raises(TypeError, match="requires grad"):
        ioukit.box_giou(a.requires_grad_(), a)


def test_array_kind():
    assert _dispatch.array_kind(np.zeros(3)) == "numpy"
    assert _dispatch.array_kind(DLPackOnly(np.zeros(3))) == "numpy"
    assert _dispatch.array_kind([1, 2]) == "numpy"

    class FakeCuda:
        __cuda_array_interface__ = {
            "shape": (1, 4),
            "typestr": "<f4",
            "data": (0, False),
            "version": 3,
        }

    assert _dispatch.array_kind(FakeCuda()) == "cuda"


def test_sparse_boxes_rejected():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="box_iou: sparse inputs are not supported"):
        ioukit.box_iou(sparse.csr_matrix(np.ones((2, 4))), sparse.csr_matrix(np.ones((2, 4))))


def test_mixed_kinds_are_a_type_error():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(
        TypeError, match="inputs must all live in one place, but 'a' is numpy, 'b' is sparse"
    ):
        ioukit.box_iou(A, sparse.csr_matrix(np.ones((2, 4))))


def test_missing_backend_message():
    class FakeCuda:
        __cuda_array_interface__ = {
            "shape": (1, 4),
            "typestr": "<f4",
            "data": (0, False),
            "version": 3,
        }

    with pytest.raises((TypeError, ImportError), match="cuda"):
        ioukit.box_iou(FakeCuda(), FakeCuda())
