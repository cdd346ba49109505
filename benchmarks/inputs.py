"""Input makers shared by the benchmark scripts and the asv suite.

Plain NumPy and deterministic for a given generator, so that a peer ratio in
docs/benchmarks.md and an asv timing measure the same kind of data. The asv suite
loads this file by its path (``asv_benchmarks/benchmarks/common.py``): keep it free
of imports from the rest of ``benchmarks/``.
"""

from __future__ import annotations

import numpy as np


def random_boxes(rng: np.random.Generator, n: int, dtype="float64") -> np.ndarray:
    """``n`` xyxy boxes in a 720 x 720 field, sides 1 ... 121: dense overlaps."""
    xy = rng.random((n, 2)) * 600
    wh = rng.random((n, 2)) * 120 + 1
    return np.hstack([xy, xy + wh]).astype(dtype)


def spread_boxes(
    rng: np.random.Generator, n: int, field: float | None = None, dtype="float32"
) -> np.ndarray:
    """``n`` xyxy boxes of sides 5 ... 25 in a ``field`` x ``field`` square. The default
    field grows with ``n`` so that each box overlaps a few neighbours: the shape of
    ``box_iou(threshold=)`` inputs."""
    if field is None:
        field = np.sqrt(max(n, 1)) * 12.0
    xy = rng.random((n, 2)) * field
    wh = rng.random((n, 2)) * 20 + 5
    return np.hstack([xy, xy + wh]).astype(dtype)


def ellipses(rng: np.random.Generator, n: int, h: int = 480, w: int = 640) -> np.ndarray:
    """``n`` filled ellipses of COCO-object size, as a bool (n, h, w) stack."""
    masks = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        ry, rx = rng.uniform(5, 80), rng.uniform(5, 110)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        y0, y1 = int(max(0, cy - ry)), int(min(h, cy + ry + 1))
        x0, x1 = int(max(0, cx - rx)), int(min(w, cx + rx + 1))
        yy, xx = np.mgrid[y0:y1, x0:x1]
        masks[i, y0:y1, x0:x1] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    return masks


def polygons(n: int) -> list[list[int]]:
    """``n`` five-point polygons (COCO's flat ``[x0, y0, x1, y1, ...]``) in 480 x 640."""
    return [
        [x, y, x + 50, y, x + 80, y + 40, x + 30, y + 90, x - 10, y + 40]
        for x, y in zip(range(0, 10 * n, 10), range(0, 5 * n, 5), strict=True)
    ]


def label_maps(
    rng: np.random.Generator, n: int, h: int = 1024, w: int = 2048, classes: int = 19
) -> tuple[np.ndarray, np.ndarray]:
    """Cityscapes-like ``(target, prediction)`` uint8 stacks, ignore label 255.

    Irregular class regions (nearest of 60 random seeds), about 8 % ignored; the
    prediction is the target shifted by a few pixels with some regions relabelled.
    """
    small_h, small_w = h // 8, w // 8
    yy, xx = np.mgrid[:small_h, :small_w]
    targets, preds = [], []
    for _ in range(n):
        seeds = rng.uniform(0, 1, (60, 2)) * (small_h, small_w)
        labels = rng.integers(0, classes, 60).astype(np.uint8)
        labels[rng.integers(0, 60, 5)] = 255
        d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
        region = np.argmin(d, axis=-1)
        target = np.repeat(np.repeat(labels[region], 8, 0), 8, 1)
        relabel = labels.copy()
        changed = rng.random(60) < 0.15
        relabel[changed] = rng.integers(0, classes, changed.sum())
        pred = np.repeat(np.repeat(relabel[region], 8, 0), 8, 1)
        pred = np.roll(pred, (3, 5), axis=(0, 1))
        pred[pred == 255] = 0
        targets.append(target)
        preds.append(pred)
    return np.stack(targets), np.stack(preds)


def noise_label_maps(
    rng: np.random.Generator, n: int, h: int = 1024, w: int = 2048, classes: int = 19
) -> tuple[np.ndarray, np.ndarray]:
    """The worst case of the run-length kernels: every pixel an independent label."""
    target = rng.integers(0, classes, (n, h, w), dtype=np.uint8)
    target[rng.random((n, h, w)) < 0.08] = 255
    pred = rng.integers(0, classes, (n, h, w), dtype=np.uint8)
    return target, pred
