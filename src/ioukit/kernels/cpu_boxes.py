"""CPU kernels for axis-aligned boxes: parallel ``prange`` loops over the scalar formulas.

Boxes arrive as *feature planes*: ``feats[batch, k, i]`` holds, for box ``i``,
``k = 0..3`` its xyxy corners, ``4`` its area, ``5, 6`` its centre and ``7`` its
aspect angle ``(2 / pi) * atan2(w, h)``. Each plane is contiguous, so the inner
loop over the boxes of ``b`` reads unit-stride memory and vectorises. The batch
axis of ``feats`` has length 1 (shared by every batch) or the output's.

Every kernel takes float32 or float64 arrays only (the front-end converts), so
each compiles to exactly two specialisations (``tests/boxes/test_boxes_signatures.py``).

The pairwise kernels are one loop, :func:`_pairwise_loop`, compiled once per metric
with the metric's formula bound at compile time. Calls of at most
``boxes.SERIAL_PAIRS`` pairs stay in one thread: :func:`prepare_small` (checks and
feature planes, one dispatch for every metric), then the serial twin of the
metric's loop (``pairwise_<metric>_serial``, or ``aligned_serial``).
"""

import types

import numpy as np
from numba import prange

from .._core import jit as nb
from .codes import BOX_INVALID_REASONS as INVALID_REASONS  # noqa: F401 (re-exported)
from .codes import FORMAT_CODES, METRIC_CODES, OVER_CODES  # noqa: F401 (re-exported)
from .cpu_scalar import F as _f  # the shared formulas, compiled for the CPU once

N_FEATURES = 8

iou_from_areas = _f.iou_from_areas  # noqa: F401 (the shared compiled copy, tested)
box_area_at, store_converted = _f.box_area_at, _f.store_converted
store_box_features, invalid_box_reason = _f.store_box_features, _f.invalid_box_reason
metric_from_features, features_at = _f.metric_from_features, _f.features_at


@nb.serial_kernel
def first_invalid_box(flat, fmt, check):
    """``(row, reason, magnitude)`` for ``flat`` (K, 4).

    ``row`` is the first invalid box (``reason`` indexes :data:`INVALID_REASONS`),
    or -1 (and ``reason`` -1) when every box is valid or ``check`` is False.
    ``magnitude`` is the largest ``|value|`` (over the valid rows), which tells the
    front-end whether the formulas' products could overflow.
    """
    big = flat.dtype.type(0)
    for i in range(flat.shape[0]):
        p, q, r, t = flat[i, 0], flat[i, 1], flat[i, 2], flat[i, 3]
        big = max(big, abs(p), abs(q), abs(r), abs(t))
        if not check:
            continue
        reason = invalid_box_reason(p, q, r, t, fmt)
        if reason >= 0:
            return i, reason, big
    return -1, -1, big


@nb.serial_kernel
def box_features(boxes, fmt, offset, angles, feats):
    """Fill ``feats[b, :, i]`` (see the module docstring) from ``boxes[b, i, :]``; the
    aspect angle plane only when ``angles`` (CIoU)."""
    n_batch, n = boxes.shape[0], boxes.shape[1]
    half = feats.dtype.type(0.5)
    for r in range(n_batch * n):
        b = r // n
        store_box_features(boxes, b, r - b * n, fmt, offset, half, angles, feats)


@nb.parallel_kernel
def box_area(boxes, fmt, offset, out):
    """``out[b, i]`` = area of ``boxes[b, i]``."""
    n_batch, n = boxes.shape[0], boxes.shape[1]
    for r in prange(n_batch * n):
        b = r // n
        out[b, r - b * n] = box_area_at(boxes, b, r - b * n, fmt, offset)


@nb.parallel_kernel
def box_convert(boxes, src, dst, out):
    """Rewrite ``boxes[b, i]`` from format code ``src`` to ``dst`` into ``out``."""
    n_batch, n = boxes.shape[0], boxes.shape[1]
    half = out.dtype.type(0.5)
    for r in prange(n_batch * n):
        b = r // n
        store_converted(boxes, b, r - b * n, src, dst, half, out)


@nb.scalar
def _batch_views(fa, fb, crowd, b):
    """The planes of ``a`` and ``b`` and the crowd flags for batch ``b`` (an input of
    batch length 1 is shared by every batch)."""
    pa = fa[b if fa.shape[0] > 1 else 0]
    return pa, fb[b if fb.shape[0] > 1 else 0], crowd[b if crowd.shape[0] > 1 else 0]


