"""Object keypoint similarity and COCO keypoint evaluation (pycocotools' rules).

:func:`keypoint_oks` is the pairwise OKS matrix; :func:`coco_evaluate` with
``iou_type="keypoints"`` uses it through the hooks below: the keypoint protocol's
area ranges (all / medium / large), ``maxDets=20`` and its 10-number summary,
ground truth with ``num_keypoints == 0`` ignored (as a crowd region is, but
matched at most once), and detection areas as ``loadRes`` gives them (the box's
``w * h`` when results carry boxes, else the extent of the keypoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .readers import (
    Detections,
    GroundTruth,
    _boxes,
    _column,
    _image_ids,
    _named,
    load_json,
    read_ground_truth,
)

COCO_KEYPOINT_SIGMAS = (
    np.array(
        [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07]
        + [0.87, 0.87, 0.89, 0.89]
    )
    / 10.0
)
"""pycocotools' sigmas of the 17 COCO person keypoints."""

KEYPOINT_STATS_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
KEYPOINT_AREA_RNG = ((0.0**2, 1e5**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2))
KEYPOINT_AREA_LBL = ("all", "medium", "large")
KEYPOINT_MAX_DETS = (20,)
_EPS = float(np.spacing(1))
MAX_KEYPOINTS = 100_000


