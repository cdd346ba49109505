"""Dask scaling of box_iou and the memory of the sparse threshold path.

    python -m benchmarks.scaling.dask_scaling --n 20000 --sparse-n 1000000

1. ``box_iou`` of N x N float32 boxes: in memory, then as a Dask array (chunks of
   2,500 boxes) on a LocalCluster of 1 and of 2 worker processes (1 thread each),
   gathering the full result.
2. ``box_iou(a, b, threshold=0.5)`` for 1,000,000 x 1,000,000 boxes with a few
   neighbours each: time, pairs found and the process's peak memory, against the
   4 TB a dense float32 result would need.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.inputs import spread_boxes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--sparse-n", type=int, default=1_000_000)
    args = parser.parse_args()
    import dask.array as da
    from distributed import Client, LocalCluster

    import ioukit

    rng = np.random.default_rng(0)
    a, b = spread_boxes(rng, args.n, 2000), spread_boxes(rng, args.n, 2000)
    ioukit.box_iou(a[:10], b[:10])
    start = time.perf_counter()
    ioukit.box_iou(a, b)
    base = time.perf_counter() - start
    print(
        f"| box_iou {args.n:,} x {args.n:,} f32 | in memory (2 numba threads) | {base:.2f} s | 1.00 |"
    )
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            lazy = ioukit.box_iou(da.from_array(a, chunks=2500), da.from_array(b, chunks=2500))
            client.compute(
                ioukit.box_iou(da.from_array(a[:10], chunks=5), b[:10])
            ).result()  # warm the workers
            start = time.perf_counter()
            client.compute(lazy).result()
            elapsed = time.perf_counter() - start
            print(
                f"| box_iou {args.n:,} x {args.n:,} f32 | Dask, {workers} worker process(es), result gathered | {elapsed:.2f} s | {elapsed / base:.2f} |"
            )
    sparse_memory(args.sparse_n)


SPARSE = r"""
import resource, sys, time
import numpy as np
import ioukit
n = int(sys.argv[1])
rng = np.random.default_rng(0)
field = np.sqrt(n) * 12.0  # a few overlapping neighbours per box
def boxes(n):
    xy = rng.random((n, 2)) * field
    return np.hstack([xy, xy + rng.random((n, 2)) * 20 + 5]).astype(np.float32)
a, b = boxes(n), boxes(n)
ioukit.box_iou(a[:100], b[:100], threshold=0.5)  # compile outside the timing
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
start = time.perf_counter()
result = ioukit.box_iou(a, b, threshold=0.5)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(f"| box_iou {n:,} x {n:,} f32, threshold 0.5 | sparse grid path, fresh process | {elapsed:.2f} s | "
      f"{result.nnz:,} pairs; peak RSS {peak:.2f} GiB ({before:.2f} GiB before the call, inputs "
      f"{2 * a.nbytes / 2**30:.3f} GiB) vs {n * n * 4 / 1e12:.0f} TB for a dense float32 result |")
"""


def sparse_memory(n: int) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", SPARSE, str(n)], capture_output=True, text=True, check=True
    )
    print(out.stdout.strip())


if __name__ == "__main__":
    main()
