"""The one lazy kernel loader: every front-end and backend reaches numba through here.

``import ioukit`` imports no numba and compiles nothing. A front-end asks for
a kernel module when it first needs one::

    from ._core.loader import kernel, parallel_call

    k = kernel("cpu_masks")            # imports ioukit.kernels.cpu_masks once
    parallel_call(k.interval_iou, ...)  # safe under every threading layer

This module itself imports no numba; :func:`parallel_call` imports
:mod:`ioukit._core.jit` (and so numba) on its first call only.
:func:`sized_call` runs small inputs through the kernel's serial twin, so a first
run on small data compiles only that (about half the compile time).
"""

from __future__ import annotations

import importlib
import os
import time
import types
from typing import Any

_modules: dict[str, types.ModuleType] = {}


def kernel(name: str) -> types.ModuleType:
    """The kernel module ``ioukit.kernels.<name>``, imported (and compiled) on first use.

    Parameters
    ----------
    name : str
        A module of :mod:`ioukit.kernels`, e.g. ``"cpu_masks"`` or ``"cuda_boxes"``.

    Returns
    -------
    types.ModuleType
        The module; later calls return the same object without an import.

    Examples
    --------
    >>> from ioukit._core.loader import kernel
    >>> kernel("codes").OVER_CODES["min"]
    2
    """
    module = _modules.get(name)
    if module is None:
        if not name.isidentifier():
            raise ValueError(f"kernel: {name!r} is not a kernel module name")
        module = importlib.import_module(f"ioukit.kernels.{name}")
        _modules[name] = module
    return module


def parallel_call(fn: Any, *args: Any) -> Any:
    """Call the parallel kernel ``fn(*args)`` through :func:`ioukit._core.jit.parallel_call`.

    Concurrent callers never abort the process: under numba's ``workqueue``
    layer a call that finds the layer busy runs the kernel's serial twin.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit._core.loader import kernel, parallel_call
    >>> areas = np.zeros(1, np.int64)
    >>> counts, offsets, sizes = np.array([2, 3, 1]), np.array([0, 3]), np.array([6])
    >>> parallel_call(kernel("cpu_rle").areas_from_counts, counts, offsets, sizes, areas)
    >>> areas
    array([3])
    """
    from .jit import parallel_call as call  # deferred: importing ioukit imports no numba

    return call(fn, *args)


SERIAL_WORK = 1 << 19
""":func:`sized_call` runs the serial twin below this much work (elements: bytes,
run lengths, coordinates), a few milliseconds of it."""


def sized_call(fn: Any, work: int, *args: Any) -> Any:
    """Call the parallel kernel ``fn(*args)`` as :func:`parallel_call` does, or its
    serial twin when ``work`` is below :data:`SERIAL_WORK`.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit._core.loader import kernel, sized_call
    >>> src, out = np.array([7, 8, 9]), np.zeros(2, np.int64)
    >>> starts, lengths, at = np.array([1, 0]), np.array([1, 1]), np.array([0, 1])
    >>> sized_call(kernel("cpu_rle").gather_segments, 2, src, starts, lengths, at, out)
    >>> out  # two runs of one count, copied in the order asked
    array([8, 7])
    """
    from .jit import sized_call as call  # deferred: importing ioukit imports no numba

    return call(fn, int(work), SERIAL_WORK, *args)


TWIN_BUDGET_SECONDS = 0.1
""":func:`twin_call` runs a kernel's NumPy twin when the twin's estimated time is below
this: a fresh process that imports numba and loads the cached kernels spends about
half a second before the first kernel runs (and seconds compiling on a cold cache)."""

