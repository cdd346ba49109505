"""A fuzz worker: reads one command per line on stdin, answers one JSON line each.

Commands: ``{"warm": [targets]}`` runs each target's valid warm-up inputs;
``{"target": name, "seed": s, "index": i}`` runs one case. While numba compiles
the worker says so (``{"compiling": 1}`` / ``{"compiled": 1}``) so that the runner
does not take a long first compile for a hang. The protocol uses a private copy
of the stdout descriptor; stdout itself is pointed at stderr, so whatever the
library prints cannot corrupt it.

Started by :mod:`.runner` with ``NUMBA_BOUNDSCHECK=1`` and a memory limit.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def _install_compile_listener(send) -> None:
    from numba.core import event

    class Listener(event.Listener):
        def on_start(self, ev):
            send({"compiling": 1})

        def on_end(self, ev):
            send({"compiled": 1})

    event.register("numba:compile", Listener())


def main() -> None:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message: dict) -> None:
        proto.write(json.dumps(message) + "\n")
        proto.flush()

    from .core import execute, get_target

    _install_compile_listener(send)
    send({"ready": os.getpid()})
    for line in sys.stdin:
        command = json.loads(line)
        if "warm" in command:
            failures = {}
            for name in command["warm"]:
                try:
                    get_target(name).warm()
                except BaseException as err:  # noqa: BLE001
                    failures[name] = f"{type(err).__name__}: {err}\n" + traceback.format_exc(-3)
            send({"status": "warm", "failures": failures})
            continue
        status, detail = execute(command["target"], command["seed"], command["index"])
        send({"status": status, "detail": detail})


if __name__ == "__main__":
    main()
