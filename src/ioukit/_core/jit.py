"""Numba defaults in one place: caching, compile options, and safe parallel calls.

Imported only by kernel modules, so ``import ioukit`` never imports numba.

* ``IOUKIT_CACHE=0`` turns the on-disk cache off (it is on by default, so the
  second process starts without compiling).
* :func:`parallel_call` keeps parallel kernels safe under numba's ``workqueue``
  threading layer, which aborts the whole process when two Python threads run
  parallel kernels at once: one thread at a time runs the parallel kernel, and
  a thread that finds it busy runs the kernel's *serial twin* (the same Python
  function compiled without ``parallel=True``, on first need) instead of
  waiting, so a threaded scheduler still uses every core. Under ``omp`` and
  ``tbb`` calls run concurrently and no twin is compiled.
* :func:`sized_call` runs small inputs through the serial twin: it compiles in
  about half the time of the ``parallel=True`` kernel (no parfor lowering) and
  wakes no thread pool, so a first run on small data never compiles the
  parallel kernel at all.
"""

from __future__ import annotations

import builtins
import inspect
import os
import threading
import types
from collections.abc import Callable
from typing import Any

import numba

from . import compile_status

compile_status.numba_imported()  # watches opened before numba was imported listen now

CACHE = os.environ.get("IOUKIT_CACHE", "1").strip().lower() not in {"0", "false", "no", "off"}

_SERIAL_OPTIONS = {"nogil": True, "cache": CACHE, "error_model": "numpy"}
_PARALLEL_OPTIONS = dict(_SERIAL_OPTIONS, parallel=True)
_CONCURRENT_SAFE_LAYERS = frozenset({"omp", "tbb"})

_parallel_lock = threading.RLock()
_layer: str | None = None
_twins: dict[Callable, Callable] = {}
_twins_lock = threading.Lock()
_always_parallel = 0  # > 0 inside every_variant(): sized_call takes the parallel path


def scalar(fn: Callable) -> Callable:
    """Compile a scalar formula from ``kernels.scalar`` for use inside CPU kernels."""
    return numba.njit(inline="always", **_SERIAL_OPTIONS)(fn)


def compile_scalars(module: types.ModuleType, decorate: Callable) -> types.SimpleNamespace:
    """Compile every function of a plain-Python scalar module with ``decorate``.

    The functions of ``kernels.scalar`` call each other by name; each compiled
    copy gets a globals dict in which those names are the compiled copies, so the
    same source compiles for the CPU (``decorate=scalar``) and for CUDA
    (``cuda.jit(device=True)``) without editing it.
    """
    namespace: dict[str, Any] = {"__builtins__": builtins}
    for name, value in vars(module).items():  # modules (math) and constants the formulas use
        if isinstance(value, (types.ModuleType, int, float)) and not name.startswith("__"):
            namespace[name] = value
    for name, fn in vars(module).items():
        if inspect.isfunction(fn) and fn.__module__ == module.__name__:
            clone = types.FunctionType(
                fn.__code__, namespace, name, fn.__defaults__, fn.__closure__
            )
            clone.__qualname__ = fn.__qualname__
            clone.__doc__ = fn.__doc__
            clone.__module__ = fn.__module__
            namespace[name] = decorate(clone)
    return types.SimpleNamespace(**{k: v for k, v in namespace.items() if k != "__builtins__"})


def serial_kernel(fn: Callable) -> Callable:
    """Compile a serial CPU kernel (safe to call from any thread at any time)."""
    return numba.njit(**_SERIAL_OPTIONS)(fn)


def parallel_kernel(fn: Callable) -> Callable:
    """Compile a ``prange`` CPU kernel; call it through :func:`parallel_call`."""
    return numba.njit(**_PARALLEL_OPTIONS)(fn)


def num_threads() -> int:
    """Threads the parallel kernels use (``NUMBA_NUM_THREADS`` / ``numba.set_num_threads``)."""
    return int(numba.get_num_threads())


def threading_layer() -> str | None:
    """The threading layer numba chose, or None before the first parallel call."""
    if _layer is not None:
        return _layer
    try:
        return numba.threading_layer()
    except ValueError:
        return None


def serial_twin(kernel: Callable) -> Callable:
    """The serial copy of a :func:`parallel_kernel`, compiled on first request.

    The twin compiles the same Python function with the serial options (``prange``
    runs as ``range``), under its own qualified name so that the on-disk cache
    keeps the two apart. It never touches the threading layer, so any number of
    threads may run twins while one runs the parallel kernel.
    """
    twin = _twins.get(kernel)
    if twin is None:
        with _twins_lock:
            twin = _twins.get(kernel)
            if twin is None:
                fn = kernel.py_func
                clone = types.FunctionType(
                    fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
                )
                clone.__qualname__ = f"{fn.__qualname__}__serial_twin"
                clone.__module__ = fn.__module__
                clone.__doc__ = fn.__doc__
                twin = numba.njit(**_SERIAL_OPTIONS)(clone)
                _twins[kernel] = twin
    return twin


def parallel_call(kernel: Callable, *args: Any) -> Any:
    """Run a parallel kernel so that concurrent callers never abort the process.

    Under ``omp`` and ``tbb`` (re-entrant) calls run unlocked. Until the layer is
    known, and for ``workqueue`` always, one thread at a time holds a
    process-wide lock and runs the parallel kernel; a thread that finds the lock
    held by another runs :func:`serial_twin` of the kernel instead of waiting.
    """
    global _layer
    if _layer in _CONCURRENT_SAFE_LAYERS:
        return kernel(*args)
    if not _parallel_lock.acquire(blocking=False):
        return serial_twin(kernel)(*args)
    try:
        result = kernel(*args)
        if _layer is None:
            _layer = threading_layer()
        return result
    finally:
        _parallel_lock.release()


def sized_call(kernel: Callable, work: int, serial_below: int, *args: Any) -> Any:
    """Run ``kernel(*args)`` serially (its :func:`serial_twin`) when ``work`` is below
    ``serial_below``, else through :func:`parallel_call`.

    Small inputs then never compile (nor wake) the parallel kernel: the twin
    compiles in about half the time, and runs as fast when there is little work.
    Inside :func:`every_variant` every call takes the parallel path (warm-up uses
    it to compile both).
    """
    if work < serial_below and not _always_parallel:
        return serial_twin(kernel)(*args)
    return parallel_call(kernel, *args)


class every_variant:  # noqa: N801 (a context manager used like a function)
    """``with every_variant():`` makes :func:`sized_call` take the parallel path, so a
    warm-up on tiny inputs also compiles the parallel kernels (not thread-safe:
    meant for warm-up)."""

    def __enter__(self) -> None:
        global _always_parallel
        _always_parallel += 1

    def __exit__(self, *exc: object) -> None:
        global _always_parallel
        _always_parallel -= 1
