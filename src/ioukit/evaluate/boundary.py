"""Boundary IoU (Cheng et al., CVPR 2021) and ``coco_evaluate(iou_type="boundary")``.

The boundary band of a mask is the mask minus its erosion by a square of
``2d + 1`` pixels, ``d = max(1, round(dilation_ratio * image diagonal))``, pixels
outside the image counting as background (``kernels.cpu_boundary``). Boundary
evaluation scores a detection against a ground truth with faster-coco-eval's
rule: the smaller of the mask IoU and the IoU of the two bands, the mask IoU
alone against a crowd region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .readers import Detections, GroundTruth, read_detections, read_ground_truth


def check_dilation_ratio(value: Any, func: str) -> float:
    """``value`` as a finite float >= 0 (ValueError naming ``dilation_ratio`` else)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{func}: dilation_ratio must be a number, got {type(value).__name__}")
    ratio = float(value)
    if not np.isfinite(ratio) or ratio < 0:
        raise ValueError(f"{func}: dilation_ratio={value!r} must be a finite number >= 0")
    if ratio > 1:  # a band wider than the image diagonal is the whole mask
        raise ValueError(f"{func}: dilation_ratio={value!r} must be at most 1")
    return ratio


def dilation_pixels(heights: Any, widths: Any, ratio: float, fce: bool = False) -> np.ndarray:
    """Erosion radius ``d`` per image: ``max(1, round(ratio * sqrt(h ** 2 + w ** 2)))``,
    rounding half to even as the paper's Python (``fce=False``) or as faster-coco-eval's
    C++ (``fce=True``: ``std::round(value - 1e-10)``, so an exact half rounds down)."""
    h = np.asarray(heights, dtype=np.float64)
    w = np.asarray(widths, dtype=np.float64)
    value = ratio * np.sqrt(h * h + w * w)
    if fce:
        value = value - 1e-10
        whole = np.floor(value)
        rounded = whole + (value - whole >= 0.5)
    else:
        rounded = np.round(value)
    return np.clip(rounded, 1, h + w + 1).astype(np.int64)  # ratio <= 1: d <= diagonal


def rle_bands(rles: Any, ratio: float, fce: bool = False) -> Any:
    """The boundary band of every RLE of an ``RLESet``, as an ``RLESet`` (``fce``:
    faster-coco-eval's radius and erosion, see ``kernels.cpu_boundary``)."""
    from .._core import jit as _numba
    from .._masks.rleset import RLESet
    from ..kernels import cpu_boundary

    n = len(rles)
    dilation = dilation_pixels(rles.heights, rles.widths, ratio, fce)
    lengths = np.zeros(n, dtype=np.int64)
    if n:
        _numba.parallel_call(
            cpu_boundary.band_count_lengths,
            rles.counts,
            rles.offsets,
            rles.heights,
            rles.widths,
            dilation,
            bool(fce),
            lengths,
        )
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    counts = np.zeros(int(offsets[-1]), dtype=np.int64)
    if n:
        _numba.parallel_call(
            cpu_boundary.band_counts,
            rles.counts,
            rles.offsets,
            rles.heights,
            rles.widths,
            dilation,
            bool(fce),
            offsets,
            counts,
        )
    return RLESet(rles.heights.copy(), rles.widths.copy(), counts, offsets)


def _as_rle_set(x: Any, name: str, func: str) -> tuple[Any, bool, bool]:
    """``(RLESet, was_dense, single)`` of dense masks or RLE dicts."""
    from .._masks.convert import masks_to_rles
    from .._masks.rleset import parse_rles

    if isinstance(x, dict) or (isinstance(x, (list, tuple)) and x and isinstance(x[0], dict)):
        single = isinstance(x, dict)
        return parse_rles([x] if single else list(x), name, func)[0], False, single
    arr = np.asarray(x)
    if arr.dtype.kind not in "biu" or arr.ndim not in (2, 3):
        raise TypeError(
            f"{func}: {name} must be RLE dicts or a (H, W) / (N, H, W) array of 0/1, "
            f"got dtype {arr.dtype} with shape {arr.shape}"
        )
    single = arr.ndim == 2
    arr = arr[None] if single else arr
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        raise ValueError(f"{func}: {name} mask {int(np.argmax(bad.reshape(len(arr), -1).any(1)))} "
                         "holds values other than 0 and 1")  # fmt: skip
    return masks_to_rles(np.ascontiguousarray(arr, dtype=np.uint8), name, func), True, single


