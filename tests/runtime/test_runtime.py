"""Import cost, the on-disk cache switch, warmup, and parallel calls from many threads."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )


def test_import_compiles_nothing_and_skips_numba():
    proc = run_python(
        """
        import sys
        import ioukit
        assert "numba" not in sys.modules, "import ioukit imported numba"
        assert "numba.cuda" not in sys.modules
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_cache_switch(tmp_path):
    code = """
        import numpy as np, ioukit
        from ioukit._core import jit as _numba
        ioukit.box_area(np.zeros((1, 4)))  # any cached kernel; this one compiles fast
        print(_numba.CACHE)
        """
    off = run_python(code, IOUKIT_CACHE="0", NUMBA_CACHE_DIR=str(tmp_path / "off"))
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "False"
    assert not list((tmp_path / "off").rglob("*.nbi"))
    on = run_python(code, IOUKIT_CACHE="1", NUMBA_CACHE_DIR=str(tmp_path / "on"))
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == "True"
    assert list((tmp_path / "on").rglob("*.nbi"))


THREADED = """
    import threading, numpy as np, ioukit
    from ioukit._core import jit as _numba
    rng = np.random.default_rng(0)
    xy = rng.random((400, 2)) * 100
    boxes = np.hstack([xy, xy + rng.random((400, 2)) * 30])
    want = ioukit.box_iou(boxes, boxes)
    errors = []
    def work():
        try:
            for _ in range(20):
                for f in (ioukit.box_iou, ioukit.box_giou):
                    got = f(boxes, boxes)
                if not np.array_equal(ioukit.box_iou(boxes, boxes), want):
                    errors.append("mismatch")
        except Exception as e:
            errors.append(repr(e))
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(_numba.threading_layer(), len(errors))
    """


@pytest.mark.parametrize("layer", ["workqueue", "default"])
def test_parallel_calls_from_many_threads_never_abort(layer):
    # the session's cache: a kernel loaded from it starts the layer chosen here
    env = {}
    if layer != "default":
        env["NUMBA_THREADING_LAYER"] = layer
    proc = run_python(THREADED, **env)
    assert proc.returncode == 0, f"process died ({proc.returncode}): {proc.stderr[-2000:]}"
    chosen, errors = proc.stdout.split()
    assert errors == "0"
    if layer != "default":
        assert chosen == layer


def test_warmup_returns_seconds():
    import ioukit

    assert ioukit.warmup(("float32",), families=["boxes"]) >= 0  # all families: test_warmup.py


TWIN = """
    import sys, threading, numpy as np
    from ioukit._core import jit
    from ioukit._core.loader import kernel, parallel_call
    k = kernel("cpu_rle").areas_from_counts
    rng = np.random.default_rng(1)
    n = 20000
    runs = rng.integers(0, 5, (n, 6))
    counts = runs.ravel().astype(np.int64)
    offsets = np.arange(0, 6 * n + 1, 6, dtype=np.int64)
    sizes = runs.sum(axis=1).astype(np.int64)
    want = runs[:, 1::2].sum(axis=1)
    first = np.zeros(n, np.int64)
    parallel_call(k, counts, offsets, sizes, first)  # the layer is now known
    assert jit.threading_layer() == "workqueue", jit.threading_layer()
    # deterministic: while this thread holds the lock, another thread must not wait
    done = []
    def blocked():
        out = np.zeros(n, np.int64)
        parallel_call(k, counts, offsets, sizes, out)
        done.append(np.array_equal(out, want))
    with jit._parallel_lock:
        t = threading.Thread(target=blocked)
        t.start()
        t.join(timeout=300)
        assert not t.is_alive(), "a busy parallel kernel made another thread wait"
    assert done == [True], done
    assert k in jit._twins
    # 4 threads at once: every result equal, no abort
    results = [None] * 4
    barrier = threading.Barrier(4)
    def work(i):
        barrier.wait()
        for _ in range(20):
            out = np.zeros(n, np.int64)
            parallel_call(k, counts, offsets, sizes, out)
            if not np.array_equal(out, want):
                results[i] = "mismatch"
                return
        results[i] = "ok"
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(" ".join(results))
    """


def test_workqueue_busy_kernel_runs_its_serial_twin():
    proc = run_python(
        TWIN,
        NUMBA_THREADING_LAYER="workqueue",
        NUMBA_NUM_THREADS="2",
    )
    assert proc.returncode == 0, f"process died ({proc.returncode}): {proc.stderr[-2000:]}"
    assert proc.stdout.split() == ["ok"] * 4


def test_no_twin_is_compiled_without_contention():
    import numpy as np

    from ioukit._core import jit
    from ioukit._core.loader import kernel, parallel_call

    k = kernel("cpu_rle").areas_from_counts
    before = set(jit._twins)
    out = np.zeros(1, np.int64)
    parallel_call(k, np.array([2, 3, 1]), np.array([0, 3]), np.array([6]), out)
    assert out.tolist() == [3]
    assert set(jit._twins) == before
