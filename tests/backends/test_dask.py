"""Dask arrays and distributed evaluation, on the threaded scheduler and a real
``distributed.LocalCluster`` (worker processes on loopback)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ioukit
from ioukit.evaluate import coco_evaluate
from ioukit.semantic import confusion_matrix
from tests.helpers.boxes import random_boxes
from tests.helpers.masks import ellipse_masks

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

FUNCS = [ioukit.box_iou, ioukit.box_giou, ioukit.box_diou, ioukit.box_ciou, ioukit.box_ioa]


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
def test_boxes_blockwise_equal_in_memory(rng, func):
    a, b = random_boxes(rng, 130), random_boxes(rng, 90)
    lazy = func(da.from_array(a, chunks=(37, 2)), da.from_array(b, chunks=25))
    assert isinstance(lazy, da.Array) and lazy.shape == (130, 90)
    np.testing.assert_array_equal(lazy.compute(), func(a, b))
    aligned = func(da.from_array(a[:90], chunks=20), da.from_array(b, chunks=33), aligned=True)
    np.testing.assert_array_equal(aligned.compute(), func(a[:90], b, aligned=True))


def test_mixed_numpy_and_dask_and_crowd(rng):
    a, b = random_boxes(rng, 40), random_boxes(rng, 30)
    crowd = rng.random(30) < 0.3
    got = ioukit.box_iou(da.from_array(a, chunks=9), b, fmt="xyxy", crowd=crowd, pixel_offset=1)
    np.testing.assert_array_equal(got.compute(), ioukit.box_iou(a, b, crowd=crowd, pixel_offset=1))


def test_errors_name_global_rows(rng):
    a, good = random_boxes(rng, 100), random_boxes(rng, 100)
    a[77, 3] = a[77, 1] - 5
    with pytest.raises(ValueError, match=r"argument 'a' has an invalid xyxy box at row 77"):
        ioukit.box_iou(da.from_array(a, chunks=20), da.from_array(good, chunks=50)).compute()
    with pytest.raises(ValueError, match=r"argument 'b' has an invalid xyxy box at row 77"):
        ioukit.box_iou(da.from_array(good, chunks=30), da.from_array(a, chunks=35)).compute()
    with pytest.raises(TypeError, match="out= is not supported for Dask"):
        ioukit.box_iou(da.from_array(a, chunks=20), a, out=np.zeros((100, 100)))


def test_masks_and_confusion(rng):
    a, b = ellipse_masks(rng, 9, 20, 30), ellipse_masks(rng, 7, 20, 30)
    lazy = ioukit.mask_iou(da.from_array(a, chunks=(4, 7, 30)), da.from_array(b, chunks=3))
    np.testing.assert_array_equal(lazy.compute(), ioukit.mask_iou(a, b))
    t = rng.integers(0, 5, (4, 31, 33)).astype(np.uint8)
    p = rng.integers(0, 5, (4, 31, 33)).astype(np.uint8)
    got = confusion_matrix(da.from_array(t, chunks=(1, 16, 33)), da.from_array(p, chunks=2), 5, ignore_index=4)
    assert isinstance(got, da.Array) and got.shape == (5, 5) and got.dtype == np.int64  # lazy
    np.testing.assert_array_equal(got.compute(), confusion_matrix(t, p, 5, ignore_index=4))
    p[3, 30, 2] = 7
    lazy = confusion_matrix(da.from_array(t, chunks=2), da.from_array(p, chunks=2), 5)
    with pytest.raises(ValueError, match=r"pred label 7 at index .* is outside \[0, 5\)"):
        lazy.compute()


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
def test_area_and_convert_lazy(rng, fmt):
    boxes = random_boxes(rng, 50, fmt)
    lazy = ioukit.box_area(da.from_array(boxes, chunks=(12, 2)), fmt=fmt, pixel_offset=1)
    assert isinstance(lazy, da.Array) and lazy.shape == (50,)
    np.testing.assert_array_equal(lazy.compute(), ioukit.box_area(boxes, fmt=fmt, pixel_offset=1))
    for dst in ("xyxy", "xywh", "cxcywh"):
        lazy = ioukit.box_convert(da.from_array(boxes.astype(np.float32), chunks=7), fmt, dst)
        assert isinstance(lazy, da.Array) and lazy.shape == (50, 4) and lazy.dtype == np.float32
        np.testing.assert_array_equal(lazy.compute(), ioukit.box_convert(boxes.astype(np.float32), fmt, dst))
    bad = random_boxes(rng, 50, "xywh")
    bad[31, 2] = -1
    with pytest.raises(ValueError, match=r"argument 'a' has an invalid xywh box at row 31"):
        ioukit.box_area(da.from_array(bad, chunks=10), fmt="xywh").compute()


def test_aligned_crowd_and_lazy_crowd(rng):
    a, b = random_boxes(rng, 40), random_boxes(rng, 40)
    crowd = rng.random(40) < 0.4
    got = ioukit.box_iou(da.from_array(a, chunks=9), da.from_array(b, chunks=13), aligned=True, crowd=crowd)
    np.testing.assert_array_equal(got.compute(), ioukit.box_iou(a, b, aligned=True, crowd=crowd))
    lazy_crowd = da.from_array(crowd, chunks=11)
    got = ioukit.box_iou(da.from_array(a, chunks=9), da.from_array(b, chunks=13), crowd=lazy_crowd)
    np.testing.assert_array_equal(got.compute(), ioukit.box_iou(a, b, crowd=crowd))
    with pytest.raises(ValueError, match=r"crowd has shape \(39,\), expected one flag per box of 'b'"):
        ioukit.box_iou(da.from_array(a, chunks=9), da.from_array(b, chunks=13), crowd=lazy_crowd[:39])


@pytest.mark.parametrize("threshold", [0.05, 0.5, 0.9])
def test_sparse_threshold_equals_dense_filtered(rng, threshold):
    a, b = random_boxes(rng, 400, scale=300), random_boxes(rng, 350, scale=300)
    b[:3, 2:] += 400  # a few huge boxes take the brute-force list
    crowd = rng.random(350) < 0.2
    dense = ioukit.box_iou(a, b, crowd=crowd)
    dense[dense < threshold] = 0
    sparse_result = ioukit.box_iou(a, b, crowd=crowd, threshold=threshold)
    np.testing.assert_array_equal(sparse_result.toarray(), dense)
    lazy = ioukit.box_iou(da.from_array(a, chunks=150), da.from_array(b, chunks=100), crowd=crowd, threshold=threshold)
    np.testing.assert_array_equal(lazy.compute().toarray(), dense)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        ioukit.box_iou(a, b, threshold=0)


THREADS = """
    import dask, dask.array as da, numpy as np, ioukit
    from ioukit._core import jit as _numba
    rng = np.random.default_rng(0)
    xy = rng.random((3000, 2)) * 100
    boxes = np.hstack([xy, xy + 10])
    lazy = ioukit.box_giou(da.from_array(boxes, chunks=200), da.from_array(boxes, chunks=300))
    with dask.config.set(scheduler="threads", num_workers=6):
        got = lazy.compute()
    assert np.array_equal(got, ioukit.box_giou(boxes, boxes))
    print(_numba.threading_layer())
