"""Detection analyses people otherwise write by hand: precision-recall curves, F1 and
the best score threshold per class, a detection confusion matrix and a TIDE-style
error breakdown.

Every function takes either a :class:`~ioukit.evaluate.MeanAveragePrecision` that has
seen the data, or COCO ground truth and results (files or loaded, as for
:func:`~ioukit.evaluate.coco_evaluate`), and returns a small dataclass whose
``as_dict()`` is plain JSON (NaN written as ``null``). The matching plots are in
:mod:`ioukit.evaluate.analysis_plots`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._analysis_data import class_index, jsonable, load
from .coco import coco_evaluate
from .params import COCOParams, COCOResult
from .stages import match_stage

# ----------------------------------------------------------------------------- PR curves


@dataclass
class PRCurves:
    """COCO's interpolated precision at each recall threshold, per class and overall."""

    iou_threshold: float
    recall: np.ndarray
    """(R,) recall thresholds."""
    classes: np.ndarray
    precision: np.ndarray
    """(K, R) precision per class, -1 for a class without ground truth."""
    scores: np.ndarray
    """(K, R) detection score at which each recall is reached (-1 / 0 where never)."""
    ap: np.ndarray
    """(K,) AP per class at this IoU threshold (mean precision, -1 without ground truth)."""
    overall: np.ndarray
    """(R,) mean precision over the classes that have ground truth."""

    @property
    def map(self) -> float:
        """Mean AP over classes with ground truth (COCO's AP at this threshold)."""
        valid = self.ap[self.ap > -1]
        return float(valid.mean()) if valid.size else -1.0

    def as_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "iou_threshold": self.iou_threshold,
                "map": self.map,
                "recall": self.recall,
                "overall": self.overall,
                "classes": {
                    int(c): {"ap": self.ap[k], "precision": self.precision[k]}
                    for k, c in enumerate(self.classes)
                },
            }
        )


def precision_recall(
    source: Any,
    dt: Any = None,
    *,
    iou_threshold: float = 0.5,
    iou_type: str | None = None,
    area: str = "all",
    max_dets: int | None = None,
) -> PRCurves:
    """Precision-recall curves per class and overall at one IoU threshold.

    The curves are COCO's (pycocotools' ``eval["precision"]``): interpolated
    precision at 101 recall points, so their means are COCO's AP.

    Parameters
    ----------
    source : COCOResult, MeanAveragePrecision or COCO ground truth
        A :class:`~ioukit.evaluate.COCOResult` is sliced (it must hold
        ``iou_threshold``); the others are evaluated at ``iou_threshold``.
    dt : COCO results, optional
        With COCO ground truth only.
    iou_threshold : float, default 0.5
    iou_type : {"bbox", "segm"}, optional
    area : str, default "all"
        Area range label of the evaluation.
    max_dets : int, optional
        Detections per image (the largest of the evaluation by default).

    Returns
    -------
    PRCurves

    Examples
    --------
    >>> from ioukit.evaluate.analysis import precision_recall
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1}, {"id": 2}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
    ...                       {"id": 2, "image_id": 1, "category_id": 2,
    ...                        "bbox": [20, 20, 10, 10], "area": 100, "iscrowd": 0}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 9], "score": 0.9}]
    >>> pr = precision_recall(gt, dt, iou_threshold=0.5)
    >>> pr.ap.round(3).tolist(), round(pr.map, 3)
    ([1.0, 0.0], 0.5)
    """
    func = "precision_recall"
    if isinstance(source, COCOResult):
        result = source
    else:
        from .streaming import MeanAveragePrecision

        if isinstance(source, MeanAveragePrecision):
            result = source.result(iou_type, iou_thresholds=[iou_threshold])
        else:
            if dt is None:
                raise TypeError(f"{func}: give the detections (dt) with COCO ground truth")
            result = coco_evaluate(source, dt, iou_type or "bbox", iou_thrs=[iou_threshold])
    p = result.params
    t = np.flatnonzero(np.isclose(p.iou_thrs, iou_threshold, rtol=0, atol=1e-12))
    if t.size == 0:
        raise ValueError(
            f"{func}: the result has no IoU threshold {iou_threshold} (it has "
            f"{p.iou_thrs.tolist()}); evaluate with iou_thrs=[{iou_threshold}]"
        )
    if area not in p.area_rng_lbl:
        raise ValueError(f"{func}: area={area!r} is not one of {p.area_rng_lbl}")
    a = p.area_rng_lbl.index(area)
    max_dets = p.max_dets[-1] if max_dets is None else int(max_dets)
    if max_dets not in p.max_dets:
        raise ValueError(f"{func}: max_dets={max_dets} is not one of {p.max_dets}")
    m = p.max_dets.index(max_dets)
    precision = result.precision[t[0], :, :, a, m].T.copy()
    valid = precision > -1
    has_gt = valid.all(axis=1)
    ap = np.where(has_gt, np.where(valid, precision, 0).mean(axis=1), -1.0)
    n_valid = has_gt.sum()
    overall = precision[has_gt].mean(axis=0) if n_valid else -np.ones(precision.shape[1])
    return PRCurves(
        iou_threshold=float(iou_threshold),
        recall=p.rec_thrs.copy(),
        classes=np.asarray(result.category_ids).copy(),
        precision=precision,
        scores=result.scores[t[0], :, :, a, m].T.copy(),
        ap=ap,
        overall=overall,
    )


