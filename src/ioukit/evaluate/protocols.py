"""The hooks through which ``coco_evaluate`` runs protocols other than bbox / segm.

``iou_type="keypoints"`` (OKS, :mod:`.keypoints`) and ``iou_type="boundary"``
(Boundary IoU, :mod:`.boundary`) share COCO's matching and accumulation; they
differ in how the ground truth and results are read, in the per-group IoU
matrix, and (keypoints) in the defaults and the summary. ``coco.py`` calls the
functions here at those four places and nowhere else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PROTOCOL_IOU_TYPES = ("keypoints", "boundary")


def protocol_defaults(iou_type: str) -> dict[str, Any]:
    """``max_dets`` / ``area_rng`` / ``area_rng_lbl`` defaults of ``iou_type`` (empty:
    COCO's)."""
    if iou_type == "keypoints":
        from .keypoints import KEYPOINT_AREA_LBL, KEYPOINT_AREA_RNG, KEYPOINT_MAX_DETS

        return {
            "max_dets": KEYPOINT_MAX_DETS,
            "area_rng": KEYPOINT_AREA_RNG,
            "area_rng_lbl": KEYPOINT_AREA_LBL,
        }
    return {}


def check_protocol_params(p: Any) -> None:
    """Validate (in place) the protocol fields of ``COCOParams``."""
    if p.iou_type == "keypoints":
        from .keypoints import check_sigmas

        p.kpt_oks_sigmas = check_sigmas(p.kpt_oks_sigmas, "coco_evaluate")
    if p.iou_type == "boundary":
        from .boundary import check_dilation_ratio

        p.dilation_ratio = check_dilation_ratio(p.dilation_ratio, "coco_evaluate")


def read_protocol_inputs(gt: Any, dt: Any, p: Any) -> tuple[Any, Any]:
    """``(truth, dets)`` for a protocol iou_type."""
    if p.iou_type == "keypoints":
        from .keypoints import read_keypoint_inputs

        return read_keypoint_inputs(gt, dt, p)
    from .boundary import read_boundary_inputs

    return read_boundary_inputs(gt, dt, p)


def fill_group_ious(truth, dets, p, g_sel, d_sel, gs, ge, ds, de, offsets, ious) -> None:
    """Write every group's (D, G) IoU matrix (OKS, Boundary IoU) into ``ious``."""
    if p.iou_type == "keypoints":
        from .keypoints import fill_oks

        fill_oks(truth, dets, p, g_sel, d_sel, gs, ge, ds, de, offsets, ious)
    else:
        from .boundary import fill_boundary_ious

        fill_boundary_ious(truth, dets, p, g_sel, d_sel, gs, ge, ds, de, offsets, ious)


def protocol_summary(precision: np.ndarray, recall: np.ndarray, p: Any) -> np.ndarray | None:
    """The protocol's summary numbers, or None for COCO's 12."""
    if p.iou_type == "keypoints":
        from .keypoints import summarize_keypoints

        return summarize_keypoints(precision, recall, p)
    return None


def stats_names(iou_type: str) -> tuple[str, ...] | None:
    """Names of ``COCOResult.stats`` for a protocol ``iou_type`` (None: COCO's 12)."""
    if iou_type == "keypoints":
        from .keypoints import KEYPOINT_STATS_NAMES

        return KEYPOINT_STATS_NAMES
    return None