def _pairwise_loop(fa, fb, crowd, over, offset, eps, out):
    """``out[b, i, j]`` = ``FORMULA`` of box ``i`` of ``a`` and box ``j`` of ``b``.

    The one pairwise loop: :func:`_compile` builds it once per metric with ``FORMULA``
    (a ``*_of`` formula of ``kernels.scalar``) bound at compile time, so the inner
    loop over ``b`` runs one inlined formula and vectorises: the planes of ``b`` are
    read as 1-D arrays, box ``a`` and each box of ``b`` reach the formula as tuples
    of values. ``crowd`` is
    ``(1 or B, M)``; ``over``, ``offset`` and ``eps`` go to the formula.
    """
    n_batch, n, m = out.shape
    one = out.dtype.type(1)
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        pa, pb, flags = _batch_views(fa, fb, crowd, b)
        row = out[b, i]
        a = features_at(pa, i)
        p0, p1, p2, p3, p4, p5, p6, p7 = pb[0], pb[1], pb[2], pb[3], pb[4], pb[5], pb[6], pb[7]
        for j in range(m):
            pair = (p0[j], p1[j], p2[j], p3[j], p4[j], p5[j], p6[j], p7[j])
            row[j] = FORMULA(a, pair, flags[j], over, offset, eps, one)  # noqa: F821


@nb.serial_kernel
def prepare_small(angles, a, b, fmt, check, safe, offset):
    """``(status, fa, fb)``: the checks and feature planes of a small call, in one
    dispatch for every metric (issue 12; the caller then runs the metric's serial
    loop, ``pairwise_<metric>_serial`` or ``aligned_serial``).

    ``a`` is ``(1 or B, N, 4)`` and ``b`` ``(1 or B, M, 4)`` of the compute dtype.
    ``status`` is 0 when the planes are filled; 1 (``a``) or 2 (``b``) when ``check``
    found an invalid box (the caller builds the message); 3 when a coordinate
    exceeds ``safe`` (the overflow guard's rare path takes the call).
    """
    dtype = a.dtype
    fa = np.empty((a.shape[0], N_FEATURES, a.shape[1]), dtype=dtype)
    fb = np.empty((b.shape[0], N_FEATURES, b.shape[1]), dtype=dtype)
    bad_a, _, big_a = first_invalid_box(a.reshape(a.shape[0] * a.shape[1], 4), fmt, check)
    bad_b, _, big_b = first_invalid_box(b.reshape(b.shape[0] * b.shape[1], 4), fmt, check)
    if bad_a >= 0 or bad_b >= 0:
        return (1 if bad_a >= 0 else 2), fa, fb
    if max(big_a, big_b) > safe:
        return 3, fa, fb
    box_features(a, fmt, dtype.type(offset), angles, fa)
    box_features(b, fmt, dtype.type(offset), angles, fb)
    return 0, fa, fb


def _compile(template, name, parallel, **bound):
    """``template`` compiled under ``name`` with the globals ``bound`` (numba reads
    globals as compile-time constants). Its own qualified name keeps its on-disk
    cache entry apart from the other metrics'."""
    namespace = dict(globals(), **bound)
    fn = types.FunctionType(template.__code__, namespace, name)
    fn.__qualname__, fn.__module__, fn.__doc__ = name, __name__, template.__doc__
    return (nb.parallel_kernel if parallel else nb.serial_kernel)(fn)


@nb.parallel_kernel
def aligned_metric(metric, fa, fb, crowd, over, offset, eps, out):
    """``out[b, i]`` = metric of box ``i`` of ``a`` with box ``i`` of ``b`` (N == M)."""
    n_batch, n = out.shape
    one = out.dtype.type(1)
    for r in prange(n_batch * n):
        b = r // n
        i = r - b * n
        pa, pb, flags = _batch_views(fa, fb, crowd, b)
        out[b, i] = metric_from_features(metric, pa, i, pb, i, flags[i], over, offset, eps, one)


aligned_serial = nb.serial_twin(aligned_metric)  # what parallel_call falls back to, too


#: Per metric: the parallel pairwise kernel ``(fa, fb, crowd, over, offset, eps, out)``
#: and its serial twin, which small calls run (see :func:`prepare_small`).
PAIRWISE, SERIAL = {}, {}
for _metric, _formula in (
    ("iou", _f.iou_of),
    ("crowd_iou", _f.crowd_iou_of),
    ("ioa", _f.ioa_of),
    ("giou", _f.giou_of),
    ("diou", _f.diou_of),
    ("ciou", _f.ciou_of),
):
    PAIRWISE[_metric] = _compile(_pairwise_loop, f"pairwise_{_metric}", True, FORMULA=_formula)
    SERIAL[_metric] = nb.serial_twin(PAIRWISE[_metric])  # also parallel_call's fallback
    # module attributes too (``cpu_boxes.pairwise_ciou``: warmup and tests look them up)
    globals().update(
        {f"pairwise_{_metric}": PAIRWISE[_metric], f"pairwise_{_metric}_serial": SERIAL[_metric]}
    )
del _metric, _formula
