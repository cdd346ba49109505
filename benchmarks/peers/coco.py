"""End-to-end COCO evaluation: ioukit against pycocotools and faster-coco-eval.

    python -m benchmarks.data.make_coco DATA --images 5000
    python -m benchmarks.peers.coco DATA --iou-type bbox segm

Each run is a fresh process that loads the JSON files, evaluates, accumulates and
summarises, and reports its own wall time; ioukit runs three times: with an empty
numba cache (compilation included), then with the cache on disk, then warm in the
same process (no start-up). The 12 stats of every tool are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

IOUKIT = r"""
import json, sys, time
t0 = time.perf_counter()
from ioukit.evaluate import coco_evaluate
r = coco_evaluate(sys.argv[1], sys.argv[2], sys.argv[3])
t1 = time.perf_counter()
r2 = coco_evaluate(sys.argv[1], sys.argv[2], sys.argv[3])
t2 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "warm": t2 - t1, "stats": r.stats.tolist()}))
"""

PYCOCOTOOLS = r"""
import contextlib, io, json, sys, time
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    {imports}
    gt = COCO(sys.argv[1])
    dt = gt.loadRes(sys.argv[2])
    ev = COCOeval(gt, dt, sys.argv[3])
    ev.evaluate(); ev.accumulate(); ev.summarize()
print(json.dumps({{"seconds": time.perf_counter() - t0, "stats": list(map(float, ev.stats))}}))
"""

PEERS = {
    "pycocotools": PYCOCOTOOLS.format(
        imports="from pycocotools.coco import COCO; from pycocotools.cocoeval import COCOeval"
    ),
    "faster-coco-eval": PYCOCOTOOLS.format(
        imports="from faster_coco_eval import COCO, COCOeval_faster as COCOeval"
    ),
}


def run(code: str, args: list[str], env: dict | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, **(env or {})),
    )
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", help="folder written by make_coco.py (gt.json, dt_bbox.json, dt_segm.json)"
    )
    parser.add_argument("--iou-type", nargs="+", default=["bbox", "segm"])
    parser.add_argument("--skip", nargs="*", default=[], help="peers to skip")
    args = parser.parse_args()
    print(
        "| iou type | tool | end-to-end time | vs ioukit (cache on disk) | max abs stats diff vs ioukit |"
    )
    print("|---|---|---|---|---|")
    for iou_type in args.iou_type:
        files = [
            os.path.join(args.data, "gt.json"),
            os.path.join(args.data, f"dt_{iou_type}.json"),
            iou_type,
        ]
        with tempfile.TemporaryDirectory() as cache:
            cold = run(IOUKIT, files, {"NUMBA_CACHE_DIR": cache})
            warm = run(IOUKIT, files, {"NUMBA_CACHE_DIR": cache})
        ref = warm["seconds"]
        print(
            f"| {iou_type} | ioukit, fresh process, empty cache (compiles) | {cold['seconds']:.2f} s | {cold['seconds'] / ref:.2f} | |"
        )
        print(f"| {iou_type} | ioukit, fresh process, cache on disk | {ref:.2f} s | 1.00 | 0 |")
        print(
            f"| {iou_type} | ioukit, second call in the same process | {warm['warm']:.2f} s | {warm['warm'] / ref:.2f} | |"
        )
        for name, code in PEERS.items():
            if name in args.skip:
                continue
            result = run(code, files)
            if "error" in result:
                print(f"| {iou_type} | {name} | failed: {result['error']} | | |")
                continue
            diff = max(abs(a - b) for a, b in zip(result["stats"], warm["stats"], strict=True))
            print(
                f"| {iou_type} | {name} | {result['seconds']:.2f} s | {result['seconds'] / ref:.1f}x | {diff:.1e} |"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