def mask_boundary(masks: Any, dilation_ratio: float = 0.02) -> Any:
    """Boundary band of each mask (Boundary IoU's ``G_d ∩ G``).

    Parameters
    ----------
    masks : array_like or dict or list of dict
        A (H, W) or (N, H, W) array of 0/1, or COCO RLE dict(s).
    dilation_ratio : float, default 0.02
        Band width as a fraction of the image diagonal (at least one pixel).

    Returns
    -------
    numpy.ndarray or dict or list of dict
        Boolean masks of the input's shape for arrays, RLE dicts for RLE input.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit.evaluate import mask_boundary
    >>> m = np.zeros((6, 6), np.uint8); m[1:5, 1:5] = 1
    >>> mask_boundary(m, dilation_ratio=0.1).astype(int)
    array([[0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 1, 0, 0, 1, 0],
           [0, 1, 0, 0, 1, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    func = "mask_boundary"
    ratio = check_dilation_ratio(dilation_ratio, func)
    if isinstance(masks, np.ndarray) and masks.ndim in (2, 3) and masks.dtype.kind in "biu":
        return _dense_band(masks, ratio, func)
    rles, _, single = _as_rle_set(masks, "masks", func)
    from .._masks.rleset import to_dicts

    out = to_dicts(rle_bands(rles, ratio))
    return out[0] if single else out


def _dense_band(masks: np.ndarray, ratio: float, func: str) -> np.ndarray:
    from .._core import jit as _numba
    from ..kernels import cpu_boundary

    single = masks.ndim == 2
    arr = masks[None] if single else masks
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        i = int(np.argmax(bad.reshape(len(arr), -1).any(axis=1)))
        raise ValueError(f"{func}: masks mask {i} holds values other than 0 and 1")
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    out = np.zeros(arr.shape, dtype=np.bool_)
    d = int(dilation_pixels(arr.shape[1], arr.shape[2], ratio))
    if arr.shape[0] and arr[0].size:
        _numba.parallel_call(cpu_boundary.band_dense, arr, d, out)
    return out[0] if single else out


def boundary_iou(a: Any, b: Any, dilation_ratio: float = 0.02) -> np.ndarray:
    """Pairwise Boundary IoU: the IoU of the boundary bands (the paper's definition).

    Parameters
    ----------
    a, b : array_like or list of dict
        (N, H, W) / (M, H, W) arrays of 0/1 or COCO RLE dicts, all of one size.
    dilation_ratio : float, default 0.02

    Returns
    -------
    numpy.ndarray
        (N, M) float64.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit.evaluate import boundary_iou
    >>> a = np.zeros((1, 20, 20), np.uint8); a[0, 2:12, 2:12] = 1
    >>> b = np.zeros((1, 20, 20), np.uint8); b[0, 3:13, 2:12] = 1
    >>> boundary_iou(a, b).round(4)
    array([[0.3333]])
    """
    from .._masks.intervals import rle_iou as _rle_iou

    func = "boundary_iou"
    ratio = check_dilation_ratio(dilation_ratio, func)
    ra, _, _ = _as_rle_set(a, "a", func)
    rb, _, _ = _as_rle_set(b, "b", func)
    if len(ra) and len(rb):
        size_a, size_b = ra.common_size("a", func), rb.common_size("b", func)
        if size_a != size_b:
            raise ValueError(
                f"{func}: a holds {size_a[0]}x{size_a[1]} masks, b {size_b[0]}x{size_b[1]}"
            )
    return _rle_iou(rle_bands(ra, ratio), rle_bands(rb, ratio), None)


# --------------------------------------------------------------------------------------
# coco_evaluate(iou_type="boundary")


@dataclass
class BoundaryGroundTruth(GroundTruth):
    rles: Any = None


def read_boundary_inputs(gt: Any, dt: Any, p: Any) -> tuple[BoundaryGroundTruth, Detections]:
    """Ground truth and results read as for segm, every mask as RLE; a result without
    a box gets its mask's area (pycocotools' ``loadRes``)."""
    from .._masks.convert import segmentations_to_rles

    base = read_ground_truth(gt, "segm")
    truth = BoundaryGroundTruth(**vars(base))
    truth.rles = segmentations_to_rles(
        base.segmentations,
        base.heights[base.ann_image],
        base.widths[base.ann_image],
        "ground-truth segmentation",
        "coco_evaluate",
    )
    dets = read_detections(dt, base, "segm")
    if dets.rles is None:
        dets.rles = segmentations_to_rles(
            dets.segmentations,
            base.heights[dets.image],
            base.widths[dets.image],
            "detection segmentation",
            "coco_evaluate",
        )
    if dets.boxes is None:
        dets.areas = dets.rles.areas().astype(np.float64)
    return truth, dets


def fill_boundary_ious(truth, dets, p, g_sel, d_sel, gs, ge, ds, de, offsets, ious) -> None:
    """Each group's (D, G) Boundary IoU matrix into ``ious`` (``match_groups`` layout)."""
    from .._core import jit as _numba
    from .._masks.intervals import rle_intervals
    from .._masks.rleset import subset
    from ..kernels import cpu_boundary

    gt_rles, dt_rles = subset(truth.rles, g_sel), subset(dets.rles, d_sel)
    _numba.parallel_call(
        cpu_boundary.boundary_group_ious,
        gs,
        ge,
        ds,
        de,
        rle_intervals(gt_rles),
        rle_intervals(dt_rles),
        rle_intervals(rle_bands(gt_rles, p.dilation_ratio, fce=True)),
        rle_intervals(rle_bands(dt_rles, p.dilation_ratio, fce=True)),
        truth.crowd[g_sel],
        ious,
        offsets,
    )
