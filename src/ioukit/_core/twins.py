"""NumPy twins of kernels: which runs, the twin or the compiled kernel.

A twin (``ioukit.kernels.np_*``) has its kernel's name and signature and writes the
same outputs, bit for bit, with NumPy alone: calling it imports no numba and compiles
nothing. :func:`twin_call` runs it when the work is small (a time budget per call,
from each twin's measured cost), and the compiled kernel otherwise, so a small
evaluation in a fresh process never imports numba. ``IOUKIT_TWINS`` overrides the
choice (:func:`twin_mode`); ``shadow``, the test suite's mode, runs both and fails
loudly where they differ.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from typing import Any

import numpy as np

from . import loader

TWIN_BUDGET_SECONDS = 0.25
""":func:`twin_call` runs a kernel's NumPy twin when the twin's estimated time is below
this: a fresh process that imports numba and loads the cached kernels spends about
half a second before the first kernel runs (and seconds compiling on a cold cache)."""

TWIN_NS_PER_WORK = {
    "cpu_rle.count_terminators": 10.0,
    "cpu_rle.decode_strings": 30.0,
    "cpu_rle.gather_segments": 15.0,
    "cpu_rle.check_counts": 30.0,
    "cpu_rle.areas_from_counts": 40.0,
    "cpu_rle.merge_counts": 250.0,
    "cpu_rle.polygon_bounds": 210.0,
    "cpu_rle.polygons_to_counts": 100.0,
    "cpu_masks.intervals_from_counts": 80.0,
    "cpu_coco.match_groups": 220.0,
    "cpu_coco.accumulate": 70.0,
}
"""Nanoseconds per unit of ``work`` of each twin, measured on the embedded sample and on
``make_coco`` sets of 300 and 1,000 images (about the largest of the three, rounded
up; accumulate's is the large sets': on the sample its time is mostly a fixed cost
per category, 36 ms in all; see docs/benchmarks.md). A twin without an entry is
charged :data:`TWIN_NS_DEFAULT`."""

TWIN_NS_DEFAULT = 250.0

TWIN_PROCESS_SECONDS = 1.0
"""Once a process has spent this long in twins (a training loop evaluating every
epoch, a notebook), ``auto`` moves it to the compiled kernels for good: importing
numba and loading the kernels then pays for itself, the way a JIT tiers up a hot
function. The numbers do not change: twins and kernels agree bit for bit."""

_twin_seconds = 0.0  # time this process spent in twins so far


def twin_work_limit(module: str, name: str) -> int:
    """The work below which :func:`twin_call` runs the twin of ``module.name`` (mode ``auto``).

    Examples
    --------
    >>> from ioukit._core.twins import twin_work_limit
    >>> twin_work_limit("cpu_rle", "decode_strings") > 100_000
    True
    """
    ns = TWIN_NS_PER_WORK.get(f"{module}.{name}", TWIN_NS_DEFAULT)
    return int(TWIN_BUDGET_SECONDS * 1e9 / ns)


_TWIN_MODES = ("auto", "never", "always", "shadow")
DEFAULT_TWIN_MODE = "auto"
"""The mode when ``IOUKIT_TWINS`` is not set (the test suite sets ``"shadow"`` in its
own processes: every test exercises the compiled kernels, and checks the twins
against them on the way)."""
_twins: dict[tuple[str, str], Any] = {}


_forced: list[str] = []  # kernels_only() stack


class kernels_only:  # noqa: N801 (a context manager used like a function)
    """``with kernels_only():`` runs the compiled kernels whatever ``IOUKIT_TWINS``
    says (``ioukit.warmup`` uses it to compile them on tiny inputs; not thread-safe:
    meant for warm-up)."""

    def __enter__(self) -> None:
        _forced.append("never")

    def __exit__(self, *exc: object) -> None:
        _forced.pop()


def twin_mode() -> str:
    """``IOUKIT_TWINS``: ``"auto"`` (default: NumPy twins for small work),
    ``"never"`` (always the compiled kernels), ``"always"`` (twins whatever the size;
    a twin may still decline an input and leave it to the kernel) or ``"shadow"``
    (the kernel, and the twin beside it on copies of the arguments wherever ``auto``
    would run it: an ``AssertionError`` where the two differ; for tests).

    Examples
    --------
    >>> from ioukit._core.twins import twin_mode
    >>> twin_mode() in ("auto", "never", "always", "shadow")
    True
    """
    if _forced:
        return _forced[-1]
    mode = os.environ.get("IOUKIT_TWINS", "").strip().lower() or DEFAULT_TWIN_MODE
    if mode not in _TWIN_MODES:
        raise ValueError(f"IOUKIT_TWINS must be one of {', '.join(_TWIN_MODES)}, not {mode!r}")
    return mode


def numpy_twin(module: str, name: str) -> Any:
    """The NumPy twin of kernel ``module.name`` (``ioukit.kernels.np_*``), or None.

    A twin has the kernel's signature and writes the same outputs, bit for bit,
    with NumPy alone: calling it imports no numba and compiles nothing. It may
    decline an input by returning ``NotImplemented`` before writing anything.

    Examples
    --------
    >>> from ioukit._core.twins import numpy_twin
    >>> numpy_twin("cpu_rle", "no_such_kernel") is None
    True
    """
    key = (module, name)
    if key not in _twins:
        twin = None
        if module.startswith("cpu_") and module[4:].isidentifier():
            wanted = f"ioukit.kernels.np_{module[4:]}"
            try:
                twin_module = importlib.import_module(wanted)
            except ModuleNotFoundError as err:
                if err.name != wanted:
                    raise  # the twin module exists but fails to import: a bug, say so
                twin_module = None
            twin = getattr(twin_module, name, None)
        _twins[key] = twin
    return _twins[key]


def twin_call(
    module: str, name: str, work: int, *args: Any, serial_below: int | None = None
) -> Any:
    """Call kernel ``module.name`` on ``args``: its NumPy twin when ``work`` is below
    :func:`twin_work_limit` (see :func:`twin_mode`), else (or when the twin declines) the
    compiled kernel through :func:`~ioukit._core.loader.sized_call` rules (serial below
    ``serial_below``, default :data:`~ioukit._core.loader.SERIAL_WORK`).

    A small evaluation in a fresh process so never imports numba: it runs in less
    time than importing numba takes. In mode ``auto`` the kernel still runs when it
    costs nothing to reach (numba imported already, and the kernel compiled in this
    process or cached on disk), and for good once the process has spent
    :data:`TWIN_PROCESS_SECONDS` in twins.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit._core.twins import twin_call
    >>> counts, offsets, sizes = np.array([2, 3, 1]), np.array([0, 3]), np.array([6])
    >>> areas = np.zeros(1, np.int64)
    >>> twin_call("cpu_rle", "areas_from_counts", 3, counts, offsets, sizes, areas)
    >>> areas
    array([3])
    """
    global _twin_seconds
    if serial_below is None:
        serial_below = loader.SERIAL_WORK  # read now: tests lower it
    mode = twin_mode()
    if mode == "shadow":
        return _shadow(module, name, work, args, serial_below)
    if mode == "always" or (
        mode == "auto"
        and _twin_seconds < TWIN_PROCESS_SECONDS
        and work < twin_work_limit(module, name)
        and not _kernel_ready(module, name, work, serial_below)
    ):
        twin = numpy_twin(module, name)
        if twin is not None:
            start = time.perf_counter()
            result = twin(*args)
            _twin_seconds += time.perf_counter() - start
            if result is not NotImplemented:
                return result
    return _compiled_call(module, name, work, args, serial_below)


def _kernel_ready(module: str, name: str, work: int, serial_below: int) -> bool:
    """Whether the compiled kernel this call would run costs nothing to reach: numba is
    imported already, and that kernel (or its serial twin, for small work) has run in
    this process or has an index in numba's on-disk cache."""
    if "numba" not in sys.modules:
        return False
    compiled = getattr(loader.kernel(module), name, None)
    if compiled is None:
        return False
    if compiled.targetoptions.get("parallel") and work < serial_below:
        from .jit import serial_twin  # (creates the dispatcher; compiles nothing)

        compiled = serial_twin(compiled)
    if compiled.signatures:
        return True
    from .compile_status import cache_is_warm

    return cache_is_warm([compiled])


