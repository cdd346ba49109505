"""Random boxes for the box tests."""

from __future__ import annotations

import numpy as np


def random_boxes(rng: np.random.Generator, n: int, fmt: str = "xyxy", scale: float = 100.0):
    """``n`` random valid boxes in ``fmt`` (float64), some degenerate, some touching."""
    xy = rng.uniform(-scale, scale, size=(n, 2))
    wh = rng.uniform(0, scale / 2, size=(n, 2))
    if n:
        wh[rng.random(n) < 0.05] = 0.0  # zero-area boxes
        xy = np.where(rng.random((n, 1)) < 0.1, np.round(xy), xy)  # shared edges
    if fmt == "xyxy":
        return np.concatenate([xy, xy + wh], axis=1)
    if fmt == "xywh":
        return np.concatenate([xy, wh], axis=1)
    return np.concatenate([xy + wh / 2, wh], axis=1)