"""


@pytest.mark.parametrize("layer", ["workqueue", "omp"])
def test_threaded_scheduler_under_every_layer(layer):
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)  # the session's cache: loads start the layer
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(THREADS)], capture_output=True, text=True,
                          env=env, timeout=600)
    if layer == "omp" and proc.returncode and "omp" in proc.stderr.lower() and "not" in proc.stderr.lower():
        pytest.skip("the OpenMP threading layer is not available here")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == layer


@pytest.fixture(scope="module")
def cluster_client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_cluster_boxes_and_coco(cluster_client, shared_data, rng):
    a, b = random_boxes(rng, 120), random_boxes(rng, 80)
    np.testing.assert_array_equal(
        cluster_client.compute(ioukit.box_iou(da.from_array(a, chunks=30), da.from_array(b, chunks=40))).result(),
        ioukit.box_iou(a, b),
    )
    gt = shared_data / "faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json"
    for iou_type in ("bbox", "segm"):
        dt = shared_data / f"cocoapi/results/instances_val2014_fake{iou_type}100_results.json"
        local = coco_evaluate(gt, dt, iou_type)
        remote = coco_evaluate(gt, dt, iou_type, client=cluster_client)
        np.testing.assert_array_equal(remote.stats, local.stats)
        np.testing.assert_array_equal(remote.precision, local.precision)
        np.testing.assert_array_equal(remote.recall, local.recall)


def test_cluster_segmentation_files(cluster_client, shared_data):
    from ioukit.cli.semseg_command import pair_files
    from ioukit.distributed import segmentation_iou_files

    folder = shared_data / "sceneparsing/sampleData/annotations"
    pairs = pair_files(folder, folder)
    remote = segmentation_iou_files(pairs, 151, 0, cluster_client, absent="zero")
    from ioukit.labelmaps import read_label_map
    from ioukit.semantic import SegmentationIoU

    local = SegmentationIoU(151, 0, absent="zero")
    for gt, pred in pairs:
        local.update(read_label_map(gt), read_label_map(pred))
    np.testing.assert_array_equal(remote.confusion, local.confusion)
    assert round(float(remote.compute().iou[1:].mean()), 4) == 0.1


def test_killed_worker_is_recovered(cluster_client, rng):
    a, b = random_boxes(rng, 160), random_boxes(rng, 60)

    def slow_iou(block, other):
        import time as _time

        import ioukit as _ioukit

        _time.sleep(0.4)
        return _ioukit.box_iou(block, other)

    lazy = da.from_array(a, chunks=10).map_blocks(slow_iou, b, dtype=np.float64, chunks=(10, 60))
    future = cluster_client.compute(lazy)
    time.sleep(1.0)
    pids = cluster_client.run(os.getpid)
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    np.testing.assert_array_equal(future.result(timeout=300), ioukit.box_iou(a, b))


def test_cli_scheduler(cluster_client, shared_data, tmp_path):
    address = cluster_client.scheduler.address
    out = tmp_path / "r.json"
    gt = shared_data / "faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json"
    dt = shared_data / "cocoapi/results/instances_val2014_fakebbox100_results.json"
    proc = subprocess.run([sys.executable, "-m", "ioukit", "eval", str(gt), str(dt), "--scheduler", address,
                           "--json", str(out), "--per-class", "0"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["stats"]["AP"] == pytest.approx(0.5045806987249628, abs=1e-12)
