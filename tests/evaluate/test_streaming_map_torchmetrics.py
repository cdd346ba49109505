"""MeanAveragePrecision against torchmetrics' own MeanAveragePrecision, live.

torch is kept out of CI (its wheels are gigabytes), so these tests run only where
torch, torchvision and torchmetrics are installed; CI checks the same numbers
against pycocotools in test_streaming_map.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from ioukit.evaluate import MeanAveragePrecision
from tests.evaluate.test_streaming_map import KEYS, feed, random_stream

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
detection = pytest.importorskip("torchmetrics.detection")


def _tensors(items):
    out = []
    for item in items:
        converted = {}
        for key, value in item.items():
            value = np.asarray(value)
            if key == "masks":
                converted[key] = torch.from_numpy(value.astype(bool))
            else:
                converted[key] = torch.from_numpy(value)
        out.append(converted)
    return out


def _theirs(preds, targets, iou_type, backend, batch):
    metric = detection.MeanAveragePrecision(iou_type=iou_type, class_metrics=True, backend=backend)
    for s in range(0, len(preds), batch):
        metric.update(_tensors(preds[s : s + batch]), _tensors(targets[s : s + batch]))
    return metric.compute(), metric


def _ours(preds, targets, iou_type, batch, theirs_metric=None):
    """ioukit's metric; with ``theirs_metric``, on torchmetrics' own thresholds."""
    kwargs = {}
    if theirs_metric is not None:
        kwargs = {
            "iou_thresholds": list(theirs_metric.iou_thresholds),
            "rec_thresholds": list(theirs_metric.rec_thresholds),
        }
    metric = MeanAveragePrecision(iou_type=iou_type, class_metrics=True, **kwargs)
    feed(metric, preds, targets, batch)
    return metric.compute()


def _compare(ours, theirs, prefix=""):
    for name in KEYS:
        assert float(ours[prefix + name]) == pytest.approx(float(theirs[name]), abs=1e-6), name
    np.testing.assert_array_equal(np.asarray(ours["classes"]), theirs["classes"].numpy())
    np.testing.assert_allclose(
        np.asarray(ours[prefix + "map_per_class"], np.float64),
        theirs["map_per_class"].numpy().astype(np.float64),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        np.asarray(ours[prefix + "mar_100_per_class"], np.float64),
        theirs["mar_100_per_class"].numpy().astype(np.float64),
        atol=1e-6,
    )


@pytest.mark.parametrize("backend", ["pycocotools", "faster_coco_eval"])
@pytest.mark.parametrize("seed", [0, 3])
def test_bbox_equals_torchmetrics(seed, backend):
    if backend == "faster_coco_eval":
        pytest.importorskip("faster_coco_eval")
    preds, targets = random_stream(seed, n_images=40)
    theirs, metric = _theirs(preds, targets, "bbox", backend, 6)
    _compare(_ours(preds, targets, "bbox", 6, metric), theirs)


def test_segm_equals_torchmetrics():
    preds, targets = random_stream(7, n_images=25, masks=True)
    # torchmetrics leaves an image without ground-truth masks out of its segm data
    # set, so false positives there are not counted (pycocotools and ioukit count
    # them): compare on images that have ground truth.
    kept = [i for i, t in enumerate(targets) if len(t["labels"])]
    assert len(kept) < len(targets)
    preds, targets = [preds[i] for i in kept], [targets[i] for i in kept]
    theirs, metric = _theirs(preds, targets, "segm", "pycocotools", 5)
    _compare(_ours(preds, targets, "segm", 5, metric), theirs)


def test_default_thresholds_differ_only_by_float32_rounding():
    """torchmetrics builds its default thresholds with float32 ``torch.linspace``
    (0.6 becomes 0.6000000238...), pycocotools and ioukit use float64 ones. A recall
    that lands exactly on a threshold (3 of 10 objects found) then reads the next
    precision in torchmetrics. ioukit keeps pycocotools' numbers by default and gives
    torchmetrics' when handed its thresholds (the tests above)."""
    _, metric = _theirs(*random_stream(0, n_images=4), "bbox", "pycocotools", 4)
    theirs = np.asarray(metric.rec_thresholds, np.float64)
    ours = np.linspace(0.0, 1.0, 101)
    assert theirs.shape == ours.shape
    assert np.abs(theirs - ours).max() < 1e-7
    assert (theirs != ours).any()
