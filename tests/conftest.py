"""Test fixtures: the shared data location and a seeded generator (the numba cache,
keyed by the source, is set in the root conftest.py). Helpers that tests import live
in ``tests/helpers/``: this file holds fixtures and hooks only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.fake_torch import fake_torch  # noqa: F401 (the fixture, defined with its fake)
from tests.helpers.paths import SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder (../shared/data); tests using it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
