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


@cuda.jit(device=True)
def _pixel_bin(target, pred, i, n_classes, ignore, has_ignore, bad):
    """The histogram bin of pixel ``i``, or -1: ignored, or a label out of range (the
    smallest such index is kept in ``bad[0]``). Both kernels count through it."""
    t, p = target[i], pred[i]
    status = label_pair_status(t, p, n_classes, ignore, has_ignore)
    if status == 2:
        cuda.atomic.min(bad, 0, i)
    if status != 0:
        return -1
    return np.int64(t) * n_classes + np.int64(p)


@cuda.jit
def confusion_shared(target, pred, n_classes, ignore, has_ignore, hist, bad):
    """Count into a per-block shared histogram, then add it to ``hist`` once per bin."""
    local = cuda.shared.array(SHARED_BINS, dtype=np.int32)
    bins = n_classes * n_classes
    for k in range(cuda.threadIdx.x, bins, cuda.blockDim.x):
        local[k] = 0
    cuda.syncthreads()
    for i in range(cuda.grid(1), target.shape[0], cuda.gridsize(1)):
        k = _pixel_bin(target, pred, i, n_classes, ignore, has_ignore, bad)
        if k >= 0:
            cuda.atomic.add(local, k, 1)
    cuda.syncthreads()
    for k in range(cuda.threadIdx.x, bins, cuda.blockDim.x):
        if local[k]:
            cuda.atomic.add(hist, k, np.int64(local[k]))


@cuda.jit
def confusion_global(target, pred, n_classes, ignore, has_ignore, hist, bad):
    """Count straight into ``hist`` (class counts past :data:`SHARED_BINS` bins)."""
    for i in range(cuda.grid(1), target.shape[0], cuda.gridsize(1)):
        k = _pixel_bin(target, pred, i, n_classes, ignore, has_ignore, bad)
        if k >= 0:
            cuda.atomic.add(hist, k, np.int64(1))
