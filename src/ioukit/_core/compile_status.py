"""Know when numba compiles, tell the user, and measure it.

Numba broadcasts a ``"numba:compile"`` event around every compilation that the
on-disk cache could not serve (a cache hit broadcasts nothing), so listening to
it costs nothing on a warm run and tells exactly when a run is cold.

:class:`CompileWatch` records each compilation (dispatcher, signature, seconds
with and without the kernels compiled inside it) and can announce the first one
on stderr ("compiling kernels (first run only)") with a progress line.
:func:`cache_is_warm` looks for the cache index files of some dispatchers
without compiling anything.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

NOTICE = "ioukit: compiling kernels (first run only; later runs load them from the cache)"


@dataclass
class CompileRecord:
    """One compilation: ``name`` is ``module.qualname`` of the dispatcher."""

    name: str
    signature: str
    seconds: float
    """Wall seconds, including the kernels compiled inside this one."""
    self_seconds: float
    """Wall seconds less the nested compilations."""
    depth: int
    """0 for a compilation started from Python, 1+ for one started inside another."""
    cpu_self_seconds: float = 0.0
    """CPU seconds of this thread less the nested compilations (steadier than wall
    seconds on a shared machine)."""


def _dispatcher_name(dispatcher: Any) -> str:
    fn = getattr(dispatcher, "py_func", None)
    if fn is None:
        return repr(dispatcher)
    return f"{fn.__module__}.{fn.__qualname__}"


@dataclass
class CompileWatch:
    """Listen to numba's compile events while active (``with CompileWatch() as w:``).

    Parameters
    ----------
    announce : bool
        Write :data:`NOTICE` on ``stream`` at the first compilation, a progress
        line while compiling (when ``progress``), and a summary at the end.
    stream : file, optional
        Where to announce (default ``sys.stderr``).
    progress : bool, optional
        Redraw a one-line progress count (default: when ``stream`` is a terminal,
        or ``IOUKIT_PROGRESS=1``; ``IOUKIT_PROGRESS=0`` hides it).

    Examples
    --------
    >>> from ioukit._core.compile_status import CompileWatch
    >>> with CompileWatch() as watch:
    ...     pass
    >>> watch.count, watch.seconds
    (0, 0.0)
    """

    announce: bool = False
    stream: TextIO | None = None
    progress: bool | None = None
    records: list[CompileRecord] = field(default_factory=list)
    _stack: list = field(default_factory=list, repr=False)
    _listener: Any = field(default=None, repr=False)
    _drew: bool = field(default=False, repr=False)

    @property
    def count(self) -> int:
        """Compilations started from Python (nested ones are inside these)."""
        return sum(1 for r in self.records if r.depth == 0)

    @property
    def seconds(self) -> float:
        """Wall seconds spent compiling (outermost compilations only: no double count)."""
        return float(sum(r.seconds for r in self.records if r.depth == 0))

    @property
    def cold(self) -> bool:
        """Whether anything compiled (the cache was cold for this run's kernels)."""
        return bool(self.records)

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def _start(self, data: dict) -> None:
        if self.announce and not self._stack:
            progress = self._show_progress()
            if not self.records:  # the first compilation: a line of its own
                self._write(("\n" if progress else "") + NOTICE + "\n")
            if progress:
                name = ".".join(_dispatcher_name(data.get("dispatcher")).rsplit(".", 2)[-2:])
                text = f"  compiling kernel {self.count + 1} ({self.seconds:.1f} s so far): {name}"
                self._write("\r" + text[:78].ljust(78))
                self._drew = True
        self._stack.append([time.perf_counter(), 0.0, data, time.thread_time(), 0.0])

    def _end(self, data: dict) -> None:
        if not self._stack:
            return
        start, nested, info, cpu_start, cpu_nested = self._stack.pop()
        seconds = time.perf_counter() - start
        cpu = time.thread_time() - cpu_start
        if self._stack:
            self._stack[-1][1] += seconds
            self._stack[-1][4] += cpu
        args = ", ".join(str(a) for a in info.get("args", ()))
        record = CompileRecord(
            _dispatcher_name(info.get("dispatcher")),
            f"({args})",
            seconds,
            seconds - nested,
            len(self._stack),
            cpu - cpu_nested,
        )
        self.records.append(record)

    def _show_progress(self) -> bool:
        if self.progress is not None:
            return self.progress
        setting = os.environ.get("IOUKIT_PROGRESS")
        if setting is not None:
            return setting not in ("0", "")
        return bool(getattr(self._out(), "isatty", lambda: False)())

    def _write(self, text: str) -> None:
        out = self._out()
        out.write(text)
        out.flush()

    def __enter__(self) -> CompileWatch:
        # numba may not be imported yet (small evaluations run NumPy twins and never
        # import it): listen from the moment ioukit imports it, if it does
        _waiting.append(self)
        if "numba" in sys.modules:
            self._listen()
        return self

    def _listen(self) -> None:
        if self._listener is not None:
            return
        from numba.core import event

        watch = self

        class _Listener(event.Listener):
            def on_start(self, ev: Any) -> None:
                watch._start(ev.data)

            def on_end(self, ev: Any) -> None:
                watch._end(ev.data)

        self._listener = _Listener()
        event.register("numba:compile", self._listener)

    def __exit__(self, *exc: object) -> None:
        _waiting[:] = [w for w in _waiting if w is not self]  # by identity, not ==
        if self._listener is not None:
            from numba.core import event

            event.unregister("numba:compile", self._listener)
            self._listener = None
        if self.announce and self.records:
            if self._drew:
                self._write("\n")
            self._write(f"ioukit: {self.summary()}\n")

    def summary(self) -> str:
        """``"compiled N kernels in S s (first run only)"``, or ``""`` on a warm run."""
        if not self.records:
            return ""
        return f"compiled {self.count} kernels in {self.seconds:.1f} s (first run only)"


_waiting: list[CompileWatch] = []


def numba_imported() -> None:
    """Start the active watches listening (``ioukit._core.jit`` calls this when it
    imports numba, which it does before any kernel compiles)."""
    for watch in list(_waiting):
        watch._listen()


def cache_is_warm(dispatchers: list[Any]) -> bool:
    """Whether every dispatcher has a cache index on disk (it may still need compiling:
    for a new signature, or after its source changed), without compiling anything.

    Examples
    --------
    >>> from ioukit._core.compile_status import cache_is_warm
    >>> cache_is_warm([])
    True
    """
    for dispatcher in dispatchers:
        cache = getattr(dispatcher, "_cache", None)
        cache_file = getattr(cache, "_cache_file", None)
        index = getattr(cache_file, "_index_path", None)
        if index is None or not os.path.exists(index):
            return False
    return True
