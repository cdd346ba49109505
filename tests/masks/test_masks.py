"""mask_iou on every representation against the NumPy reference, edge cases and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from ioukit import rle
from tests.helpers import reference as ref
from tests.helpers.masks import ellipse_masks

sparse = pytest.importorskip("scipy.sparse")


def as_sparse(masks, fmt="csr"):
    flat = masks.reshape(len(masks), -1).astype(np.uint8)
    return {
        "csr": sparse.csr_matrix,
        "csc": sparse.csc_matrix,
        "coo": sparse.coo_matrix,
        "csr_array": sparse.csr_array,
        "coo_array": sparse.coo_array,
    }[fmt](flat)


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int32, np.int64, np.uint16])
def test_dense_matches_reference(rng, dtype):
    a, b = (
        ellipse_masks(rng, 20, 40, 150).astype(dtype),
        ellipse_masks(rng, 15, 40, 150).astype(dtype),
    )
    crowd = rng.random(15) < 0.3
    np.testing.assert_allclose(ioukit.mask_iou(a, b), ref.mask_iou(a, b), rtol=1e-15)
    np.testing.assert_allclose(
        ioukit.mask_iou(a, b, crowd=crowd), ref.mask_iou(a, b, crowd), rtol=1e-15
    )


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "csr_array", "coo_array"])
def test_sparse_formats(rng, fmt):
    a, b = ellipse_masks(rng, 12), ellipse_masks(rng, 9)
    np.testing.assert_allclose(
        ioukit.mask_iou(as_sparse(a, fmt), as_sparse(b, fmt)), ref.mask_iou(a, b), rtol=1e-15
    )


def test_sparse_explicit_zeros_and_unsorted_indices():
    m = sparse.csr_matrix(
        (np.array([1, 0, 1], np.uint8), np.array([5, 2, 3]), np.array([0, 3])), shape=(1, 10)
    )
    other = sparse.csr_matrix(
        (np.ones(2, np.uint8), np.array([3, 5]), np.array([0, 2])), shape=(1, 10)
    )
    assert ioukit.mask_iou(m, other)[0, 0] == 1.0


def test_all_representations_agree(rng):
    a, b = ellipse_masks(rng, 17), ellipse_masks(rng, 11)
    want = ioukit.mask_iou(a, b)
    np.testing.assert_array_equal(ioukit.mask_iou(rle.encode(a), rle.encode(b)), want)
    np.testing.assert_array_equal(ioukit.mask_iou(as_sparse(a), as_sparse(b)), want)
    np.testing.assert_array_equal(ioukit.mask_iou(a, rle.encode(b)), want)
    np.testing.assert_array_equal(ioukit.mask_iou(rle.encode(a), b), want)
    uncompressed = [{"size": list(m.shape), "counts": ref.rle_counts(m)} for m in b]
    np.testing.assert_array_equal(ioukit.mask_iou(a, uncompressed), want)


def test_wide_masks_cross_word_boundaries(rng):
    a, b = ellipse_masks(rng, 10, 9, 300), ellipse_masks(rng, 10, 9, 300)
    np.testing.assert_allclose(ioukit.mask_iou(a, b), ref.mask_iou(a, b), rtol=1e-15)


def test_single_masks_and_empty_stacks(rng):
    a = ellipse_masks(rng, 3)
    assert ioukit.mask_iou(a[0], a).shape == (1, 3)
    assert ioukit.mask_iou(rle.encode(a[0]), rle.encode(a)).shape == (1, 3)
    assert ioukit.mask_iou(a[:0], a).shape == (0, 3)
    assert ioukit.mask_iou(a, a[:0]).shape == (3, 0)
    assert ioukit.mask_iou(rle.encode(a), []).shape == (3, 0)
    empty = np.zeros((2, 5, 5), bool)
    np.testing.assert_array_equal(ioukit.mask_iou(empty, empty), 0.0)  # union 0: IoU 0, not NaN


def test_identical_and_disjoint():
    m = np.zeros((2, 8, 8), bool)
    m[0, :4] = True
    m[1, 4:] = True
    np.testing.assert_array_equal(ioukit.mask_iou(m, m), np.eye(2))


def test_bad_inputs():
    a = np.zeros((2, 4, 4), bool)
    with pytest.raises(ValueError, match=r"masks of 'a' are 4x4 but masks of 'b' are 4x5"):
        ioukit.mask_iou(a, np.zeros((1, 4, 5), bool))
    with pytest.raises(ValueError, match=r"masks of 'a' are 4x4 but masks of 'b' are 5x4"):
        ioukit.mask_iou(rle.encode(a), rle.encode(np.zeros((1, 5, 4), bool)))
    with pytest.raises(
        ValueError, match=r"must be one mask \(H, W\) or a stack \(N, H, W\), got shape \(4,\)"
    ):
        ioukit.mask_iou(np.zeros(4, bool), a)
    bad = np.zeros((3, 4, 4), np.uint8)
    bad[2, 1, 1] = 2
    with pytest.raises(ValueError, match="argument 'b' mask 2 holds values other than 0 and 1"):
        ioukit.mask_iou(a, bad)
    with pytest.raises(ValueError, match="argument 'a' mask 0 holds values other than 0 and 1"):
        ioukit.mask_iou(np.full((1, 4, 4), -1, np.int32), a)
    with pytest.raises(TypeError, match="threshold probabilities first"):
        ioukit.mask_iou(a.astype(np.float32), a)
    with pytest.raises(ValueError, match=r"crowd has shape \(3,\)"):
        ioukit.mask_iou(a, a, crowd=[True, False, True])
    with pytest.raises(TypeError, match="cannot mix sparse masks with dense masks"):
        ioukit.mask_iou(as_sparse(a), a)
    with pytest.raises(ValueError, match="row 1 holds values other than 0 and 1"):
        ioukit.mask_iou(
            sparse.csr_matrix(np.array([[0, 1], [0, 3]])), sparse.csr_matrix(np.ones((1, 2)))
        )
    with pytest.raises(ValueError, match=r"sparse masks must be \(N, H\*W\)"):
        ioukit.mask_iou(sparse.csr_matrix(np.ones((1, 3))), sparse.csr_matrix(np.ones((1, 4))))


def test_bad_rle_inputs():
    good = rle.encode(np.eye(4, dtype=bool))
    with pytest.raises(ValueError, match="item 0 has no 'counts' key"):
        ioukit.mask_iou([{"size": [4, 4]}], good)
    with pytest.raises(ValueError, match="item 0 has size"):
        ioukit.mask_iou([{"size": [4], "counts": b"0"}], good)
    with pytest.raises(ValueError, match="item 0 has size"):
        ioukit.mask_iou([{"size": [-4, 4], "counts": b"0"}], good)
    with pytest.raises(TypeError, match="item 1 must be a dict"):
        ioukit.mask_iou([good, "x"], good)
    with pytest.raises(ValueError, match="truncated"):
        ioukit.mask_iou({"size": [4, 4], "counts": good["counts"][:-1] + b"o"}, good)
    with pytest.raises(ValueError, match="invalid character b' ' at byte 1"):
        ioukit.mask_iou({"size": [4, 4], "counts": b"0 "}, good)
    with pytest.raises(ValueError, match="do not add up"):
        ioukit.mask_iou({"size": [4, 4], "counts": [1, 2]}, good)
    with pytest.raises(ValueError, match="negative"):
        ioukit.mask_iou({"size": [4, 4], "counts": [20, -4]}, good)
    with pytest.raises(ValueError, match="neither a compressed string nor a flat list"):
        ioukit.mask_iou({"size": [4, 4], "counts": [[1, 2]]}, good)
    with pytest.raises(ValueError, match="non-ASCII"):
        ioukit.mask_iou({"size": [4, 4], "counts": "0é"}, good)
    with pytest.raises(ValueError, match="mixes mask sizes"):
        ioukit.mask_iou([good, rle.encode(np.eye(5, dtype=bool))], good)


def test_rle_codec_errors():
    with pytest.raises(ValueError, match="fewer than 3 points"):
        rle.from_polygons([[0, 0, 1, 1]], 5, 5)
    with pytest.raises(ValueError, match="odd number of coordinates"):
        rle.from_polygons([[0, 0, 1, 1, 2]], 5, 5)
    with pytest.raises(ValueError, match="NaN or infinite"):
        rle.from_polygons([[0, 0, 1, np.nan, 2, 2]], 5, 5)
    with pytest.raises(ValueError, match="h and w must be non-negative integers"):
        rle.from_polygons([[0, 0, 1, 1, 2, 2]], -1, 5)
    with pytest.raises(ValueError, match="negative width"):
        rle.from_bbox([[0, 0, -1, 2]], 5, 5)
    with pytest.raises(ValueError, match="is empty"):
        rle.merge([])
    with pytest.raises(ValueError, match="neither a non-empty polygon list nor an RLE dict"):
        rle.from_segmentation([], 5, 5)
    with pytest.raises(TypeError, match="must be an RLE dict or a list of them"):
        rle.decode("abc")


def test_decode_roundtrip_and_sizes(rng):
    masks = ellipse_masks(rng, 7, 13, 29)
    np.testing.assert_array_equal(rle.decode(rle.encode(masks)), masks)
    assert rle.decode(rle.encode(masks[0])).shape == (13, 29)
    np.testing.assert_array_equal(rle.area(rle.encode(masks)), masks.sum(axis=(1, 2)))
    assert rle.encode(np.zeros((0, 3), bool)) == {"size": [0, 3], "counts": b"0"}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64])
def test_label_overlap_matches_reference(rng, dtype):
    a = rng.integers(0, 6, (20, 30)).astype(dtype)
    b = rng.integers(0, 4, (20, 30)).astype(dtype)
    got = ioukit.label_overlap(a, b)
    want, ids_a, ids_b = ref.label_overlap(a, b)
    np.testing.assert_array_equal(got.labels_a, ids_a)
    np.testing.assert_array_equal(got.labels_b, ids_b)
    np.testing.assert_allclose(got.iou, want, rtol=1e-15)


def test_label_overlap_sparse_ids_volumes_and_negatives(rng):
    a = np.where(rng.random((4, 10, 10)) < 0.5, 26001, 24000).astype(np.int64)
    a[0, 0, 0] = 0
    b = rng.integers(-2, 3, (4, 10, 10)) * 10**9  # ids too large for a lookup table, negatives
    got = ioukit.label_overlap(a, b)
    want, ids_a, ids_b = ref.label_overlap(a, b)
    np.testing.assert_array_equal(got.labels_b, ids_b)
    np.testing.assert_allclose(got.iou, want, rtol=1e-15)


def test_label_overlap_errors():
    with pytest.raises(ValueError, match="shapes"):
        ioukit.label_overlap(np.zeros((2, 2), int), np.zeros((2, 3), int))
    with pytest.raises(TypeError, match="integer labels"):
        ioukit.label_overlap(np.zeros((2, 2)), np.zeros((2, 2), int))
    empty = ioukit.label_overlap(np.zeros((3, 3), int), np.zeros((3, 3), int))
    assert empty.iou.shape == (0, 0)


def test_run_interval_fallback_for_huge_masks(rng, monkeypatch):
    """Past the packed-bits memory budget, dense and RLE inputs intersect runs instead."""
    from ioukit._masks import dense as _dense

    a, b = ellipse_masks(rng, 14), ellipse_masks(rng, 9)
    crowd = rng.random(9) < 0.4
    want = ref.mask_iou(a, b, crowd)
    monkeypatch.setattr(_dense, "PACKED_BUDGET_WORDS", 0)
    np.testing.assert_allclose(ioukit.mask_iou(a, b, crowd=crowd), want, rtol=1e-15)
    np.testing.assert_allclose(
        ioukit.mask_iou(rle.encode(a), rle.encode(b), crowd=crowd), want, rtol=1e-15
    )
