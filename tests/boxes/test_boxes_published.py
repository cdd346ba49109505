"""Published inputs and outputs from other projects' test suites (expected_values.md, section A)."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit

INT_BOXES = [[0, 0, 100, 100], [0, 0, 50, 50], [200, 200, 300, 300], [0, 0, 25, 25]]
INT_BOXES2 = [[0, 0, 100, 100], [0, 0, 50, 50], [200, 200, 300, 300]]
FLOAT_BOXES = [
    [285.3538, 185.5758, 1193.5110, 851.4551],
    [285.1472, 188.7374, 1192.4984, 851.0669],
    [279.2440, 197.9812, 1189.4746, 849.2019],
]


# A1. torchvision test_ops.py
@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.float32, np.float64])
def test_torchvision_box_iou_int(dtype):
    got = ioukit.box_iou(np.array(INT_BOXES, dtype), np.array(INT_BOXES2, dtype))
    want = [[1.0, 0.25, 0.0], [0.25, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0625, 0.25, 0.0]]
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.parametrize("dtype,atol", [(np.float16, 2e-3), (np.float32, 1e-3), (np.float64, 1e-3)])
def test_torchvision_box_iou_float(dtype, atol):
    boxes = np.array(FLOAT_BOXES, dtype)
    want = [[1.0, 0.9933, 0.9673], [0.9933, 1.0, 0.9737], [0.9673, 0.9737, 1.0]]
    got = ioukit.box_iou(boxes, boxes)
    assert got.dtype == (np.float32 if dtype == np.float16 else dtype)  # torchvision's _upcast
    np.testing.assert_allclose(got.astype(np.float64), want, atol=atol)


def test_torchvision_giou():
    want = [
        [1.0, 0.25, -0.7778],
        [0.25, 1.0, -0.8611],
        [-0.7778, -0.8611, 1.0],
        [0.0625, 0.25, -0.8819],
    ]
    np.testing.assert_allclose(ioukit.box_giou(INT_BOXES, INT_BOXES2), want, atol=1e-4)
    # torchvision 0.29.1's actual float values (computed in expected_values.md)
    want_float = [[1.0, 0.9933, 0.9671], [0.9933, 1.0, 0.9736], [0.9671, 0.9736, 1.0]]
    np.testing.assert_allclose(ioukit.box_giou(FLOAT_BOXES, FLOAT_BOXES), want_float, atol=1e-4)


@pytest.mark.parametrize("func", [ioukit.box_diou, ioukit.box_ciou])
def test_torchvision_diou_ciou(func):
    want = [
        [1.0, 0.1875, -0.4444],
        [0.1875, 1.0, -0.5625],
        [-0.4444, -0.5625, 1.0],
        [-0.0781, 0.1875, -0.6267],
    ]
    np.testing.assert_allclose(func(INT_BOXES, INT_BOXES2), want, atol=1e-4)
    want_float = [[1, 0.9933, 0.9672], [0.9933, 1, 0.9737], [0.9672, 0.9737, 1]]
    np.testing.assert_allclose(func(FLOAT_BOXES, FLOAT_BOXES), want_float, atol=1e-4)


def test_torchvision_box_area():
    np.testing.assert_array_equal(ioukit.box_area([[0, 0, 100, 100], [0, 0, 0, 0]]), [10000, 0])
    np.testing.assert_allclose(
        ioukit.box_area(FLOAT_BOXES), [604723.0806, 600965.4666, 592761.0085], atol=1e-4
    )
    fp16 = np.array(
        [[2.825, 1.8625, 3.90, 4.85], [2.825, 4.875, 19.20, 5.10], [2.925, 1.80, 8.90, 4.90]],
        np.float16,
    )
    got = ioukit.box_area(fp16)
    assert got.dtype == np.float32  # torchvision upcasts half boxes (_upcast) before multiplying
    np.testing.assert_allclose(got.astype(np.float64), [3.2170, 3.7108, 18.5071], atol=0.01)


def test_torchvision_losses():
    box1, box2, box3, box4 = [-1, -1, 1, 1], [0, 0, 1, 1], [0, 1, 1, 2], [1, 1, 2, 2]
    giou = lambda p, q: float(ioukit.box_giou([p], [q])[0, 0])  # noqa: E731
    assert 1 - giou(box1, box1) == 0.0
    assert 1 - giou(box1, box2) == pytest.approx(0.75)
    assert 1 - giou(box2, box3) == pytest.approx(1.0)
    assert 1 - giou(box2, box4) == pytest.approx(1.5)
    losses = 1 - ioukit.box_giou([box2, box2], [box3, box4], aligned=True)
    assert losses.sum() == pytest.approx(2.5) and losses.mean() == pytest.approx(1.25)
    for func in (ioukit.box_diou, ioukit.box_ciou):
        loss = lambda p, q: 1 - float(func([p], [q])[0, 0])  # noqa: E731, B023
        assert loss(box1, box1) == pytest.approx(0.0, abs=1e-7)
        assert loss(box1, box2) == pytest.approx(0.8125, abs=1e-4)
        assert loss(box1, box3) == pytest.approx(1.1923, abs=1e-4)
        assert loss(box1, box4) == pytest.approx(1.2500, abs=1e-4)
        pair = 1 - func([box2, box2], [box3, box4], aligned=True)
        assert pair.mean() == pytest.approx(1.2250, abs=1e-4)
        assert pair.sum() == pytest.approx(2.4500, abs=1e-4)
    empty = ioukit.box_giou(np.zeros((0, 4)), np.zeros((0, 4)), aligned=True)
    assert empty.shape == (0,)


# A2. detectron2 test_boxes.py
def test_detectron2_pairwise_iou_and_ioa():
    boxes1 = [[0, 0, 1, 1], [0, 0, 1, 1]]
    boxes2 = [
        [0, 0, 1, 1],
        [0, 0, 0.5, 1],
        [0, 0, 1, 0.5],
        [0, 0, 0.5, 0.5],
        [0.5, 0.5, 1, 1],
        [0.5, 0.5, 1.5, 1.5],
    ]
    want_iou = [[1.0, 0.5, 0.5, 0.25, 0.25, 0.25 / (2 - 0.25)]] * 2
    want_ioa = [[1.0, 1.0, 1.0, 1.0, 1.0, 0.25]] * 2
    np.testing.assert_allclose(ioukit.box_iou(boxes1, boxes2), want_iou, rtol=1e-12)
    np.testing.assert_allclose(ioukit.box_ioa(boxes1, boxes2, over="b"), want_ioa, rtol=1e-12)


# A3. mmcv bbox_overlaps with offset=1
def test_mmcv_plus_one_convention():
    b1 = [[1, 1, 3, 4], [2, 2, 3, 4], [7, 7, 8, 8]]
    b2 = [[0, 2, 2, 5], [2, 1, 3, 3]]
    np.testing.assert_allclose(
        ioukit.box_iou(b1, b2, pixel_offset=1),
        [[0.33333334, 0.5], [0.2, 0.5], [0.0, 0.0]],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        ioukit.box_iou(b1[:2], b2, aligned=True, pixel_offset=1), [0.33333334, 0.5], rtol=1e-6
    )
    np.testing.assert_allclose(
        ioukit.box_iou(
            [[0, 0, 3, 3]], [[4, 0, 5, 3], [3, 0, 4, 3], [2, 0, 3, 3], [1, 0, 2, 3]], pixel_offset=1
        ),
        [[0, 0.2, 0.5, 0.5]],
        rtol=1e-6,
    )


# A4. supervision: IoU and IoS (intersection over the smaller box)
SUPERVISION_CASES = [
    ([100, 100, 200, 200], [150, 150, 250, 250], 0.14285714285714285, 0.25),
    ([0, 0, 10, 10], [0, 0, 10, 10], 1.0, 1.0),
    ([0, 0, 10, 10], [20, 20, 30, 30], 0.0, 0.0),
    ([0, 0, 10, 10], [10, 0, 20, 10], 0.0, 0.0),
    ([0, 0, 10, 10], [2, 2, 8, 8], 0.36, 1.0),
    ([0, 0, 0, 0], [0, 0, 10, 10], 0.0, 0.0),
    ([0, 0, 0, 0], [0, 0, 0, 0], 0.0, 0.0),
    ([-5, 0, 5, 10], [0, 0, 10, 10], 1 / 3, 0.5),
    ([0, 0, 1, 1], [0.5, 0.5, 1.5, 1.5], 0.14285714285714285, 0.25),
]


@pytest.mark.parametrize("true_box,det_box,iou,ios", SUPERVISION_CASES)
def test_supervision_single_pairs(true_box, det_box, iou, ios):
    assert float(ioukit.box_iou([true_box], [det_box])[0, 0]) == pytest.approx(iou, rel=1e-6)
    assert float(ioukit.box_ioa([true_box], [det_box], over="min")[0, 0]) == pytest.approx(
        ios, rel=1e-6
    )


def test_supervision_batch_and_empty():
    true = [[0, 0, 10, 10], [10, 10, 20, 20]]
    det = [[0, 0, 10, 10], [5, 5, 15, 15]]
    np.testing.assert_allclose(
        ioukit.box_iou(true, det), [[1.0, 0.14285715], [0.0, 0.14285715]], rtol=1e-6
    )
    np.testing.assert_allclose(
        ioukit.box_ioa(true, det, over="min"), [[1.0, 0.25], [0.0, 0.25]], rtol=1e-6
    )
    assert ioukit.box_iou(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 0)
    assert ioukit.box_iou(np.zeros((1, 4)), np.zeros((0, 4))).shape == (1, 0)
    assert ioukit.box_iou(np.zeros((0, 4)), np.zeros((1, 4))).shape == (0, 1)
    with pytest.raises(ValueError, match="over"):
        ioukit.box_ioa(true, det, over="bogus")


# A5. torchmetrics
def test_torchmetrics_corner_case_float32():
    got = ioukit.box_iou(
        np.array([[296.55, 93.96, 314.97, 152.79]], np.float32),
        np.array([[300, 100, 315, 150]], np.float32),
    )
    assert got.dtype == np.float32
    assert float(got[0, 0]) == pytest.approx(0.6897670030593872, abs=1e-7)


@pytest.mark.parametrize("fmt,want", [("xyxy", 0.25), ("xywh", 1 / 7), ("cxcywh", 1 / 7)])
def test_torchmetrics_box_formats(fmt, want):
    assert float(
        ioukit.box_iou([[0.5, 0.5, 1, 1]], [[0, 0, 1, 1]], fmt=fmt)[0, 0]
    ) == pytest.approx(want, abs=1e-3)


# A6. pycocotools maskUtils.iou on xywh boxes
def test_pycocotools_xywh_published():
    boxes = [[3, 5, 4, 1], [5, 3, 3, 5], [8, 5, 8, 5]]
    want = [[1.0, 0.117647, 0.0], [0.117647, 1.0, 0.0], [0.0, 0.0, 1.0]]
    np.testing.assert_allclose(ioukit.box_iou(boxes, boxes, fmt="xywh"), want, atol=1e-6)
