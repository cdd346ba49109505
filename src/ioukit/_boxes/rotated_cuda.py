"""Rotated boxes and convex polygons given as CUDA arrays (CuPy, torch CUDA tensors,
numba device arrays): :func:`measure_cuda` runs a call checked by
:func:`ioukit._boxes.rotated.check_rotated_call`.

* Rotated boxes: checked and turned into geometry rows on the device; batch axes must
  be equal or absent on one side.
* Polygons: the ``(N, K, 2)`` vertices (small beside the ``N x M`` result) are copied
  to the host, checked for convexity and turned counter-clockwise by the CPU code,
  and their geometry rows copied back; batch axes broadcast as on the CPU. Polygons
  of more than ``MAX_DEVICE_VERTICES`` vertices are measured on the host entirely.
* The metric runs on the device with the CPU's scalar formulas; the result is
  float32 for float32 (or narrower float) inputs, else float64, allocated in the
  input's library on its device.
* ``threshold=``: IoU row blocks on the device (at most ``SPARSE_BLOCK`` values each),
  counted and compacted there; only the pairs at or above the threshold come back,
  as the CPU's SciPy CSR array.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._core import validate as check
from .._core.dtypes import float_types
from . import rotated_inputs as rotated
from .rotated_inputs import RotatedCall

#: values of one row block of the dense IoU computed for ``threshold=`` (float64)
SPARSE_BLOCK = 1 << 24
#: polygons of more vertices would need too large a per-thread scratch array (local
#: memory): they are measured by the CPU kernels and the result copied to the device
MAX_DEVICE_VERTICES = 64


def rotated_pairwise_cuda(metric: str, a: Any, b: Any, **options: Any) -> Any:
    """:func:`~ioukit._boxes.rotated.rotated_pairwise` for CUDA arrays (same options)."""
    func = options.pop("func", "box_iou")
    call = rotated.check_rotated_call(func, metric, options.pop("fmt"), **options)
    return measure_cuda(a, b, call)


def _box_geometry(cuda: Any, v: Any, name: str, call: RotatedCall, stream: Any) -> Any:
    """Validated geometry rows ``(B, N, 12)`` on the device of rotated boxes ``v``."""
    from ..backends.cuda import _blocks, _shape, _threads_1d
    from ..kernels import cpu_rotated as codes
    from ..kernels import cuda_rotated as k

    shape = _shape(v)
    rows, n_batch = shape[-2], math.prod(shape[:-2])
    total, t = n_batch * rows, _threads_1d()
    src = v if v.is_c_contiguous() else cuda.to_device(np.ascontiguousarray(v.copy_to_host()))
    src = src.reshape((total, 5))
    if call.validate and total:
        found = cuda.to_device(np.array([total], dtype=np.int64), stream=stream)
        k.first_invalid[_blocks(total, t), t, stream](src, found)
        first = int(found.copy_to_host(stream=stream)[0])
        if first < total:
            row = src[first : first + 1].copy_to_host(stream=stream)[0]
            where = check.format_index(first, shape[:-1])
            why = (
                "not finite"
                if not np.isfinite(row).all()
                else ("negative width" if row[2] < 0 else "negative height")
            )
            raise ValueError(
                f"{call.func}: argument {name!r} has an invalid {call.fmt} box at row {where}: "
                f"{[float(x) for x in row]} ({why})"
            )
    geo = cuda.device_array((total, k.HEAD + 2 * k.K), dtype=np.float64, stream=stream)
    if total:
        code = codes.ROTATED_FORMAT_CODES[call.fmt]
        k.box_geometry[_blocks(total, t), t, stream](src, code, geo)
    return geo.reshape((n_batch, rows, k.HEAD + 2 * k.K))


def _boxes(cuda: Any, va: Any, vb: Any, call: RotatedCall, stream: Any) -> tuple:
    """``(ga, gb, ka, kb, batch, n, m, dtype)`` of rotated boxes on the device."""
    from ..backends.cuda import _shape

    func = call.func
    for name, v in (("a", va), ("b", vb)):
        if v.ndim < 2 or _shape(v)[-1] != 5:
            raise ValueError(
                f"{func}: argument {name!r} must have shape (..., N, 5) for rotated boxes, "
                f"got {_shape(v)}"
            )
        check.check_numeric(v, name, func)
    batch_a, batch_b = _shape(va)[:-2], _shape(vb)[:-2]
    if batch_a and batch_b and batch_a != batch_b:
        raise ValueError(
            f"{func}: on CUDA the batch dimensions of 'a' {batch_a} and 'b' {batch_b} "
            "must be equal (or absent on one side)"
        )
    if call.threshold is not None and (batch_a or batch_b):
        raise ValueError(f"{func}: threshold= needs 2-D (N, 5) inputs")
    n, m = _shape(va)[-2], _shape(vb)[-2]
    if call.aligned:
        check.check_same_length(n, m, func)
    ga, gb = (_box_geometry(cuda, v, name, call, stream) for v, name in ((va, "a"), (vb, "b")))
    dtype, _ = float_types(va.dtype, vb.dtype)
    return ga, gb, 4, 4, batch_a or batch_b, n, m, dtype


def _polygons(cuda: Any, va: Any, vb: Any, call: RotatedCall, stream: Any) -> tuple:
    """``(ga, gb, ka, kb, batch, n, m, dtype)`` of polygons: checked and measured on the
    host (O(N K) numbers), the geometry rows copied to the device."""
    host = [np.ascontiguousarray(v.copy_to_host(stream=stream)) for v in (va, vb)]
    ga, gb, *rest = rotated.host_geometry(host[0], host[1], call)
    return (cuda.to_device(ga, stream=stream), cuda.to_device(gb, stream=stream), *rest)


def measure_cuda(a: Any, b: Any, call: RotatedCall) -> Any:
    """:func:`~ioukit._boxes.rotated.measure` of CUDA arrays ``a`` and ``b``."""
    from ..backends.cuda import THREADS, _blocks, _cuda, _Library, _shape, _threads_1d, _view
    from ..kernels import cpu_rotated as codes
    from ..kernels import cuda_rotated as k

    cuda = _cuda()
    va, vb = _view(cuda, a), _view(cuda, b)
    library = _Library(a)
    stream = library.stream(cuda)
    if call.fmt is None and max((0, *_shape(va)[-2:-1], *_shape(vb)[-2:-1])) > MAX_DEVICE_VERTICES:
        from ..backends.cuda import like_input

        host = [np.ascontiguousarray(v.copy_to_host(stream=stream)) for v in (va, vb)]
        return like_input(rotated.measure_host(host[0], host[1], call), a)
    prepare = _polygons if call.fmt is None else _boxes
    ga, gb, ka, kb, batch, n, m, dtype = prepare(cuda, va, vb, call, stream)
    pairwise, aligned = k.shape_kernels(k.width_for(ka, kb))
    mc, oc = codes.METRIC_CODES[call.metric], codes.OVER_CODES[call.over]
    if call.threshold is not None:
        return _sparse(cuda, pairwise, (mc, oc, ka, kb), ga, gb, call.threshold, dtype, stream)
    shape = batch + ((n,) if call.aligned else (n, m))
    result, view = library.empty(cuda, shape, dtype, stream)
    n_batch, t = math.prod(batch), _threads_1d()
    if math.prod(shape) and call.aligned:
        target = view.reshape((n_batch, n))
        aligned[_blocks(n_batch * n, t), t, stream](mc, oc, ka, kb, ga, gb, target)
    elif math.prod(shape):
        target = view.reshape((n_batch, n, m))
        grid = (_blocks(m, THREADS[0]), _blocks(n_batch * n, THREADS[1]))
        pairwise[grid, THREADS, stream](mc, oc, ka, kb, ga, gb, target)
    return result


def _sparse(cuda, pairwise, args, ga, gb, threshold, dtype, stream) -> Any:
    """The CSR ``(N, M)`` of the pairs with IoU >= ``threshold``, block of rows by block
    of rows: IoU on the device, counted and compacted there, only the pairs copied back."""
    from scipy import sparse

    from ..backends.cuda import THREADS, _blocks, _threads_1d
    from ..kernels import cuda_rotated as k

    n, m = ga.shape[1], gb.shape[1]
    if n == 0 or m == 0:
        return sparse.csr_array((n, m), dtype=dtype)
    step = max(1, SPARSE_BLOCK // m)
    block = cuda.device_array((1, min(step, n), m), dtype=np.float64, stream=stream)
    t = _threads_1d()
    indptr, cols, vals = [np.zeros(1, dtype=np.int64)], [], []
    for lo in range(0, n, step):
        rows = min(step, n - lo)
        values = block[:, :rows] if rows < block.shape[1] else block
        grid = (_blocks(m, THREADS[0]), _blocks(rows, THREADS[1]))
        pairwise[grid, THREADS, stream](*args, ga[:, lo : lo + rows], gb, values)
        counts = cuda.device_array(rows, dtype=np.int64, stream=stream)
        k.count_at_least[_blocks(rows, t), t, stream](values[0], threshold, counts)
        ends = np.cumsum(counts.copy_to_host(stream=stream))
        starts = np.concatenate([[0], ends[:-1]])
        found = int(ends[-1])
        dev_cols = cuda.device_array(max(found, 1), dtype=np.int64, stream=stream)
        dev_vals = cuda.device_array(max(found, 1), dtype=np.float64, stream=stream)
        if found:
            dev_starts = cuda.to_device(starts, stream=stream)
            k.fill_at_least[_blocks(rows, t), t, stream](
                values[0], threshold, dev_starts, dev_cols, dev_vals
            )
        cols.append(dev_cols.copy_to_host(stream=stream)[:found])
        vals.append(dev_vals.copy_to_host(stream=stream)[:found])
        indptr.append(indptr[-1][-1] + ends)
    data = np.concatenate(vals).astype(dtype, copy=False)
    return sparse.csr_array((data, np.concatenate(cols), np.concatenate(indptr)), shape=(n, m))
