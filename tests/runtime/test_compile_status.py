"""ioukit._core.compile_status: knowing (and saying) when numba compiles."""

from __future__ import annotations

import io

import numba
import numpy as np

from ioukit._core.compile_status import NOTICE, CompileWatch, cache_is_warm


def _fresh_kernel():
    @numba.njit(cache=False)
    def add_one(x):
        return x + 1

    return add_one


def test_watch_records_a_cold_compile_and_announces_it():
    kernel = _fresh_kernel()
    stream = io.StringIO()
    with CompileWatch(announce=True, stream=stream, progress=True) as watch:
        assert kernel(1) == 2
    assert watch.cold and watch.count == 1
    assert watch.seconds > 0
    record = watch.records[-1]
    assert record.name.endswith("_fresh_kernel.<locals>.add_one")
    assert record.signature == "(int64)"
    assert record.depth == 0 and 0 <= record.self_seconds <= record.seconds
    text = stream.getvalue()
    assert text.startswith("\n" + NOTICE + "\n")  # after a progress bar's line
    assert "compiling kernel 1 (0.0 s so far): <locals>.add_one" in text
    assert text.endswith(f"ioukit: {watch.summary()}\n")


def test_watch_without_progress_prints_the_notice_and_summary_only():
    kernel = _fresh_kernel()
    stream = io.StringIO()
    with CompileWatch(announce=True, stream=stream, progress=False) as watch:
        kernel(1)
    assert stream.getvalue() == f"{NOTICE}\nioukit: {watch.summary()}\n"


def test_watch_is_silent_when_nothing_compiles():
    kernel = _fresh_kernel()
    kernel(1)
    stream = io.StringIO()
    with CompileWatch(announce=True, stream=stream) as watch:
        kernel(2)
    assert not watch.cold and watch.count == 0 and watch.seconds == 0.0
    assert watch.summary() == "" and stream.getvalue() == ""


def test_nested_compiles_are_not_counted_twice():
    inner = _fresh_kernel()

    @numba.njit(cache=False)
    def outer(x):
        return inner(x) * 2

    with CompileWatch() as watch:
        assert outer(1) == 4
    assert watch.count == 1  # inner compiled inside outer
    tops = [r for r in watch.records if r.depth == 0]
    assert watch.seconds == tops[0].seconds
    assert any(r.name.endswith("add_one") and r.depth == 1 for r in watch.records)


def test_listener_is_removed_on_exit():
    with CompileWatch() as watch:
        pass
    _fresh_kernel()(1)
    assert watch.records == []


def test_cache_is_warm():
    from ioukit._core.jit import CACHE
    from ioukit.kernels import cpu_semantic
    from ioukit.semantic import confusion_matrix

    labels = np.array([0, 1, 1], dtype=np.int32)
    confusion_matrix(labels, labels, 2)
    assert cache_is_warm([cpu_semantic.confusion_runs]) is CACHE
    assert cache_is_warm([]) is True
    assert cache_is_warm([object()]) is False  # not a cached dispatcher


def test_cli_note_says_how_much_was_compiling():
    from ioukit._core.compile_status import CompileRecord
    from ioukit.cli.main import _compile_note

    watch = CompileWatch()
    assert _compile_note(watch) == []
    watch.records.append(CompileRecord("ioukit.kernels.k.f", "(int64)", 2.5, 2.0, 0))
    watch.records.append(CompileRecord("ioukit.kernels.k.g", "(int64)", 0.5, 0.5, 1))
    assert watch.count == 1 and watch.seconds == 2.5
    assert _compile_note(watch)[-1] == (
        "(the time above includes 2.5 s compiling kernels: first run only)"
    )
    assert watch.summary() == "compiled 1 kernels in 2.5 s (first run only)"


def test_watch_opened_before_numba_is_imported_hears_the_compiles():
    """A small evaluation may never import numba; a larger one imports it part way
    through a watched run, and the watch must still see its compilations."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from ioukit._core.compile_status import CompileWatch\n"
        "with CompileWatch() as watch:\n"
        "    assert 'numba' not in sys.modules\n"
        "    from ioukit._core import jit\n"
        "    import numba\n"
        "    numba.njit(cache=False)(lambda x: x + 1)(1)\n"
        "print('COMPILES', watch.count)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "COMPILES 1" in proc.stdout
