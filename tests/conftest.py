"""Test fixtures: the shared data location and random boxes (the numba cache, keyed
by the source, is set in the root conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("IOUKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder (../shared/data); tests using it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


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


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
