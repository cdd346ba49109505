"""COCO evaluation settings and results: :class:`COCOParams` (pycocotools' ``Params``),
:class:`COCOResult` and pycocotools' 12 summary numbers (``summarize``)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .records import GroundTruth
from .summary_value import _summarize

STATS_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)


class GtIdZeroWarning(UserWarning):
    """The ground truth has an annotation with id 0, which pycocotools never counts
    as matched; see ``coco_evaluate(match_gt_id_zero=...)``."""


def default_iou_thresholds() -> np.ndarray:
    return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def default_recall_thresholds() -> np.ndarray:
    return np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass
class COCOParams:
    """Evaluation settings, named and defaulted as pycocotools' ``Params``."""

    iou_type: str = "bbox"
    iou_thrs: np.ndarray = field(default_factory=default_iou_thresholds)
    rec_thrs: np.ndarray = field(default_factory=default_recall_thresholds)
    max_dets: tuple[int, ...] = (1, 10, 100)
    area_rng: tuple[tuple[float, float], ...] = (
        (0**2, 1e5**2),
        (0**2, 32**2),
        (32**2, 96**2),
        (96**2, 1e5**2),
    )
    area_rng_lbl: tuple[str, ...] = ("all", "small", "medium", "large")
    use_cats: bool = True
    img_ids: Any = None
    cat_ids: Any = None
    match_gt_id_zero: bool = False
    """False: pycocotools' numbers (a match to ground truth id 0 counts as unmatched)."""
    kpt_oks_sigmas: Any = None  # iou_type="keypoints" (see protocols.py)
    dilation_ratio: float = 0.02  # iou_type="boundary"

    def checked(self) -> COCOParams:
        if self.iou_type not in ("bbox", "segm", "keypoints", "boundary"):
            raise ValueError(
                f"coco_evaluate: iou_type={self.iou_type!r} is not 'bbox', 'segm', "
                "'keypoints' or 'boundary'"
            )
        from .protocols import check_protocol_params  # keypoints / boundary settings

        check_protocol_params(self)
        if len(self.max_dets) == 0:
            raise ValueError("coco_evaluate: max_dets must hold at least one value")
        if len(self.area_rng) != len(self.area_rng_lbl):
            raise ValueError("coco_evaluate: area_rng and area_rng_lbl differ in length")
        self.iou_thrs = np.asarray(self.iou_thrs, dtype=np.float64).reshape(-1)
        self.rec_thrs = np.asarray(self.rec_thrs, dtype=np.float64).reshape(-1)
        self.max_dets = tuple(sorted(int(m) for m in self.max_dets))
        return self


