"""CUDA twin of the OKS matrix: ``kernels.scalar_oks`` compiled as a device function,
one thread per (detection, ground truth) pair, float64 throughout."""

from numba import cuda

from .._core import jit as nb
from . import scalar_oks

_d = nb.compile_scalars(scalar_oks, cuda.jit(device=True))
oks_pair = _d.oks_pair


@cuda.jit
def oks_matrix(dt, gt, boxes, areas, variances, eps, out):
    """``out[i, j]`` = OKS of detection ``i`` with ground truth ``j``; x threads run
    over ``j``, y threads over ``i``."""
    j, i = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j] = oks_pair(dt, i, gt, j, boxes, areas, variances, eps)
