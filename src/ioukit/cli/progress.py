"""A minimal progress bar on stderr for long command-line work.

Shown when stderr is a terminal, or when ``IOUKIT_PROGRESS=1``; ``IOUKIT_PROGRESS=0``
hides it.
"""

from __future__ import annotations

import os
import sys
import time


class Progress:
    """``with Progress(total, "label") as bar: bar.advance()``."""

    def __init__(self, total: int, label: str, width: int = 30) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.width = width
        self.done = 0
        self.start = time.perf_counter()
        setting = os.environ.get("IOUKIT_PROGRESS")
        self.enabled = sys.stderr.isatty() if setting is None else setting not in ("0", "")

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def advance(self, steps: int = 1, label: str | None = None) -> None:
        self.done = min(self.total, self.done + steps)
        if label:
            self.label = label
        self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r{self.label:<28} [{bar}] {self.done}/{self.total} {elapsed:6.1f}s")
        sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
