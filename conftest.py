"""Root pytest configuration: every test run (tests and doctests) starts with a fresh
numba cache, since numba's cache does not notice edits in other files."""

import os
import tempfile

os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="ioukit-numba-cache-"))

# CUDA kernels run in numba's simulator unless a GPU check asks otherwise
# (benchmarks/gpu_check.sh sets NUMBA_ENABLE_CUDASIM=0); small blocks make the
# simulator cover several blocks and out-of-range threads.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
if os.environ["NUMBA_ENABLE_CUDASIM"] == "1":
    os.environ.setdefault("IOUKIT_CUDA_THREADS", "4,4")
