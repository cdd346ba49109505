"""What the asv suite shares with the benchmark scripts: the input makers of
``benchmarks/inputs.py`` (loaded by its path: asv imports this folder as its own
``benchmarks`` package, so the repository's ``benchmarks`` package is not importable
here under that name)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np

_INPUTS = Path(__file__).resolve().parents[2] / "benchmarks" / "inputs.py"


def _load_inputs():
    name = "ioukit_benchmark_inputs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _INPUTS)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


inputs = _load_inputs()


def random_boxes(n: int, dtype: str, seed: int = 0) -> np.ndarray:
    """``inputs.random_boxes`` from a generator seeded with ``seed``."""
    return inputs.random_boxes(np.random.default_rng(seed), n, dtype)


def spread_boxes(n: int, dtype: str = "float32", seed: int = 0) -> np.ndarray:
    """``inputs.spread_boxes`` (a few neighbours per box) from ``seed``."""
    return inputs.spread_boxes(np.random.default_rng(seed), n, dtype=dtype)


def ellipses(n: int, h: int = 480, w: int = 640, seed: int = 0) -> np.ndarray:
    return inputs.ellipses(np.random.default_rng(seed), n, h, w)


def label_maps(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return inputs.label_maps(np.random.default_rng(seed), frames)
