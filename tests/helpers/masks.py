"""Random realistic masks for the mask tests: filled ellipses, some empty, some touching the border."""

from __future__ import annotations

import numpy as np


def ellipse_masks(rng: np.random.Generator, n: int, h: int = 48, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    masks = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        cy, cx = rng.uniform(-5, h + 5), rng.uniform(-5, w + 5)
        ry, rx = rng.uniform(0.5, h / 2), rng.uniform(0.5, w / 2)
        masks[i] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    if n > 2:
        masks[1] = False  # an empty mask
        masks[2] = True  # a full mask
    return masks


def random_polygon(rng: np.random.Generator, h: int, w: int, k: int | None = None) -> list[float]:
    """A star-shaped polygon, partly outside the image at times, with float vertices."""
    k = k or int(rng.integers(3, 12))
    cx, cy = rng.uniform(-0.1 * w, 1.1 * w), rng.uniform(-0.1 * h, 1.1 * h)
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    radius = rng.uniform(0.5, 0.4 * max(h, w), k)
    xs = cx + radius * np.cos(angles)
    ys = cy + radius * np.sin(angles)
    return np.round(np.stack([xs, ys], 1).ravel(), 2).tolist()
