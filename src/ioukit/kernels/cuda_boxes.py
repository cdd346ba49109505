"""CUDA twins of the box kernels: the same scalar formulas, compiled as device functions.

``kernels.cuda_scalar`` compiles ``kernels.scalar`` once for
the GPU, so every metric runs the CPU's arithmetic. Inputs are float32 or float64
(the backend casts first); one thread computes one output element.
"""

from numba import cuda

from .cuda_scalar import D as _d

box_feature_values = _d.box_feature_values
metric_from_features = _d.metric_from_features
invalid_box_reason = _d.invalid_box_reason


@cuda.jit
def cast_boxes(src, dst):
    """``dst[b, i, k] = src[b, i, k]`` (any dtype and strides to a contiguous float array)."""
    r = cuda.grid(1)
    n = dst.shape[1]
    if r < dst.shape[0] * n:
        b = r // n
        i = r - b * n
        for k in range(4):
            dst[b, i, k] = src[b, i, k]


@cuda.jit
def first_invalid_box(boxes, fmt, found):
    """``found[0]`` = smallest flat index of a NaN/inf box or one with negative extent."""
    r = cuda.grid(1)
    n = boxes.shape[1]
    if r < boxes.shape[0] * n:
        b = r // n
        i = r - b * n
        p, q, x, y = boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3]
        if invalid_box_reason(p, q, x, y, fmt) >= 0:
            cuda.atomic.min(found, 0, r)


@cuda.jit
def box_features(boxes, fmt, offset, half, feats):
    """Feature planes of every box (see ``cpu_boxes``): corners, area, centre, angle."""
    r = cuda.grid(1)
    n = boxes.shape[1]
    if r < boxes.shape[0] * n:
        b = r // n
        i = r - b * n
        values = box_feature_values(
            boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3], fmt, offset, half
        )
        x0, y0, x1, y1, area, cx, cy, angle = values
        feats[b, 0, i], feats[b, 1, i], feats[b, 2, i], feats[b, 3, i] = x0, y0, x1, y1
        feats[b, 4, i], feats[b, 5, i], feats[b, 6, i], feats[b, 7, i] = area, cx, cy, angle


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


box_sides = _d.box_sides
box_corners = _d.box_corners


@cuda.jit
def box_area(boxes, fmt, offset, out):
    """``out[b, i]`` = area of ``boxes[b, i]`` (the CPU's ``box_sides`` product)."""
    r = cuda.grid(1)
    n = boxes.shape[1]
    if r < boxes.shape[0] * n:
        b = r // n
        i = r - b * n
        w, h = box_sides(
            boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3], fmt, offset
        )
        out[b, i] = w * h


@cuda.jit
def box_convert(boxes, src, dst, half, out):
    """``out[b, i]`` = ``boxes[b, i]`` rewritten from format code ``src`` to ``dst``."""
    r = cuda.grid(1)
    n = boxes.shape[1]
    if r < boxes.shape[0] * n:
        b = r // n
        i = r - b * n
        x0, y0, x1, y1 = box_corners(
            boxes[b, i, 0], boxes[b, i, 1], boxes[b, i, 2], boxes[b, i, 3], src, half
        )
        p, q, w, h = x0, y0, x1 - x0, y1 - y0
        if dst == 0:
            w, h = x1, y1
        elif dst == 2:
            p, q = (x0 + x1) * half, (y0 + y1) * half
        out[b, i, 0], out[b, i, 1], out[b, i, 2], out[b, i, 3] = p, q, w, h
