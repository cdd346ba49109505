"""CUDA twin of the confusion matrix: per-block shared-memory histograms.

Each block counts its pixels into a shared histogram (int32; the launch keeps
every block under 2^31 pixels) and adds it to the global int64 matrix once, so
global atomics are per bin per block, not per pixel. Matrices with more than
:data:`SHARED_BINS` bins count straight into global memory.
"""

import numpy as np
from numba import cuda

from .cuda_scalar import D as _d

label_pair_status = _d.label_pair_status

SHARED_BINS = 4096


@cuda.jit
def confusion_shared(target, pred, n_classes, ignore, has_ignore, hist, bad):
    local = cuda.shared.array(SHARED_BINS, dtype=np.int32)
    bins = n_classes * n_classes
    for k in range(cuda.threadIdx.x, bins, cuda.blockDim.x):
        local[k] = 0
    cuda.syncthreads()
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, target.shape[0], stride):
        t, p = target[i], pred[i]
        status = label_pair_status(t, p, n_classes, ignore, has_ignore)
        if status == 1:
            continue
        if status == 2:
            cuda.atomic.min(bad, 0, i)
            continue
        cuda.atomic.add(local, np.int64(t) * n_classes + np.int64(p), 1)
    cuda.syncthreads()
    for k in range(cuda.threadIdx.x, bins, cuda.blockDim.x):
        if local[k]:
            cuda.atomic.add(hist, k, np.int64(local[k]))


# Deliberate twin of the shared-memory kernel above (duplicate D11): the same per-pixel
# rule, for class counts whose histogram does not fit in a block's shared memory.
@cuda.jit
def confusion_global(target, pred, n_classes, ignore, has_ignore, hist, bad):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, target.shape[0], stride):
        t, p = target[i], pred[i]
        status = label_pair_status(t, p, n_classes, ignore, has_ignore)
        if status == 1:
            continue
        if status == 2:
            cuda.atomic.min(bad, 0, i)
            continue
        cuda.atomic.add(hist, np.int64(t) * n_classes + np.int64(p), np.int64(1))
