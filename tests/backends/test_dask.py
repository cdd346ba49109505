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
from tests.helpers.cli import run_ioukit
from tests.helpers.masks import ellipse_masks
from tests.helpers.rotated import random_rotated

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
    got = confusion_matrix(
        da.from_array(t, chunks=(1, 16, 33)), da.from_array(p, chunks=2), 5, ignore_index=4
    )
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
        np.testing.assert_array_equal(
            lazy.compute(), ioukit.box_convert(boxes.astype(np.float32), fmt, dst)
        )
    bad = random_boxes(rng, 50, "xywh")
    bad[31, 2] = -1
    with pytest.raises(ValueError, match=r"argument 'a' has an invalid xywh box at row 31"):
        ioukit.box_area(da.from_array(bad, chunks=10), fmt="xywh").compute()


def test_aligned_crowd_and_lazy_crowd(rng):
    a, b = random_boxes(rng, 40), random_boxes(rng, 40)
    crowd = rng.random(40) < 0.4
    got = ioukit.box_iou(
        da.from_array(a, chunks=9), da.from_array(b, chunks=13), aligned=True, crowd=crowd
    )
    np.testing.assert_array_equal(got.compute(), ioukit.box_iou(a, b, aligned=True, crowd=crowd))
    lazy_crowd = da.from_array(crowd, chunks=11)
    got = ioukit.box_iou(da.from_array(a, chunks=9), da.from_array(b, chunks=13), crowd=lazy_crowd)
    np.testing.assert_array_equal(got.compute(), ioukit.box_iou(a, b, crowd=crowd))
    with pytest.raises(
        ValueError, match=r"crowd has shape \(39,\), expected one flag per box of 'b'"
    ):
        ioukit.box_iou(
            da.from_array(a, chunks=9), da.from_array(b, chunks=13), crowd=lazy_crowd[:39]
        )


@pytest.mark.parametrize("threshold", [0.05, 0.5, 0.9])
def test_sparse_threshold_equals_dense_filtered(rng, threshold):
    a, b = random_boxes(rng, 400, scale=300), random_boxes(rng, 350, scale=300)
    b[:3, 2:] += 400  # a few huge boxes take the brute-force list
    crowd = rng.random(350) < 0.2
    dense = ioukit.box_iou(a, b, crowd=crowd)
    dense[dense < threshold] = 0
    sparse_result = ioukit.box_iou(a, b, crowd=crowd, threshold=threshold)
    np.testing.assert_array_equal(sparse_result.toarray(), dense)
    lazy = ioukit.box_iou(
        da.from_array(a, chunks=150), da.from_array(b, chunks=100), crowd=crowd, threshold=threshold
    )
    np.testing.assert_array_equal(lazy.compute().toarray(), dense)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        ioukit.box_iou(a, b, threshold=0)


ROTATED_FUNCS = [ioukit.box_iou, ioukit.box_ioa, ioukit.box_giou]


def _polygons(rng, n, k):
    """``n`` random convex polygons of ``k`` vertices (points on ellipses), some clockwise."""
    t = np.sort(rng.uniform(0, 2 * np.pi, (n, k)), axis=1)
    radii = rng.uniform(1, 15, (n, 2))
    centre = rng.uniform(0, 40, (n, 1, 2))
    poly = centre + np.stack([radii[:, :1] * np.cos(t), radii[:, 1:] * np.sin(t)], axis=-1)
    flip = rng.random(n) < 0.3
    poly[flip] = poly[flip, ::-1]
    return poly