# ----------------------------------------------------------------------------- F1


@dataclass
class F1Table:
    """F1 against the score threshold, and the best threshold, per class."""

    iou_threshold: float
    classes: np.ndarray
    num_gt: np.ndarray
    best_f1: np.ndarray
    """(K,) highest F1 (0 if nothing matched, NaN without ground truth)."""
    best_threshold: np.ndarray
    """(K,) score threshold (keep scores >= it) reaching ``best_f1`` (NaN if none)."""
    precision: np.ndarray
    recall: np.ndarray
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    """Per class ``(score, precision, recall, f1)`` at each distinct score."""
    overall: dict[str, float]
    """The same over all classes pooled (micro)."""

    def as_dict(self) -> dict[str, Any]:
        per = {
            int(c): {
                "f1": self.best_f1[k],
                "threshold": self.best_threshold[k],
                "precision": self.precision[k],
                "recall": self.recall[k],
                "num_gt": int(self.num_gt[k]),
            }
            for k, c in enumerate(self.classes)
        }
        return jsonable(
            {"iou_threshold": self.iou_threshold, "overall": self.overall, "classes": per}
        )


def _f1_curve(scores: np.ndarray, tp: np.ndarray, npos: int):
    order = np.argsort(-scores, kind="mergesort")
    s, hit = scores[order], tp[order]
    last = np.r_[s[1:] != s[:-1], True] if s.size else np.zeros(0, bool)  # end of each tie run
    ctp = np.cumsum(hit)[last]
    n = (np.flatnonzero(last) + 1).astype(np.float64)
    precision = ctp / np.maximum(n, 1)
    recall = ctp / npos if npos else np.full(ctp.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(ctp > 0, 2 * precision * recall / (precision + recall), 0.0)
    return s[last], precision, recall, f1


def f1_scores(
    source: Any,
    dt: Any = None,
    *,
    iou_threshold: float = 0.5,
    iou_type: str | None = None,
    max_dets: int = 100,
) -> F1Table:
    """F1 at every score threshold and the threshold that maximises it, per class.

    A detection is a true positive when COCO's matching (greedy by score within each
    image and class, crowd regions absorbing detections) pairs it with a ground
    truth at ``iou_threshold``; detections matched to crowd regions are left out.
    At threshold ``s`` the detections with score >= ``s`` count: precision = TP / kept,
    recall = TP / ground truth, F1 = 2PR / (P + R).

    Parameters
    ----------
    source : MeanAveragePrecision or COCO ground truth
    dt : COCO results, with COCO ground truth
    iou_threshold : float, default 0.5
    iou_type : {"bbox", "segm"}, optional
    max_dets : int, default 100
        Detections per image and class (COCO's maxDets).

    Returns
    -------
    F1Table
        ``best_f1``, ``best_threshold`` (and the precision / recall there) per class,
        the curves, and ``overall`` (every class pooled).

    Examples
    --------
    >>> from ioukit.evaluate.analysis import f1_scores
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 9], "score": 0.8},
    ...       {"image_id": 1, "category_id": 1, "bbox": [50, 50, 5, 5], "score": 0.9}]
    >>> t = f1_scores(gt, dt)
    >>> float(t.best_f1[0]), float(t.best_threshold[0])
    (0.6666666666666666, 0.8)
    """
    src = load(source, dt, iou_type, "f1_scores")
    p = COCOParams(
        iou_type=src.iou_type,
        iou_thrs=[iou_threshold],
        max_dets=(int(max_dets),),
        area_rng=((0.0, 1e10),),
        area_rng_lbl=("all",),
    ).checked()
    stage = match_stage(src.truth, src.dets, p)
    cat = stage.d_key // stage.n_img
    counted = ~stage.dt_ignored[0, 0]
    tp = stage.dt_matched[0, 0] & counted
    npos = np.bincount(stage.keys // stage.n_img, stage.gt_positive[0], len(stage.cats))
    npos = npos.astype(np.int64)
    k_n = len(stage.cats)
    best = np.full(k_n, np.nan)
    thr, prec, rec = np.full(k_n, np.nan), np.full(k_n, np.nan), np.full(k_n, np.nan)
    curves = []
    for k in range(k_n):
        sel = (cat == k) & counted
        curve = _f1_curve(stage.d_scores[sel], tp[sel], int(npos[k]))
        curves.append(curve)
        if npos[k] == 0:
            continue
        best[k] = 0.0
        if curve[3].size and curve[3].max() > 0:
            i = int(np.argmax(curve[3]))
            best[k], thr[k], prec[k], rec[k] = curve[3][i], curve[0][i], curve[1][i], curve[2][i]
    pooled = _f1_curve(stage.d_scores[counted], tp[counted], int(npos.sum()))
    overall = {"f1": 0.0, "threshold": float("nan"), "precision": float("nan")}
    overall["recall"] = float("nan")
    if pooled[3].size and pooled[3].max() > 0:
        i = int(np.argmax(pooled[3]))
        overall = {
            "f1": float(pooled[3][i]),
            "threshold": float(pooled[0][i]),
            "precision": float(pooled[1][i]),
            "recall": float(pooled[2][i]),
        }
    return F1Table(
        float(iou_threshold), stage.cats.copy(), npos, best, thr, prec, rec, curves, overall
    )


# ----------------------------------------------------------------------------- confusion


@dataclass
class DetectionConfusion:
    """Rows: ground-truth class (last row: background, i.e. false positives);
    columns: predicted class (last column: background, i.e. missed objects)."""

    matrix: np.ndarray
    classes: np.ndarray
    iou_threshold: float
    score_threshold: float

    def as_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "iou_threshold": self.iou_threshold,
                "score_threshold": self.score_threshold,
                "labels": [*(int(c) for c in self.classes), "background"],
                "matrix": self.matrix,
            }
        )


