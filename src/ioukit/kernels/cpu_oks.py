"""CPU kernels of object keypoint similarity: a pairwise matrix and the per-group
matrices of COCO keypoint evaluation (the formula is ``kernels.scalar_oks``)."""

from numba import prange

from .._core import jit as nb
from . import scalar_oks

_s = nb.compile_scalars(scalar_oks, nb.scalar)
oks_pair = _s.oks_pair


@nb.parallel_kernel
def oks_matrix(dt, gt, boxes, areas, variances, eps, out):
    """``out[i, j]`` = OKS of detection ``i`` with ground truth ``j``."""
    for i in prange(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = oks_pair(dt, i, gt, j, boxes, areas, variances, eps)


@nb.parallel_kernel
def oks_groups(gs, ge, ds, de, dt, gt, boxes, areas, variances, eps, ious_out, offsets):
    """Each group's (D, G) OKS matrix at ``ious_out[offsets[grp]:]`` (the layout of
    ``cpu_coco.match_groups``): detections ``ds[grp]:de[grp]``, ground truth
    ``gs[grp]:ge[grp]``."""
    for grp in prange(gs.shape[0]):
        g0, d0 = gs[grp], ds[grp]
        n_gt, n_dt = ge[grp] - g0, de[grp] - d0
        base = offsets[grp]
        for d in range(n_dt):
            for g in range(n_gt):
                ious_out[base + d * n_gt + g] = oks_pair(
                    dt, d0 + d, gt, g0 + g, boxes, areas, variances, eps
                )
