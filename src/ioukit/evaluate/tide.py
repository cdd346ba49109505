"""A TIDE-style error breakdown (Bolya et al., ECCV 2020), with tidecv's definitions.

Per image, detections are sorted by descending score (stable) and cut to
``max_dets``; each is matched greedily to the unmatched ground truth of its class
with the highest IoU, if that IoU >= ``pos_threshold`` (a true positive). A
detection left unmatched that overlaps a crowd region of its class with
IoU (over the detection's area) > ``pos_threshold`` is ignored. Every other
unmatched detection gets the first error that applies, ``IoU_c`` being its IoU with
objects of its class and ``IoU_o`` with objects of other classes:

- ``background``: the image has no (non-crowd) ground truth;
- ``localisation``: ``bg_threshold <= max IoU_c <= pos_threshold``;
- ``classification``: ``max IoU_o >= pos_threshold``;
- ``duplicate``: ``IoU_c >= pos_threshold`` with an object already matched;
- ``background``: ``max IoU <= bg_threshold`` with every object;
- ``both`` (classification and localisation): anything else.

An object no detection matched is ``missed`` unless a localisation or
classification error points at it (TIDE counts those objects as fixable by that
error instead).

The error's weight is TIDE's dAP (:attr:`ErrorBreakdown.delta_ap`): the AP gained
when that error type alone is fixed by tidecv's oracle, AP being tidecv's own
(per class, 101 recall points, a class with detections but no objects counting 0).
tidecv's difference kept out: it also labels the ignored detections
(inside crowd regions) with an error; here they are counted as ``ignored``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._analysis_data import class_index, jsonable, load

ERROR_TYPES = ("classification", "localisation", "both", "duplicate", "background", "missed")
_CLS, _LOC, _BOTH, _DUPE, _BKG, _MISS = range(6)
_TP, _IGNORED = -1, -2


@dataclass
class ErrorBreakdown:
    """Counts of each TIDE error type, overall and per class."""

    counts: dict[str, int]
    per_class: np.ndarray
    """(K, 6) counts per class (the detection's class; the object's for ``missed``)."""
    classes: np.ndarray
    true_positives: int
    ignored: int
    detection_error: np.ndarray
    """Per detection (input order): index into ERROR_TYPES, -1 true positive,
    -2 ignored, -3 not evaluated (beyond max_dets)."""
    pos_threshold: float
    bg_threshold: float
    ap: float = float("nan")
    """TIDE's mAP at ``pos_threshold`` (tidecv prints it x 100)."""
    delta_ap: dict[str, float] | None = None
    """AP gained by fixing each error type alone (TIDE's dAP, on the 0-1 scale)."""

    def as_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "pos_threshold": self.pos_threshold,
                "bg_threshold": self.bg_threshold,
                "true_positives": self.true_positives,
                "ignored": self.ignored,
                "counts": self.counts,
                "ap": self.ap,
                "delta_ap": self.delta_ap,
                "per_class": {
                    int(c): dict(zip(ERROR_TYPES, row.tolist(), strict=True))
                    for c, row in zip(self.classes, self.per_class, strict=True)
                },
            }
        )


def _image_errors(iou, d_cls, g_cls, crowd_ioa, crowd_cls, pos, bg):
    """(detection labels, missed object mask) of one image (detections by score)."""
    n_d, n_g = iou.shape
    same = d_cls[:, None] == g_cls[None, :]
    cls_iou = np.where(same, iou, 0.0)
    used = np.zeros(n_g, bool)
    label = np.full(n_d, _BKG, dtype=np.int64)
    for k in range(n_d):
        if n_g == 0:
            break
        row = np.where(used, 0.0, cls_iou[k])
        j = int(np.argmax(row))
        if row[j] >= pos:
            used[j] = True
            label[k] = _TP
    if crowd_ioa.shape[1]:
        inside = (crowd_ioa > pos) & (d_cls[:, None] == crowd_cls[None, :])
        label[(label != _TP) & inside.any(axis=1)] = _IGNORED
    usable = np.zeros(n_g, bool)
    target = np.full(n_d, -1, dtype=np.int64)
    if n_g == 0:
        return label, usable, target
    other_iou = np.where(same, 0.0, iou)
    used_cls_iou = np.where(used[None, :], cls_iou, 0.0)
    for k in np.flatnonzero(label == _BKG):
        j = int(np.argmax(cls_iou[k]))
        if bg <= cls_iou[k, j] <= pos:
            label[k] = _LOC
            if not used[j]:
                usable[j], target[k] = True, j
            continue
        j = int(np.argmax(other_iou[k]))
        if other_iou[k, j] >= pos:
            label[k] = _CLS
            if not used[j]:
                usable[j], target[k] = True, j
        elif used_cls_iou[k].max() >= pos:
            label[k] = _DUPE
        elif iou[k].max() <= bg:
            label[k] = _BKG
        else:
            label[k] = _BOTH
    return label, ~used & ~usable, target


def _tide_map(cls: np.ndarray, scores: np.ndarray, tp: np.ndarray, npos: np.ndarray) -> float:
    """tidecv's mAP: per class, precision made monotone, read at 101 recall points
    (nearest recall at or above each), averaged; a class with detections but no
    objects counts 0; classes with neither are left out."""
    aps = []
    grid = np.arange(101) / 100
    for k in range(npos.shape[0]):
        sel = cls == k
        if npos[k] <= 0:
            if sel.any():
                aps.append(0.0)
            continue
        hits = tp[sel][np.argsort(-scores[sel], kind="stable")]
        if hits.size == 0:
            aps.append(0.0)
            continue
        ctp = np.cumsum(hits)
        precision = np.maximum.accumulate((ctp / np.arange(1, hits.size + 1))[::-1])[::-1]
        idx = np.searchsorted(ctp / npos[k], grid, side="left")
        aps.append(
            float(np.where(idx < hits.size, precision[np.minimum(idx, hits.size - 1)], 0).mean())
        )
    return float(np.mean(aps)) if aps else 0.0


