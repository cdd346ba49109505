"""Root pytest configuration: a numba cache that is warm when the source is unchanged.

Numba's own cache checks only the file that defines a kernel, not the files whose
functions it inlines (kernels/scalar.py, helpers in other modules). So unless
``NUMBA_CACHE_DIR`` is already set, the tests use a cache folder named after a
hash of every ``.py`` file of the ioukit package being tested (and of the numba
and Python versions): any source edit gives a fresh, cold cache; an unchanged
tree re-runs warm. The folder lives under ``<temp>/ioukit-numba-tests/``; folders
of the same checkout with another hash, unused for an hour, are removed. Beside it,
``...-boundscheck`` holds the kernels compiled with ``NUMBA_BOUNDSCHECK=1`` (the fuzz
workers and the bounds-checked subprocess tests share it: ``IOUKIT_FUZZ_CACHE``).

The suite runs in two pytest-xdist workers (``-n 2 --dist loadfile`` in pyproject.toml;
``-n 0`` runs in this process). Both share the cache. Before they start, a run of the
whole suite fills the cache with the kernel families of ``ioukit.warmup`` that are not
in it yet, one process per core, so that the workers load kernels instead of each
compiling the same ones (``IOUKIT_TEST_PREWARM=0`` skips this, ``=1`` forces it for a
partial run). The fuzz module, the longest, is scheduled first.
"""

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import pytest

_STALE_SECONDS = 3600


def _package_dir() -> Path:
    spec = importlib.util.find_spec("ioukit")  # finds it without importing it
    if spec is not None and spec.origin:
        return Path(spec.origin).parent
    return Path(__file__).resolve().parent / "src" / "ioukit"


def _source_key(package: Path) -> str:
    digest = hashlib.sha256()
    try:
        numba_version = metadata.version("numba")
    except metadata.PackageNotFoundError:
        numba_version = "?"
    digest.update(f"{sys.version} {numba_version}\n".encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _test_cache_dir() -> str:
    package = _package_dir()
    root = Path(tempfile.gettempdir()) / "ioukit-numba-tests"
    checkout = hashlib.sha256(str(package.resolve()).encode()).hexdigest()[:8]
    folder = root / f"{checkout}-{_source_key(package)}"
    checked = root / f"{folder.name}-boundscheck"
    for path in (folder, checked):
        path.mkdir(parents=True, exist_ok=True)
        os.utime(path)  # marks it in use
    now = time.time()
    for sibling in root.glob(f"{checkout}-*"):
        try:
            if sibling not in (folder, checked) and now - sibling.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(sibling, ignore_errors=True)
        except OSError:
            pass  # another run removed it first
    return str(folder)


if not os.environ.get("NUMBA_CACHE_DIR"):
    os.environ["NUMBA_CACHE_DIR"] = _test_cache_dir()
if not os.environ.get("IOUKIT_FUZZ_CACHE"):
    os.environ["IOUKIT_FUZZ_CACHE"] = os.environ["NUMBA_CACHE_DIR"].rstrip(os.sep) + "-boundscheck"

# CUDA kernels run in numba's simulator unless a GPU check asks otherwise
# (benchmarks/gpu/check.sh sets NUMBA_ENABLE_CUDASIM=0); small blocks make the
# simulator cover several blocks and out-of-range threads.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
if os.environ["NUMBA_ENABLE_CUDASIM"] == "1":
    os.environ.setdefault("IOUKIT_CUDA_THREADS", "4,4")
# The parallel kernels' OpenMP threads sleep between kernels instead of spinning: the
# two xdist workers (and the subprocesses of the tests) each run a pool as wide as the
# machine, and the spinning threads of one took the cores of the other (twice the CPU
# time on the kernel-heavy files). Set before numba loads its OpenMP layer.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


# Fills the cache with the cold families of ioukit.warmup, one spawned process per
# job, without loading them here (the xdist controller runs no test).
_PREWARM = """
import multiprocessing, sys, time
from concurrent.futures import ProcessPoolExecutor
from ioukit._core import warmup
start = time.perf_counter()
cold = warmup.cold_families(list(warmup.FAMILIES))
if cold:
    context = multiprocessing.get_context("spawn")
    jobs = min(int(sys.argv[1]), len(cold))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(warmup._warm_family, name, ("float32", "float64")) for name in cold]
        for future in futures:
            future.result()
print(f"{len(cold)} cold kernel families compiled in {time.perf_counter() - start:.0f} s")
"""


def _wants_prewarm(config) -> bool:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller did it
        return False
    choice = os.environ.get("IOUKIT_TEST_PREWARM", "")
    if choice in ("0", "1"):
        return choice == "1"
    # only for a run of the whole suite (a single file would not use most families)
    return config.args_source == config.ArgsSource.TESTPATHS and not config.option.collectonly


def pytest_sessionstart(session) -> None:
    config = session.config
    if not _wants_prewarm(config):
        return
    jobs = max(1, getattr(config.option, "numprocesses", None) or os.cpu_count() or 1)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            filter(None, (str(_package_dir().parent), os.environ.get("PYTHONPATH")))
        ),
    )
    proc = subprocess.run(
        [sys.executable, "-c", _PREWARM, str(jobs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if proc.returncode:  # the tests then compile what they need; their failures say why
        line = f"ioukit kernel pre-warm failed ({proc.returncode}): {proc.stderr[-1500:]}"
    else:
        line = f"ioukit kernel pre-warm: {proc.stdout.strip()}"
    if reporter is not None:
        reporter.write_line(line)


def pytest_configure(config) -> None:
    # In the test processes every input runs the compiled kernels, small ones too, and
    # wherever a NumPy twin would run (IOUKIT_TWINS=auto) it runs beside the kernel on
    # copies and must give the same outputs ("shadow"): every test checks both.
    # Subprocesses (the CLI tests) use the default, auto.
    from ioukit._core import twins

    twins.DEFAULT_TWIN_MODE = "shadow"


_FIRST = ("tests/fuzz/test_fuzz.py",)  # the longest modules, started first


def pytest_collection_modifyitems(session, config, items) -> None:
    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return _FIRST.index(path) if path in _FIRST else len(_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.fixture(autouse=True)
def _temp_files_in_tmp_path(tmp_path, monkeypatch):
    """``tempfile.mkdtemp()`` and friends, in a test, a doctest or a docs block, make
    their files under the test's ``tmp_path`` (which pytest prunes to the last three
    runs), so that the suite leaves nothing behind in the system's temporary folder."""
    folder = tmp_path / "tempfile"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
