"""``python -m fuzz`` (with tests/ on the path); see tools/fuzz.py."""

import sys

from .runner import main

sys.exit(main())
