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
:mod:`ioukit._core.twins` runs the NumPy twin of a kernel instead, for small work.
"""

from __future__ import annotations

import importlib
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
