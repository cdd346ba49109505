"""The shared scalar formulas: one compiled copy per target, float32 kept float32."""

from __future__ import annotations

import numpy as np

import ioukit


def _torchvision_ciou_float32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CIoU of aligned float32 boxes in torchvision's order of float32 operations."""
    f = np.float32
    eps = f(1e-7)
    inter_w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    inter_h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = inter_w * inter_h
    wa, ha = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    wb, hb = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    iou = inter / (wa * ha + wb * hb - inter)
    diag_w = np.maximum(a[:, 2], b[:, 2]) - np.minimum(a[:, 0], b[:, 0])
    diag_h = np.maximum(a[:, 3], b[:, 3]) - np.minimum(a[:, 1], b[:, 1])
    diag = diag_w**2 + diag_h**2 + eps
    dx = (a[:, 0] + a[:, 2]) / f(2) - (b[:, 0] + b[:, 2]) / f(2)
    dy = (a[:, 1] + a[:, 3]) / f(2) - (b[:, 1] + b[:, 3]) / f(2)
    v = f(4 / np.pi**2) * (np.arctan(wa / ha) - np.arctan(wb / hb)) ** 2
    alpha = v / (f(1) - iou + v + eps)
    return (iou - (dx**2 + dy**2) / diag - alpha * v).astype(np.float32)


def test_ciou_float32_stays_close_to_torchvision():
    rng = np.random.default_rng(13)
    xy = rng.uniform(0, 100, (500, 2))
    a = np.hstack([xy, xy + rng.uniform(1, 50, (500, 2))]).astype(np.float32)
    xy = rng.uniform(0, 100, (500, 2))
    b = np.hstack([xy, xy + rng.uniform(1, 50, (500, 2))]).astype(np.float32)
    got = ioukit.box_ciou(a, b, aligned=True)
    assert got.dtype == np.float32
    want = _torchvision_ciou_float32(a, b)
    # values lie in [-1, 1]: two float32 ulps of 1.0 bound the difference of two orders
    np.testing.assert_allclose(got, want, rtol=0, atol=2 * np.finfo(np.float32).eps)


def test_scalars_compile_once_per_target():
    from ioukit.kernels import cpu_boxes, cpu_masks, cpu_scalar, cpu_sparse

    assert cpu_boxes.iou_from_areas is cpu_scalar.F.iou_from_areas
    assert cpu_masks._f is cpu_scalar.F is cpu_sparse._f


def test_scalar_module_has_no_float_globals():
    from ioukit.kernels import scalar

    floats = [k for k, v in vars(scalar).items() if isinstance(v, float)]
    assert floats == [], f"float64 globals widen float32 kernels: {floats}"