@pytest.mark.parametrize("fmt", ["cxcywha", "cxcywhr"])
@pytest.mark.parametrize("func", ROTATED_FUNCS, ids=lambda f: f.__name__)
def test_rotated_blockwise_equal_in_memory(rng, func, fmt):
    a, b = random_rotated(rng, 70, fmt=fmt), random_rotated(rng, 45, fmt=fmt)
    lazy = func(da.from_array(a, chunks=(17, 5)), da.from_array(b, chunks=(20, 2)), fmt=fmt)
    assert isinstance(lazy, da.Array) and lazy.shape == (70, 45) and lazy.dtype == np.float64
    np.testing.assert_array_equal(lazy.compute(), func(a, b, fmt=fmt))
    a32, b32 = a[:45].astype(np.float32), b.astype(np.float32)
    aligned = func(
        da.from_array(a32, chunks=11), da.from_array(b32, chunks=30), fmt=fmt, aligned=True
    )
    assert aligned.shape == (45,) and aligned.dtype == np.float32
    np.testing.assert_array_equal(aligned.compute(), func(a32, b32, fmt=fmt, aligned=True))
    mixed = func(da.from_array(a, chunks=30), b, fmt=fmt)  # a host array joins as one chunk
    np.testing.assert_array_equal(mixed.compute(), func(a, b, fmt=fmt))


def test_rotated_ioa_over_b_and_integers(rng):
    a = np.round(random_rotated(rng, 30)).astype(np.int32)
    b = np.round(random_rotated(rng, 25)).astype(np.int32)
    lazy = ioukit.box_ioa(
        da.from_array(a, chunks=7), da.from_array(b, chunks=9), fmt="cxcywha", over="b"
    )
    assert lazy.dtype == np.float64
    np.testing.assert_array_equal(lazy.compute(), ioukit.box_ioa(a, b, fmt="cxcywha", over="b"))


def test_polygon_iou_lazy(rng):
    a, b = _polygons(rng, 40, 4), _polygons(rng, 33, 6)
    lazy = ioukit.polygon_iou(da.from_array(a, chunks=(9, 2, 1)), da.from_array(b, chunks=10))
    assert isinstance(lazy, da.Array) and lazy.shape == (40, 33) and lazy.dtype == np.float64
    np.testing.assert_array_equal(lazy.compute(), ioukit.polygon_iou(a, b))
    b4 = _polygons(rng, 40, 5).astype(np.float32)
    aligned = ioukit.polygon_iou(a.astype(np.float32), da.from_array(b4, chunks=13), aligned=True)
    assert aligned.shape == (40,) and aligned.dtype == np.float32
    np.testing.assert_array_equal(
        aligned.compute(), ioukit.polygon_iou(a.astype(np.float32), b4, aligned=True)
    )


@pytest.mark.parametrize("threshold", [0.05, 0.5])
def test_rotated_threshold_lazy(rng, threshold):
    a, b = random_rotated(rng, 160, scale=200), random_rotated(rng, 120, scale=200)
    b[:2, 2:4] += 300  # huge boxes take the brute-force list
    dense = ioukit.box_iou(a, b, fmt="cxcywha")
    dense[dense < threshold] = 0
    lazy = ioukit.box_iou(
        da.from_array(a, chunks=50), da.from_array(b, chunks=45), fmt="cxcywha", threshold=threshold
    )
    got = lazy.compute()
    np.testing.assert_array_equal(
        got.toarray(), ioukit.box_iou(a, b, fmt="cxcywha", threshold=threshold).toarray()
    )
    np.testing.assert_allclose(got.toarray(), dense, rtol=0, atol=1e-12)
    assert got.shape == (160, 120) and got.nnz == np.count_nonzero(dense)


