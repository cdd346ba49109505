"""Root pytest configuration: every test run (tests and doctests) starts with a fresh
numba cache, since numba's cache does not notice edits in other files."""

import os
import tempfile

os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="ioukit-numba-cache-"))
