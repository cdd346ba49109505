"""Cold-compile and warm-cache start-up of a fresh process (``python -m benchmarks.startup.process``).

Runs three fresh interpreters: import only; first ``box_iou`` call with an empty
numba cache (compile); the same with the cache the previous run wrote (load).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

PROBE = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import ioukit
t1 = time.perf_counter()
a = np.array([[0, 0, 2, 2], [1, 1, 3, 4]], np.float32)
ioukit.box_iou(a, a)
t2 = time.perf_counter()
ioukit.warmup()
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_box_iou": t2 - t1, "warmup_all": t3 - t2}))
"""


def probe(cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = probe(cache)
        warm = probe(cache)
    print("| process | import ioukit | first box_iou call | warmup() of every kernel |")
    print("|---|---|---|---|")
    for name, r in (("cold (empty cache: compile)", cold), ("warm (cache on disk: load)", warm)):
        print(
            f"| {name} | {r['import'] * 1e3:.0f} ms | {r['first_box_iou']:.2f} s | {r['warmup_all']:.2f} s |"
        )


if __name__ == "__main__":
    main()
