"""Semantic segmentation: confusion matrix, IoU conventions, streaming, real label maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ioukit.semantic import (
    SegmentationIoU,
    binary_iou,
    confusion_matrix,
    iou_from_confusion,
    scores_from_confusion,
)
from tests.helpers.fake_torch import FakeTensor
from tests.helpers.panoptic import CLASS_COLORS


def bincount_reference(target, pred, c, ignore=None):
    t = np.asarray(target).ravel().astype(np.int64)
    p = np.asarray(pred).ravel().astype(np.int64)
    keep = np.ones(t.shape, bool) if ignore is None else t != ignore
    return np.bincount(t[keep] * c + p[keep], minlength=c * c).reshape(c, c)


# D1. HuggingFace evaluate mean_iou README example
HF = [
    ([[1, 2], [3, 4], [5, 255]], [[0, 3], [5, 4], [6, 255]]),
    ([[2, 7], [9, 2], [3, 6]], [[1, 7], [9, 2], [3, 6]]),
    ([[2, 2, 3], [8, 2, 4], [3, 255, 2]], [[1, 2, 2], [8, 2, 1], [3, 255, 1]]),
]


def test_huggingface_evaluate_example():
    metric = SegmentationIoU(num_classes=10, ignore_index=255)
    for pred, ref in HF:
        metric.update(ref, pred)
    r = metric.compute()
    assert r.miou == pytest.approx(0.47750000000000004, abs=1e-15)
    assert r.mean_accuracy == pytest.approx(0.5916666666666666, abs=1e-15)
    assert r.pixel_accuracy == pytest.approx(0.5263157894736842, abs=1e-15)
    np.testing.assert_allclose(r.iou, [0.0, 0.0, 0.375, 0.4, 0.5, 0.0, 0.5, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(
        r.accuracy, [0.0, 0.0, 0.75, 0.66666667, 1.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    )


def test_huggingface_single_image():
    pred, ref = HF[2]
    r = scores_from_confusion(confusion_matrix(ref, pred, 10, 255))
    assert r.miou == pytest.approx(0.38)
    assert r.mean_accuracy == pytest.approx(2 / 3)
    assert r.pixel_accuracy == pytest.approx(0.5)
    np.testing.assert_allclose(r.iou, [np.nan, 0, 0.4, 0.5, 0, np.nan, np.nan, np.nan, 1, np.nan])


# D2. torchmetrics MeanIoU absent classes
def test_torchmetrics_absent_class_as_minus_one():
    cm = confusion_matrix([[0, 1], [1, 0]], [[0, 1], [1, 0]], num_classes=3)
    np.testing.assert_array_equal(iou_from_confusion(cm, absent=-1.0), [1.0, 1.0, -1.0])
    assert scores_from_confusion(cm, absent=-1.0).miou == 1.0
    perfect = [[0, 1], [1, 0], [2, 2]]
    np.testing.assert_array_equal(
        iou_from_confusion(confusion_matrix(perfect, perfect, 3)), [1, 1, 1]
    )


# D3. ADE20K scene-parsing devkit: absent classes count as 0 over all 150 classes
def test_ade20k_devkit(shared_data):
    from ioukit.labelmaps import read_label_map

    folder = shared_data / "sceneparsing/sampleData/annotations"
    metric = SegmentationIoU(num_classes=151, ignore_index=0, absent="zero")
    for name in ("ADE_val_00000001.png", "ADE_val_00000002.png", "ADE_val_00000003.png"):
        gt = read_label_map(folder / name)
        metric.update(gt, gt)  # the devkit's sample predictions are the annotations
    result = metric.compute()
    assert round(float(result.iou[1:].mean()), 4) == 0.1000  # classes 1..150, as the devkit
    assert result.pixel_accuracy == 1.0
    present = np.flatnonzero(result.iou[1:] > 0) + 1
    assert present.tolist() == [1, 2, 3, 5, 7, 10, 12, 14, 18, 21, 44, 81, 88, 97, 103]


CITYSCAPES_TRAIN_IDS = {
    7: 0,
    8: 1,
    11: 2,
    12: 3,
    13: 4,
    17: 5,
    19: 6,
    20: 7,
    21: 8,
    22: 9,
    23: 10,
    24: 11,
    25: 12,
    26: 13,
    27: 14,
    28: 15,
    31: 16,
    32: 17,
    33: 18,
}


def test_cityscapes_sample(shared_data):
    from ioukit.labelmaps import read_label_map

    folder = shared_data / "mmsegmentation/tests/data/pseudo_cityscapes_dataset/gtFine"
    target = read_label_map(folder / "frankfurt_000000_000294_gtFine_labelTrainIds.png")
    label_ids = read_label_map(folder / "frankfurt_000000_000294_gtFine_labelIds.png")
    lut = np.zeros(256, np.uint8)  # ids without a train id predicted as class 0
    for label_id, train_id in CITYSCAPES_TRAIN_IDS.items():
        lut[label_id] = train_id
    pred = lut[label_ids]
    cm = confusion_matrix(target, pred, 19, ignore_index=255)
    np.testing.assert_array_equal(cm, bincount_reference(target, pred, 19, 255))
    assert scores_from_confusion(cm).pixel_accuracy > 0.99


def test_deeplab_colour_maps(shared_data):
    from ioukit.labelmaps import read_label_map

    folder = shared_data / "deeplab2/evaluation/testdata"
    pred = read_label_map(folder / "team_pred_class.png", colors=CLASS_COLORS)
    instances = read_label_map(folder / "team_gt_instance.png", mode="L")
    to_class = {0: 0, 47: 1, 97: 1, 133: 1, 150: 1, 174: 1, 198: 2, 215: 1, 244: 1, 255: 1}
    lut = np.zeros(256, np.uint8)
    for k, v in to_class.items():
        lut[k] = v
    target = lut[instances]
    assert set(np.unique(pred).tolist()) <= set(range(7))
    cm = confusion_matrix(target, pred, 7)
    np.testing.assert_array_equal(cm, bincount_reference(target, pred, 7))
    assert cm.sum() == target.size


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32, np.int64, np.uint64]
)
@pytest.mark.parametrize("shape", [(1,), (7,), (64,), (65,), (3, 50, 37), (200, 301)])
def test_matches_bincount_for_every_dtype(rng, dtype, shape):
    target = rng.integers(0, 6, shape).astype(dtype)
    pred = rng.integers(0, 6, shape).astype(dtype)
    target[rng.random(shape) < 0.1] = 7  # the ignore label
    np.testing.assert_array_equal(
        confusion_matrix(target, pred, 6, ignore_index=7), bincount_reference(target, pred, 6, 7)
    )


def test_long_runs_and_chunk_boundaries():
    target = np.repeat(np.arange(5, dtype=np.uint8), 300_001)
    pred = np.roll(target, 1234)
    np.testing.assert_array_equal(
        confusion_matrix(target, pred, 5), bincount_reference(target, pred, 5)
    )


label_maps = arrays(
    np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40)), elements=st.integers(0, 4)
)


@settings(max_examples=80, deadline=None)
@given(label_maps)
def test_self_comparison_is_perfect(labels):
    r = scores_from_confusion(confusion_matrix(labels, labels, 5))
    present = np.isin(np.arange(5), labels)
    np.testing.assert_array_equal(r.iou[present], 1.0)
    assert np.isnan(r.iou[~present]).all()
    assert r.miou == 1.0 and r.pixel_accuracy == 1.0


@settings(max_examples=80, deadline=None)
@given(label_maps, st.data())
def test_merge_of_halves_equals_whole(target, data):
    pred = data.draw(arrays(np.uint8, target.shape, elements=st.integers(0, 4)))
    cut = data.draw(st.integers(0, target.shape[0]))
    whole = SegmentationIoU(5, ignore_index=4)
    whole.update(target, pred)
    first, second = SegmentationIoU(5, ignore_index=4), SegmentationIoU(5, ignore_index=4)
    first.update(target[:cut], pred[:cut])
    second.update(target[cut:], pred[cut:])
    merged = first.merge(second).compute()
    np.testing.assert_array_equal(merged.confusion, whole.compute().confusion)
    np.testing.assert_array_equal(merged.iou, whole.compute().iou)


def test_streaming_reset_batches_and_names():
    metric = SegmentationIoU(3, ignore_index=255, class_names=["road", "car", "sky"])
    batch = np.array([[[0, 1], [2, 255]], [[0, 0], [1, 1]]], np.uint8)
    metric.update(batch, np.zeros_like(batch))
    assert metric.images == 2
    result = metric.compute()
    assert result.class_names == ("road", "car", "sky")
    assert set(result.as_dict()["iou"]) == {"road", "car", "sky"}
    assert result.fwiou == pytest.approx(3 / 7 * (3 / 7))
    metric.reset()
    assert metric.confusion.sum() == 0 and metric.images == 0
    assert math.isnan(metric.compute().miou)


def test_counts_are_int64_without_overflow():
    metric = SegmentationIoU(2)
    metric.confusion[...] = [[2**40, 2**33], [0, 2**41]]
    other = SegmentationIoU(2)
    other.update(np.ones(1000, np.uint8), np.ones(1000, np.uint8))
    metric.merge(other)
    assert metric.confusion.dtype == np.int64 and metric.confusion[1, 1] == 2**41 + 1000
    assert metric.compute().iou[1] == pytest.approx((2**41 + 1000) / (2**41 + 1000 + 2**33))


def test_binary_iou():
    assert binary_iou([[1, 1, 0, 0]], [[1, 0, 1, 0]]) == pytest.approx(1 / 3)
    assert binary_iou(np.ones((3, 3), bool), np.ones((3, 3), bool)) == 1.0
    assert math.isnan(binary_iou(np.zeros(4, bool), np.zeros(4, bool)))
    assert binary_iou([1, 1, 255], [1, 0, 1], ignore_index=255) == 0.5
    with pytest.raises(ValueError, match="pred label 2 at index 1 is outside \\[0, 2\\)"):
        binary_iou([0, 1], [0, 2])


def test_bad_input():
    with pytest.raises(ValueError, match=r"target has shape \(2,\) but pred has shape \(3,\)"):
        confusion_matrix([0, 1], [0, 1, 1], 2)
    with pytest.raises(
        ValueError,
        match=r"target label 5 at index \(1, 0\) is outside \[0, 3\) \(pass ignore_index",
    ):
        confusion_matrix([[0, 1], [5, 1]], [[0, 1], [1, 1]], 3)
    with pytest.raises(ValueError, match=r"target label -1 at index 2"):
        confusion_matrix(
            np.array([0, 1, -1], np.int16), np.array([0, 1, 1], np.int16), 3, ignore_index=255
        )
    with pytest.raises(ValueError, match=r"pred label 9 at index 0"):
        confusion_matrix(np.array([2], np.int64), np.array([9], np.int64), 3)
    with pytest.raises(TypeError, match="must hold integer labels, got dtype float64"):
        confusion_matrix(np.zeros(3), np.zeros(3, int), 2)
    with pytest.raises(ValueError, match=r"num_classes must be an integer in \[1, 16384\].*got 0"):
        confusion_matrix([0], [0], 0)
    with pytest.raises(
        ValueError, match="num_classes must be an integer >= 1, got 2.5 \\(float\\)"
    ):
        SegmentationIoU(2.5)
    with pytest.raises(ValueError, match="absent='sometimes'"):
        iou_from_confusion(np.eye(2), absent="sometimes")
    with pytest.raises(ValueError, match="square"):
        iou_from_confusion(np.ones((2, 3)))
    with pytest.raises(ValueError, match="differ in num_classes, ignore_index or per_sample"):
        SegmentationIoU(3).merge(SegmentationIoU(4))
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        SegmentationIoU(3, class_names=["a", "b"])


def test_ignore_index_skips_any_prediction():
    assert confusion_matrix([255, 0], [200, 0], 2, ignore_index=255).sum() == 1
    assert confusion_matrix(np.array([], np.uint8), np.array([], np.uint8), 2).shape == (2, 2)


def test_read_label_map(tmp_path):
    from PIL import Image

    from ioukit.labelmaps import read_label_map

    grey = np.array([[0, 3], [255, 1]], np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    np.testing.assert_array_equal(read_label_map(tmp_path / "grey.png"), grey)
    wide = np.array([[0, 24000], [26001, 1]], np.uint16)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    np.testing.assert_array_equal(read_label_map(tmp_path / "wide.png"), wide)
    palette = Image.fromarray(grey).convert("P")
    palette.save(tmp_path / "palette.png")
    assert read_label_map(tmp_path / "palette.png").shape == (2, 2)
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 1] = (255, 0, 0)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(
        read_label_map(tmp_path / "rgb.png", colors={(0, 0, 0): 0, (255, 0, 0): 7}),
        [[0, 7], [0, 0]],
    )
    with pytest.raises(ValueError, match="colour image; pass colors"):
        read_label_map(tmp_path / "rgb.png")
    Image.fromarray(np.array([[0.0, 1.5]], np.float32)).save(tmp_path / "float.tiff")
    with pytest.raises(
        TypeError, match=r"float.tiff holds floating-point pixels \(image mode 'F'\)"
    ):
        read_label_map(tmp_path / "float.tiff")
    with pytest.raises(
        ValueError, match=r"colour \(255, 0, 0\) at row 0, column 1, which is not in colors"
    ):
        read_label_map(tmp_path / "rgb.png", colors={(0, 0, 0): 0})


def test_missing_pillow_names_the_extra(monkeypatch):
    import builtins

    from ioukit import labelmaps

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("no PIL")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match=r"pip install 'ioukit\[image\]'"):
        labelmaps.read_label_map("x.png")


# --- exact ignore_index, num_classes bounds, torch, keyword-safe update, per-sample mIoU ---


def test_uint64_label_is_not_wrapped_onto_ignore_index():
    top = np.uint64(2**64 - 1)
    t = np.array([0, 1, top], np.uint64)
    with pytest.raises(
        ValueError, match=r"target label 18446744073709551615 at index 2 is outside \[0, 2\)"
    ):
        confusion_matrix(t, np.array([0, 1, 1], np.uint64), 2, ignore_index=-1)
    with pytest.raises(ValueError, match=r"pred label 9223372036854775808 at index 0"):
        confusion_matrix(np.zeros(1, np.uint64), np.array([2**63], np.uint64), 2)
    # exact comparison in every dtype: uint8 255 is not -1, int8 -1 is
    with pytest.raises(ValueError, match="target label 255 at index 0"):
        confusion_matrix(
            np.array([255, 0], np.uint8), np.array([0, 0], np.uint8), 2, ignore_index=-1
        )
    cm = confusion_matrix(np.array([-1, 0], np.int8), np.array([1, 0], np.int8), 2, ignore_index=-1)
    assert cm.tolist() == [[1, 0], [0, 0]]


@pytest.mark.parametrize("bad", [255.7, 255.0, 1e30, np.float64(255), "255", True, [255]])
def test_ignore_index_must_be_an_integer(bad):
    with pytest.raises(TypeError, match=r"ignore_index must be an integer or None, got"):
        confusion_matrix([0, 255], [0, 0], 2, ignore_index=bad)
    with pytest.raises(TypeError, match=r"ignore_index must be an integer"):
        SegmentationIoU(2, ignore_index=bad)


def test_ignore_index_past_int64():
    with pytest.raises(
        ValueError, match="ignore_index must fit in int64, got 18446744073709551615"
    ):
        confusion_matrix([0], [0], 2, ignore_index=2**64 - 1)
    assert (
        confusion_matrix(np.array([5, 0], np.uint8), [0, 0], 2, ignore_index=np.int64(5)).sum() == 1
    )


@pytest.mark.parametrize("bad", [2.0, 2.5, True, -3, 0, 10**9, 2**63, "3", None])
def test_num_classes_checked_before_allocation(bad):
    # 10**9 classes would be a 8 EB table: refused before anything is allocated
    with pytest.raises(ValueError, match="num_classes must be an integer"):
        confusion_matrix([0], [0], bad)
    with pytest.raises(ValueError, match="num_classes must be an integer"):
        SegmentationIoU(bad)


def test_many_classes():
    labels = np.arange(0, 300000, dtype=np.int32) % 3000  # several chunks, 3000**2 bins each
    cm = confusion_matrix(labels, labels[::-1].copy(), 3000)
    assert cm.shape == (3000, 3000) and cm.sum() == 300000
    np.testing.assert_array_equal(cm, bincount_reference(labels, labels[::-1], 3000, None))


def test_torch_in_torch_out(fake_torch):
    t, p = FakeTensor([[0, 1], [1, 2]]), FakeTensor([[0, 1], [2, 2]])
    got = confusion_matrix(t, p, 3)
    assert isinstance(got, FakeTensor) and got.data.dtype == np.int64
    np.testing.assert_array_equal(got.data, confusion_matrix(t.data, p.data, 3))
    metric = SegmentationIoU(3)
    metric.update(t, p)
    np.testing.assert_array_equal(metric.confusion, got.data)
    with pytest.raises(
        TypeError, match=r"argument 'pred' is a torch tensor that requires grad.*pred\.detach\(\)"
    ):
        confusion_matrix(t, FakeTensor(p.data, requires_grad=True), 3)


def test_update_is_keyword_safe():
    t, p = [[0, 1], [1, 1]], [[0, 0], [1, 1]]
    want = SegmentationIoU(2)
    want.update(t, p)
    for kwargs in ({"target": t, "pred": p}, {"pred": p, "target": t}, {"preds": p, "target": t}):
        metric = SegmentationIoU(2)
        metric.update(**kwargs)
        np.testing.assert_array_equal(metric.confusion, want.confusion)
    with pytest.raises(TypeError, match="give pred= or preds=, not both"):
        SegmentationIoU(2).update(t, p, preds=p)
    with pytest.raises(TypeError, match="needs both target= and pred="):
        SegmentationIoU(2).update(target=t)


def torchmetrics_mean_iou_reference(samples, num_classes, ignore_index=None):
    """torchmetrics MeanIoU, written out: per sample, the IoU of each class present in it
    (union > 0); per class, the mean over the samples where it is present (NaN if none);
    mIoU, the mean over samples of each sample's mean over its present classes."""
    per_class = [[] for _ in range(num_classes)]
    sample_means = []
    for target, pred in samples:
        target, pred = np.asarray(target).ravel(), np.asarray(pred).ravel()
        keep = target != ignore_index if ignore_index is not None else np.ones(target.shape, bool)
        target, pred = target[keep], pred[keep]
        ious = []
        for c in range(num_classes):
            inter = np.sum((target == c) & (pred == c))
            union = np.sum((target == c) | (pred == c))
            if union:
                per_class[c].append(inter / union)
                ious.append(inter / union)
        if ious:
            sample_means.append(np.mean(ious))
    iou = np.array([np.mean(v) if v else np.nan for v in per_class])
    return iou, (np.mean(sample_means) if sample_means else np.nan)


