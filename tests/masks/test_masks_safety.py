"""Hostile or confusing mask input for mask_iou and label_overlap: malformed sparse
structure, huge sparse images of RLEs, pycocotools' (H, W, N) layout, polygons,
crowd flags of the wrong length, bool label images (issues 11 and 17)."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from ioukit import rle
from ioukit._masks import intervals
from tests.helpers.fake_torch import FakeTensor
from tests.helpers.safety import run_isolated

SPARSE_CASES = """
from scipy import sparse
import ioukit

def csr():
    m = sparse.csr_array(np.array([[1, 1, 0, 0, 1, 0], [0, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]]))
    m.indices = m.indices.astype(np.int64)
    m.indptr = m.indptr.astype(np.int64)
    return m

good = csr()

def case(label, mutate, fmt="csr"):
    m = csr() if fmt == "csr" else (csr().tocsc() if fmt == "csc" else csr().tocoo())
    mutate(m)
    report(label, lambda: ioukit.mask_iou(m, good if fmt != "csc" else good))

def set_(attr, index, value):
    def f(m):
        getattr(m, attr)[index] = value
    return f

case("decreasing indptr", set_("indptr", 2, 1))
case("indptr past nnz", set_("indptr", 3, 99))
case("indptr not from 0", set_("indptr", 0, 1))
case("negative index", set_("indices", 2, -3))
case("index past H*W", set_("indices", 4, 6))
case("huge index", set_("indices", 0, 2**40))
case("csc decreasing indptr", set_("indptr", 2, 0), "csc")
case("csc row past N", set_("indices", 1, 3), "csc")
def coo_row(m):
    m.coords[0][1] = 7
case("coo row past N", coo_row, "coo")
def coo_col(m):
    m.coords[1][0] = -1
case("coo negative col", coo_col, "coo")
def short_indptr(m):
    m.indptr = m.indptr[:-1]
case("short indptr", short_indptr)
report("good", lambda: ioukit.mask_iou(csr(), good).round(3).tolist())
"""

EXPECTED = {
    "decreasing indptr": "indptr that decreases at row 1",
    "indptr past nnz": "indptr ending at 99",
    "indptr not from 0": "malformed sparse indptr",
    "negative index": "column index -3 at position 2, outside [0, 6)",
    "index past H*W": "column index 6 at position 4, outside [0, 6)",
    "huge index": "column index 1099511627776 at position 0",
    "csc decreasing indptr": "indptr that decreases at column 1",
    "csc row past N": "row index 3 at position 1, outside [0, 3)",
    "coo row past N": "row index 7 at position 1, outside [0, 3)",
    "coo negative col": "column index -1 at position 0",
    "short indptr": "expected 4 entries starting at 0",
}


def test_malformed_sparse_structure_is_a_value_error():
    reports = run_isolated(SPARSE_CASES)
    for label, text in EXPECTED.items():
        r = reports[label]
        assert not r["ok"], (label, r)
        assert r["type"] == "ValueError", (label, r)
        assert "argument 'a'" in r["message"] and text in r["message"], (label, r["message"])
    assert reports["good"]["ok"]
    assert reports["good"]["value"].startswith("[[1.0, 0.25, 0.2]")


def test_checked_sparse_formats_still_agree(rng):
    from scipy import sparse

    dense = rng.random((5, 6, 7)) < 0.4
    flat = dense.reshape(5, -1).astype(np.uint8)
    expected = ioukit.mask_iou(dense, dense)
    for convert in (sparse.csr_matrix, sparse.csc_array, sparse.coo_matrix, sparse.lil_array):
        m = convert(flat)
        np.testing.assert_allclose(ioukit.mask_iou(m, m), expected)
    bsr = sparse.bsr_array(flat, blocksize=(1, 6))
    np.testing.assert_allclose(ioukit.mask_iou(bsr, bsr), expected)


HUGE_RLES = """
import ioukit
from ioukit import rle
from ioukit._masks.rleset import from_counts_list, to_dicts
h = w = 120000
size = h * w
def two_pixels(p, q, size=size):  # pixels p < q (column-major), far apart
    return np.array([p, 1, q - p - 1, 1, size - q - 1], dtype=np.int64)
counts = [two_pixels(0, size - 1), two_pixels(5, size - 7), two_pixels(h - 1, size - h),
          two_pixels(3 * h + 4, 50 * h + 4)]
masks = to_dicts(from_counts_list([h] * 4, [w] * 4, counts))
small = to_dicts(from_counts_list([4] * 4, [4] * 4, [two_pixels(0, 15, 16)] * 4))
ioukit.mask_iou(small, small)  # compile first
cap_memory(300 * 2**20)
report("iou", lambda: ioukit.mask_iou(masks, masks).round(4).tolist())
report("area", lambda: rle.area(masks).tolist())
report("bbox", lambda: rle.to_bbox(masks[3]).tolist())
report("merge", lambda: rle.area(rle.merge(masks)))
"""


def test_rle_iou_memory_is_bounded_by_the_runs():
    """Four 2-pixel masks whose boxes span a 120000 x 120000 image: bit-packing their
    boxes would take 1.8 GB each; with 300 MB of headroom the run path must answer."""
    reports = run_isolated(HUGE_RLES)
    for label in ("iou", "area", "bbox", "merge"):
        assert reports[label]["ok"], reports[label]
    iou = np.array(eval(reports["iou"]["value"]))  # a list of floats
    np.testing.assert_array_equal(np.diag(iou), 1.0)
    assert iou[0, 1] == 0.0
    assert reports["area"]["value"] == "[2, 2, 2, 2]"
    assert reports["bbox"]["value"] == "[3.0, 4.0, 48.0, 1.0]"
    assert reports["merge"]["value"] == "8"


def test_rle_packing_budget_is_proportional_to_the_runs(monkeypatch):
    """The fast bit-packed path is kept where it fits the runs' budget (and only there)."""
    h = w = 3000
    far = {"size": [h, w], "counts": [0, 1, h * w - 2, 1]}
    calls = []
    original = intervals.packed_iou
    monkeypatch.setattr(intervals, "packed_iou", lambda *a: calls.append(1) or original(*a))
    assert ioukit.mask_iou([far], [far]).tolist() == [[1.0]]
    assert calls == []  # a 3000-column box for 4 runs: the interval path
    m = np.zeros((h, w), bool)
    m[100:400, 200:900] = True
    block = rle.encode(m)
    assert ioukit.mask_iou([block], [block]).tolist() == [[1.0]]
    assert calls == [1]  # 700 columns, 1400 runs: packed