def check_sigmas(sigmas: Any, func: str, name: str = "kpt_oks_sigmas") -> np.ndarray:
    """``sigmas`` as a positive finite float64 vector (COCO's 17 when None)."""
    if sigmas is None:
        return COCO_KEYPOINT_SIGMAS.copy()
    try:
        out = np.asarray(sigmas, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{func}: {name} must be a sequence of numbers") from None
    if out.ndim != 1 or out.size == 0 or out.size > MAX_KEYPOINTS:
        raise ValueError(f"{func}: {name} must be a non-empty 1-D sequence, got shape {out.shape}")
    bad = ~(np.isfinite(out) & (out > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{func}: {name}[{i}] = {float(out[i])!r} is not a positive number")
    return out


def _keypoint_rows(values: Any, n_kpt: int, name: str, func: str) -> np.ndarray:
    """``values`` as (N, K, 3) float64: rows of 3K numbers ``x, y, v`` or (N, K, 3)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{func}: {name} must be an array of numbers") from None
    if arr.ndim == 3 and arr.shape[1:] == (n_kpt, 3):
        out = arr
    elif arr.ndim == 2 and arr.shape[1] == 3 * n_kpt:
        out = arr.reshape(arr.shape[0], n_kpt, 3)
    else:
        raise ValueError(
            f"{func}: {name} has shape {arr.shape}; expected (N, {3 * n_kpt}) or "
            f"(N, {n_kpt}, 3) for {n_kpt} keypoints (the length of the sigmas)"
        )
    bad = ~np.isfinite(out).all(axis=(1, 2))
    if bad.any():
        raise ValueError(f"{func}: {name} row {int(np.argmax(bad))} holds NaN or inf")
    return np.ascontiguousarray(out)


def _vector(values: Any, n: int, width: int, name: str, func: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    shape = (n,) if width == 1 else (n, width)
    if arr.shape != shape:
        raise ValueError(f"{func}: {name} has shape {arr.shape}, expected {shape}")
    bad = ~np.isfinite(arr).reshape(n, width).all(axis=1)
    if bad.any():
        raise ValueError(f"{func}: {name} row {int(np.argmax(bad))} holds NaN or inf")
    return np.ascontiguousarray(arr)


def keypoint_oks(
    dt_kpts: Any,
    gt_kpts: Any,
    gt_areas: Any,
    sigmas: Any = None,
    *,
    gt_boxes: Any = None,
) -> np.ndarray:
    """Object keypoint similarity of every detection with every ground truth.

    Parameters
    ----------
    dt_kpts, gt_kpts : array_like, (N, 3K) or (N, K, 3)
        Keypoints as ``x, y, v`` triples (COCO's flat lists); ``v > 0`` marks a
        visible ground-truth keypoint (the detections' ``v`` is not used).
    gt_areas : array_like, (M,)
        Ground-truth areas (the OKS scale is ``area + eps``).
    sigmas : array_like, (K,), optional
        Per-keypoint sigmas; COCO's 17 person keypoints when omitted.
    gt_boxes : array_like, (M, 4), optional
        Ground-truth ``xywh`` boxes, needed for ground truth without any visible
        keypoint (pycocotools then measures how far each detected keypoint lies
        outside the box grown to ``[x - w, x + 2w] x [y - h, y + 2h]``).

    Returns
    -------
    numpy.ndarray
        (N, M) float64 OKS in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit.evaluate import keypoint_oks
    >>> gt = [[10, 10, 2, 20, 20, 2]]
    >>> dt = [[10, 10, 1, 20, 21, 1], [50, 50, 1, 60, 60, 1]]
    >>> keypoint_oks(dt, gt, [100.0], sigmas=[0.5, 0.5]).round(4)
    array([[0.9975],
           [0.    ]])
    """
    func = "keypoint_oks"
    var_sigmas = check_sigmas(sigmas, func, "sigmas")
    k = var_sigmas.size
    dt = _keypoint_rows(dt_kpts, k, "dt_kpts", func)
    gt = _keypoint_rows(gt_kpts, k, "gt_kpts", func)
    areas = _vector(gt_areas, gt.shape[0], 1, "gt_areas", func)
    if gt_boxes is None:
        hidden = ~(gt[:, :, 2] > 0).any(axis=1)
        if hidden.any():
            raise ValueError(
                f"{func}: gt_kpts row {int(np.argmax(hidden))} has no visible keypoint; "
                "pass gt_boxes (its OKS is measured against the box)"
            )
        boxes = np.zeros((gt.shape[0], 4))
    else:
        boxes = _vector(gt_boxes, gt.shape[0], 4, "gt_boxes", func)
    return oks_matrix(dt, gt, boxes, areas, var_sigmas)


def oks_matrix(dt, gt, boxes, areas, sigmas) -> np.ndarray:
    """The compiled OKS matrix of checked arrays."""
    from .._core import jit as _numba
    from ..kernels import cpu_oks

    out = np.zeros((dt.shape[0], gt.shape[0]))
    if out.size:
        _numba.parallel_call(cpu_oks.oks_matrix, dt, gt, boxes, areas, (sigmas * 2) ** 2, _EPS, out)
    return out


# --------------------------------------------------------------------------------------
# coco_evaluate(iou_type="keypoints")


@dataclass
class KeypointGroundTruth(GroundTruth):
    """COCO ground truth with keypoints; ``areas`` is -inf where pycocotools ignores
    the annotation (crowd or ``num_keypoints == 0``), ``oks_areas`` the true areas."""

    keypoints: Any = None
    oks_areas: Any = None


@dataclass
class KeypointDetections(Detections):
    keypoints: Any = None


def _keypoints_of(items: list, n_kpt: int, what: str) -> np.ndarray:
    out = np.empty((len(items), n_kpt, 3))
    for i, item in enumerate(items):
        values = item.get("keypoints") if isinstance(item, dict) else None
        if not isinstance(values, (list, tuple)) or len(values) != 3 * n_kpt:
            where = f"{what} {i} (id {item.get('id', '?') if isinstance(item, dict) else '?'})"
            if not isinstance(values, (list, tuple)):
                raise ValueError(f"{where} has no 'keypoints' list")
            raise ValueError(
                f"{where} has keypoints of length {len(values)}, expected {3 * n_kpt} "
                f"({n_kpt} keypoints x, y, v; set kpt_oks_sigmas for another skeleton)"
            )
        try:
            row = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{what} {i} has keypoints that are not all numbers") from None
        if not np.isfinite(row).all():
            raise ValueError(f"{what} {i} has NaN or inf keypoints")
        out[i] = row.reshape(n_kpt, 3)
    return out


def read_keypoint_inputs(gt: Any, dt: Any, p: Any) -> tuple[KeypointGroundTruth, Any]:
    """Ground truth and results of a keypoint evaluation (pycocotools ``loadRes``)."""
    sigmas = p.kpt_oks_sigmas
    n_kpt = sigmas.size
    data = load_json(gt, "ground truth")
    try:
        base = read_ground_truth(data, "bbox")
        anns = data["annotations"]
        kpts = _keypoints_of(anns, n_kpt, "ground-truth annotation")
        num = _column(anns, "num_keypoints", "ground-truth annotation", "int")
    except ValueError as err:
        raise _named(gt, "ground truth", err) from None
    ignored = base.crowd | (num == 0)
    truth = KeypointGroundTruth(**vars(base), keypoints=kpts, oks_areas=base.areas.copy())
    truth.areas = np.where(ignored, -np.inf, base.areas)
    results = load_json(dt, "detections")
    try:
        dets = _read_keypoint_results(results, truth, n_kpt)
    except ValueError as err:
        raise _named(dt, "detections", err) from None
    return truth, dets


def _read_keypoint_results(data: Any, truth: GroundTruth, n_kpt: int) -> KeypointDetections:
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        data = data["annotations"]
    if not isinstance(data, list):
        raise ValueError(f"detections must be a list of results, got {type(data).__name__}")
    what = "detection"
    images = _image_ids(data, what)
    position = np.minimum(np.searchsorted(truth.image_ids, images), len(truth.image_ids) - 1)
    unknown = truth.image_ids[position] != images if len(truth.image_ids) else images == images
    if unknown.any():
        i = int(np.argmax(unknown))
        raise ValueError(
            f"{what} {i} refers to image {images[i]}, which is not in the ground truth"
        )
    category = _column(data, "category_id", what, "int")
    scores = _column(data, "score", what, "float")
    if data and not np.isfinite(scores).all():
        i = int(np.argmax(~np.isfinite(scores)))
        raise ValueError(f"{what} {i} has score {scores[i]!r}")
    kpts = _keypoints_of(data, n_kpt, what)
    if data and data[0].get("bbox"):  # loadRes: a box on the first result wins
        boxes = _boxes(data, what)
        areas = boxes[:, 2] * boxes[:, 3]
    else:
        boxes = None
        x, y = kpts[:, :, 0], kpts[:, :, 1]
        areas = np.zeros(len(data))
        if len(data):  # loadRes: the extent of all keypoints, visible or not
            areas = (x.max(axis=1) - x.min(axis=1)) * (y.max(axis=1) - y.min(axis=1))
    return KeypointDetections(
        position.astype(np.int64), category, scores, boxes, areas, None, keypoints=kpts
    )


def fill_oks(truth: KeypointGroundTruth, dets: KeypointDetections, p, g_sel, d_sel,
             gs, ge, ds, de, offsets, ious) -> None:  # fmt: skip
    """Each (image, category) group's OKS matrix into ``ious`` (``match_groups`` layout)."""
    from .._core import jit as _numba
    from ..kernels import cpu_oks

    if len(gs):
        _numba.parallel_call(
            cpu_oks.oks_groups,
            gs,
            ge,
            ds,
            de,
            np.ascontiguousarray(dets.keypoints[d_sel]),
            np.ascontiguousarray(truth.keypoints[g_sel]),
            np.ascontiguousarray(truth.boxes[g_sel]),
            np.ascontiguousarray(truth.oks_areas[g_sel]),
            (p.kpt_oks_sigmas * 2) ** 2,
            _EPS,
            ious,
            offsets,
        )


def summarize_keypoints(precision: np.ndarray, recall: np.ndarray, p: Any) -> np.ndarray:
    """pycocotools' ``_summarizeKps``: 10 numbers at the largest maxDets."""
    from .summary_value import _summarize

    m = p.max_dets[-1]
    rows = [(1, None, "all"), (1, 0.5, "all"), (1, 0.75, "all"), (1, None, "medium")]
    rows += [(1, None, "large"), (0, None, "all"), (0, 0.5, "all"), (0, 0.75, "all")]
    rows += [(0, None, "medium"), (0, None, "large")]
    return np.array(
        [_summarize(precision, recall, p, ap, iou_thr=t, area=a, max_dets=m) for ap, t, a in rows]
    )


def keypoint_summary_lines(stats: np.ndarray, p: Any) -> str:
    """The 10 lines pycocotools' ``summarize()`` prints for keypoints."""
    names = [("AP", None, "all"), ("AP", 0.5, "all"), ("AP", 0.75, "all")]
    names += [("AP", None, "medium"), ("AP", None, "large"), ("AR", None, "all")]
    names += [("AR", 0.5, "all"), ("AR", 0.75, "all"), ("AR", None, "medium")]
    names += [("AR", None, "large")]
    lines = []
    for value, (kind, thr, area) in zip(stats, names, strict=True):
        title = "Average Precision  (AP)" if kind == "AP" else "Average Recall     (AR)"
        iou = f"{thr:0.2f}" if thr is not None else f"{p.iou_thrs[0]:0.2f}:{p.iou_thrs[-1]:0.2f}"
        lines.append(
            f" {title} @[ IoU={iou:<9} | area={area:>6s} | maxDets={p.max_dets[-1]:>3d} ]"
            f" = {value:0.3f}"
        )
    return "\n".join(lines)
