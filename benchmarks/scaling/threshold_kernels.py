"""Cold compile and run time of the threshold (sparse) and NMS kernels (issue 12).

    python -m benchmarks.scaling.threshold_kernels            # run time (warm cache)
    python -m benchmarks.scaling.threshold_kernels --cold     # + first call, empty cache

Run time: the best CPU time (``time.process_time``) of ``box_iou(a, b,
threshold=0.3)`` at 2,000 x 2,000 and 20,000 x 20,000 boxes (float64 and float32),
and of ``nms`` over 20,000 boxes and 5,000 rotated ones; run it with
``NUMBA_NUM_THREADS=1`` to compare kernels on a busy machine (CPU time is then the
kernel's own work). ``--cold``: ``box_iou(a, a, threshold=0.5)`` in a fresh process
with an empty ``NUMBA_CACHE_DIR``, and how many variants of ``cpu_sparse._visit``
it compiled.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

COLD = """
import time, numpy as np
t0 = time.perf_counter()
import ioukit
from ioukit.kernels import cpu_sparse
xy = np.random.default_rng(0).random((50, 2)) * 100
a = np.concatenate([xy, xy + 10], axis=1)
t1 = time.perf_counter()
ioukit.box_iou(a, a, threshold=0.5)
t2 = time.perf_counter()
print(f"cold first threshold call {t2 - t1:.1f} s (import {t1 - t0:.2f} s); "
      f"_visit variants {len(cpu_sparse._visit.signatures)}")
"""


def _boxes(rng: np.random.Generator, n: int, dtype: type) -> np.ndarray:
    xy = rng.random((n, 2)) * 1000
    wh = rng.random((n, 2)) * 40 + 2
    return np.concatenate([xy, xy + wh], axis=1).astype(dtype)


def _best_cpu(call, repeats: int) -> float:
    call()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time the first call")
    args = parser.parse_args()
    import ioukit

    rng = np.random.default_rng(1)
    for n, repeats in ((2000, 40), (20000, 8)):
        for dtype in (np.float64, np.float32):
            a, b = _boxes(rng, n, dtype), _boxes(rng, n, dtype)
            ms = _best_cpu(lambda a=a, b=b: ioukit.box_iou(a, b, threshold=0.3), repeats)
            print(f"box_iou threshold=0.3 {n} x {n} {np.dtype(dtype).name}: {ms:.2f} ms")
    boxes, scores = _boxes(rng, 20000, np.float64), rng.random(20000)
    ms = _best_cpu(lambda: ioukit.nms(boxes, scores, 0.5), 10)
    print(f"nms 20000 xyxy: {ms:.2f} ms")
    centres = boxes[:5000, :2] + 20
    rot = np.concatenate([centres, boxes[:5000, 2:] - boxes[:5000, :2]], axis=1)
    rot = np.concatenate([rot, rng.uniform(-90, 90, (5000, 1))], axis=1)
    ms = _best_cpu(lambda: ioukit.nms(rot, scores[:5000], 0.5, fmt="cxcywha"), 10)
    print(f"nms 5000 cxcywha: {ms:.2f} ms")
    if args.cold:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            out = subprocess.run(
                [sys.executable, "-c", COLD], env=env, text=True, capture_output=True, check=True
            )
            print(out.stdout.strip())


if __name__ == "__main__":
    main()
