"""Where things are: the repository root and the shared real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
SHARED_DATA = Path(os.environ.get("IOUKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
