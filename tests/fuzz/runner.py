"""Run fuzz cases in isolated, persistent worker processes and report the failures.

Every worker is a fresh interpreter started with ``NUMBA_BOUNDSCHECK=1``, its own
numba cache (keyed by a hash of the ioukit sources, never shared with ordinary
runs, since numba's cache does not tell the two apart nor notice edits in other
files) and an address-space limit (``RLIMIT_AS``). It runs cases one after
another; when it dies or a case outlasts the timeout, the runner records that
case as a crash or a hang and starts a new worker.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import re
import resource
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core import TARGET_MODULES, case_rng, get_target, short

TESTS_DIR = Path(__file__).resolve().parents[1]
REPLAY = "python tools/fuzz.py --replay {target}:{seed}:{index}"


def source_hash() -> str:
    """A short hash of the installed ioukit sources (names the boundscheck cache)."""
    import importlib.util

    spec = importlib.util.find_spec("ioukit")
    root = Path(spec.origin).parent if spec and spec.origin else None
    digest = hashlib.sha256()
    if root is not None:
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def default_cache_dir() -> Path:
    """``$IOUKIT_FUZZ_CACHE`` or ``~/.cache/ioukit-numba-boundscheck``, per source hash."""
    base = (
        os.environ.get("IOUKIT_FUZZ_CACHE") or Path.home() / ".cache" / "ioukit-numba-boundscheck"
    )
    return Path(base) / source_hash()


@dataclass
class Options:
    seed: int = 0
    cases: int = 100
    jobs: int = 1
    timeout: float = 10.0  # seconds per case, compiling excluded
    compile_timeout: float = 600.0
    memory_limit_gb: float = 4.0
    max_failures: int = 0  # per target; 0 = no limit
    cache_dir: Path | None = None
    threads: int = 2
    twins: str = "never"  # IOUKIT_TWINS of the workers: the compiled kernels, bounds-checked


@dataclass
class TargetReport:
    name: str
    ok: int = 0
    rejected: int = 0
    failures: list[dict] = field(default_factory=list)
    messages: collections.Counter = field(default_factory=collections.Counter)
    stopped: bool = False

    @property
    def run(self) -> int:
        return self.ok + self.rejected + len(self.failures)


def _limit_memory(limit_bytes: int) -> None:
    os.setpgrp()  # the worker and anything it starts can be killed together
    if limit_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


class Worker:
    """One worker process and its line protocol."""

    def __init__(self, options: Options):
        cache = options.cache_dir or default_cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            NUMBA_BOUNDSCHECK="1",
            NUMBA_CACHE_DIR=str(cache),
            NUMBA_NUM_THREADS=str(options.threads),
            PYTHONFAULTHANDLER="1",
            NUMBA_ENABLE_CUDASIM="1",
            IOUKIT_TWINS=options.twins,
        )
        self.stderr = tempfile.TemporaryFile()
        limit = int(options.memory_limit_gb * (1 << 30))
        code = f"import sys; sys.path.insert(0, {str(TESTS_DIR)!r}); from fuzz.worker import main; main()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            preexec_fn=lambda: _limit_memory(limit),
        )
        self.buffer = b""
        self.history: collections.deque = collections.deque(maxlen=4)  # last cases run
        self.options = options
        self.job: Any = None
        self.deadline = 0.0
        self.compiling = 0
        self.mark = 0
        self.ready = False
        self.deadline = time.monotonic() + options.compile_timeout

    def fileno(self) -> int:
        return self.proc.stdout.fileno()

    def send(self, command: dict, timeout: float) -> None:
        self.mark = self.stderr.tell()
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()
        self.deadline = time.monotonic() + timeout

    def read_messages(self) -> list[dict] | None:
        """Messages available now; None at end of file (the worker died)."""
        data = os.read(self.fileno(), 65536)
        if not data:
            return None
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        messages = [json.loads(line) for line in lines if line.strip()]
        for message in messages:
            if "compiling" in message:
                self.compiling += 1
                self.deadline = time.monotonic() + self.options.compile_timeout
            elif "compiled" in message:
                self.compiling = max(0, self.compiling - 1)
                if not self.compiling:
                    self.deadline = time.monotonic() + self.options.timeout
        return [m for m in messages if "compiling" not in m and "compiled" not in m]

    def stderr_tail(self, limit: int = 1500) -> str:
        """What the worker wrote to stderr during the last command (the list of
        extension modules that faulthandler appends is left out)."""
        self.stderr.seek(self.mark)
        text = self.stderr.read().decode(errors="replace")
        self.stderr.seek(0, os.SEEK_END)
        lines = [line for line in text.splitlines() if not line.startswith("Extension modules:")]
        return "\n".join(lines).strip()[-limit:]

    def kill(self) -> str:
        """Stop the worker; returns how it ended."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        code = self.proc.wait()
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit status {code}"

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
        self.stderr.close()


