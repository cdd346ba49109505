"""Run a risky call in a fresh interpreter, so that a crash fails one test instead of
ending the run: the child prints one JSON line per case (what it raised)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.helpers.paths import SRC as _SRC

SRC = str(_SRC)

PRELUDE = """
import json, resource, sys
import numpy as np

def report(label, call):
    try:
        value = call()
        out = {"label": label, "ok": True, "value": repr(value)[:300]}
    except Exception as exc:  # the parent asserts the type and message
        out = {"label": label, "ok": False, "type": type(exc).__name__, "message": str(exc)}
    print(json.dumps(out), flush=True)

def cap_memory(extra_bytes):
    '''Limit the address space to what is mapped now plus ``extra_bytes``.'''
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + extra_bytes, vm + extra_bytes))
"""


def run_isolated(code: str, timeout: float = 600) -> dict[str, dict]:
    """Run ``code`` (which calls ``report(label, fn)``) in a subprocess; returns the
    reports by label. A crash, hang or non-zero exit fails the calling test."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert proc.returncode == 0, f"child exited with {proc.returncode}:\n{proc.stderr[-3000:]}"
    reports = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["label"]: r for r in reports}
