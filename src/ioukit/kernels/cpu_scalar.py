"""The shared scalar formulas of :mod:`ioukit.kernels.scalar`, compiled once for the CPU.

Every CPU kernel module takes its compiled copy from here (``from .cpu_scalar
import F``), so each formula has one dispatcher per process and compiles once
per signature, whichever family asked first.
"""

from .._core import jit as nb
from . import scalar as s

#: ``F.iou_from_areas``, ``F.ciou_pair``, ...: inline-always CPU versions.
F = nb.compile_scalars(s, nb.scalar)
