"""The CUDA twins of the rotated-box and polygon kernels (numba's simulator in CI)
agree with the CPU kernels: pairwise metrics, polygon_iou, threshold= (the sparse
result); a PTX compile check catches typing errors the simulator cannot."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from ioukit._boxes import rotated as R
from ioukit._boxes import rotated_cuda
from tests.helpers import cuda as cuda_helpers
from tests.helpers.cuda import FakeCudaTensor, host, ptx_compile_check, require_cuda
from tests.helpers.rotated import random_rotated

cuda = require_cuda()
rotated_pairwise_cuda = rotated_cuda.rotated_pairwise_cuda
fake_torch_cuda = cuda_helpers.fake_torch_cuda  # the fixture


def convex_polygons(rng, n, k, scale=20.0):
    """``n`` random convex ``k``-gons (vertices on a circle, sorted by angle), clockwise
    or counter-clockwise at random; a few share a centre, one is a repeated point."""
    centre = rng.uniform(0, scale, (n, 1, 2))
    radius = rng.uniform(0, scale / 3, (n, 1, 1))
    angles = np.sort(rng.uniform(0, 2 * np.pi, (n, k)), axis=1)
    poly = centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    flip = rng.random(n) < 0.5
    poly[flip] = poly[flip, ::-1]
    if n > 2:
        poly[1] = poly[1, :1]  # all vertices one point: an empty polygon
    return np.ascontiguousarray(poly)


@pytest.mark.parametrize("metric", ["iou", "ioa", "giou"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise_and_aligned_match_cpu(metric, dtype):
    rng = np.random.default_rng(1)
    a, b = (
        random_rotated(rng, 9, scale=20).astype(dtype),
        random_rotated(rng, 6, scale=20).astype(dtype),
    )
    got = rotated_pairwise_cuda(metric, cuda.to_device(a), cuda.to_device(b), fmt="cxcywha")
    want = R.rotated_pairwise(metric, a, b, fmt="cxcywha")
    assert got.copy_to_host().dtype == want.dtype
    np.testing.assert_allclose(got.copy_to_host(), want, rtol=1e-6, atol=1e-7)
    got = rotated_pairwise_cuda(
        metric, cuda.to_device(a[:6]), cuda.to_device(b), fmt="cxcywha", aligned=True, over="min"
    )
    want = R.rotated_pairwise(metric, a[:6], b, fmt="cxcywha", aligned=True, over="min")
    np.testing.assert_allclose(got.copy_to_host(), want, rtol=1e-6, atol=1e-7)


def test_batches_radians_and_errors():
    rng = np.random.default_rng(2)
    a, b = (
        random_rotated(rng, 8, fmt="cxcywhr").reshape(2, 4, 5),
        random_rotated(rng, 3, fmt="cxcywhr"),
    )
    got = rotated_pairwise_cuda("iou", cuda.to_device(a), cuda.to_device(b), fmt="cxcywhr")
    np.testing.assert_allclose(
        got.copy_to_host(), R.rotated_pairwise("iou", a, b, fmt="cxcywhr"), atol=1e-12
    )
    bad = b.copy()
    bad[2, 3] = -1
    with pytest.raises(
        ValueError, match=r"argument 'b' has an invalid cxcywhr box at row 2: .*negative height"
    ):
        rotated_pairwise_cuda("iou", cuda.to_device(a), cuda.to_device(bad), fmt="cxcywhr")
    with pytest.raises(
        ValueError, match=r"argument 'a' has an invalid cxcywhr box at row \(1, 2\): .*not finite"
    ):
        nan = a.copy()
        nan[1, 2, 4] = np.nan
        rotated_pairwise_cuda("iou", cuda.to_device(nan), cuda.to_device(b), fmt="cxcywhr")
    with pytest.raises(ValueError, match=r"must have shape \(\.\.\., N, 5\)"):
        rotated_pairwise_cuda(
            "iou", cuda.to_device(np.zeros((2, 4))), cuda.to_device(b), fmt="cxcywha"
        )
    with pytest.raises(TypeError, match="'a' must hold integer or floating-point numbers"):
        rotated_pairwise_cuda("iou", cuda.to_device(a > 0), cuda.to_device(b), fmt="cxcywhr")
    with pytest.raises(ValueError, match="metric='diou' is not one of"):
        rotated_pairwise_cuda("diou", cuda.to_device(b), cuda.to_device(b), fmt="cxcywha")
    with pytest.raises(TypeError, match="validate must be True or False"):
        rotated_pairwise_cuda("iou", cuda.to_device(b), cuda.to_device(b), fmt="cxcywha",
                              validate="no")  # fmt: skip
    empty = rotated_pairwise_cuda(
        "iou", cuda.to_device(np.zeros((0, 5))), cuda.to_device(b), fmt="cxcywha"
    )
    assert empty.shape == (0, 3)


@pytest.mark.parametrize("k", [4, 6])
def test_polygon_iou_matches_cpu(k):
    rng = np.random.default_rng(3)
    a, b = convex_polygons(rng, 7, k), convex_polygons(rng, 5, 4)
    for x, y in ((a, b), (a[2:], a[:5])):
        got = ioukit.polygon_iou(cuda.to_device(x), cuda.to_device(y))
        assert hasattr(got, "copy_to_host")  # device array in, device array out
        np.testing.assert_allclose(host(got), ioukit.polygon_iou(x, y), rtol=1e-12, atol=1e-15)
    got = ioukit.polygon_iou(cuda.to_device(a[:5]), cuda.to_device(b), aligned=True)
    np.testing.assert_allclose(host(got), ioukit.polygon_iou(a[:5], b, aligned=True), atol=1e-15)
    # batch axes broadcast as on the CPU (the polygons are prepared on the host)
    batched = a[:6].reshape(2, 3, k, 2)
    got = ioukit.polygon_iou(cuda.to_device(batched), cuda.to_device(b[None]))
    np.testing.assert_allclose(host(got), ioukit.polygon_iou(batched, b[None]), atol=1e-15)
    got = ioukit.polygon_iou(cuda.to_device(a.astype(np.float32)), cuda.to_device(b[:0]))
    assert host(got).shape == (7, 0) and host(got).dtype == np.float64
    got = R.polygon_pairwise("giou", cuda.to_device(a), cuda.to_device(b))
    np.testing.assert_allclose(host(got), R.polygon_pairwise("giou", a, b), atol=1e-12)


def test_many_vertices_are_measured_on_the_host(monkeypatch):
    rng = np.random.default_rng(6)
    a, b = convex_polygons(rng, 4, 9), convex_polygons(rng, 3, 5)
    monkeypatch.setattr(rotated_cuda, "MAX_DEVICE_VERTICES", 8)
    got = ioukit.polygon_iou(cuda.to_device(a), cuda.to_device(b))
    assert hasattr(got, "copy_to_host")
    np.testing.assert_array_equal(host(got), ioukit.polygon_iou(a, b))


def test_polygon_errors_on_device():
    ok = np.array([[[0, 0], [2, 0], [2, 2], [0, 2]]], float)
    dent = np.array([[[0, 0], [2, 0], [1, 0.5], [2, 2], [0, 2]]], float)
    with pytest.raises(ValueError, match=r"argument 'b' polygon at row 0 is not convex"):
        ioukit.polygon_iou(cuda.to_device(ok), cuda.to_device(dent))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., N, K, 2\) with K >= 3"):
        ioukit.polygon_iou(cuda.to_device(ok[:, :2]), cuda.to_device(ok))
    with pytest.raises(ValueError, match=r"argument 'a' must have shape \(\.\.\., N, K, 2\)"):
        ioukit.polygon_iou(cuda.to_device(np.zeros(4)), cuda.to_device(ok))
    with pytest.raises(ValueError, match="aligned=True needs as many"):
        ioukit.polygon_iou(cuda.to_device(np.concatenate([ok, ok])), cuda.to_device(ok),
                           aligned=True)  # fmt: skip
    with pytest.raises(TypeError, match="inputs must all live in one place"):
        ioukit.polygon_iou(cuda.to_device(ok), ok)


def test_threshold_matches_cpu_sparse(monkeypatch):
    rng = np.random.default_rng(4)
    a = random_rotated(rng, 12, scale=15)
    b = np.concatenate([a[:3], random_rotated(rng, 7, scale=15)])  # identical pairs: IoU 1
    da, db = cuda.to_device(a), cuda.to_device(b)
    monkeypatch.setattr(rotated_cuda, "SPARSE_BLOCK", 30)  # three rows a block: 4 blocks
    for t in (1e-9, 0.3, 1.0):
        got = ioukit.box_iou(da, db, fmt="cxcywha", threshold=t)
        want = ioukit.box_iou(a, b, fmt="cxcywha", threshold=t)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got.indptr, want.indptr)
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_allclose(got.data, want.data, rtol=1e-12)
    f32 = ioukit.box_iou(cuda.to_device(a.astype(np.float32)), db[:0], fmt="cxcywha",
                         threshold=0.5)  # fmt: skip
    assert f32.shape == (12, 0) and f32.nnz == 0
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        ioukit.box_iou(da, db, fmt="cxcywha", threshold=0)
    with pytest.raises(ValueError, match="threshold= needs 2-D"):
        ioukit.box_iou(cuda.to_device(a.reshape(2, 6, 5)), db, fmt="cxcywha", threshold=0.5)
    with pytest.raises(ValueError, match="threshold= needs box_iou without aligned="):
        ioukit.box_iou(da, da, fmt="cxcywha", threshold=0.5, aligned=True)
    with pytest.raises(TypeError, match="out= is not supported for rotated boxes on CUDA"):
        ioukit.box_iou(da, db, fmt="cxcywha", out=cuda.device_array((12, 10)))


def test_torch_cuda_in_torch_cuda_out(fake_torch_cuda):
    rng = np.random.default_rng(5)
    a, b = random_rotated(rng, 5, scale=10), random_rotated(rng, 4, scale=10)
    got = ioukit.box_iou(fake_torch_cuda.tensor(a), fake_torch_cuda.tensor(b), fmt="cxcywha")
    assert isinstance(got, FakeCudaTensor)
    np.testing.assert_allclose(host(got), ioukit.box_iou(a, b, fmt="cxcywha"), atol=1e-12)
    pa, pb = ioukit.rotated_box_corners(a), ioukit.rotated_box_corners(b)
    got = ioukit.polygon_iou(fake_torch_cuda.tensor(pa), fake_torch_cuda.tensor(pb))
    assert isinstance(got, FakeCudaTensor)
    np.testing.assert_allclose(host(got), ioukit.polygon_iou(pa, pb), atol=1e-12)


COMPILE_CHECK = """
    from numba import cuda, types as t
    from ioukit.kernels import cuda_rotated as r, cuda_nms as s
    f2, d2, f3, d3 = t.float32[:, ::1], t.float64[:, ::1], t.float32[:, :, ::1], t.float64[:, :, ::1]
    i1 = t.int64[::1]
    pairwise, aligned = r.shape_kernels(r.width_for(6, 4))
    sigs = [
        (r.first_invalid, (f2, i1)),
        (r.box_geometry, (f2, t.int64, d2)),
        (r.box_geometry, (d2, t.int64, d2)),
        (r.pairwise, (t.int64, t.int64, t.int64, t.int64, d3, d3, f3)),
        (r.aligned, (t.int64, t.int64, t.int64, t.int64, d3, d3, d2)),
        (pairwise, (t.int64, t.int64, t.int64, t.int64, d3, d3, t.float64[:, :, :])),
        (aligned, (t.int64, t.int64, t.int64, t.int64, d3, d3, f2)),
        (r.count_at_least, (t.float64[:, :], t.float64, i1)),
        (r.fill_at_least, (t.float64[:, :], t.float64, i1, i1, t.float64[::1])),
        (s.mask_rows, (f2, d2, t.boolean, i1, t.float64, t.int64, t.uint64[:, ::1])),
        (s.mask_rows, (d2, d2, t.boolean, i1, t.float64, t.int64, t.uint64[:, ::1])),
    ]
    for kernel, sig in sigs:
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(8, 0))
        assert ".entry" in ptx
    print("compiled", len(sigs))
"""


def test_ptx_compile_check():
    """Real NVVM compilation (no GPU needed); skipped without the CUDA compiler libraries."""
    ptx_compile_check(COMPILE_CHECK)
