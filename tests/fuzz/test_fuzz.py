"""Bounded fuzz run (see tests/fuzz and docs/reliability.md): every target's cases run
in bounds-checked (``NUMBA_BOUNDSCHECK=1``), memory-limited worker processes, and
each target's test fails with the list of cases that crashed, hung, raised
something else than ValueError/TypeError or broke an invariant, each with the
command that replays it.

``IOUKIT_FUZZ_CASES`` sets the cases per target (default 60) and ``IOUKIT_FUZZ_JOBS``
the workers (default 2); ``python tools/fuzz.py`` is the same harness at any scale.
"""

from __future__ import annotations

import os
import sys

import pytest

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="the fuzz workers need POSIX resource limits"
)

CASES = int(os.environ.get("IOUKIT_FUZZ_CASES", "60"))
JOBS = int(os.environ.get("IOUKIT_FUZZ_JOBS", "2"))
SEED = int(os.environ.get("IOUKIT_FUZZ_SEED", "0"))


def _targets() -> list[str]:
    from tests.fuzz.core import TARGET_MODULES

    return list(TARGET_MODULES)


@pytest.fixture(scope="module")
def fuzz_reports(request):
    """One run of the selected targets (all of them unless ``-k`` picks some)."""
    from tests.fuzz import runner

    selected = [
        item.callspec.params["target"]
        for item in request.session.items
        if hasattr(item, "callspec") and "target" in item.callspec.params
    ]
    options = runner.Options(seed=SEED, cases=CASES, jobs=JOBS, max_failures=25)
    return runner.run(selected or _targets(), options)


@pytest.mark.parametrize("target", _targets())
def test_fuzz_target(fuzz_reports, target):
    from tests.fuzz import runner

    report = fuzz_reports[target]
    assert report.run > 0
    if report.failures:
        text = runner.format_reports({target: report}, SEED, details=1)
        pytest.fail(
            f"{len(report.failures)} failing fuzz cases of {target}:\n{text}", pytrace=False
        )


def test_harness_reports_crash_hang_and_other_errors(tmp_path, monkeypatch):
    """The runner survives a worker that aborts or hangs and names each failing case."""
    from tests.fuzz import core, runner

    (tmp_path / "fuzz_selftest.py").write_text(
        "import os, time\n"
        "from fuzz.core import Target\n"
        "def run(case):\n"
        "    if case == 1: os.abort()\n"
        "    if case == 2: time.sleep(60)\n"
        "    if case == 3: raise IndexError('out of bounds')\n"
        "    if case == 4: raise ValueError('a clear message')\n"
        "def generate(rng):\n"
        "    return int(rng.integers(0, 5))\n"
        "TARGETS = {'selftest': Target('selftest', generate, run, lambda: None)}\n"
    )
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(runner.TESTS_DIR))  # "fuzz", as the workers name it
    monkeypatch.setenv("IOUKIT_FUZZ_EXTRA_TARGETS", "selftest=fuzz_selftest")
    monkeypatch.setitem(core.TARGET_MODULES, "selftest", "fuzz_selftest")
    n = 8
    reports = runner.run(["selftest"], runner.Options(cases=n, timeout=3, memory_limit_gb=2))
    cases = [core.make_case("selftest", 0, i) for i in range(n)]
    expected = {
        i: {1: "crash", 2: "hang", 3: "IndexError"}[c]
        for i, c in enumerate(cases)
        if c in (1, 2, 3)
    }
    found = {f["index"]: f["detail"].split(":")[0] for f in reports["selftest"].failures}
    assert found == expected
    assert reports["selftest"].rejected == cases.count(4)
    assert reports["selftest"].ok == cases.count(0)
