"""Panoptic quality, per image and per data set: the pixel table of (gt, pred) segment
pairs (a Numba kernel), panopticapi's matching on it, and the PQ / SQ / RQ averages.

Shared by the label-array API (``panoptic.py``) and the COCO panoptic file reader
(``panoptic_files.py``); see ``panoptic.py`` for the rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

GROUPS = ("All", "Things", "Stuff")
DENSE_CELLS = 1 << 20  # larger (gt x pred) tables are counted sparsely
Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def _kernels() -> Any:
    from ..kernels import cpu_panoptic

    return cpu_panoptic


# ---------------------------------------------------------------- per-image core


def png_pixel_pairs(
    gt_png: tuple,
    pred_png: tuple,
    gt_keys: np.ndarray,
    pred_keys: np.ndarray,
    gt_void: int,
    pred_void: int,
) -> tuple[Pairs | None, tuple[int, int, int] | None]:
    """:func:`pixel_pairs` of two PNGs of one size given as their filtered rows
    ``(raw, height, width, bpp)`` (``panoptic_png.inflate``). The second value is None
    or ``(kind, id, where)``: kind 0 / 1 an unknown gt / predicted id at pixel
    ``where``, kind 2 / 3 an unknown filter type in row ``where`` of the gt / prediction.
    """
    g_raw, height, width, g_bpp = gt_png
    p_raw, _, _, p_bpp = pred_png
    if (gt_keys.size + 1) * (pred_keys.size + 1) > DENSE_CELLS:  # id maps, counted sparsely
        maps = []
        for kind, (raw, bpp) in enumerate(((g_raw, g_bpp), (p_raw, p_bpp)), 2):
            ids, bad_row = png_id_map(raw, height, width, bpp)
            if bad_row >= 0:
                return None, (kind, -1, bad_row)
            maps.append(ids)
        return pixel_pairs(*maps, gt_keys, pred_keys, gt_void, pred_void)
    table = np.zeros((gt_keys.size + 1, pred_keys.size + 1), dtype=np.int64)
    bad = np.zeros(2, dtype=np.int64)
    at = _kernels().png_pair_table(
        g_raw, p_raw, height, width, g_bpp, p_bpp, gt_keys, pred_keys,
        np.int64(gt_void), np.int64(pred_void), table, bad,
    )  # fmt: skip
    if at >= 0:
        return None, (int(bad[0]), int(bad[1]), int(at))
    return table_pairs(table), None


def png_id_map(raw: np.ndarray, height: int, width: int, bpp: int) -> tuple[np.ndarray, int]:
    """The flat uint32 id map of a PNG's filtered rows, and -1 or the first bad filter row."""
    ids = np.empty(height * width, dtype=np.uint32)
    return ids, int(_kernels().png_ids(raw, height, width, bpp, ids))


def present_keys(ids: np.ndarray, keys: np.ndarray, void: int) -> tuple[np.ndarray, Any]:
    """The keys with at least one pixel in ``ids`` (and ``None``), or ``(keys, (id, pixel))``
    for the first pixel whose id is neither void nor a key."""
    counts = np.zeros(keys.size + 1, dtype=np.int64)
    bad = np.zeros(1, dtype=np.int64)
    at = _kernels().segment_counts(ids, keys, np.int64(void), counts, bad)
    if at >= 0:
        return keys, (int(bad[0]), int(at))
    return keys[counts[1:] > 0], None


@dataclass
class ImageMatches:
    """What one image adds: matched categories and IoUs (in gt id order), FN and FP categories."""

    tp_categories: np.ndarray
    tp_iou: np.ndarray
    fn_categories: np.ndarray
    fp_categories: np.ndarray
    categories: np.ndarray  # every category of a segment in the image


def table_pairs(table: np.ndarray) -> Pairs:
    """The non-zero cells of a pixel table as ``(rows, cols, pixels)``, row-major."""
    rows, cols = np.nonzero(table)
    return rows, cols, table[rows, cols]


