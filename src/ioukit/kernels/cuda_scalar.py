"""The shared scalar formulas of :mod:`ioukit.kernels.scalar`, compiled once for CUDA.

Every ``cuda_*`` kernel module takes its device functions from here (``from
.cuda_scalar import D``), so each formula is one device function per process.
"""

from numba import cuda

from .._core import jit as nb
from . import scalar as s

#: ``D.iou_from_areas``, ``D.metric_from_features``, ...: CUDA device functions.
D = nb.compile_scalars(s, cuda.jit(device=True))
