"""The ioukit command, run as a user would (subprocess)."""

from __future__ import annotations

import subprocess
import sys


def ioukit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ioukit", *args], capture_output=True, text=True, timeout=600
    )


def test_demo_explains_the_worked_example():
    proc = ioukit("demo")
    assert proc.returncode == 0, proc.stderr
    assert "25 / 175" in proc.stdout
    assert "0.1429" in proc.stdout and "poor" in proc.stdout
    assert "billion pairs/s" in proc.stdout


def test_help_and_unknown_command():
    proc = ioukit("--help")
    assert proc.returncode == 0 and "demo" in proc.stdout
    bad = ioukit("nonsense")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