def _wait_ready(worker: Worker) -> None:
    while not worker.ready:
        remaining = worker.deadline - time.monotonic()
        sel = selectors.DefaultSelector()
        sel.register(worker.fileno(), selectors.EVENT_READ)
        if remaining <= 0 or not sel.select(remaining):
            raise RuntimeError(
                f"fuzz worker did not start: {worker.kill()}\n{worker.stderr_tail()}"
            )
        messages = worker.read_messages()
        if messages is None:
            raise RuntimeError(
                f"fuzz worker died at start: {worker.kill()}\n{worker.stderr_tail()}"
            )
        worker.ready = any("ready" in m for m in messages)


def _normalise(message: str) -> str:
    first = message.splitlines()[0] if message else ""
    first = re.sub(r"0x[0-9a-fA-F]+", "0x#", first)
    return re.sub(r"-?\d+(\.\d+)?(e[+-]?\d+)?", "#", first)[:140]


def run(targets: list[str], options: Options, progress: Any = None) -> dict[str, TargetReport]:
    """Run ``options.cases`` cases of every target; a report per target."""
    for name in targets:
        get_target(name)  # unknown names fail here
    reports = {name: TargetReport(name) for name in targets}
    pending = collections.deque((name, index) for index in range(options.cases) for name in targets)
    workers: list[Worker] = []
    # the first worker compiles (and caches) the kernels before the others start
    first = Worker(options)
    _wait_ready(first)
    first.send({"warm": targets}, options.compile_timeout)
    workers.append(first)
    first.job = ("warm", None)
    started = time.monotonic()
    done = 0
    try:
        while pending or any(w.job for w in workers):
            if first.job is None and len(workers) < options.jobs:
                extra = Worker(options)
                _wait_ready(extra)
                workers.append(extra)
            for worker in workers:
                while worker.job is None and pending:
                    name, index = pending.popleft()
                    report = reports[name]
                    if report.stopped:
                        continue
                    worker.job = (name, index)
                    worker.history.append(f"{name}:{options.seed}:{index}")
                    worker.send(
                        {"target": name, "seed": options.seed, "index": index}, options.timeout
                    )
            busy = [w for w in workers if w.job]
            if not busy:
                break
            sel = selectors.DefaultSelector()
            for worker in busy:
                sel.register(worker.fileno(), selectors.EVENT_READ, worker)
            wait = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = {key.data for key, _ in sel.select(wait)}
            sel.close()
            for worker in list(busy):
                outcome = None
                if worker in ready:
                    messages = worker.read_messages()
                    if messages is None:
                        how = worker.kill()
                        earlier = ", ".join(list(worker.history)[:-1]) or "none"
                        outcome = (
                            "fail",
                            f"crash: worker {how}\n(earlier cases in this worker, which may have "
                            f"corrupted its memory: {earlier})\n{worker.stderr_tail()}",
                        )
                    elif messages:
                        outcome = (messages[-1]["status"], messages[-1])
                if outcome is None and time.monotonic() > worker.deadline:
                    how = worker.kill()
                    limit = options.compile_timeout if worker.compiling else options.timeout
                    outcome = ("fail", f"hang: no answer in {limit:g} s (worker {how})")
                if outcome is None:
                    continue
                job, worker.job = worker.job, None
                status, detail = outcome
                if job[0] == "warm":
                    if status == "warm":
                        for name, text in detail["failures"].items():
                            reports[name].failures.append({"index": "warm", "detail": text})
                    else:
                        for name in targets:
                            reports[name].failures.append({"index": "warm", "detail": detail})
                else:
                    if isinstance(detail, dict):
                        detail = detail.get("detail", "")
                    _record(reports[job[0]], job[1], status, detail, options)
                    done += 1
                    if progress is not None:
                        progress(done, len(targets) * options.cases, time.monotonic() - started)
                if (
                    worker.proc.poll() is not None
                    or status == "fail"
                    and detail.startswith(("crash", "hang"))
                ):
                    worker.close()
                    replacement = Worker(options)
                    _wait_ready(replacement)
                    workers[workers.index(worker)] = replacement
                    if worker is first:
                        first = replacement
    finally:
        for worker in workers:
            worker.close()
    return reports


def _record(report: TargetReport, index: int, status: str, detail: str, options: Options) -> None:
    if status == "ok":
        report.ok += 1
    elif status == "rejected":
        report.rejected += 1
        report.messages[_normalise(detail)] += 1
    else:
        report.failures.append({"index": index, "detail": detail})
        if options.max_failures and len(report.failures) >= options.max_failures:
            report.stopped = True


def failure_kind(detail: str) -> str:
    """A one-line signature of a failure (for grouping): the first line without
    numbers, and for a broken invariant only the part before its values."""
    first = _normalise(detail.splitlines()[0] if detail else "?")
    if first.startswith("invariant broken: "):
        first = ":".join(first.split(":")[:2])
    return first[:100]