def test_rotated_and_polygon_errors(rng):
    a, good = random_rotated(rng, 60), random_rotated(rng, 60)
    a[57, 3] = -1
    with pytest.raises(
        ValueError, match=r"argument 'a' has an invalid cxcywha box at row 57: .*negative height"
    ):
        ioukit.box_giou(
            da.from_array(a, chunks=20), da.from_array(good, chunks=25), fmt="cxcywha"
        ).compute()
    with pytest.raises(ValueError, match=r"argument 'b' has an invalid cxcywha box at row 57"):
        ioukit.box_iou(
            da.from_array(good, chunks=20), da.from_array(a, chunks=25), fmt="cxcywha"
        ).compute()
    lazy = ioukit.box_iou(
        da.from_array(good, chunks=20), da.from_array(a, chunks=25), fmt="cxcywha", threshold=0.5
    )
    with pytest.raises(ValueError, match=r"argument 'b' has an invalid cxcywha box at row 57"):
        lazy.compute()
    poly = _polygons(rng, 30, 4)
    poly[22] = [[0, 0], [2, 0], [0, 2], [2, 2]]  # a bow tie
    with pytest.raises(
        ValueError, match=r"argument 'a' polygon at row 22 is (not convex|self-intersecting)"
    ):
        ioukit.polygon_iou(da.from_array(poly, chunks=8), poly[:3]).compute()
    dask_good = da.from_array(good, chunks=20)
    with pytest.raises(
        TypeError, match=r"box_iou: out= is not supported for rotated boxes on Dask inputs \(the"
    ):
        ioukit.box_iou(dask_good, good, fmt="cxcywha", out=np.zeros((60, 60)))
    with pytest.raises(
        ValueError, match=r"box_ioa: Dask argument 'b' must have shape \(N, 5\) for rotated"
    ):
        ioukit.box_ioa(dask_good, da.from_array(good[:, :4], chunks=20), fmt="cxcywhr")
    with pytest.raises(
        ValueError, match=r"Dask argument 'a' must have shape \(N, K, 2\) with K >= 3"
    ):
        ioukit.polygon_iou(da.from_array(poly[:, :2], chunks=8), poly)
    with pytest.raises(
        ValueError, match=r"aligned=True needs as many boxes in 'a' as in 'b', got 60 and 59"
    ):
        ioukit.box_iou(dask_good, dask_good[:59], fmt="cxcywha", aligned=True)
    with pytest.raises(ValueError, match=r"threshold= needs box_iou without aligned="):
        ioukit.box_iou(dask_good, dask_good, fmt="cxcywha", aligned=True, threshold=0.5)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\], got 1.5"):
        ioukit.box_iou(dask_good, dask_good, fmt="cxcywha", threshold=1.5)
    with pytest.raises(ValueError, match=r"crowd= is not supported for rotated boxes"):
        ioukit.box_iou(dask_good, dask_good, fmt="cxcywha", crowd=np.zeros(60, bool))
    with pytest.raises(TypeError, match=r"polygon_iou: aligned must be True or False, got 'yes'"):
        ioukit.polygon_iou(da.from_array(poly, chunks=8), poly, aligned="yes")


def test_sparse_threshold_error_names_global_row(rng):
    a, good = random_boxes(rng, 100), random_boxes(rng, 100)
    a[77, 2] = a[77, 0] - 5
    lazy = ioukit.box_iou(
        da.from_array(good, chunks=30), da.from_array(a, chunks=35), threshold=0.5
    )
    with pytest.raises(ValueError, match=r"argument 'b' has an invalid xyxy box at row 77"):
        lazy.compute()


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
    # the session's cache: a kernel loaded from it still starts the threading layer
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(THREADS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if (
        layer == "omp"
        and proc.returncode
        and "omp" in proc.stderr.lower()
        and "not" in proc.stderr.lower()
    ):
        pytest.skip("the OpenMP threading layer is not available here")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == layer


@pytest.fixture(scope="module")
def cluster_client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_cluster_boxes_and_coco(cluster_client, shared_data, rng):
    a, b = random_boxes(rng, 120), random_boxes(rng, 80)
    np.testing.assert_array_equal(
        cluster_client.compute(
            ioukit.box_iou(da.from_array(a, chunks=30), da.from_array(b, chunks=40))
        ).result(),
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
    # the command in this process (tests/helpers/cli.py); the cluster's workers are
    # processes of their own
    proc = run_ioukit("eval", gt, dt, "--scheduler", address, "--json", out, "--per-class", "0")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["stats"]["AP"] == pytest.approx(
        0.5045806987249628, abs=1e-12
    )
