"""The CPU runner of the box family: a validated :class:`~ioukit._boxes.job.BoxJob` in,
a NumPy array (or a SciPy sparse matrix for ``threshold=``) out.

The front-end has checked every option and shape; this module casts to the
compute dtype, checks the box values (one compiled pass that also gives the
magnitude for the overflow guard), builds the feature planes and runs the kernel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._core.dtypes import float_types
from . import inputs as prep
from .job import BoxJob

SERIAL_PAIRS = 1 << 15
"""Calls of at most this many pairs (any metric, aligned or not) run in one thread and
two kernel dispatches (``prepare_small``, then the metric's serial loop): waking the
thread pool would cost more than the work."""

_loaded: dict[str, Any] = {}
_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)


def _kernels() -> Any:
    """The CPU box kernels, imported on first use (importing ioukit compiles nothing)."""
    if "cpu" not in _loaded:
        from .._core import jit
        from ..kernels import cpu_boxes

        _loaded["cpu"], _loaded["parallel_call"] = cpu_boxes, jit.parallel_call
    return _loaded["cpu"]


def _parallel_call(kernel: Any, *args: Any) -> Any:
    _kernels()
    return _loaded["parallel_call"](kernel, *args)


def _features(boxes: np.ndarray, fmt: str, offset: Any, angles: bool = False) -> np.ndarray:
    kernels = _kernels()
    feats = np.empty((boxes.shape[0], kernels.N_FEATURES, boxes.shape[1]), dtype=boxes.dtype)
    kernels.box_features(boxes, kernels.FORMAT_CODES[fmt], offset, angles, feats)
    return feats


def run_boxes(job: BoxJob) -> Any:
    """Run ``job`` on the CPU; the result is NumPy (the front-end restores torch)."""
    if job.metric in ("area", "convert"):
        return _single(job)
    dtype = job.a.dtype
    if dtype is job.b.dtype and (dtype is _FLOAT32 or dtype is _FLOAT64):
        compute = result = dtype  # the common case of float_types
    else:
        compute, result = float_types(dtype, job.b.dtype)
    if job.threshold is None:
        n, m = job.a.shape[-2], job.b.shape[-2]
        if 0 < math.prod(job.batch) * n * (1 if job.aligned else m) <= SERIAL_PAIRS:
            small = _small(job, compute, result)
            if small is not None:
                return small
    return _general(job, compute, result)


def _small(job: BoxJob, compute: np.dtype, result: np.dtype) -> Any:
    """A small call in one thread and two kernel dispatches (issue 12), or None when a
    coordinate is so large that the overflow guard's rare path must take it."""
    k = _kernels()
    batch, n, m = job.batch, job.a.shape[-2], job.b.shape[-2]
    status, fa, fb = k.prepare_small(
        job.metric == "ciou",
        _host3d(job.a, batch, compute),
        _host3d(job.b, batch, compute),
        k.FORMAT_CODES[job.fmt],
        job.validate,
        prep.SAFE_MAGNITUDE[compute],
        float(job.offset),
    )
    if status in (1, 2):  # the message (row, values, reason, hint) from the checking pass
        name = "a" if status == 1 else "b"
        prep.checked(getattr(job, name), compute, job.fmt, True, name, job.func)
    if status != 0:
        return None
    shape = batch + ((n,) if job.aligned else (n, m))
    buffer, copy_into = prep.result_buffer(job.out, shape, result, compute, job.func)
    n_batch = math.prod(batch)
    flags = prep.flat_flags(job.crowd, n_batch, m)
    offset, eps, over = compute.type(job.offset), compute.type(job.eps), k.OVER_CODES[job.over]
    if job.aligned:
        code = k.METRIC_CODES[job.metric]
        k.aligned_serial(code, fa, fb, flags, over, offset, eps, buffer.reshape(n_batch, n))
    else:
        k.SERIAL[job.metric](fa, fb, flags, over, offset, eps, buffer.reshape(n_batch, n, m))
    if copy_into is not None:
        copy_into[...] = buffer
        return job.out
    return job.out if job.out is not None else buffer


def _host3d(arr: np.ndarray, batch: tuple[int, ...], compute: np.dtype) -> np.ndarray:
    """:func:`~ioukit._boxes.inputs.batched`, with a shortcut for the common 2-D input."""
    if arr.ndim == 2 and arr.dtype is compute and arr.flags.c_contiguous:
        return arr[None]
    return prep.batched(arr, batch, compute)


def _general(job: BoxJob, compute: np.dtype, result: np.dtype) -> Any:
    """Any pairwise job: checked, guarded against overflow, run by a parallel kernel."""
    func = job.func
    a_np, big_a = prep.checked(job.a, compute, job.fmt, job.validate, "a", func)
    b_np, big_b = prep.checked(job.b, compute, job.fmt, job.validate, "b", func)
    compute, scale = prep.overflow_guard(compute, max(big_a, big_b))
    offset = compute.type(job.offset * scale)
    if job.threshold is not None:
        return _thresholded(job, a_np, b_np, compute, scale, offset, result)
    batch, m = job.batch, b_np.shape[-2]
    shape = job.result_shape
    buffer, copy_into = prep.result_buffer(job.out, shape, result, compute, func)
    n_batch = math.prod(batch)
    if buffer.size:
        eps = compute.type(job.eps * scale * scale)
        angles = job.metric == "ciou"
        fa = _features(
            prep.scaled(prep.batched(a_np, batch, compute), scale), job.fmt, offset, angles
        )
        fb = _features(
            prep.scaled(prep.batched(b_np, batch, compute), scale), job.fmt, offset, angles
        )
        target = buffer.reshape((n_batch,) + shape[len(batch) :])
        _run_kernel(job, fa, fb, prep.flat_flags(job.crowd, n_batch, m), offset, eps, target)
    if copy_into is not None:
        copy_into[...] = buffer
        return job.out
    if job.out is not None:
        return job.out
    return buffer.astype(result, copy=False)


def _thresholded(job, a_np, b_np, compute, scale, offset, result) -> Any:
    """The sparse path of ``box_iou(..., threshold=t)`` (2-D inputs, checked by the job)."""
    from .sparse_grid import sparse_box_iou

    fa = _features(prep.scaled(prep.batched(a_np, (), compute), scale), job.fmt, offset)[0]
    fb = _features(prep.scaled(prep.batched(b_np, (), compute), scale), job.fmt, offset)[0]
    m = b_np.shape[0]
    crowd = prep.flat_flags(job.crowd, 1, m)[0] if job.crowd is not None else np.zeros(m, bool)
    found = sparse_box_iou(fa, fb, np.ascontiguousarray(crowd), offset, job.threshold)
    return found.astype(result, copy=False)


def _run_kernel(job, fa, fb, flags, offset, eps, target) -> None:
    k = _kernels()
    over = k.OVER_CODES[job.over]
    if job.aligned:
        code = k.METRIC_CODES[job.metric]
        _parallel_call(k.aligned_metric, code, fa, fb, flags, over, offset, eps, target)
    else:
        _parallel_call(k.PAIRWISE[job.metric], fa, fb, flags, over, offset, eps, target)


def _single(job: BoxJob) -> np.ndarray:
    """``box_area`` or ``box_convert`` of host boxes, shape (..., N) or (..., N, 4)."""
    arr = job.a
    compute, result = float_types(arr.dtype)
    arr, magnitude = prep.checked(arr, compute, job.fmt, job.validate, "a", job.func)
    compute, scale = prep.overflow_guard(compute, magnitude)
    n_batch = math.prod(arr.shape[:-2])
    boxes = prep.scaled(np.asarray(arr.reshape((n_batch,) + arr.shape[-2:]), dtype=compute), scale)
    k = _kernels()
    if job.metric == "area":
        areas = np.empty(boxes.shape[:2], dtype=boxes.dtype)
        if areas.size:
            offset = boxes.dtype.type(job.offset * scale)
            _parallel_call(k.box_area, boxes, k.FORMAT_CODES[job.fmt], offset, areas)
        return prep.unscaled(areas, scale, 2, result).reshape(arr.shape[:-1])
    converted = np.empty_like(boxes)
    if converted.size:
        src, dst = k.FORMAT_CODES[job.fmt], k.FORMAT_CODES[job.dst]
        _parallel_call(k.box_convert, boxes, src, dst, converted)
    return prep.unscaled(converted, scale, 1, result).reshape(arr.shape)
