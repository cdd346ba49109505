"""CUDA kernels (in numba's simulator in CI, on a GPU in benchmarks/gpu_check.sh) agree
with the CPU kernels; a PTX compile check catches typing errors the simulator cannot."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import ioukit
from ioukit.semantic import confusion_matrix
from tests.helpers.boxes import random_boxes
from tests.helpers.cuda import host, ptx_compile_check, require_cuda
from tests.helpers.masks import ellipse_masks

cuda = require_cuda()

FUNCS = [ioukit.box_iou, ioukit.box_giou, ioukit.box_diou, ioukit.box_ciou, ioukit.box_ioa]


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise_boxes_match_cpu(rng, func, dtype):
    a, b = random_boxes(rng, 9).astype(dtype), random_boxes(rng, 6).astype(dtype)
    got = func(cuda.to_device(a), cuda.to_device(b))
    assert hasattr(got, "copy_to_host")  # device array in, device array out
    want = func(a, b)
    assert host(got).dtype == want.dtype
    np.testing.assert_allclose(
        host(got), want, rtol=2e-6 if dtype == np.float32 else 1e-12, atol=1e-6
    )


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
def test_formats_offset_crowd_aligned(rng, fmt):
    a, b = random_boxes(rng, 7, fmt), random_boxes(rng, 7, fmt)
    crowd = rng.random(7) < 0.5
    np.testing.assert_allclose(
        host(
            ioukit.box_iou(
                cuda.to_device(a), cuda.to_device(b), fmt=fmt, crowd=crowd, pixel_offset=1
            )
        ),
        ioukit.box_iou(a, b, fmt=fmt, crowd=crowd, pixel_offset=1),
        rtol=1e-12,
    )
    for func in FUNCS:
        np.testing.assert_allclose(
            host(func(cuda.to_device(a), cuda.to_device(b), fmt=fmt, aligned=True)),
            func(a, b, fmt=fmt, aligned=True),
            rtol=1e-12,
            atol=1e-12,
        )


def test_batches_integers_and_out(rng):
    a = random_boxes(rng, 10).reshape(2, 5, 4)
    b = random_boxes(rng, 4)
    np.testing.assert_allclose(
        host(ioukit.box_giou(cuda.to_device(a), cuda.to_device(b))),
        ioukit.box_giou(a, b),
        rtol=1e-12,
    )
    ints = np.round(a * 3).astype(np.int32)
    ints[..., 2:] = np.maximum(ints[..., 2:], ints[..., :2])
    got = ioukit.box_iou(cuda.to_device(ints), cuda.to_device(ints))
    assert host(got).dtype == np.float64
    np.testing.assert_allclose(host(got), ioukit.box_iou(ints, ints), rtol=1e-12)
    out = cuda.device_array((5, 4), dtype=np.float64)
    assert ioukit.box_iou(cuda.to_device(a[0]), cuda.to_device(b), out=out) is out
    np.testing.assert_allclose(out.copy_to_host(), ioukit.box_iou(a[0], b), rtol=1e-12)


def test_box_errors_on_device(rng):
    bad = random_boxes(rng, 4)
    bad[2, 2] = bad[2, 0] - 1
    with pytest.raises(ValueError, match=r"argument 'a' has an invalid xyxy box at row 2"):
        ioukit.box_iou(cuda.to_device(bad), cuda.to_device(bad))
    with pytest.raises(TypeError, match="inputs must all live in one place"):
        ioukit.box_iou(cuda.to_device(bad), bad)
    with pytest.raises(ValueError, match="do not broadcast"):  # checked by the front-end
        ioukit.box_iou(cuda.to_device(np.zeros((2, 3, 4))), cuda.to_device(np.zeros((3, 3, 4))))
    with pytest.raises(ValueError, match="must be equal"):  # CUDA does not broadcast batches
        ioukit.box_iou(cuda.to_device(np.zeros((1, 3, 4))), cuda.to_device(np.zeros((3, 3, 4))))
    with pytest.raises(
        ValueError,
        match=r"argument 'b' has an invalid xywh box at row \(1, 0\): .*\(negative width\)",
    ):
        wh = np.ones((2, 1, 4))
        wh[1, 0, 2] = -1
        ioukit.box_iou(cuda.to_device(np.ones((2, 1, 4))), cuda.to_device(wh), fmt="xywh")


def test_options_checked_before_dispatch(rng):
    """Option errors are the CPU's, and an option CUDA lacks names itself (was a leaked
    'unexpected keyword argument')."""
    a = cuda.to_device(random_boxes(rng, 3))
    with pytest.raises(TypeError, match=r"box_iou: threshold= is not supported for CUDA inputs"):
        ioukit.box_iou(a, a, threshold=0.5)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        ioukit.box_iou(a, a, threshold=2)
    with pytest.raises(ValueError, match="fmt='xxyy' is not one of"):
        ioukit.box_giou(a, a, fmt="xxyy")
    with pytest.raises(ValueError, match="pixel_offset must be 0 or 1"):
        ioukit.box_area(a, pixel_offset=2)
    with pytest.raises(ValueError, match="over='c' is not one of"):
        ioukit.box_ioa(a, a, over="c")
    with pytest.raises(ValueError, match="aligned must be True or False"):
        ioukit.box_iou(a, a, aligned="yes")
    with pytest.raises(
        ValueError, match=r"crowd has shape \(2,\), expected one flag per box of 'b'"
    ):
        ioukit.box_iou(a, a, crowd=[True, False])
    with pytest.raises(
        ValueError, match=r"argument 'b' must have shape \(\.\.\., N, 4\), got \(3, 3\)"
    ):
        ioukit.box_iou(a, cuda.to_device(np.zeros((3, 3))))


def test_crowd_flags_on_device(rng):
    a, b = random_boxes(rng, 5), random_boxes(rng, 4)
    crowd = np.array([True, False, True, False])
    np.testing.assert_allclose(
        host(ioukit.box_iou(cuda.to_device(a), cuda.to_device(b), crowd=cuda.to_device(crowd))),
        ioukit.box_iou(a, b, crowd=crowd),
        rtol=1e-12,
    )


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32])
@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
def test_area_and_convert_on_device(rng, dtype, fmt):
    boxes = random_boxes(rng, 7, fmt).reshape(1, 7, 4) * 20
    boxes = boxes.astype(dtype) if dtype != np.int32 else np.round(boxes).astype(dtype)
    if dtype == np.int32 and fmt == "cxcywh":
        boxes[..., 2:] = np.abs(boxes[..., 2:])
    for offset in (0, 1):
        got = ioukit.box_area(cuda.to_device(boxes), fmt=fmt, pixel_offset=offset)
        want = ioukit.box_area(boxes, fmt=fmt, pixel_offset=offset)
        assert hasattr(got, "copy_to_host") and host(got).dtype == want.dtype
        np.testing.assert_array_equal(host(got), want)
    for dst in ("xyxy", "xywh", "cxcywh"):
        got = ioukit.box_convert(cuda.to_device(boxes), fmt, dst)
        np.testing.assert_array_equal(host(got), ioukit.box_convert(boxes, fmt, dst))
    assert host(ioukit.box_area(cuda.to_device(np.zeros((0, 4))))).shape == (0,)
    bad = boxes.copy()
    bad[0, 3, 0] = np.nan if dtype != np.int32 else bad[0, 3, 0]
    if dtype != np.int32:
        with pytest.raises(
            ValueError, match=r"argument 'a' has an invalid .* box at row \(0, 3\).*not finite"
        ):
            ioukit.box_area(cuda.to_device(bad), fmt=fmt)


def test_dense_masks_match_cpu(rng):
    a, b = ellipse_masks(rng, 5, 11, 70), ellipse_masks(rng, 4, 11, 70)
    crowd = np.array([True, False, False, True])
    da, db = cuda.to_device(a.view(np.uint8)), cuda.to_device(b.view(np.uint8))
    np.testing.assert_array_equal(host(ioukit.mask_iou(da, db)), ioukit.mask_iou(a, b))
    np.testing.assert_array_equal(
        host(ioukit.mask_iou(da, db, crowd=crowd)), ioukit.mask_iou(a, b, crowd=crowd)
    )
    with pytest.raises(TypeError, match="cannot mix CUDA masks with host masks"):
        ioukit.mask_iou(a, db)
    with pytest.raises(
        ValueError, match=r"crowd has shape \(3,\), expected one flag per mask of 'b'"
    ):
        ioukit.mask_iou(da, db, crowd=crowd[:3])
    with pytest.raises(
        ValueError, match=r"crowd has shape \(1, 4\), expected one flag per mask of 'b'"
    ):
        ioukit.mask_iou(da, db, crowd=crowd[None])
    with pytest.raises(ValueError, match="values other than 0 and 1"):
        ioukit.mask_iou(
            cuda.to_device(np.full((1, 3, 3), 2, np.uint8)),
            db[:, :3, :3] if False else cuda.to_device(np.zeros((1, 3, 3), np.uint8)),
        )


@pytest.mark.parametrize("classes", [3, 70])  # 70 * 70 bins leave shared memory: global atomics
def test_confusion_matrix_matches_cpu(rng, classes):
    target = rng.integers(0, classes, (5, 9)).astype(np.uint8)
    pred = rng.integers(0, classes, (5, 9)).astype(np.uint8)
    target[0, :3] = 255
    got = confusion_matrix(cuda.to_device(target), cuda.to_device(pred), classes, ignore_index=255)
    assert isinstance(got, np.ndarray)  # small results come back to the host
    np.testing.assert_array_equal(got, confusion_matrix(target, pred, classes, ignore_index=255))
    with pytest.raises(ValueError, match=r"pred label 9 at index \(1, 2\) is outside \[0, 3\)"):
        p = np.zeros((2, 3), np.uint8)
        p[1, 2] = 9
        confusion_matrix(cuda.to_device(np.zeros((2, 3), np.uint8)), cuda.to_device(p), 3)


COMPILE_CHECK = """
    import numpy as np
    from numba import cuda, types as t
    from ioukit.kernels import cuda_boxes as b, cuda_masks as m, cuda_semantic as s
    f3, d3 = t.float32[:, :, ::1], t.float64[:, :, ::1]
    sigs = [
        (b.cast_boxes, (t.int32[:, :, :], f3)), (b.first_invalid_box, (f3, t.int64, t.int64[::1])),
        (b.box_features, (f3, t.int64, t.float32, t.float32, f3)),
        (b.box_features, (d3, t.int64, t.float64, t.float64, d3)),
        (b.box_area, (f3, t.int64, t.float32, t.float32[:, ::1])),
        (b.box_convert, (d3, t.int64, t.int64, t.float64, d3)),
        (b.pairwise, (t.int64, f3, f3, t.boolean[:, ::1], t.int64, t.float32, t.float32, t.float32, f3)),
        (b.aligned, (t.int64, d3, d3, t.boolean[:, ::1], t.int64, t.float64, t.float64, t.float64, t.float64[:, ::1])),
        (m.pack_rows, (t.uint8[:, :, ::1], t.uint64[:, :, ::1], t.int64[::1], t.int64[::1], t.int64[::1], t.int32[::1])),
        (m.packed_iou, (t.uint64[:, :, ::1], t.int64[::1], t.int64[::1], t.int64[::1], t.uint64[:, :, ::1],
                        t.int64[::1], t.int64[::1], t.int64[::1], t.boolean[::1], t.boolean, t.float64[:, ::1])),
        (s.confusion_shared, (t.uint8[::1], t.uint8[::1], t.int64, t.int64, t.boolean, t.int64[::1], t.int64[::1])),
        (s.confusion_global, (t.int64[::1], t.int64[::1], t.int64, t.int64, t.boolean, t.int64[::1], t.int64[::1])),
    ]
    for kernel, sig in sigs:
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(8, 0))
        assert ".entry" in ptx
    print("compiled", len(sigs))