def _delta_ap(det_error, target, rank, d_cls, g_cls, scores, npos, missed_per_class) -> tuple:
    """TIDE's AP and the AP gained by fixing each error type alone (tidecv's oracle:
    the best-scoring classification / localisation error of an unmatched object turns
    into its true positive, the others of that type are dropped; duplicate, background
    and both errors are dropped; missed objects leave the count of objects)."""
    counted = det_error >= _TP
    base_cls, base_tp = d_cls[counted], det_error[counted] == _TP
    base = _tide_map(base_cls, scores[counted], base_tp, npos)
    best = np.zeros(det_error.shape[0], bool)
    cand = np.flatnonzero(target >= 0)
    if cand.size:
        order = cand[np.lexsort((rank[cand], target[cand]))]
        first = np.r_[True, target[order][1:] != target[order][:-1]]
        best[order[first]] = True
    delta = {}
    for e, name in enumerate(ERROR_TYPES):
        cls, tp, n_pos = d_cls.copy(), det_error == _TP, npos
        keep = counted & (det_error != e)
        if e in (_CLS, _LOC):
            fixed = (det_error == e) & best
            keep |= fixed
            tp = tp | fixed
            if e == _CLS:
                cls[fixed] = g_cls[target[fixed]]
        elif e == _MISS:
            n_pos = npos - missed_per_class
            keep = counted
        delta[name] = max(_tide_map(cls[keep], scores[keep], tp[keep], n_pos) - base, 0.0)
    return base, delta


# the same keyword shape as analysis.confusion_matrix on purpose (every analysis takes
# source, dt, thresholds..., iou_type alike), so the two signatures read alike
def error_breakdown(
    source: Any,
    dt: Any = None,
    *,
    pos_threshold: float = 0.5,
    bg_threshold: float = 0.1,
    iou_type: str | None = None,
    max_dets: int = 100,
) -> ErrorBreakdown:
    """Count TIDE's error types: classification, localisation, both, duplicate,
    background and missed (definitions in :mod:`ioukit.evaluate.tide`).

    Parameters
    ----------
    source : MeanAveragePrecision or COCO ground truth
    dt : COCO results, with COCO ground truth
    pos_threshold, bg_threshold : float, default 0.5 and 0.1 (TIDE's)
    iou_type : {"bbox", "segm"}, optional
    max_dets : int, default 100
        Detections per image (all classes together, as TIDE).

    Examples
    --------
    >>> from ioukit.evaluate.analysis import error_breakdown
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1}, {"id": 2}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
    ...                       {"id": 2, "image_id": 1, "category_id": 1,
    ...                        "bbox": [40, 40, 10, 10], "area": 100, "iscrowd": 0}]}
    >>> dt = [{"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 9], "score": 0.8},
    ...       {"image_id": 1, "category_id": 1, "bbox": [80, 80, 5, 5], "score": 0.9}]
    >>> counts = error_breakdown(gt, dt).counts
    >>> counts["classification"], counts["background"], counts["missed"], counts["duplicate"]
    (1, 1, 1, 0)
    """
    if not 0 <= bg_threshold <= pos_threshold <= 1:
        raise ValueError(
            f"error_breakdown: need 0 <= bg_threshold <= pos_threshold <= 1, got "
            f"{bg_threshold} and {pos_threshold}"
        )
    src = load(source, dt, iou_type, "error_breakdown")
    classes, g_cls, d_cls = class_index(src)
    per_class = np.zeros((classes.shape[0], len(ERROR_TYPES)), dtype=np.int64)
    det_error = np.full(src.dets.scores.shape[0], -3, dtype=np.int64)
    det_target = np.full(src.dets.scores.shape[0], -1, dtype=np.int64)
    rank = np.zeros(src.dets.scores.shape[0], dtype=np.int64)
    crowd, scores = src.truth.crowd, src.dets.scores
    seen = 0
    for i in range(src.n_images):
        g_all, d = src.image(i)
        d = d[np.argsort(-scores[d], kind="stable")][:max_dets]
        g, c = g_all[~crowd[g_all]], g_all[crowd[g_all]]
        label, missed, target = _image_errors(
            src.iou(d, g),
            d_cls[d],
            g_cls[g],
            src.iou(d, c, crowd=True),
            g_cls[c],
            pos_threshold,
            bg_threshold,
        )
        det_error[d] = label
        det_target[d] = np.where(target >= 0, g[np.maximum(target, 0)] if g.size else -1, -1)
        rank[d] = seen + np.arange(d.shape[0])
        seen += d.shape[0]
        err = label >= 0
        np.add.at(per_class, (d_cls[d[err]], label[err]), 1)
        np.add.at(per_class, (g_cls[g[missed]], _MISS), 1)
    totals = per_class.sum(axis=0)
    npos = np.bincount(g_cls[~crowd], minlength=classes.shape[0])
    ap, delta = _delta_ap(
        det_error, det_target, rank, d_cls, g_cls, scores, npos, per_class[:, _MISS]
    )
    return ErrorBreakdown(
        counts={name: int(v) for name, v in zip(ERROR_TYPES, totals, strict=True)},
        per_class=per_class,
        classes=classes,
        true_positives=int((det_error == _TP).sum()),
        ignored=int((det_error == _IGNORED).sum()),
        detection_error=det_error,
        pos_threshold=float(pos_threshold),
        bg_threshold=float(bg_threshold),
        ap=ap,
        delta_ap=delta,
    )