def test_fortran_hwn_stack_is_refused_with_the_fix():
    stack = np.zeros((3, 20, 30), np.uint8)
    stack[:, 2:5, 3:9] = 1
    hwn = np.asfortranarray(np.moveaxis(stack, 0, -1))  # pycocotools' layout
    with pytest.raises(ValueError, match=r"np\.moveaxis\(masks, -1, 0\)"):
        ioukit.mask_iou(hwn, stack)
    with pytest.raises(ValueError, match=r"argument 'b' .*\(H, W, N\)"):
        ioukit.mask_iou(stack, hwn)
    with pytest.raises(ValueError, match=r"np\.moveaxis\(masks, -1, 0\)"):
        rle.encode(hwn)
    fixed = np.moveaxis(hwn, -1, 0)
    np.testing.assert_array_equal(ioukit.mask_iou(fixed, stack), ioukit.mask_iou(stack, stack))
    assert len(rle.encode(fixed)) == 3
    # a Fortran-ordered (N, H, W) stack whose first axis is the smallest is fine
    assert ioukit.mask_iou(np.asfortranarray(stack), stack).shape == (3, 3)


def test_polygon_given_to_mask_iou_points_to_from_polygons():
    good = np.zeros((1, 4, 4), bool)
    with pytest.raises(ValueError, match=r"looks like a polygon.*rle\.from_polygons"):
        ioukit.mask_iou([1.5, 2.0, 3.0, 2.0, 3.0, 3.5], good)
    with pytest.raises(ValueError, match=r"argument 'b' looks like a polygon"):
        ioukit.mask_iou(good, [[1.5, 2.0, 3.0, 2.0, 3.0, 3.5], [0, 0, 1, 0, 1, 1, 0, 1]])
    with pytest.raises(ValueError, match="looks like a polygon"):
        rle.encode([0.0, 0.0, 2.5, 0.0, 2.5, 2.5])
    # a 2-D 0/1 mask written as nested lists is still a mask
    assert ioukit.mask_iou([[0, 1], [1, 1]], [[0, 1], [1, 0]]).tolist() == [[2 / 3]]


def test_crowd_needs_exactly_one_flag_per_mask():
    a = np.zeros((2, 4, 4), bool)
    b = np.zeros((3, 4, 4), bool)
    for crowd in ([True], [True, False], True, [[True, False, True]], [0, 1, 0, 1]):
        with pytest.raises(ValueError, match=r"exactly one flag per mask of 'b' \(3,\)") as err:
            ioukit.mask_iou(a, b, crowd=crowd)
        assert "box" not in str(err.value)
        with pytest.raises(ValueError, match="exactly one flag per mask"):
            ioukit.mask_iou(rle.encode(a), rle.encode(b), crowd=crowd)
    assert ioukit.mask_iou(a, b, crowd=[0, 1, 0]).shape == (2, 3)


def test_label_overlap_on_bool_images_matches_integer_labels(rng):
    a = rng.random((30, 40)) < 0.5
    b = rng.random((30, 40)) < 0.3
    res = ioukit.label_overlap(a, b)
    ref = ioukit.label_overlap(a.astype(np.uint8), b.astype(np.uint8))
    np.testing.assert_allclose(res.iou, ref.iou)
    inter = (a & b).sum()
    assert res.iou[0, 0] == pytest.approx(inter / (a | b).sum())
    assert res.labels_a.tolist() == [True] and res.labels_b.tolist() == [True]
    mixed = ioukit.label_overlap(a, b.astype(np.int32) * 7)
    assert mixed.labels_b.tolist() == [7]
    np.testing.assert_allclose(mixed.iou, ref.iou)
    empty = ioukit.label_overlap(np.zeros((3, 3), bool), np.ones((3, 3), bool))
    assert empty.iou.shape == (0, 1)


def test_mask_iou_gives_torch_for_torch(fake_torch):
    a = np.zeros((1, 4, 4), np.uint8)
    a[0, :2, :2] = 1
    b = np.zeros((2, 4, 4), np.uint8)
    b[0, :2, :] = 1
    got = ioukit.mask_iou(FakeTensor(a), FakeTensor(b))
    assert isinstance(got, FakeTensor)
    np.testing.assert_array_equal(got.data, ioukit.mask_iou(a, b))
    with pytest.raises(TypeError, match=r"argument 'b' is a torch tensor that requires grad"):
        ioukit.mask_iou(FakeTensor(a), FakeTensor(b, requires_grad=True))
