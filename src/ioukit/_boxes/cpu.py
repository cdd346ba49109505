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
"""Pairwise IoU of at most this many pairs runs in one thread (waking the pool costs more)."""

_loaded: dict[str, Any] = {}


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


def _features(boxes: np.ndarray, fmt: str, offset: Any) -> np.ndarray:
    kernels = _kernels()
    feats = np.empty((boxes.shape[0], kernels.N_FEATURES, boxes.shape[1]), dtype=boxes.dtype)
    kernels.box_features(boxes, kernels.FORMAT_CODES[fmt], offset, feats)
    return feats


def run_boxes(job: BoxJob) -> Any:
    """Run ``job`` on the CPU; the result is NumPy (the front-end restores torch)."""
    if job.metric in ("area", "convert"):
        return _single(job)
    func = job.func
    compute, result = float_types(job.a.dtype, job.b.dtype)
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
        fa = _features(prep.scaled(prep.batched(a_np, batch, compute), scale), job.fmt, offset)
        fb = _features(prep.scaled(prep.batched(b_np, batch, compute), scale), job.fmt, offset)
        target = buffer.reshape((n_batch,) + shape[len(batch) :])
        flags = None if job.crowd is None else prep.flat_flags(job.crowd, n_batch, m)
        _run_kernel(job, fa, fb, flags, m, offset, eps, target)
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


def _run_kernel(job, fa, fb, flags, m, offset, eps, target) -> None:
    k = _kernels()
    metric = job.metric
    over = k.OVER_CODES[job.over]
    if job.aligned:
        crowd = flags if flags is not None else np.zeros((1, m), dtype=bool)
        code = k.METRIC_CODES[metric]
        _parallel_call(k.aligned_metric, code, fa, fb, crowd, over, offset, eps, target)
    elif metric == "iou" and target.size <= SERIAL_PAIRS:  # compile-time: no pool wake-up
        k.pairwise_iou_serial(fa, fb, offset, target)
    elif metric == "iou":
        _parallel_call(k.pairwise_iou, fa, fb, offset, target)
    elif metric == "crowd_iou":
        _parallel_call(k.pairwise_crowd_iou, fa, fb, flags, offset, target)
    elif metric == "ioa":
        _parallel_call(k.pairwise_ioa, fa, fb, over, offset, target)
    elif metric == "giou":
        _parallel_call(k.pairwise_giou, fa, fb, offset, target)
    elif metric == "diou":
        _parallel_call(k.pairwise_diou, fa, fb, offset, eps, target)
    else:
        _parallel_call(k.pairwise_ciou, fa, fb, offset, eps, target)


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
