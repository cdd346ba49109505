"""Compile (or load from the on-disk cache) every CPU kernel ahead of the first call."""

from __future__ import annotations

import time

import numpy as np


def warmup(dtypes: tuple[str, ...] = ("float32", "float64")) -> float:
    """Compile every CPU kernel for ``dtypes`` now, so later calls start at full speed.

    With the on-disk cache enabled (the default), the first process compiles and
    writes the cache; later processes only load it.

    Parameters
    ----------
    dtypes : tuple of str, default ("float32", "float64")
        The floating-point specialisations to prepare.

    Returns
    -------
    float
        Seconds spent.

    Examples
    --------
    >>> import ioukit
    >>> seconds = ioukit.warmup(("float64",))
    >>> seconds >= 0
    True
    """
    from . import boxes

    start = time.perf_counter()
    for name in dtypes:
        dtype = np.dtype(name)
        a = np.array([[0, 0, 2, 2], [1, 1, 3, 4]], dtype=dtype)
        for fn in (boxes.box_iou, boxes.box_giou, boxes.box_diou, boxes.box_ciou, boxes.box_ioa):
            fn(a, a)
            fn(a, a, aligned=True)
        boxes.box_iou(a, a, crowd=[False, True])
        boxes.box_area(a)
        boxes.box_convert(a, "xyxy", "cxcywh")
    return time.perf_counter() - start
