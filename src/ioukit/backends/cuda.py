"""The CUDA backend: inputs with ``__cuda_array_interface__`` (CuPy, torch CUDA tensors,
numba device arrays) are computed on their GPU, without a copy to the host.

Results come back in the input's library, on its device, on the library's current
stream (CuPy in, CuPy out; torch in, torch out; numba device array in, device array
out). Needs ``pip install 'ioukit[cuda]'`` (numba-cuda) and a CUDA GPU; without
them a clear ImportError / RuntimeError says what is missing.

Differences from the CPU path, documented: half-precision inputs give float32
results; batch dimensions must be equal or absent on one side (no general
broadcasting); the semantic confusion matrix, being small, comes back on the host.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import numpy as np

from .._core import validate as check
from .._core.dispatch import CUDA, is_cuda, require, small_to_host
from .._core.dtypes import float_types

#: Threads per block (x, y) of the 2-D kernels and of the 1-D kernels (x * y);
#: tests shrink them (IOUKIT_CUDA_THREADS="4,4") so the simulator covers many blocks.
THREADS = tuple(int(v) for v in os.environ.get("IOUKIT_CUDA_THREADS", "32,8").split(","))

NAME = "CUDA"

#: Options of a box job this backend refuses (name -> why), checked by the front-end.
UNSUPPORTED_BOX_OPTIONS = {"threshold": "the sparse grid runs on the CPU; pass host arrays"}

#: bytes of NMS bit-mask rows computed per launch (the mask of N boxes is N^2 / 8
#: bytes: computed and swept a block of rows at a time, so memory stays bounded)
NMS_MASK_BYTES = 1 << 28


def _cuda() -> Any:
    cuda = require("numba.cuda", CUDA)
    if not cuda.is_available():
        raise RuntimeError(
            "CUDA inputs were given but no usable CUDA GPU or driver was found "
            "(numba.cuda.is_available() is False)"
        )
    return cuda


def _shape(x: Any) -> tuple[int, ...]:
    """A plain tuple shape (the simulator's arrays have a tuple-like shape without slicing)."""
    return tuple(int(n) for n in x.shape)


def _view(cuda: Any, x: Any) -> Any:
    """A numba device-array view of a CUDA array (numba device arrays as they are)."""
    if hasattr(x, "__cuda_array_interface__") and hasattr(cuda, "as_cuda_array"):
        return cuda.as_cuda_array(x)
    if not (hasattr(x, "copy_to_host") and hasattr(x, "ndim")):
        raise TypeError(f"the cuda backend cannot read an array of type {type(x).__name__}")
    return x


def _kernels(name: str) -> Any:
    import importlib

    return importlib.import_module(f"ioukit.kernels.cuda_{name}")


class _Library:
    """Where an input came from, to allocate outputs there and use its stream."""

    def __init__(self, x: Any) -> None:
        self.root = type(x).__module__.partition(".")[0]
        self.like = x

    def stream(self, cuda: Any) -> Any:
        if self.root == "cupy":
            cupy = sys.modules["cupy"]
            return cuda.external_stream(cupy.cuda.get_current_stream().ptr)
        if self.root == "torch":
            torch = sys.modules["torch"]
            return cuda.external_stream(torch.cuda.current_stream(self.like.device).cuda_stream)
        return cuda.default_stream()

    def empty(self, cuda: Any, shape: tuple, dtype: np.dtype, stream: Any) -> tuple[Any, Any]:
        """``(the library's array, a numba view of it)``."""
        if self.root == "cupy":
            cupy = sys.modules["cupy"]
            with cupy.cuda.Device(self.like.device.id):
                arr = cupy.empty(shape, dtype=dtype)
            return arr, _view(cuda, arr)
        if self.root == "torch":
            torch = sys.modules["torch"]
            torch_dtype = {
                np.dtype(np.float32): torch.float32,
                np.dtype(np.float64): torch.float64,
                np.dtype(np.int64): torch.int64,
            }[np.dtype(dtype)]
            arr = torch.empty(shape, dtype=torch_dtype, device=self.like.device)
            return arr, _view(cuda, arr)
        arr = cuda.device_array(shape, dtype=dtype, stream=stream)
        return arr, arr


def _blocks(n: int, threads: int) -> int:
    return max(1, math.ceil(n / threads))


def _threads_1d() -> int:
    return THREADS[0] * THREADS[1]


def _as_boxes(cuda: Any, x: Any, name: str, func: str) -> Any:
    """A numba view of device boxes; the job has checked the shape."""
    view = _view(cuda, x)
    check.check_numeric(view, name, func)
    return view


def _prepared(cuda, view, dtype, job, name, stream):
    """A contiguous (B, N, 4) ``dtype`` copy of ``view`` on the device, validated."""
    from ..kernels.codes import FORMAT_CODES

    k = _kernels("boxes")
    shape = _shape(view)
    n_batch, n = math.prod(shape[:-2]), shape[-2]
    src = view.reshape((n_batch, n, 4)) if view.is_c_contiguous() else view
    if src.ndim != 3:  # non-contiguous batched input: copy through the host layout
        src = cuda.to_device(np.ascontiguousarray(view.copy_to_host())).reshape((n_batch, n, 4))
    out = cuda.device_array((n_batch, n, 4), dtype=dtype, stream=stream)
    total = n_batch * n
    if total:
        t = _threads_1d()
        k.cast_boxes[_blocks(total, t), t, stream](src, out)
        if job.validate:
            code = FORMAT_CODES[job.fmt]
            found = cuda.to_device(np.array([total], dtype=np.int64), stream=stream)
            k.first_invalid_box[_blocks(total, t), t, stream](out, code, found)
            first = int(found.copy_to_host(stream=stream)[0])
            if first < total:
                row = out[first // n].copy_to_host(stream=stream)[first % n]
                # the reason and the message come from the one rule (kernels.scalar)
                where = check.format_index(first, shape[:-1])
                raise check.invalid_box_error(row, where, job.fmt, name, job.func)
    return out


def _features(cuda, k, boxes, code, offset, half, stream) -> Any:
    f = cuda.device_array((boxes.shape[0], 8, boxes.shape[1]), dtype=boxes.dtype, stream=stream)
    total = boxes.shape[0] * boxes.shape[1]
    if total:
        t = _threads_1d()
        k.box_features[_blocks(total, t), t, stream](boxes, code, offset, half, f)
    return f


def run_boxes(job: Any) -> Any:
    """Run a :class:`~ioukit._boxes.job.BoxJob` of CUDA arrays; the result comes back in the
    library of ``job.a``, on its device."""
    from ..kernels.codes import FORMAT_CODES, METRIC_CODES, OVER_CODES

    cuda = _cuda()
    func = job.func
    views = [
        _as_boxes(cuda, x, name, func) for x, name in ((job.a, "a"), (job.b, "b")) if x is not None
    ]
    dtype, _ = float_types(*(v.dtype for v in views))
    library = _Library(job.a)
    stream = library.stream(cuda)
    if job.metric in ("area", "convert"):
        return _single(cuda, job, views[0], dtype, library, stream)
    va, vb = views
    batch_a, batch_b = _shape(va)[:-2], _shape(vb)[:-2]
    if batch_a and batch_b and batch_a != batch_b:
        raise ValueError(
            f"{func}: on CUDA the batch dimensions of 'a' {batch_a} and 'b' {batch_b} "
            "must be equal (or absent on one side)"
        )
    n, m = _shape(va)[-2], _shape(vb)[-2]
    k = _kernels("boxes")
    typed = dtype.type
    offset, half, eps, one = typed(job.offset), typed(0.5), typed(job.eps), typed(1)
    code = FORMAT_CODES[job.fmt]
    pa, pb = (_prepared(cuda, v, dtype, job, name, stream) for v, name in ((va, "a"), (vb, "b")))
    if _too_large(cuda, (pa, pb), dtype, stream):
        return _on_host(cuda, job, (va, vb), dtype, library, stream)
    fa, fb = (_features(cuda, k, p, code, offset, half, stream) for p in (pa, pb))
    n_batch = math.prod(job.batch)
    if job.crowd is not None:
        flags = np.ascontiguousarray(job.crowd.reshape(-1, m))
    else:
        flags = np.zeros((1, max(m, 1)), dtype=np.bool_)
    flags = cuda.to_device(flags, stream=stream)
    shape = job.result_shape
    result, target = _result(cuda, job, library, shape, dtype, stream)
    flat = target.reshape((n_batch,) + shape[len(job.batch) :])
    args = (METRIC_CODES[job.metric], fa, fb, flags, OVER_CODES[job.over], offset, eps, one, flat)
    if job.aligned and n_batch * n:
        t = _threads_1d()
        k.aligned[_blocks(n_batch * n, t), t, stream](*args)
    elif not job.aligned and n_batch * n * m:
        tx, ty = THREADS
        k.pairwise[(_blocks(m, tx), _blocks(n_batch * n, ty)), (tx, ty), stream](*args)
    return result


def _too_large(cuda: Any, prepared: tuple, dtype: np.dtype, stream: Any) -> bool:
    """Whether a coordinate is large enough for an area to overflow ``dtype`` (the CPU's
    overflow guard: float32 past 2^60, float64 past 2^508); one device reduction."""
    from .._boxes.inputs import SAFE_MAGNITUDE

    largest = 0.0
    if stream:  # the reduction runs on the default stream (the simulator has no other)
        stream.synchronize()
    for boxes in prepared:
        flat = boxes.reshape(-1)
        if flat.size:
            largest = max(largest, float(_max_abs(cuda)(flat)))
    return largest > SAFE_MAGNITUDE[np.dtype(dtype)]


_REDUCERS: dict[str, Any] = {}


def _max_abs(cuda: Any) -> Any:
    if "max_abs" not in _REDUCERS:
        _REDUCERS["max_abs"] = cuda.reduce(lambda x, y: max(abs(x), abs(y)))
    return _REDUCERS["max_abs"]


def _on_host(cuda, job, views, dtype, library, stream) -> Any:
    """The rare path for huge coordinates: the CPU's exact rescaled computation, its
    result copied to the device (the boxes are O(N + M) beside the N x M result)."""
    import dataclasses

    from .._boxes import cpu

    crowd = job.crowd
    if crowd is not None and hasattr(crowd, "copy_to_host"):
        crowd = crowd.copy_to_host()
    host = dataclasses.replace(
        job,
        kind="numpy",
        a=np.ascontiguousarray(views[0].copy_to_host()),
        b=np.ascontiguousarray(views[1].copy_to_host()),
        out=None,
        crowd=None if crowd is None else np.asarray(crowd),
    )
    values = np.ascontiguousarray(cpu.run_boxes(host), dtype=dtype)
    result, target = _result(cuda, job, library, job.result_shape, dtype, stream)
    target.copy_to_device(values.reshape(_shape(target)), stream=stream)
    return result


def _result(cuda, job, library, shape, dtype, stream) -> tuple[Any, Any]:
    """``(array handed back, numba view the kernel writes)``: the caller's ``out`` or a new one."""
    if job.out is None:
        return library.empty(cuda, shape, dtype, stream)
    target = _view(cuda, job.out)
    if _shape(target) != shape or target.dtype != dtype:
        raise ValueError(
            f"{job.func}: argument 'out' must be a {dtype} device array of shape {shape}"
        )
    return job.out, target


def _single(cuda, job, view, dtype, library, stream) -> Any:
    """``box_area`` (shape (..., N)) or ``box_convert`` (shape (..., N, 4)) on the device."""
    from ..kernels.codes import FORMAT_CODES

    k = _kernels("boxes")
    boxes = _prepared(cuda, view, dtype, job, "a", stream)
    shape = _shape(view)
    total = boxes.shape[0] * boxes.shape[1]
    t = _threads_1d()
    typed = dtype.type
    if job.metric == "area":
        result, target = library.empty(cuda, shape[:-1], dtype, stream)
        flat = target.reshape(boxes.shape[:2])
        if total:
            offset = typed(job.offset)
            k.box_area[_blocks(total, t), t, stream](boxes, FORMAT_CODES[job.fmt], offset, flat)
        return result
    result, target = library.empty(cuda, shape, dtype, stream)
    flat = target.reshape(boxes.shape)
    if total:
        src, dst = FORMAT_CODES[job.fmt], FORMAT_CODES[job.dst]
        k.box_convert[_blocks(total, t), t, stream](boxes, src, dst, typed(0.5), flat)
    return result


def mask_iou(a: Any, b: Any, crowd: Any = None) -> Any:
    """Dense mask IoU of device arrays ``(N, H, W)`` and ``(M, H, W)``; float64 (N, M)."""
    func = "mask_iou"
    cuda = _cuda()
    k = _kernels("masks")
    views = []
    for name, x in (("a", a), ("b", b)):
        if not is_cuda(x):
            raise TypeError(
                f"{func}: cannot mix CUDA masks with host masks ('{name}' is on the host)"
            )
        v = _view(cuda, x)
        if v.ndim == 2:
            v = v.reshape((1,) + _shape(v))
        if v.ndim != 3:
            raise ValueError(
                f"{func}: argument {name!r} must be (N, H, W) on CUDA, got shape {_shape(v)}"
            )
        if v.dtype.kind not in "biu":
            raise TypeError(
                f"{func}: argument {name!r} must be a bool or integer mask, got dtype {v.dtype}"
            )
        views.append(v)
    va, vb = views
    if _shape(va)[1:] != _shape(vb)[1:]:
        raise ValueError(
            f"{func}: masks of 'a' are {_shape(va)[1]}x{_shape(va)[2]} but masks of 'b' are "
            f"{_shape(vb)[1]}x{_shape(vb)[2]}"
        )
    library = _Library(a)
    stream = library.stream(cuda)
    h, w = _shape(va)[1], _shape(va)[2]
    n_words = max(1, math.ceil(w / 64))
    packed = []
    bad = cuda.to_device(np.zeros(1, dtype=np.int32), stream=stream)
    for v in (va, vb):
        words = cuda.device_array((_shape(v)[0], h, n_words), dtype=np.uint64, stream=stream)
        areas = cuda.to_device(np.zeros(_shape(v)[0], dtype=np.int64), stream=stream)
        lo = cuda.to_device(np.full(_shape(v)[0], h, dtype=np.int64), stream=stream)
        hi = cuda.to_device(np.full(_shape(v)[0], -1, dtype=np.int64), stream=stream)
        total = _shape(v)[0] * h * n_words
        if total:
            t = _threads_1d()
            k.pack_rows[_blocks(total, t), t, stream](v, words, areas, lo, hi, bad)
        packed.append((words, areas, lo, hi))
    if int(bad.copy_to_host(stream=stream)[0]):
        raise ValueError(f"{func}: a mask holds values other than 0 and 1")
    m = _shape(vb)[0]
    if crowd is not None:  # exactly one flag per mask, as the CPU front-end
        flags = check.check_flags(small_to_host(crowd), (m,), "crowd", func, item="mask")
        flags = cuda.to_device(np.ascontiguousarray(flags), stream=stream)
    else:
        flags = cuda.to_device(np.zeros(max(m, 1), dtype=np.bool_), stream=stream)
    result, target = library.empty(cuda, (_shape(va)[0], m), np.dtype(np.float64), stream)
    if _shape(va)[0] and m:
        tx, ty = THREADS
        k.packed_iou[(_blocks(m, tx), _blocks(_shape(va)[0], ty)), (tx, ty), stream](
            *packed[0], *packed[1], flags, crowd is not None, target
        )
    return result


def confusion_matrix(
    target: Any, pred: Any, num_classes: int, ignore_index: int | None
) -> np.ndarray:
    """Confusion matrix of device label maps; the (C, C) int64 result is returned on the host."""
    func = "confusion_matrix"
    cuda = _cuda()
    k = _kernels("semantic")
    t, p = _view(cuda, target), _view(cuda, pred)
    if tuple(_shape(t)) != tuple(_shape(p)):
        raise ValueError(
            f"{func}: target has shape {tuple(_shape(t))} but pred has shape {tuple(_shape(p))}"
        )
    for name, v in (("target", t), ("pred", p)):
        if v.dtype.kind not in "biu":
            raise ValueError(
                f"{func}: argument {name!r} must hold integer labels, got dtype {v.dtype}"
            )
        if not v.is_c_contiguous():
            raise ValueError(f"{func}: argument {name!r} must be C-contiguous on CUDA")
    stream = _Library(target).stream(cuda)
    flat_t, flat_p = t.reshape(t.size), p.reshape(p.size)
    c = int(num_classes)
    hist = cuda.to_device(np.zeros(c * c, dtype=np.int64), stream=stream)
    bad = cuda.to_device(np.array([t.size], dtype=np.int64), stream=stream)
    if t.size:
        threads = _threads_1d()
        blocks = min(_blocks(t.size, threads), 1024)
        blocks = max(blocks, math.ceil(t.size / (1 << 30)))  # < 2^31 pixels per block
        kernel = k.confusion_shared if c * c <= k.SHARED_BINS else k.confusion_global
        has_ignore = ignore_index is not None
        kernel[blocks, threads, stream](
            flat_t, flat_p, c, int(ignore_index) if has_ignore else 0, has_ignore, hist, bad
        )
    first = int(bad.copy_to_host(stream=stream)[0])
    if first < t.size:
        vt = int(flat_t[first : first + 1].copy_to_host(stream=stream)[0])
        vp = int(flat_p[first : first + 1].copy_to_host(stream=stream)[0])
        target_ok = (ignore_index is not None and vt == ignore_index) or 0 <= vt < c
        name, value = ("pred", vp) if target_ok else ("target", vt)
        raise ValueError(
            f"{func}: {name} label {value} at index {check.format_index(first, tuple(_shape(t)))} "
            f"is outside [0, {c})"
        )
    return hist.copy_to_host(stream=stream).reshape(c, c)


def like_input(values: np.ndarray, like: Any) -> Any:
    """A small host result (kept indices, scores) as an array of ``like``'s library on
    its device (torch CUDA in, torch CUDA out)."""
    cuda = _cuda()
    library = _Library(like)
    stream = library.stream(cuda)
    values = np.ascontiguousarray(values)
    result, view = library.empty(cuda, values.shape, values.dtype, stream)
    if values.size:
        view.copy_to_device(values, stream=stream)
    return result


def nms_keep(like: Any, planes: np.ndarray, geo: np.ndarray, rotated: bool,
             labels: np.ndarray, threshold: float, max_output: int) -> np.ndarray:  # fmt: skip
    """Ranks kept by greedy NMS of sorted boxes (see ``kernels.cuda_nms``): the IoU bit
    mask of the host ``planes`` (5, N) or rotated ``geo`` (N, 12) on the device of
    ``like``, block of rows by block of rows, each block swept on the host. Boxes of
    different ``labels`` (N,) never suppress each other."""
    cuda = _cuda()
    k = _kernels("nms")
    stream = _Library(like).stream(cuda)
    n = labels.shape[0]
    words = max(1, math.ceil(n / k.WORD))
    step = max(1, NMS_MASK_BYTES // (8 * words))
    args = [cuda.to_device(np.ascontiguousarray(x), stream=stream) for x in (planes, geo)]
    args += [rotated, cuda.to_device(np.ascontiguousarray(labels, dtype=np.int64), stream=stream)]
    mask = cuda.device_array((min(step, max(n, 1)), words), dtype=np.uint64, stream=stream)
    removed = np.zeros(words, dtype=np.uint64)
    keep = np.empty(min(n, max_output), dtype=np.int64)
    count = 0
    tx, ty = THREADS
    for row0 in range(0, n, step):
        rows = min(step, n - row0)
        block = mask[:rows]
        grid = (_blocks(words, tx), _blocks(rows, ty))
        k.mask_rows[grid, (tx, ty), stream](*args, float(threshold), row0, block)
        host = block.copy_to_host(stream=stream)
        count = k.sweep(host, row0, n, removed, keep, count, max_output)
        if count >= max_output:
            break
    return keep[:count]