@settings(max_examples=40, deadline=None)
@given(st.data(), st.integers(1, 5), st.booleans())
def test_per_sample_matches_torchmetrics_definition(data, num_classes, batched):
    n = data.draw(st.integers(1, 4))
    labels = st.integers(0, num_classes)  # num_classes itself plays the ignore label
    t = data.draw(arrays(np.int64, (n, 3, 4), elements=labels))
    p = data.draw(arrays(np.int64, (n, 3, 4), elements=st.integers(0, num_classes - 1)))
    metric = SegmentationIoU(num_classes, ignore_index=num_classes, per_sample=True)
    if batched:
        metric.update(t, p)
    else:
        for one_t, one_p in zip(t, p, strict=True):
            metric.update(target=one_t, pred=one_p)
    result = metric.compute()
    want_iou, want_miou = torchmetrics_mean_iou_reference(
        zip(t, p, strict=True), num_classes, num_classes
    )
    np.testing.assert_allclose(result.iou, want_iou, rtol=1e-12)
    np.testing.assert_allclose(result.miou, want_miou, rtol=1e-12)
    summed = SegmentationIoU(num_classes, ignore_index=num_classes)
    summed.update(t, p)
    np.testing.assert_array_equal(metric.confusion, summed.confusion)  # accuracies unchanged
    assert metric.images == n


