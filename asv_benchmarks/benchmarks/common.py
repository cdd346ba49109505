"""Shared input makers for the asv suite."""

import numpy as np


def random_boxes(n: int, dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 600
    wh = rng.random((n, 2)) * 120 + 1
    return np.hstack([xy, xy + wh]).astype(dtype)
