"""Root pytest configuration: a numba cache that is warm when the source is unchanged.

Numba's own cache checks only the file that defines a kernel, not the files whose
functions it inlines (kernels/scalar.py, helpers in other modules). So unless
``NUMBA_CACHE_DIR`` is already set, the tests use a cache folder named after a
hash of every ``.py`` file of the ioukit package being tested (and of the numba
and Python versions): any source edit gives a fresh, cold cache; an unchanged
tree re-runs warm. The folder lives under ``<temp>/ioukit-numba-tests/``; folders
of the same checkout with another hash, unused for an hour, are removed.
"""

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

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
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(folder)  # marks it in use
    now = time.time()
    for sibling in root.glob(f"{checkout}-*"):
        try:
            if sibling != folder and now - sibling.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(sibling, ignore_errors=True)
        except OSError:
            pass  # another run removed it first
    return str(folder)


if not os.environ.get("NUMBA_CACHE_DIR"):
    os.environ["NUMBA_CACHE_DIR"] = _test_cache_dir()

# CUDA kernels run in numba's simulator unless a GPU check asks otherwise
# (benchmarks/gpu/check.sh sets NUMBA_ENABLE_CUDASIM=0); small blocks make the
# simulator cover several blocks and out-of-range threads.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
if os.environ["NUMBA_ENABLE_CUDASIM"] == "1":
    os.environ.setdefault("IOUKIT_CUDA_THREADS", "4,4")
