"""Published RLE / mask values (expected_values.md, section B)."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from ioukit import rle

BBOXES = [
    [3, 5, 4, 1],
    [5, 3, 3, 5],
    [8, 5, 8, 5],
    [3, 4, 7, 3],
    [2, 5, 2, 7],
    [8, 1, 9, 9],
    [8, 1, 9, 6],
    [7, 1, 9, 4],
    [4, 5, 4, 5],
    [2, 4, 5, 4],
]
BBOX_COUNTS = [
    b"Q21c000000o7",
    b"W35?000]7",
    b"U55?0000000000000[2",
    b"P23a000000000000T6",
    b"]17=0k9",
    b"Q59;000000000000000k1",
    b"Q56>000000000000000k1",
    b"]44`0000000000000000_2",
    b"e25?00000[7",
    b"\\14`00000000P8",
]
BBOX_AREAS = [4, 15, 40, 21, 14, 81, 54, 36, 20, 20]
POLYS = [
    [7, 8, 9, 3, 7, 1, 5, 1, 5, 8, 3, 4, 4, 7, 7, 8],
    [4, 4, 7, 5, 5, 9, 3, 1, 2, 3, 1, 6, 6, 2, 2, 9],
    [5, 3, 7, 1, 2, 5, 4, 9, 6, 6, 4, 8, 2, 9, 7, 4],
    [5, 1, 1, 4, 7, 9, 2, 3, 6, 9, 7, 4, 3, 8, 1, 2],
    [7, 5, 5, 8, 5, 3, 8, 8, 2, 6, 8, 7, 4, 6, 2, 6],
    [8, 8, 4, 7, 6, 3, 9, 4, 9, 4, 7, 8, 7, 8, 2, 9],
    [2, 8, 8, 6, 5, 8, 4, 8, 9, 4, 8, 3, 4, 5, 9, 7],
    [4, 1, 8, 3, 8, 7, 9, 1, 3, 7, 5, 4, 9, 1, 9, 7],
    [1, 4, 2, 9, 3, 4, 5, 5, 1, 4, 2, 1, 3, 1, 8, 8],
    [6, 6, 4, 5, 9, 9, 1, 9, 8, 6, 5, 4, 3, 4, 7, 1],
]
POLY_COUNTS = [
    b"U36>1OO2Lm6",
    b"h02`012N_O0`00@1>OB3`0MQ8",
    b"]1120=210AN>1BOT9",
    b"f01c01^OO>0E0R11[O0AO]8",
    b"e22a0O@0b0010X7",
    b"f2110>212OO2Mj6",
    b"S21c00M1AO?110@O?0l6",
    b"V31c010000g6",
    b"f04?OBN?131O01N10X7",
    b"`11c00K0E1:0F090F2a0MX7",
]
POLY_AREAS = [21, 16, 12, 11, 6, 15, 11, 7, 18, 16]


def test_bbox_rles():
    rles = rle.from_bbox(BBOXES, 20, 20)
    assert [r["counts"] for r in rles] == BBOX_COUNTS
    assert all(r["size"] == [20, 20] for r in rles)
    np.testing.assert_array_equal(rle.area(rles), BBOX_AREAS)
    np.testing.assert_array_equal(rle.to_bbox(rles), BBOXES)


def test_polygon_rles():
    rles = rle.from_polygons(POLYS, 20, 20)
    assert [r["counts"] for r in rles] == POLY_COUNTS
    np.testing.assert_array_equal(rle.area(rles), POLY_AREAS)


@pytest.mark.parametrize(
    "crowd,want",
    [
        ([1, 1], [[1.0, 0.5], [0.13333333, 1.0]]),
        ([0, 0], [[1.0, 0.11764706], [0.11764706, 1.0]]),
        ([1, 0], [[1.0, 0.11764706], [0.13333333, 1.0]]),
        ([0, 1], [[1.0, 0.5], [0.11764706, 1.0]]),
    ],
)
def test_crowd_iou(crowd, want):
    rles = [{"size": [20, 20], "counts": c} for c in BBOX_COUNTS[:2]]
    np.testing.assert_allclose(ioukit.mask_iou(rles, rles, crowd=crowd), want, rtol=1e-7)


def test_polygon_iou():
    rles = [{"size": [20, 20], "counts": c} for c in POLY_COUNTS[:3]]
    want = [[1.0, 0.1562, 0.1], [0.1562, 1.0, 0.2174], [0.1, 0.2174, 1.0]]
    np.testing.assert_array_equal(ioukit.mask_iou(rles, rles).round(4), want)


def test_merge():
    rles = [{"size": [20, 20], "counts": c} for c in BBOX_COUNTS]
    assert rle.merge(rles[:1]) == rles[0]
    assert rle.merge(rles)["counts"] == b"\\18<00N1100N2000000000000000000k1"
    assert rle.merge(rles, intersect=True)["counts"] == b"`<"


def test_uncompressed():
    raw = {"size": [1350, 1080], "counts": [0, 5, 5, 5, 5, 2, 3, 5, 2, 3, 5, 2, 3, 55]}
    # pycocotools compresses without checking that the counts add up to h * w
    assert rle.from_uncompressed(raw, validate=False)["counts"] == b"05500MN3ON3ONe1"
    with pytest.raises(ValueError, match="do not add up to h \\* w"):
        rle.from_uncompressed(raw)


def test_to_bbox_full_and_partial_image():
    full = rle.encode(np.array([[0, 1], [1, 1]], np.uint8))
    np.testing.assert_array_equal(rle.to_bbox(full), [0, 0, 2, 2])
    mask = np.zeros((10, 10), np.uint8)
    mask[2:4, 3:6] = 1
    np.testing.assert_array_equal(rle.to_bbox(rle.encode(mask)), [3, 2, 3, 2])


def test_zero_leading_rle():
    mask = np.zeros((6, 5), np.uint8)
    mask[0, 0] = 1
    mask[3:, 2:] = 1
    encoded = rle.encode(mask)
    assert rle.decode(encoded).tolist() == mask.tolist()
    assert rle.decode({"size": [6, 5], "counts": [0, 1, 29]}).sum() == 1


def test_invalid_counts_raise():
    good = rle.encode(np.eye(32, dtype=np.uint8))["counts"]
    with pytest.raises(ValueError, match="corrupt RLE"):
        rle.decode({"size": [1024, 1024], "counts": good})  # wrong size: counts do not add up
    with pytest.raises(ValueError, match="corrupt RLE"):
        rle.decode({"size": [32, 32], "counts": good[:-3] + b"\x7f"})


# B2. deeplab2 COCO instance AP: one dense mask pair
def test_deeplab2_dense_mask_iou():
    gt = np.array([[0, 0, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]], bool)
    det = np.array([[0, 0, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 0]], bool)
    assert ioukit.mask_iou(det, gt)[0, 0] == pytest.approx(0.8)
    assert ioukit.mask_iou(rle.encode(det), rle.encode(gt))[0, 0] == pytest.approx(0.8)


# B3. tensorflow-models panoptic quality: segment IoU on instance-id maps
GT = [
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
    [1, 1, 2, 2, 2, 1],
    [1, 2, 2, 2, 2, 1],
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
]
GOOD = [
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
    [1, 2, 2, 2, 2, 1],
    [1, 2, 2, 2, 1, 1],
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
]
BAD = [
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 2, 2, 1],
    [1, 1, 1, 2, 2, 1],
    [1, 1, 1, 2, 2, 1],
    [1, 1, 1, 1, 1, 1],
]


def test_panoptic_segment_iou():
    good = ioukit.label_overlap(GT, GOOD)
    assert good.iou[0, 0] == pytest.approx(28 / 30) and good.iou[1, 1] == pytest.approx(6 / 8)
    bad = ioukit.label_overlap(GT, BAD)
    assert bad.iou[0, 0] == pytest.approx(27 / 32)
    assert bad.iou[1, 1] <= 0.5  # segment 2 does not match