TWIN_NS_PER_WORK = {
    "cpu_rle.count_terminators": 15.0,
    "cpu_rle.decode_strings": 110.0,
    "cpu_rle.gather_segments": 15.0,
    "cpu_rle.check_counts": 40.0,
    "cpu_rle.areas_from_counts": 40.0,
    "cpu_rle.merge_counts": 340.0,
    "cpu_rle.polygon_bounds": 170.0,
    "cpu_rle.polygons_to_counts": 215.0,
    "cpu_masks.intervals_from_counts": 100.0,
    "cpu_coco.match_groups": 270.0,
    "cpu_coco.accumulate": 630.0,
}
"""Nanoseconds per unit of ``work`` of each twin, measured on the embedded sample and on
``make_coco`` sets of 300 and 1,000 images (the largest of the three; see
docs/benchmarks.md). A twin without an entry is charged :data:`TWIN_NS_DEFAULT`."""

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
    >>> from ioukit._core.loader import twin_work_limit
    >>> twin_work_limit("cpu_rle", "decode_strings") > 100_000
    True
    """
    ns = TWIN_NS_PER_WORK.get(f"{module}.{name}", TWIN_NS_DEFAULT)
    return int(TWIN_BUDGET_SECONDS * 1e9 / ns)


_TWIN_MODES = ("auto", "never", "always")
DEFAULT_TWIN_MODE = "auto"
"""The mode when ``IOUKIT_TWINS`` is not set (the test suite sets ``"never"`` in its
own processes, so that every test exercises the compiled kernels)."""
_twins: dict[tuple[str, str], Any] = {}


def twin_mode() -> str:
    """``IOUKIT_TWINS``: ``"auto"`` (default: NumPy twins for small work),
    ``"never"`` (always the compiled kernels) or ``"always"`` (twins whatever the size;
    a twin may still decline an input and leave it to the kernel).

    Examples
    --------
    >>> from ioukit._core.loader import twin_mode
    >>> twin_mode() in ("auto", "never", "always")
    True
    """
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
    >>> from ioukit._core.loader import numpy_twin
    >>> numpy_twin("cpu_rle", "no_such_kernel") is None
    True
    """
    key = (module, name)
    if key not in _twins:
        twin = None
        if module.startswith("cpu_") and module[4:].isidentifier():
            try:
                twin_module = importlib.import_module(f"ioukit.kernels.np_{module[4:]}")
            except ModuleNotFoundError:
                twin_module = None
            twin = getattr(twin_module, name, None)
        _twins[key] = twin
    return _twins[key]


def twin_call(
    module: str, name: str, work: int, *args: Any, serial_below: int = SERIAL_WORK
) -> Any:
    """Call kernel ``module.name`` on ``args``: its NumPy twin when ``work`` is below
    :func:`twin_work_limit` (see :func:`twin_mode`), else (or when the twin declines) the
    compiled kernel through :func:`sized_call` rules (serial below ``serial_below``).

    A small evaluation in a fresh process so never imports numba: it runs in less
    time than importing numba takes. A process that has spent
    :data:`TWIN_PROCESS_SECONDS` in twins moves to the kernels (mode ``auto``).

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit._core.loader import twin_call
    >>> counts, offsets, sizes = np.array([2, 3, 1]), np.array([0, 3]), np.array([6])
    >>> areas = np.zeros(1, np.int64)
    >>> twin_call("cpu_rle", "areas_from_counts", 3, counts, offsets, sizes, areas)
    >>> areas
    array([3])
    """
    global _twin_seconds
    mode = twin_mode()
    if mode == "always" or (
        mode == "auto"
        and _twin_seconds < TWIN_PROCESS_SECONDS
        and work < twin_work_limit(module, name)
    ):
        twin = numpy_twin(module, name)
        if twin is not None:
            start = time.perf_counter()
            result = twin(*args)
            _twin_seconds += time.perf_counter() - start
            if result is not NotImplemented:
                return result
    compiled = getattr(kernel(module), name)
    if not compiled.targetoptions.get("parallel"):
        return compiled(*args)  # a serial kernel: no twin to choose
    from .jit import sized_call as call  # deferred: importing ioukit imports no numba

    return call(compiled, int(work), serial_below, *args)