def pixel_pairs(
    gt: np.ndarray,
    pred: np.ndarray,
    gt_keys: np.ndarray,
    pred_keys: np.ndarray,
    gt_void: int,
    pred_void: int,
) -> tuple[Pairs | None, tuple[int, int, int] | None]:
    """The pixel table of two flat id maps as its non-zero cells ``(rows, cols, pixels)``,
    sorted by (row, col); row / column 0 is void.

    ``gt_keys`` / ``pred_keys`` are sorted int64 segment ids. The table is dense up to
    ``DENSE_CELLS`` cells; beyond (thousands of segments) the runs are listed and
    summed, in O(pixels) memory. Returns the pairs and ``None``, or ``None`` and
    ``(side, id, pixel)`` for the first pixel whose id is unknown (side 0: ground
    truth, 1: prediction).
    """
    bad = np.zeros(3, dtype=np.int64)
    voids = np.int64(gt_void), np.int64(pred_void)
    if (gt_keys.size + 1) * (pred_keys.size + 1) <= DENSE_CELLS:
        table = np.zeros((gt_keys.size + 1, pred_keys.size + 1), dtype=np.int64)
        at = _kernels().pair_table(gt, pred, gt_keys, pred_keys, *voids, table, bad)
        if at >= 0:
            return None, (int(bad[0]), int(bad[1]), int(at))
        return table_pairs(table), None
    n = gt.size
    rows = np.empty(n, dtype=np.int64)
    cols = np.empty(n, dtype=np.int64)
    lengths = np.empty(n, dtype=np.int64)
    k = _kernels().pair_runs(gt, pred, gt_keys, pred_keys, *voids, rows, cols, lengths, bad)
    if k < 0:
        return None, (int(bad[0]), int(bad[1]), int(bad[2]))
    width = np.int64(pred_keys.size + 1)
    cells, inverse = np.unique(rows[:k] * width + cols[:k], return_inverse=True)
    pixels = np.zeros(cells.size, dtype=np.int64)
    np.add.at(pixels, inverse, lengths[:k])
    return (cells // width, cells % width, pixels), None


def segment_pixels(pairs: Pairs, n_gt: int, n_pred: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of each gt segment (``n_gt + 1``, void first) and each predicted one."""
    rows, cols, pixels = pairs
    gt = np.zeros(n_gt + 1, dtype=np.int64)
    pred = np.zeros(n_pred + 1, dtype=np.int64)
    np.add.at(gt, rows, pixels)
    np.add.at(pred, cols, pixels)
    return gt, pred


def match_segments(
    pairs: Pairs,
    gt_categories: np.ndarray,
    gt_crowd: np.ndarray,
    pred_categories: np.ndarray,
    gt_area: np.ndarray | None = None,
    crowd_counted: np.ndarray | None = None,
) -> ImageMatches:
    """Match the segments of one image from its pixel pairs (see ``panoptic.py``).

    ``pairs = (rows, cols, pixels)``, sorted by (row, col): row ``g`` is gt segment
    ``g - 1`` and row 0 gt void, column ``p`` predicted segment ``p - 1`` and column 0
    unlabelled. ``gt_area`` defaults to the pixel counts (panopticapi reads it from the
    JSON); ``crowd_counted`` marks the crowd segments whose pixels excuse a false
    positive (default: every crowd segment).
    """
    rows, cols, pixels = pairs
    n_gt, n_pred = gt_categories.size, pred_categories.size
    gt_pixels, pred_area = segment_pixels(pairs, n_gt, n_pred)
    if gt_area is None:
        gt_area = gt_pixels[1:]
    on_void = rows == 0
    pred_on_void = np.zeros(n_pred + 1, dtype=np.int64)
    np.add.at(pred_on_void, cols[on_void], pixels[on_void])
    both = (rows > 0) & (cols > 0)
    g, p, inter = rows[both] - 1, cols[both] - 1, pixels[both]
    same = gt_categories[g] == pred_categories[p]
    candidate = same & ~gt_crowd[g]
    cg, cp, ci = g[candidate], p[candidate], inter[candidate]
    union = pred_area[cp + 1] + gt_area[cg] - ci - pred_on_void[cp + 1]
    if (union <= 0).any():
        k = int(np.argmax(union <= 0))
        raise ValueError(
            f"gt segment {int(cg[k])} and predicted segment {int(cp[k])} (in id order) have a "
            f"union of {int(union[k])} pixels: the ground-truth area is smaller than its pixels"
        )
    iou = ci / union
    good = iou > 0.5
    cg, cp, iou = cg[good], cp[good], iou[good]
    gt_matched = np.zeros(n_gt, dtype=bool)
    gt_matched[cg] = True
    pred_matched = np.zeros(n_pred, dtype=bool)
    pred_matched[cp] = True
    fn = gt_categories[~gt_matched & ~gt_crowd]
    counted = gt_crowd if crowd_counted is None else crowd_counted
    excused = pred_on_void[1:].copy()
    on_crowd = same & counted[g]
    np.add.at(excused, p[on_crowd], inter[on_crowd])
    unmatched = np.flatnonzero(~pred_matched)
    ignored = excused[unmatched] / pred_area[unmatched + 1] > 0.5
    fp = pred_categories[unmatched[~ignored]]
    return ImageMatches(
        gt_categories[cg],
        iou,
        fn,
        fp,
        np.concatenate([gt_categories, pred_categories]),
    )


# ---------------------------------------------------------------- results


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


@dataclass(frozen=True)
class PanopticResult:
    """PQ / SQ / RQ per category and for All, Things and Stuff.

    Attributes
    ----------
    categories : tuple of int
        Category ids, in report order.
    iou, tp, fp, fn : ndarray
        Per category: the sum of the matched IoUs (float64) and the counts (int64).
    isthing : tuple of bool or None
        Per category; None when the things were not given (then there is no
        Things / Stuff split).
    groups : dict
        ``{"All": {"pq", "sq", "rq", "n"}, "Things": ..., "Stuff": ...}``: means over
        the categories with TP + FP + FN > 0 (``n`` of them); NaN when ``n`` is 0
        (panopticapi divides by zero there).
    per_class : dict
        ``{category: {"pq", "sq", "rq"}}`` (0 for a category never seen).
    images : int
        Images counted.
    names : tuple of str or None
    """

    categories: tuple[int, ...]
    iou: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    isthing: tuple[bool, ...] | None
    groups: dict[str, dict[str, float]]
    per_class: dict[int, dict[str, float]]
    images: int = 0
    names: tuple[str, ...] | None = None

    @property
    def pq(self) -> float:
        """PQ over all categories."""
        return self.groups["All"]["pq"]

    @property
    def sq(self) -> float:
        """SQ over all categories."""
        return self.groups["All"]["sq"]

    @property
    def rq(self) -> float:
        """RQ over all categories."""
        return self.groups["All"]["rq"]

    def summary(self, per_class: bool = False) -> str:
        """panopticapi's table (PQ, SQ, RQ in percent and N for All / Things / Stuff);
        ``per_class=True`` adds one row per category."""
        lines = ["{:10s}| {:>5s}  {:>5s}  {:>5s} {:>5s}".format("", "PQ", "SQ", "RQ", "N")]
        lines.append("-" * (10 + 7 * 4))
        for name, g in self.groups.items():
            lines.append(
                "{:10s}| {:5.1f}  {:5.1f}  {:5.1f} {:5d}".format(
                    name, 100 * g["pq"], 100 * g["sq"], 100 * g["rq"], g["n"]
                )
            )
        if per_class:
            lines.append("")
            lines.append(
                "{:24s}| {:>5s}  {:>5s}  {:>5s} {:>5s} {:>5s} {:>5s}".format(
                    "category", "PQ", "SQ", "RQ", "TP", "FP", "FN"
                )
            )
            for k, cat in enumerate(self.categories):
                label = str(cat) if self.names is None else f"{cat} {self.names[k]}"
                r = self.per_class[cat]
                lines.append(
                    "{:24s}| {:5.1f}  {:5.1f}  {:5.1f} {:5d} {:5d} {:5d}".format(
                        label[:24],
                        100 * r["pq"],
                        100 * r["sq"],
                        100 * r["rq"],
                        int(self.tp[k]),
                        int(self.fp[k]),
                        int(self.fn[k]),
                    )
                )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Plain Python values: panopticapi's result keys (``All``, ``Things``, ``Stuff``,
        ``per_class``), per-class entries extended with ``tp``, ``fp``, ``fn``, ``iou``."""
        out: dict[str, Any] = {name: dict(g) for name, g in self.groups.items()}
        per = {}
        for k, cat in enumerate(self.categories):
            entry = dict(self.per_class[cat])
            entry.update(
                tp=int(self.tp[k]), fp=int(self.fp[k]), fn=int(self.fn[k]), iou=float(self.iou[k])
            )
            if self.names is not None:
                entry["name"] = self.names[k]
            per[cat] = entry
        out["per_class"] = per
        out["images"] = self.images
        return out


def result_from_counts(
    categories: Sequence[int],
    counts: Mapping[int, Sequence[float]],
    isthing: Sequence[bool] | None,
    images: int = 0,
    names: Sequence[str] | None = None,
) -> PanopticResult:
    """Averages as panopticapi's ``pq_average``, in the order of ``categories``.

    ``counts[cat] = [iou, tp, fp, fn]``; categories missing there count as zeros.
    """
    cats = tuple(int(c) for c in categories)
    table = [counts.get(c, (0.0, 0, 0, 0)) for c in cats]
    iou = np.array([float(t[0]) for t in table], dtype=np.float64)
    tp, fp, fn = (np.array([int(t[j]) for t in table], dtype=np.int64) for j in (1, 2, 3))
    per_class: dict[int, dict[str, float]] = {}
    sums = {name: [0.0, 0.0, 0.0, 0] for name in GROUPS}
    for k, cat in enumerate(cats):
        c_iou, c_tp, c_fp, c_fn = float(table[k][0]), *(int(table[k][j]) for j in (1, 2, 3))
        if c_tp + c_fp + c_fn == 0:
            per_class[cat] = {"pq": 0.0, "sq": 0.0, "rq": 0.0}
            continue
        den = c_tp + 0.5 * c_fp + 0.5 * c_fn
        r = {"pq": c_iou / den, "sq": _ratio(c_iou, c_tp), "rq": c_tp / den}
        per_class[cat] = r
        names_in = ["All"] if isthing is None else ["All", "Things" if isthing[k] else "Stuff"]
        for name in names_in:
            s = sums[name]
            s[0] += r["pq"]
            s[1] += r["sq"]
            s[2] += r["rq"]
            s[3] += 1
    groups = {}
    for name in GROUPS if isthing is not None else ("All",):
        pq, sq, rq, n = sums[name]
        nan = math.nan
        groups[name] = {
            "pq": pq / n if n else nan,
            "sq": sq / n if n else nan,
            "rq": rq / n if n else nan,
            "n": n,
        }
    return PanopticResult(
        cats,
        iou,
        tp,
        fp,
        fn,
        None if isthing is None else tuple(bool(t) for t in isthing),
        groups,
        per_class,
        images,
        None if names is None else tuple(names),
    )


def add_matches(counts: dict[int, list], m: ImageMatches) -> None:
    """Add one image's matches to ``counts[cat] = [iou, tp, fp, fn]`` (IoUs in gt id order,
    the order panopticapi sums them in)."""
    for cat in m.categories.tolist():
        if cat not in counts:
            counts[cat] = [0.0, 0, 0, 0]
    for cat, iou in zip(m.tp_categories.tolist(), m.tp_iou.tolist(), strict=True):
        entry = counts[cat]
        entry[0] += iou
        entry[1] += 1
    for cat in m.fp_categories.tolist():
        counts[cat][2] += 1
    for cat in m.fn_categories.tolist():
        counts[cat][3] += 1
