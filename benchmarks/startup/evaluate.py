"""First contact, side by side: whole processes evaluating the embedded COCO sample.

``python -m benchmarks.startup.evaluate`` times, for bbox and segm on the 100-image
val2014 sample shipped in ``ioukit/data``:

* ioukit cold: ``python -m ioukit eval GT DT --iou-type T`` with an empty numba cache;
* ioukit warm: the same command again, with the cache the cold run wrote;
* each for two engines (``--engine``): ``default``, where this small sample runs
  through the NumPy twins of the kernels and never imports numba, and ``kernels``
  (``IOUKIT_TWINS=never``), the compiled kernels a larger data set runs;
* pycocotools and faster-coco-eval: a fresh interpreter that imports the library,
  reads the same files (gunzip + JSON), and runs evaluate / accumulate / summarize.

Each figure is the median wall time of ``--repeat`` processes (``--cold-repeat``
for the cold one, each with a new empty cache), and the table gives each time
over pycocotools'. A second table gives the CPU seconds (user + system) of the
same processes, which a machine shared with other work inflates far less than wall
time. ``--threads N`` sets ``NUMBA_NUM_THREADS`` for ioukit.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ioukit.data import sample_path

PEER = r"""
import contextlib, gzip, io, json, sys
{imports}
def load(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as handle:
        return json.load(handle)
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO()
    gt.dataset = load(sys.argv[1])
    gt.createIndex()
    dt = gt.loadRes(load(sys.argv[2]))
    ev = COCOeval(gt, dt, sys.argv[3])
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
print(ev.stats[0])
"""

PEERS = {
    "pycocotools": "from pycocotools.coco import COCO; from pycocotools.cocoeval import COCOeval",
    "faster-coco-eval": "from faster_coco_eval import COCO, COCOeval_faster as COCOeval",
}


DATA = {name: sample_path(name) for name in ("gt", "bbox", "segm")}
"""The files evaluated: the embedded sample, or ``--data DIR`` (a ``make_coco`` set)."""

ENGINES = {"default": "auto", "kernels": "never"}
"""``IOUKIT_TWINS`` of each row: ``auto`` runs the sample through the NumPy twins (no
numba at all); ``never`` forces the compiled kernels, as a larger data set runs."""

Times = tuple[float, float]  # (wall seconds, CPU seconds) of one process


def timed(cmd: list[str], env: dict[str, str]) -> Times:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - start, cpu


def median(runs: list[Times]) -> Times:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def ioukit_times(iou_type: str, repeat: int, cold_repeat: int, env: dict) -> tuple[Times, Times]:
    cmd = [sys.executable, "-m", "ioukit", "eval", str(DATA["gt"])]
    cmd += [str(DATA[iou_type]), "--iou-type", iou_type]
    cold: list[Times] = []
    warm: list[Times] = []
    for _ in range(cold_repeat):
        with tempfile.TemporaryDirectory(prefix="ioukit-startup-") as cache:
            run_env = dict(env, NUMBA_CACHE_DIR=cache)
            cold.append(timed(cmd, run_env))
            if not warm:
                warm = [timed(cmd, run_env) for _ in range(repeat)]
    return median(cold), median(warm)


def peer_time(name: str, iou_type: str, repeat: int, env: dict) -> Times:
    code = PEER.format(imports=PEERS[name])
    cmd = [sys.executable, "-c", code, str(DATA["gt"]), str(DATA[iou_type]), iou_type]
    try:
        return median([timed(cmd, env) for _ in range(repeat)])
    except subprocess.CalledProcessError:
        return float("nan"), float("nan")  # not installed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold-repeat", type=int, default=2)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--iou-type", action="append", choices=("bbox", "segm"))
    parser.add_argument(
        "--engine",
        action="append",
        choices=tuple(ENGINES),
        help="default: the NumPy twins (as users run it on this sample); kernels: "
        "IOUKIT_TWINS=never, what a larger data set pays (default: both)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="a make_coco folder (gt.json, dt_bbox.json, dt_segm.json) instead of the sample",
    )
    args = parser.parse_args()
    if args.data:
        DATA.update(gt=args.data / "gt.json", bbox=args.data / "dt_bbox.json")
        DATA.update(segm=args.data / "dt_segm.json")
    env = dict(os.environ, IOUKIT_PROGRESS="0")
    if args.threads:
        env["NUMBA_NUM_THREADS"] = str(args.threads)
    where = f"files of {args.data}" if args.data else "the embedded 100-image sample"
    print(f"# whole processes on {where}, median of {args.repeat}")
    print(f"# (cold: median of {args.cold_repeat}, each with an empty numba cache)")
    rows = []
    for iou_type in args.iou_type or ("bbox", "segm"):
        coco = peer_time("pycocotools", iou_type, args.repeat, env)
        faster = peer_time("faster-coco-eval", iou_type, args.repeat, env)
        for engine in args.engine or ENGINES:
            run_env = dict(env, IOUKIT_TWINS=ENGINES[engine])
            cold, warm = ioukit_times(iou_type, args.repeat, args.cold_repeat, run_env)
            rows.append((f"{iou_type}, {engine}", cold, warm, coco, faster))
    for index, unit in ((0, "wall seconds"), (1, "CPU seconds (user + system)")):
        print(f"\n{unit}\n")
        print("| command | ioukit cold | ioukit warm | pycocotools | faster-coco-eval "
              "| cold / pycocotools | warm / pycocotools |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        for label, *times in rows:
            cold, warm, coco, faster = (t[index] for t in times)
            print(
                f"| eval {label} | {cold:.2f} s | {warm:.2f} s | {coco:.2f} s "
                f"| {faster:.2f} s | {cold / coco:.1f}x | {warm / coco:.2f}x |"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
