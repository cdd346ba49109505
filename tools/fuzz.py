#!/usr/bin/env python
"""Fuzz ioukit: ``python tools/fuzz.py [TARGET ...] --cases N --jobs J`` (see docs/reliability.md).

The harness lives in ``tests/fuzz``; this script puts ``tests/`` on the path in
place of its own folder and runs it.
"""

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1] / "tests")

from fuzz.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