def _compiled_call(module: str, name: str, work: int, args: tuple, serial_below: int) -> Any:
    compiled = getattr(loader.kernel(module), name)
    if not compiled.targetoptions.get("parallel"):
        return compiled(*args)  # a serial kernel: no twin to choose
    from .jit import sized_call as call  # deferred: importing ioukit imports no numba

    return call(compiled, int(work), serial_below, *args)


def _copied(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (tuple, list)):
        return type(value)(_copied(v) for v in value)
    return value


def _difference(kernel_value: Any, twin_value: Any, where: str) -> str | None:
    """Where the kernel's value and the twin's differ (arrays: bit for bit, NaN = NaN)."""
    if isinstance(kernel_value, (tuple, list)):
        if not isinstance(twin_value, (tuple, list)) or len(twin_value) != len(kernel_value):
            return f"{where}: {type(kernel_value).__name__} vs {type(twin_value).__name__}"
        for i, (k, t) in enumerate(zip(kernel_value, twin_value, strict=True)):
            found = _difference(k, t, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(kernel_value, np.ndarray) or isinstance(twin_value, np.ndarray):
        k, t = np.asarray(kernel_value), np.asarray(twin_value)
        if k.shape != t.shape:
            return f"{where}: shape {k.shape} vs {t.shape}"
        nan = k.dtype.kind in "fc" and t.dtype.kind in "fc"
        if not np.array_equal(k, t, equal_nan=nan):
            at = np.argwhere(~((k == t) | (np.isnan(k) & np.isnan(t)) if nan else k == t))
            first = tuple(int(i) for i in at[0]) if len(at) else ()
            return f"{where}{list(first)}: kernel {k[first].item()!r}, twin {t[first].item()!r}"
        return None
    if kernel_value != twin_value and not (
        kernel_value != kernel_value and twin_value != twin_value
    ):
        return f"{where}: kernel {kernel_value!r}, twin {twin_value!r}"
    return None


def _shadow(module: str, name: str, work: int, args: tuple, serial_below: int) -> Any:
    """The kernel's result; the twin runs beside it on copies (where ``auto`` would run
    it) and any difference in the outputs or the return value is an AssertionError."""
    twin = numpy_twin(module, name)
    if twin is None or work >= twin_work_limit(module, name):
        return _compiled_call(module, name, work, args, serial_below)
    copies = _copied(args)
    twin_result = twin(*copies)
    result = _compiled_call(module, name, work, args, serial_below)
    if twin_result is not NotImplemented:
        found = _difference((args, result), (copies, twin_result), "(args, result)")
        if found:
            raise AssertionError(
                f"the NumPy twin of {module}.{name} differs from the kernel: {found}"
            )
    return result