def format_reports(reports: dict[str, TargetReport], seed: int, details: int = 3) -> str:
    lines = [f"{'target':<15}{'cases':>8}{'ok':>8}{'rejected':>10}{'failures':>10}"]
    for r in reports.values():
        note = "  (stopped early)" if r.stopped else ""
        lines.append(f"{r.name:<15}{r.run:>8}{r.ok:>8}{r.rejected:>10}{len(r.failures):>10}{note}")
    for r in reports.values():
        if not r.failures:
            continue
        lines.append(f"\n{r.name}: {len(r.failures)} failing cases")
        groups: dict[str, list[dict]] = collections.defaultdict(list)
        for f in r.failures:
            groups[failure_kind(f["detail"])].append(f)
        for kind, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            indices = ", ".join(str(f["index"]) for f in items[:8])
            more = f" and {len(items) - 8} more" if len(items) > 8 else ""
            lines.append(f"  {len(items)} x {kind}\n    cases {indices}{more}")
            lines.append(
                "    replay: " + REPLAY.format(target=r.name, seed=seed, index=items[0]["index"])
            )
            for f in items[:details]:
                tail = f["detail"].strip().splitlines()
                lines.append("      | " + "\n      | ".join(tail[-6:]))
                break
    return "\n".join(lines)


def replay(spec: str, options: Options, in_process: bool = False) -> int:
    name, seed, index = spec.split(":")
    case = get_target(name).generate(case_rng(name, int(seed), int(index)))
    print(f"case {spec}:\n{short(case, 4000)}\n")
    if in_process:
        from .core import execute

        status, detail = execute(name, int(seed), int(index))
    else:
        opts = Options(**{**options.__dict__, "seed": int(seed)})
        worker = Worker(opts)
        try:
            _wait_ready(worker)
            worker.send({"target": name, "seed": int(seed), "index": int(index)}, opts.timeout)
            status, detail = None, ""
            while status is None:
                sel = selectors.DefaultSelector()
                sel.register(worker.fileno(), selectors.EVENT_READ)
                if not sel.select(max(0.0, worker.deadline - time.monotonic())):
                    status, detail = "fail", f"hang: worker {worker.kill()}"
                    break
                messages = worker.read_messages()
                if messages is None:
                    status = "fail"
                    detail = f"crash: worker {worker.kill()}\n{worker.stderr_tail()}"
                elif messages:
                    status, detail = messages[-1]["status"], messages[-1]["detail"]
        finally:
            worker.close()
    print(f"{status}: {detail}")
    return 1 if status == "fail" else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/fuzz.py",
        description="Fuzz ioukit's public functions in bounds-checked, memory-limited workers.",
    )
    parser.add_argument(
        "targets", nargs="*", help=f"targets (default all): {', '.join(TARGET_MODULES)}"
    )
    parser.add_argument("--cases", type=int, default=200, help="cases per target (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per case (compiling excluded)"
    )
    parser.add_argument(
        "--memory-limit-gb", type=float, default=4.0, help="RLIMIT_AS of each worker"
    )
    parser.add_argument(
        "--max-failures", type=int, default=0, help="stop a target after this many (0: never)"
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="numba cache of the workers")
    parser.add_argument("--json", type=Path, default=None, help="write the full report here")
    parser.add_argument("--replay", metavar="TARGET:SEED:INDEX", help="print and rerun one case")
    parser.add_argument(
        "--in-process", action="store_true", help="with --replay: run here, no worker"
    )
    parser.add_argument(
        "--twins",
        choices=("never", "always", "auto"),
        default="never",
        help="IOUKIT_TWINS of the workers: never (default) fuzzes the compiled kernels, "
        "always the NumPy twins of the COCO-path kernels",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    options = Options(
        seed=args.seed,
        cases=args.cases,
        jobs=max(1, args.jobs),
        timeout=args.timeout,
        memory_limit_gb=args.memory_limit_gb,
        max_failures=args.max_failures,
        cache_dir=args.cache_dir,
        twins=args.twins,
    )
    if args.replay:
        return replay(args.replay, options, args.in_process)
    targets = args.targets or list(TARGET_MODULES)

    def progress(done: int, total: int, seconds: float) -> None:
        if not args.quiet and (done % 500 == 0 or done == total):
            print(f"\r{done}/{total} cases, {seconds:.0f} s", end="", file=sys.stderr, flush=True)

    start = time.monotonic()
    reports = run(targets, options, progress)
    seconds = time.monotonic() - start
    print(file=sys.stderr)
    print(format_reports(reports, args.seed))
    print(f"\n{sum(r.run for r in reports.values())} cases in {seconds:.0f} s (seed {args.seed})")
    if args.json:
        payload = {
            "seed": args.seed,
            "seconds": seconds,
            "targets": {
                r.name: {
                    "cases": r.run,
                    "ok": r.ok,
                    "rejected": r.rejected,
                    "failures": r.failures,
                    "stopped": r.stopped,
                    "messages": r.messages.most_common(30),
                }
                for r in reports.values()
            },
        }
        args.json.write_text(json.dumps(payload, indent=1))
    return 1 if any(r.failures for r in reports.values()) else 0