"""


def test_ptx_compile_check():
    """Real NVVM compilation of every kernel signature (no GPU needed); skipped when
    the CUDA compiler libraries (NVVM, NVRTC) are not installed."""
    ptx_compile_check(COMPILE_CHECK)


def test_import_ioukit_never_imports_numba_cuda():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ioukit, numpy as np; ioukit.box_iou(np.zeros((1, 4)), np.zeros((1, 4))); "
            "print('numba.cuda' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.stdout.strip() == "False", proc.stderr


@pytest.mark.parametrize(
    "dtype, big", [(np.float32, 2e19), (np.float64, 1e155), (np.float64, 1e300)]
)
def test_huge_finite_boxes_stay_finite_on_the_device(dtype, big):
    a = np.array([[0, 0, big, big], [0, 0, big / 2, big]], dtype=dtype)
    b = np.array([[0, 0, big, big / 2], [big / 4, 0, big, big]], dtype=dtype)
    for func in (ioukit.box_iou, ioukit.box_giou, ioukit.box_diou, ioukit.box_ciou):
        got = host(func(cuda.to_device(a), cuda.to_device(b)))
        want = func(a, b)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=1e-6)
    got = host(ioukit.box_iou(cuda.to_device(a), cuda.to_device(b), aligned=True))
    np.testing.assert_allclose(got, ioukit.box_iou(a, b, aligned=True), rtol=1e-6)
