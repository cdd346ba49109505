"""Smoke test of the asv suite: every benchmark runs once on its smallest parameters,
so the benchmarks cannot rot unnoticed (timings are never asserted)."""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import pytest

ASV_DIR = Path(__file__).resolve().parents[2] / "asv_benchmarks"
MODULES = sorted(
    p.stem for p in (ASV_DIR / "benchmarks").glob("*.py") if p.stem not in {"__init__", "common"}
)


def smallest(params):
    if not params:
        return [()]
    first = [values[0] if not isinstance(values[0], int) else min(values) for values in params]
    return [tuple(first)]


@pytest.mark.parametrize("module_name", MODULES)
def test_benchmarks_run(module_name, monkeypatch):
    monkeypatch.syspath_prepend(str(ASV_DIR))
    module = importlib.import_module(f"benchmarks.{module_name}")
    ran = skipped = 0
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module.__name__:
            continue
        timers = [n for n in dir(cls) if n.startswith(("time_", "peakmem_", "track_"))]
        if not timers:
            continue
        for args in smallest(getattr(cls, "params", [])):
            bench = cls()
            try:
                if hasattr(bench, "setup"):
                    bench.setup(*args)
            except NotImplementedError:  # asv's way to skip (no GPU, ...)
                skipped += 1
                continue
            for name in timers:
                getattr(bench, name)(*args)
                ran += 1
    if ran == 0 and skipped:
        pytest.skip(f"every benchmark of {module_name} skips on this machine")
    assert ran > 0
    sys.modules.pop(f"benchmarks.{module_name}", None)
