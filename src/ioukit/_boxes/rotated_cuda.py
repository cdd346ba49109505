"""Rotated-box metrics of CUDA arrays: the hook for ``box_iou(..., fmt=<rotated>)`` when
the inputs live on a GPU (CuPy, torch CUDA tensors, numba device arrays).

Same rules as :func:`ioukit._boxes.rotated.rotated_pairwise`; batch axes must be equal or
absent on one side; the result is float32 for float32 (or narrower float) inputs,
else float64, allocated in the input's library on its device.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._core import validate as check
from .rotated import METRICS, OVERS, ROTATED_FORMATS


def rotated_pairwise_cuda(
    metric: str,
    a: Any,
    b: Any,
    *,
    fmt: str,
    aligned: bool = False,
    over: str = "a",
    validate: bool = True,
    func: str = "box_iou",
) -> Any:
    """``metric`` ("iou" | "ioa" | "giou") of rotated boxes given as CUDA arrays."""
    from ..backends.cuda import THREADS, _blocks, _cuda, _Library, _shape, _threads_1d, _view
    from ..kernels import cpu_rotated as codes
    from ..kernels import cuda_rotated as k

    cuda = _cuda()
    check.check_choice(fmt, ROTATED_FORMATS, "fmt", func)
    check.check_choice(metric, METRICS, "metric", func)
    check.check_choice(over, OVERS, "over", func)
    va, vb = _view(cuda, a), _view(cuda, b)
    for name, v in (("a", va), ("b", vb)):
        if v.ndim < 2 or _shape(v)[-1] != 5:
            raise ValueError(
                f"{func}: argument {name!r} must have shape (..., N, 5) for rotated boxes, "
                f"got {_shape(v)}"
            )
        if v.dtype.kind not in "iuf":
            raise TypeError(f"{func}: argument {name!r} must hold numbers, got dtype {v.dtype}")
    narrow = all(v.dtype.kind == "f" and v.dtype.itemsize <= 4 for v in (va, vb))
    dtype = np.dtype(np.float32 if narrow else np.float64)
    batch_a, batch_b = tuple(_shape(va)[:-2]), tuple(_shape(vb)[:-2])
    if batch_a and batch_b and batch_a != batch_b:
        raise ValueError(
            f"{func}: on CUDA the batch dimensions of 'a' {batch_a} and 'b' {batch_b} "
            "must be equal (or absent on one side)"
        )
    batch = batch_a or batch_b
    n, m = _shape(va)[-2], _shape(vb)[-2]
    if aligned:
        check.check_same_length(n, m, func)
    library = _Library(a)
    stream = library.stream(cuda)
    t = _threads_1d()
    geos = []
    for name, v in (("a", va), ("b", vb)):
        rows = _shape(v)[-2]
        n_batch = math.prod(_shape(v)[:-2])
        src = v if v.is_c_contiguous() else cuda.to_device(np.ascontiguousarray(v.copy_to_host()))
        src = src.reshape((n_batch, rows, 5))
        total = n_batch * rows
        if validate and total:
            found = cuda.to_device(np.array([total], dtype=np.int64), stream=stream)
            k.first_invalid[_blocks(total, t), t, stream](src, found)
            first = int(found.copy_to_host(stream=stream)[0])
            if first < total:
                row = src[first // rows].copy_to_host(stream=stream)[first % rows]
                where = check.format_index(first, _shape(v)[:-1])
                why = (
                    "not finite"
                    if not np.isfinite(row).all()
                    else ("negative width" if row[2] < 0 else "negative height")
                )
                raise ValueError(
                    f"{func}: argument {name!r} has an invalid {fmt} box at row {where}: "
                    f"{[float(x) for x in row]} ({why})"
                )
        geo = cuda.device_array((n_batch, rows, k.HEAD + 2 * k.K), dtype=np.float64, stream=stream)
        if total:
            code = codes.ROTATED_FORMAT_CODES[fmt]
            k.box_geometry[_blocks(total, t), t, stream](src, code, geo)
        geos.append(geo)
    shape = batch + ((n,) if aligned else (n, m))
    result, view = library.empty(cuda, shape, dtype, stream)
    n_batch = math.prod(batch)
    if math.prod(shape):
        mc, oc = codes.METRIC_CODES[metric], codes.OVER_CODES[over]
        if aligned:
            target = view.reshape((n_batch, n))
            k.aligned[_blocks(n_batch * n, t), t, stream](mc, oc, geos[0], geos[1], target)
        else:
            target = view.reshape((n_batch, n, m))
            grid = (_blocks(m, THREADS[0]), _blocks(n_batch * n, THREADS[1]))
            k.pairwise[grid, THREADS, stream](mc, oc, geos[0], geos[1], target)
    return result
