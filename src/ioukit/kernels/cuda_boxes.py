"""CUDA twins of the box kernels: the same scalar formulas, compiled as device functions.

``kernels.cuda_scalar`` compiles ``kernels.scalar`` once for
the GPU, so every metric runs the CPU's arithmetic. Inputs are float32 or float64
(the backend casts first); one thread computes one output element.
"""

from numba import cuda

from .cuda_scalar import D as _d

store_box_features = _d.store_box_features
metric_from_features = _d.metric_from_features
invalid_box_reason = _d.invalid_box_reason


@cuda.jit(device=True)
def _thread_box(boxes):
    """``(b, i)`` of this thread's box ``boxes[b, i]`` (one thread per box); ``b`` is
    -1 for the threads past the last box."""
    r = cuda.grid(1)
    n = boxes.shape[1]
    if r >= boxes.shape[0] * n:
        return -1, -1
    return r // n, r - (r // n) * n


@cuda.jit
def cast_boxes(src, dst):
    """``dst[b, i, k] = src[b, i, k]`` (any dtype and strides to a contiguous float array)."""
    b, i = _thread_box(dst)
    if b >= 0:
        for k in range(4):
            dst[b, i, k] = src[b, i, k]


@cuda.jit
def first_invalid_box(boxes, fmt, found):
    """``found[0]`` = smallest flat index of a NaN/inf box or one with negative extent."""
    b, i = _thread_box(boxes)
    if b >= 0:
        p, q, x, y = boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3]
        if invalid_box_reason(p, q, x, y, fmt) >= 0:
            cuda.atomic.min(found, 0, b * boxes.shape[1] + i)


@cuda.jit
def box_features(boxes, fmt, offset, half, feats):
    """Feature planes of every box (see ``cpu_boxes``): corners, area, centre, angle."""
    b, i = _thread_box(boxes)
    if b >= 0:
        store_box_features(boxes, b, i, fmt, offset, half, True, feats)


@cuda.jit
def pairwise(metric, fa, fb, crowd, over, offset, eps, one, out):
    """``out[b, i, j]``: x threads run over ``j`` (coalesced writes), y over ``b * N + i``."""
    j, r = cuda.grid(2)
    n_batch, n, m = out.shape
    if j < m and r < n_batch * n:
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        flag = crowd[b if crowd.shape[0] > 1 else 0, j]
        out[b, i, j] = metric_from_features(metric, pa, i, pb, j, flag, over, offset, eps, one)


@cuda.jit
def aligned(metric, fa, fb, crowd, over, offset, eps, one, out):
    """``out[b, i]`` = metric of box ``i`` of ``a`` with box ``i`` of ``b``."""
    r = cuda.grid(1)
    n_batch, n = out.shape
    if r < n_batch * n:
        b = r // n
        i = r - b * n
        pa = fa[b if fa.shape[0] > 1 else 0]
        pb = fb[b if fb.shape[0] > 1 else 0]
        flag = crowd[b if crowd.shape[0] > 1 else 0, i]
        out[b, i] = metric_from_features(metric, pa, i, pb, i, flag, over, offset, eps, one)


box_area_at, store_converted = _d.box_area_at, _d.store_converted


@cuda.jit
def box_area(boxes, fmt, offset, out):
    """``out[b, i]`` = area of ``boxes[b, i]`` (the CPU's formula)."""
    b, i = _thread_box(boxes)
    if b >= 0:
        out[b, i] = box_area_at(boxes, b, i, fmt, offset)


@cuda.jit
def box_convert(boxes, src, dst, half, out):
    """``out[b, i]`` = ``boxes[b, i]`` rewritten from format code ``src`` to ``dst``."""
    b, i = _thread_box(boxes)
    if b >= 0:
        store_converted(boxes, b, i, src, dst, half, out)