@dataclass
class COCOResult:
    """What :func:`coco_evaluate` found."""

    stats: np.ndarray
    """The 12 summary numbers in pycocotools' order (see :data:`STATS_NAMES`)."""
    precision: np.ndarray
    """(T, R, K, A, M) precision, -1 where a category has no ground truth."""
    recall: np.ndarray
    """(T, K, A, M) recall."""
    scores: np.ndarray
    """(T, R, K, A, M) score at each recall point."""
    params: COCOParams
    category_ids: np.ndarray
    category_names: dict[int, str]
    gt_match_iou: np.ndarray = field(repr=False)
    """(A, T, G) IoU of the detection matched to each evaluated ground truth (0 if none)."""
    gt_category: np.ndarray = field(repr=False)
    gt_image: np.ndarray = field(repr=False)
    gt_ignored: np.ndarray = field(repr=False)
    """(G,) crowd ground truth (never counted as a positive)."""

    def __repr__(self) -> str:
        """Headline numbers and array shapes, not the arrays (``summary()`` prints all)."""
        head = ", ".join(f"{n}={v:.3f}" for n, v in zip(STATS_NAMES[:3], self.stats, strict=False))
        return (
            f"COCOResult(iou_type={self.params.iou_type!r}, {head}, "
            f"categories={len(self.category_ids)}, precision{tuple(self.precision.shape)}, "
            f"recall{tuple(self.recall.shape)}, ground_truth={self.gt_category.shape[0]})"
        )

    def as_dict(self) -> dict[str, float]:
        """``{"AP": ..., "AP50": ..., ...}``."""
        from .protocols import stats_names  # keypoints have 10 names

        names = stats_names(self.params.iou_type) or STATS_NAMES
        return {name: float(v) for name, v in zip(names, self.stats, strict=True)}

    def per_category_ap(self, iou_index: Any = slice(None)) -> dict[int, float]:
        """AP of each category (area "all", the largest maxDets), -1 when it has no
        ground truth; ``iou_index`` selects thresholds (all by default)."""
        out = {}
        for k, cat in enumerate(self.category_ids.tolist()):
            s = self.precision[iou_index, :, k, 0, -1]
            valid = s[s > -1]
            out[int(cat)] = float(valid.mean()) if valid.size else -1.0
        return out

    def summary(self) -> str:
        """The 12 lines pycocotools' ``summarize()`` prints (10 for keypoints)."""
        lines = []
        p = self.params
        if p.iou_type == "keypoints":
            from .keypoints import keypoint_summary_lines

            return keypoint_summary_lines(self.stats, p)
        rows = [
            (1, None, "all", p.max_dets[-1]),
            (1, 0.5, "all", p.max_dets[-1]),
            (1, 0.75, "all", p.max_dets[-1]),
            (1, None, "small", p.max_dets[-1]),
            (1, None, "medium", p.max_dets[-1]),
            (1, None, "large", p.max_dets[-1]),
            (0, None, "all", p.max_dets[0]),
            (0, None, "all", p.max_dets[min(1, len(p.max_dets) - 1)]),
            (0, None, "all", p.max_dets[-1]),
            (0, None, "small", p.max_dets[-1]),
            (0, None, "medium", p.max_dets[-1]),
            (0, None, "large", p.max_dets[-1]),
        ]
        for value, (ap, thr, area, dets) in zip(self.stats, rows, strict=True):
            kind = "Average Precision  (AP)" if ap else "Average Recall     (AR)"
            if thr is not None:
                iou = f"{thr:0.2f}"
            elif len(p.iou_thrs):
                iou = f"{p.iou_thrs[0]:0.2f}:{p.iou_thrs[-1]:0.2f}"
            else:
                iou = "none"
            lines.append(
                f" {kind} @[ IoU={iou:<9} | area={area:>6s} | maxDets={dets:>3d} ] = {value:0.3f}"
            )
        return "\n".join(lines)


def summarize(precision: np.ndarray, recall: np.ndarray, p: COCOParams) -> np.ndarray:
    """pycocotools' 12 summary numbers (its quirks kept: the first uses maxDets=100)."""
    from .protocols import protocol_summary  # keypoints' 10 numbers

    special = protocol_summary(precision, recall, p)
    if special is not None:
        return special
    m = p.max_dets
    at = lambda i: m[min(i, len(m) - 1)]  # noqa: E731
    return np.array(
        [
            _summarize(precision, recall, p, 1),
            _summarize(precision, recall, p, 1, iou_thr=0.5, max_dets=at(2)),
            _summarize(precision, recall, p, 1, iou_thr=0.75, max_dets=at(2)),
            _summarize(precision, recall, p, 1, area="small", max_dets=at(2)),
            _summarize(precision, recall, p, 1, area="medium", max_dets=at(2)),
            _summarize(precision, recall, p, 1, area="large", max_dets=at(2)),
            _summarize(precision, recall, p, 0, max_dets=at(0)),
            _summarize(precision, recall, p, 0, max_dets=at(1)),
            _summarize(precision, recall, p, 0, max_dets=at(2)),
            _summarize(precision, recall, p, 0, area="small", max_dets=at(2)),
            _summarize(precision, recall, p, 0, area="medium", max_dets=at(2)),
            _summarize(precision, recall, p, 0, area="large", max_dets=at(2)),
        ]
    )


def warn_gt_id_zero(truth: GroundTruth, p: COCOParams) -> None:
    """Warn (:class:`GtIdZeroWarning`) when pycocotools' id-0 rule changes the numbers."""
    if not p.match_gt_id_zero and truth.ann_ids.size and (truth.ann_ids == 0).any():
        i = int(np.argmax(truth.ann_ids == 0))
        warnings.warn(
            f"ground-truth annotation {i} has id 0: as pycocotools, a detection matched to "
            "it counts as a false positive; pass match_gt_id_zero=True to count the match",
            GtIdZeroWarning,
            stacklevel=3,
        )