def _one_to_one(iou: np.ndarray, iou_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(gt, det) pairs: candidate pairs with IoU > threshold, each detection keeping its
    best ground truth, then each ground truth its best detection (ultralytics' rule;
    ties by lower index)."""
    gi, di = np.nonzero(iou > iou_threshold)
    if gi.size > 1:
        v = iou[gi, di]
        order = np.lexsort((gi, di, -v))
        gi, di, v = gi[order], di[order], v[order]
        _, first = np.unique(di, return_index=True)
        gi, di, v = gi[first], di[first], v[first]
        order = np.lexsort((di, gi, -v))
        gi, di = gi[order], di[order]
        _, first = np.unique(gi, return_index=True)
        gi, di = gi[first], di[first]
    return gi, di


# the same keyword shape as tide.error_breakdown on purpose: every analysis takes
# (source, dt, thresholds..., iou_type) alike
def confusion_matrix(
    source: Any,
    dt: Any = None,
    *,
    iou_threshold: float = 0.45,
    score_threshold: float = 0.25,
    iou_type: str | None = None,
) -> DetectionConfusion:
    """The detection confusion matrix drawn by ultralytics and supervision.

    Per image: keep detections with score > ``score_threshold``; pair them with
    (non-crowd) ground truth of any class where IoU > ``iou_threshold``, one to one
    (each detection its highest-IoU object, then each object its highest-IoU
    detection). A paired object adds 1 at (its class, the detection's class); an
    unpaired object at (its class, background); an unpaired detection at
    (background, its class). ``matrix.T`` is ultralytics' (predicted, true) layout.

    Parameters
    ----------
    source : MeanAveragePrecision or COCO ground truth
    dt : COCO results, with COCO ground truth
    iou_threshold : float, default 0.45
        ultralytics' default (supervision uses 0.5).
    score_threshold : float, default 0.25
        ultralytics' default (supervision uses 0.3).
    iou_type : {"bbox", "segm"}, optional

    Returns
    -------
    DetectionConfusion
        ``matrix`` of shape (K + 1, K + 1) and the ``classes`` of its first K rows.

    Examples
    --------
    >>> from ioukit.evaluate.analysis import confusion_matrix
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1}, {"id": 2}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0}]}
    >>> dt = [{"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 9], "score": 0.8},
    ...       {"image_id": 1, "category_id": 2, "bbox": [50, 50, 5, 5], "score": 0.9}]
    >>> confusion_matrix(gt, dt).matrix.tolist()
    [[0, 1, 0], [0, 0, 0], [0, 1, 0]]
    """
    src = load(source, dt, iou_type, "confusion_matrix")
    classes, g_cls, d_cls = class_index(src)
    k_n = classes.shape[0]
    matrix = np.zeros((k_n + 1, k_n + 1), dtype=np.int64)
    crowd, scores = src.truth.crowd, src.dets.scores
    for i in range(src.n_images):
        g, d = src.image(i)
        g = g[~crowd[g]]
        d = d[scores[d] > score_threshold]
        gi, di = _one_to_one(src.iou(d, g).T, iou_threshold)
        np.add.at(matrix, (g_cls[g[gi]], d_cls[d[di]]), 1)
        missed = np.ones(g.shape[0], bool)
        missed[gi] = False
        np.add.at(matrix, (g_cls[g[missed]], k_n), 1)
        extra = np.ones(d.shape[0], bool)
        extra[di] = False
        np.add.at(matrix, (k_n, d_cls[d[extra]]), 1)
    return DetectionConfusion(matrix, classes, float(iou_threshold), float(score_threshold))


from .tide import ERROR_TYPES, ErrorBreakdown, error_breakdown  # noqa: E402

__all__ = [
    "ERROR_TYPES",
    "DetectionConfusion",
    "ErrorBreakdown",
    "F1Table",
    "PRCurves",
    "confusion_matrix",
    "error_breakdown",
    "f1_scores",
    "precision_recall",
]
