"""Compile profile: every kernel compiled cold, its signature and its seconds.

``python -m benchmarks.startup.compile_profile`` runs each scenario in a fresh process
with an empty numba cache and listens to numba's ``numba:compile`` events (see
``ioukit._core.compile_status``):

* ``warmup``: ``ioukit.warmup()`` of every family, one family after the other
  (each compilation is charged to the family that first needed it);
* ``eval-bbox`` / ``eval-segm``: ``python -m ioukit eval`` on the embedded
  100-image val2014 sample, the same calls the command line makes.

For each scenario it prints the process wall time, the seconds spent compiling,
then one row per compilation sorted by seconds: ``self`` excludes the kernels
compiled inside it (``total`` includes them), so the ``self`` column adds up to
the compile time; ``self CPU`` is the same in CPU seconds of the compiling thread
(and the process line gives the whole process's CPU seconds), which a machine
shared with other work inflates far less than wall time. ``--markdown`` prints tables for docs/benchmarks.md;
``--scenario`` picks some; ``--json FILE`` keeps the raw records.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

SCENARIOS = ("warmup", "eval-bbox", "eval-segm")


def child(scenario: str, out_path: str) -> None:
    start = time.perf_counter()
    from ioukit._core.compile_status import CompileWatch

    records = []
    family = {"name": ""}
    with CompileWatch() as watch:
        if scenario == "warmup":
            from ioukit._core import warmup as _warmup

            for name in _warmup.FAMILIES:
                family["name"] = name
                before = len(watch.records)
                _warmup.warmup(families=[name])
                for r in watch.records[before:]:
                    records.append((name, r))
        else:
            from ioukit.cli.main import main
            from ioukit.data import sample_path

            iou_type = scenario.split("-", 1)[1]
            devnull = open(os.devnull, "w")  # noqa: SIM115
            saved, sys.stdout = sys.stdout, devnull
            try:
                main(
                    [
                        "eval",
                        str(sample_path("gt")),
                        str(sample_path(iou_type)),
                        "--iou-type",
                        iou_type,
                    ]
                )
            finally:
                sys.stdout = saved
            records = [(scenario, r) for r in watch.records]
    wall = time.perf_counter() - start
    payload = {
        "scenario": scenario,
        "wall": wall,
        "compile_seconds": watch.seconds,
        "records": [
            {
                "family": fam,
                "name": r.name,
                "signature": r.signature,
                "seconds": r.seconds,
                "self_seconds": r.self_seconds,
                "cpu_self_seconds": r.cpu_self_seconds,
                "depth": r.depth,
            }
            for fam, r in records
        ],
    }
    with open(out_path, "w") as handle:
        json.dump(payload, handle)


def run_scenario(scenario: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="ioukit-profile-cache-") as cache:
        out = os.path.join(cache, "profile.json")
        # the kernels' compile profile: IOUKIT_TWINS=never, or the small eval scenarios
        # would run the NumPy twins and compile nothing
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, IOUKIT_PROGRESS="0", IOUKIT_TWINS="never")
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [sys.executable, __file__, "--child", scenario, "--out", out], env=env, check=True
        )
        process = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        with open(out) as handle:
            payload = json.load(handle)
    payload["process_wall"] = process
    payload["process_cpu"] = cpu
    return payload


def _short(name: str) -> str:
    return name.removeprefix("ioukit.").removeprefix("kernels.")


def _sig(signature: str, width: int = 90) -> str:
    text = signature.replace("array(", "A(").replace(", 1d, C)", ",1d)").replace(", 2d, C)", ",2d)")
    text = text.replace(", 3d, C)", ",3d)").replace("readonly ", "ro ")
    return text if len(text) <= width else text[: width - 3] + "..."


def fold_library(records: list[dict]) -> list[dict]:
    """Charge numba's own helpers (np.empty, argsort, ...) to the ioukit kernel that
    compiled them: the rows are ioukit kernels, ``self`` includes their helpers."""
    children: list[list[int]] = [[] for _ in records]
    pending: list[int] = []
    for i, r in enumerate(records):  # post-order: a kernel's record follows its children
        while pending and records[pending[-1]]["depth"] > r["depth"]:
            children[i].append(pending.pop())
        pending.append(i)

    def own(i: int, key: str = "self_seconds") -> float:
        total = records[i].get(key, 0.0)
        for c in children[i]:
            if not records[c]["name"].startswith("ioukit."):
                total += own(c, key)
        return total

    folded = []
    for i, r in enumerate(records):
        if r["name"].startswith("ioukit."):
            helpers = sum(1 for c in children[i] if not records[c]["name"].startswith("ioukit."))
            cpu = own(i, "cpu_self_seconds")
            folded.append(dict(r, self_seconds=own(i), cpu_self_seconds=cpu, helpers=helpers))
    return folded


def print_table(payload: dict, markdown: bool) -> None:
    rows = sorted(fold_library(payload["records"]), key=lambda r: -r["self_seconds"])
    by_module: dict[str, float] = {}
    by_family: dict[str, float] = {}
    for r in rows:
        module = _short(r["name"]).rsplit(".", 1)[0]
        by_module[module] = by_module.get(module, 0.0) + r["self_seconds"]
        by_family[r["family"]] = by_family.get(r["family"], 0.0) + r["self_seconds"]
    total = sum(r["self_seconds"] for r in rows)
    cpu_total = sum(r["cpu_self_seconds"] for r in rows)
    head = (
        f"{payload['scenario']}: process {payload['process_wall']:.1f} s wall "
        f"({payload.get('process_cpu', float('nan')):.1f} s CPU), "
        f"compiling {payload['compile_seconds']:.1f} s ({cpu_total:.1f} s CPU) "
        f"({len(rows)} ioukit kernels, {sum(1 for r in rows if r['depth'] == 0)} called from Python)"
    )
    if markdown:
        print(f"#### {head}\n")
        print("| kernel | signature | self s | self CPU s | total s | family |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {_short(r['name'])} | `{_sig(r['signature'])}` | {r['self_seconds']:.2f} "
                f"| {r['cpu_self_seconds']:.2f} | {r['seconds']:.2f} | {r['family']} |"
            )
        print(f"| **total** | | **{total:.1f}** | **{cpu_total:.1f}** | | |\n")
        print("| module | self s |\n|---|---|")
        for module, s in sorted(by_module.items(), key=lambda kv: -kv[1]):
            print(f"| {module} | {s:.1f} |")
        if len(by_family) > 1:
            print("\n| family | self s |\n|---|---|")
            for fam, s in sorted(by_family.items(), key=lambda kv: -kv[1]):
                print(f"| {fam} | {s:.1f} |")
        print()
    else:
        print(head)
        for r in rows:
            print(
                f"  {r['self_seconds']:6.2f} {r['cpu_self_seconds']:6.2f} {r['seconds']:6.2f}  "
                f"{_short(r['name']):<40} "
                f"{_sig(r['signature'], 70)}  [{r['family']}]"
            )
        print(f"  {total:6.2f} {cpu_total:6.2f}  total (self wall, self CPU)")
        for module, s in sorted(by_module.items(), key=lambda kv: -kv[1]):
            print(f"  {s:6.2f}  module {module}")
        if len(by_family) > 1:
            for fam, s in sorted(by_family.items(), key=lambda kv: -kv[1]):
                print(f"  {s:6.2f}  family {fam}")
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="write the raw records to FILE")
    parser.add_argument("--from-json", metavar="FILE", help="print the tables of a saved run")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.out)
        return
    if args.from_json:
        with open(args.from_json) as handle:
            for payload in json.load(handle):
                print_table(payload, args.markdown)
        return
    results = []
    for scenario in args.scenario or SCENARIOS:
        payload = run_scenario(scenario)
        results.append(payload)
        print_table(payload, args.markdown)
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