def test_per_sample_differs_from_summed_counts_and_merges():
    t = [[[0, 0, 0, 1]], [[1, 1, 1, 1]]]
    p = [[[0, 0, 1, 1]], [[1, 1, 1, 1]]]
    summed = SegmentationIoU(2)
    summed.update(t, p)
    per_sample = SegmentationIoU(2, per_sample=True, absent=-1.0)
    per_sample.update(t, p)
    # class 1: 5/6 over all pixels, but (1/2 + 1) / 2 averaged over the two samples
    assert summed.compute().iou[1] == pytest.approx(5 / 6)
    assert per_sample.compute().iou.tolist() == [pytest.approx(2 / 3), pytest.approx(0.75)]
    assert per_sample.compute().miou == pytest.approx(((2 / 3 + 1 / 2) / 2 + 1) / 2)
    first, second = (
        SegmentationIoU(3, per_sample=True, absent=-1.0),
        SegmentationIoU(3, per_sample=True),
    )
    first.update(t[0], p[0])
    second.update(t[1], p[1])
    merged = first.merge(second).compute()
    assert merged.iou.tolist() == [
        pytest.approx(2 / 3),
        pytest.approx(0.75),
        -1.0,
    ]  # class 2 absent
    with pytest.raises(ValueError, match="per_sample"):
        SegmentationIoU(2).merge(SegmentationIoU(2, per_sample=True))
    with pytest.raises(TypeError, match="per_sample must be True or False"):
        SegmentationIoU(2, per_sample="yes")
