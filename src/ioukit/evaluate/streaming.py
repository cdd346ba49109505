"""A streaming COCO mAP / mAR metric for training loops, with torchmetrics' interface.

:class:`MeanAveragePrecision` takes per-image dicts batch by batch (NumPy, torch on any
device, CuPy, anything with ``__dlpack__``), keeps them as a few growing NumPy arrays
(masks as COCO run-length counts), and at :meth:`~MeanAveragePrecision.compute` hands
those arrays straight to ioukit's compiled COCO evaluation: the numbers are
pycocotools' ``COCOeval.stats`` on the same data, under torchmetrics' keys. torch is
never imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._stream_input import BOX_FORMATS, Batch, check_mask_sizes, check_pairs, read_batch
from .params import COCOParams, COCOResult, summarize
from .records import Detections, GroundTruth
from .stages import evaluate_arrays

_FUNC = "MeanAveragePrecision"


class _Column:
    """A NumPy array that grows by doubling (amortised O(1) append, <= 2x slack)."""

    __slots__ = ("_data", "_size")

    def __init__(self, dtype: Any, tail: tuple[int, ...] = ()) -> None:
        self._data = np.empty((0, *tail), dtype=dtype)
        self._size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self._size + values.shape[0]
        if need > self._data.shape[0]:
            cap = max(need, 2 * self._data.shape[0], 64)
            grown = np.empty((cap, *self._data.shape[1:]), dtype=self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : need] = values
        self._size = need

    @property
    def values(self) -> np.ndarray:
        return self._data[: self._size]

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)


_INT, _FLOAT = (np.int64, ()), (np.float64, ())
_BOTH = {
    "count": _INT,
    "labels": _INT,
    "boxes": (np.float64, (4,)),
    "mask_h": _INT,
    "mask_w": _INT,
    "mask_len": _INT,
    "mask_counts": _INT,
}
"""The columns detections ("d_") and ground truth ("g_") both have."""

# state layout: name -> (dtype, trailing shape); one table, so that reset, nbytes and the
# state loops see every column
_COLUMNS = {
    **{f"d_{name}": kind for name, kind in _BOTH.items()},
    "d_scores": _FLOAT,
    **{f"g_{name}": kind for name, kind in _BOTH.items()},
    "g_crowd": (np.bool_, ()),
    "g_area": _FLOAT,
    "image_size": (np.int64, (2,)),
}


class MeanAveragePrecision:
    """COCO mAP / mAR accumulated over batches, as torchmetrics'
    ``MeanAveragePrecision`` (same arguments, same keys) with pycocotools' values.

    Parameters
    ----------
    box_format : {"xyxy", "xywh", "cxcywh"}, default "xyxy"
    iou_type : "bbox", "segm" or a tuple of both, default "bbox"
        With a tuple the keys get a ``"bbox_"`` / ``"segm_"`` prefix (``classes`` does not).
    iou_thresholds, rec_thresholds : list of float, optional
        COCO's 0.5:0.05:0.95 and 0:0.01:1 by default.
    max_detection_thresholds : list of 3 int, optional
        ``[1, 10, 100]`` by default; the recall keys are named after them (``mar_1``...).
    class_metrics : bool, default False
        Also return ``map_per_class`` and ``mar_{last}_per_class`` (else ``[-1.0]``).
    average : {"macro", "micro"}, default "macro"
        "micro" evaluates every label as one class (per-class values stay macro).

    Notes
    -----
    Image ``i`` of the stream (in update order, merged metrics after this one's) is
    COCO image id ``i``; annotation ids count from 1. A target's ``area`` is used when
    given and > 0, else the box's ``w * h`` (bbox) or the mask's pixel count (segm),
    as torchmetrics does. ``classes`` is the sorted union of every label seen.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit.evaluate import MeanAveragePrecision
    >>> metric = MeanAveragePrecision()
    >>> preds = [{"boxes": np.array([[258.0, 41.0, 606.0, 285.0]]),
    ...           "scores": np.array([0.536]), "labels": np.array([0])}]
    >>> targets = [{"boxes": np.array([[214.0, 41.0, 562.0, 285.0]]), "labels": np.array([0])}]
    >>> metric.update(preds, targets)
    >>> out = metric.compute()
    >>> round(float(out["map"]), 4), round(float(out["map_50"]), 4), float(out["map_small"])
    (0.6, 1.0, -1.0)
    """

    def __init__(
        self,
        box_format: str = "xyxy",
        iou_type: str | tuple[str, ...] = "bbox",
        iou_thresholds: Any = None,
        rec_thresholds: Any = None,
        max_detection_thresholds: Any = None,
        class_metrics: bool = False,
        average: str = "macro",
    ) -> None:
        if box_format not in BOX_FORMATS:
            raise ValueError(f"{_FUNC}: box_format={box_format!r} is not one of {BOX_FORMATS}")
        types = (iou_type,) if isinstance(iou_type, str) else tuple(iou_type)
        if (
            not types
            or any(t not in ("bbox", "segm") for t in types)
            or len(set(types)) < len(types)
        ):
            raise ValueError(
                f"{_FUNC}: iou_type={iou_type!r} must be 'bbox', 'segm' or a tuple of them"
            )
        if not isinstance(class_metrics, bool):
            raise ValueError(f"{_FUNC}: class_metrics={class_metrics!r} must be True or False")
        if average not in ("macro", "micro"):
            raise ValueError(f"{_FUNC}: average={average!r} is not 'macro' or 'micro'")
        defaults = COCOParams()
        self.box_format = box_format
        self.iou_type = types
        self.iou_thresholds = _thresholds(iou_thresholds, defaults.iou_thrs, "iou_thresholds")
        self.rec_thresholds = _thresholds(rec_thresholds, defaults.rec_thrs, "rec_thresholds")
        self.max_detection_thresholds = _max_dets(max_detection_thresholds)
        self.class_metrics = class_metrics
        self.average = average
        self.reset()

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget every image seen."""
        self._state = {name: _Column(dtype, tail) for name, (dtype, tail) in _COLUMNS.items()}

    @property
    def num_images(self) -> int:
        return int(self._state["d_count"].values.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory held by the state (allocated capacity)."""
        return sum(col.nbytes for col in self._state.values())

    def to(self, *args: Any, **kwargs: Any) -> MeanAveragePrecision:
        """No-op returning ``self`` (torchmetrics' ``.to(device)``): the state lives
        on the host whatever the device of the inputs."""
        return self

    def update(self, preds: Any, targets: Any) -> None:
        """Add a batch: ``preds`` and ``targets`` are lists with one dict per image.

        preds: ``boxes`` (N, 4), ``scores`` (N,), ``labels`` (N,) and, for segm,
        ``masks`` (N, H, W) bool or a list of N RLE dicts. targets: ``boxes``,
        ``labels``, optional ``iscrowd`` and ``area``, and ``masks`` for segm. Arrays
        may be NumPy, torch tensors on any device, CuPy or ``__dlpack__`` objects.
        The whole batch is checked before anything is stored: a bad batch raises
        (ValueError / TypeError naming ``preds[i]`` or ``targets[i]`` and the key)
        and leaves the state as it was.
        """
        check_pairs(preds, targets)
        dets = read_batch(preds, "preds", True, self.iou_type, self.box_format)
        gts = read_batch(targets, "targets", False, self.iou_type, self.box_format)
        size = None
        if "segm" in self.iou_type:
            check_mask_sizes(dets, gts)
            size = np.where(
                (dets.mask_size != 0).any(axis=1)[:, None], dets.mask_size, gts.mask_size
            )
        self._store(dets, gts, size)

    def _store(self, dets: Batch, gts: Batch, size: np.ndarray | None) -> None:
        s = self._state
        s["d_count"].extend(dets.counts)
        s["d_labels"].extend(dets.labels)
        s["d_scores"].extend(dets.scores)
        s["g_count"].extend(gts.counts)
        s["g_labels"].extend(gts.labels)
        s["g_crowd"].extend(gts.crowd)
        s["g_area"].extend(gts.areas)
        if dets.boxes is not None:
            s["d_boxes"].extend(dets.boxes)
            s["g_boxes"].extend(gts.boxes)
        if size is not None:
            s["image_size"].extend(size)
            for prefix, batch in (("d_", dets), ("g_", gts)):
                m = batch.masks
                s[prefix + "mask_h"].extend(m.heights)
                s[prefix + "mask_w"].extend(m.widths)
                s[prefix + "mask_len"].extend(m.lengths)
                s[prefix + "mask_counts"].extend(m.counts)

    def merge(self, other: MeanAveragePrecision) -> MeanAveragePrecision:
        """Append ``other``'s images after this metric's (e.g. from another worker);
        returns ``self``. Both must have the same settings."""
        if not isinstance(other, MeanAveragePrecision):
            raise TypeError(f"{_FUNC}.merge: expected a MeanAveragePrecision, got {type(other)}")
        for attr in ("box_format", "iou_type", "max_detection_thresholds", "average"):
            if getattr(self, attr) != getattr(other, attr):
                raise ValueError(
                    f"{_FUNC}.merge: {attr} differs ({getattr(self, attr)!r} and "
                    f"{getattr(other, attr)!r})"
                )
        for attr in ("iou_thresholds", "rec_thresholds"):
            if not np.array_equal(getattr(self, attr), getattr(other, attr)):
                raise ValueError(f"{_FUNC}.merge: {attr} differ")
        for name, col in self._state.items():
            col.extend(other._state[name].values)
        return self

    # ------------------------------------------------------------------ results

    def _params(self, iou_type: str, **overrides: Any) -> COCOParams:
        p = COCOParams(
            iou_type=iou_type,
            iou_thrs=self.iou_thresholds,
            rec_thrs=self.rec_thresholds,
            max_dets=tuple(self.max_detection_thresholds),
        )
        for key, value in overrides.items():
            setattr(p, key, value)
        return p.checked()

    def arrays(self, iou_type: str | None = None, micro: bool = False):
        """The state as ioukit's evaluation input: ``(GroundTruth, Detections)``."""
        from .._masks.rleset import RLESet, to_dicts

        iou_type = self._one_type(iou_type)
        s = {name: col.values for name, col in self._state.items()}
        n_img = s["d_count"].shape[0]
        g_labels, d_labels = s["g_labels"], s["d_labels"]
        if micro:
            g_labels, d_labels = np.zeros_like(g_labels), np.zeros_like(d_labels)
        classes = np.unique(np.concatenate([g_labels, d_labels]))
        n_gt = g_labels.shape[0]
        segm = iou_type == "segm"
        image_size = s["image_size"] if segm else np.zeros((n_img, 2), np.int64)
        g_rles = d_rles = None
        if segm:
            g_rles, d_rles = (
                RLESet(
                    s[p + "mask_h"].astype(np.int64),
                    s[p + "mask_w"].astype(np.int64),
                    s[p + "mask_counts"],
                    np.concatenate([[0], np.cumsum(s[p + "mask_len"])]).astype(np.int64),
                )
                for p in ("g_", "d_")
            )
            own_area = g_rles.areas().astype(np.float64)
        else:
            own_area = s["g_boxes"][:, 2] * s["g_boxes"][:, 3]
        truth = GroundTruth(
            image_ids=np.arange(n_img, dtype=np.int64),
            heights=image_size[:, 0].copy(),
            widths=image_size[:, 1].copy(),
            category_ids=classes,
            category_names={int(c): str(int(c)) for c in classes},
            ann_ids=np.arange(1, n_gt + 1, dtype=np.int64),
            ann_image=np.repeat(np.arange(n_img, dtype=np.int64), s["g_count"]),
            ann_category=g_labels,
            boxes=s["g_boxes"] if not segm else np.zeros((n_gt, 4)),
            areas=np.where(s["g_area"] > 0, s["g_area"], own_area),
            crowd=s["g_crowd"],
            segmentations=to_dicts(g_rles) if segm else None,
        )
        boxes = None if segm else s["d_boxes"]
        dets = Detections(
            image=np.repeat(np.arange(n_img, dtype=np.int64), s["d_count"]),
            category=d_labels,
            scores=s["d_scores"],
            boxes=boxes,
            areas=boxes[:, 2] * boxes[:, 3] if boxes is not None else np.zeros(len(d_labels)),
            segmentations=None,
            rles=d_rles,
        )
        return truth, dets

    def _one_type(self, iou_type: str | None) -> str:
        if iou_type is None:
            return self.iou_type[0]
        if iou_type not in self.iou_type:
            raise ValueError(f"{_FUNC}: iou_type={iou_type!r} is not one of {self.iou_type}")
        return iou_type

    def result(self, iou_type: str | None = None, iou_thresholds: Any = None) -> COCOResult:
        """The full :class:`~ioukit.evaluate.COCOResult` (precision / recall / score
        arrays, per-category AP), optionally at other IoU thresholds."""
        iou_type = self._one_type(iou_type)
        over = {} if iou_thresholds is None else {"iou_thrs": iou_thresholds}
        truth, dets = self.arrays(iou_type)
        return evaluate_arrays(truth, dets, self._params(iou_type, **over))

    def mean_iou_report(self, threshold: float = 0.5, iou_type: str | None = None, **kwargs: Any):
        """:func:`ioukit.evaluate.mean_iou_report` of the images seen (the same numbers
        as that function on :meth:`to_coco`'s output)."""
        from .report import report_from_result

        iou_type = self._one_type(iou_type)
        p = self._params(iou_type, iou_thrs=[threshold], max_dets=(100,))
        p.area_rng, p.area_rng_lbl = ((0, 1e10),), ("all",)
        truth, dets = self.arrays(iou_type)
        return report_from_result(evaluate_arrays(truth, dets, p), threshold, **kwargs)

    def to_coco(self, iou_type: str | None = None) -> tuple[dict, list[dict]]:
        """The images seen as a COCO ground-truth dict and a results list."""
        truth, dets = self.arrays(self._one_type(iou_type))
        return to_coco_dicts(truth, dets)

    def compute(self) -> dict[str, Any]:
        """torchmetrics' dict: ``map, map_50, map_75, map_small, map_medium, map_large,
        mar_1, mar_10, mar_100, mar_small, mar_medium, mar_large, map_per_class,
        mar_100_per_class, classes`` (recall keys named after the max detections).

        Values are float64 NumPy scalars equal to pycocotools' ``COCOeval.stats``
        (-1 where undefined), per-class values and ``classes`` 1-D arrays.
        """
        out: dict[str, Any] = {}
        mdt = self.max_detection_thresholds
        names = ["map", "map_50", "map_75", "map_small", "map_medium", "map_large"]
        names += [f"mar_{m}" for m in mdt] + ["mar_small", "mar_medium", "mar_large"]
        s = self._state
        classes = np.unique(np.concatenate([s["g_labels"].values, s["d_labels"].values]))
        for iou_type in self.iou_type:
            prefix = "" if len(self.iou_type) == 1 else f"{iou_type}_"
            p = self._params(iou_type)
            macro = None
            if self.num_images == 0:
                stats = -np.ones(12)
            else:
                truth, dets = self.arrays(iou_type, micro=self.average == "micro")
                macro = evaluate_arrays(truth, dets, p)
                stats = macro.stats
                if self.average == "micro" and self.class_metrics:
                    macro = evaluate_arrays(*self.arrays(iou_type), p)
            for name, value in zip(names, stats, strict=True):
                out[prefix + name] = np.float64(value)
            per_map, per_mar = np.array([-1.0]), np.array([-1.0])
            if self.class_metrics and macro is not None and len(classes):
                per = np.array(
                    [
                        summarize(macro.precision[:, :, [k]], macro.recall[:, [k]], p)[[0, 8]]
                        for k in range(len(classes))
                    ]
                )
                per_map, per_mar = per[:, 0], per[:, 1]
            out[prefix + "map_per_class"] = per_map
            out[prefix + f"mar_{mdt[-1]}_per_class"] = per_mar
        out["classes"] = classes
        return out


def _thresholds(values: Any, default: np.ndarray, name: str) -> np.ndarray:
    if values is None:
        return default.copy()
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{_FUNC}: {name}={values!r} is not a list of numbers") from None
    if arr.size == 0 or not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{_FUNC}: {name}={values!r} must be numbers in [0, 1]")
    return arr


def _max_dets(values: Any) -> list[int]:
    if values is None:
        return [1, 10, 100]
    try:
        out = sorted(int(v) for v in values)
        exact = all(float(v) == int(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(
            f"{_FUNC}: max_detection_thresholds={values!r} is not 3 integers"
        ) from None
    if len(out) != 3 or not exact or out[0] < 1:
        raise ValueError(
            f"{_FUNC}: max_detection_thresholds={values!r} must be 3 positive integers "
            "(as torchmetrics)"
        )
    return out


def to_coco_dicts(truth: GroundTruth, dets: Detections) -> tuple[dict, list[dict]]:
    """A COCO ground-truth dict and results list from evaluation arrays."""
    from .._masks.rleset import to_dicts

    images = [
        {"id": int(i), "height": int(h), "width": int(w)}
        for i, h, w in zip(truth.image_ids, truth.heights, truth.widths, strict=True)
    ]
    anns = []
    for k in range(truth.ann_ids.shape[0]):
        ann = {
            "id": int(truth.ann_ids[k]),
            "image_id": int(truth.image_ids[truth.ann_image[k]]),
            "category_id": int(truth.ann_category[k]),
            "bbox": [float(v) for v in truth.boxes[k]],
            "area": float(truth.areas[k]),
            "iscrowd": int(truth.crowd[k]),
        }
        if truth.segmentations is not None:
            seg = truth.segmentations[k]
            ann["segmentation"] = {"size": seg["size"], "counts": seg["counts"].decode()}
        anns.append(ann)
    cats = [{"id": int(c), "name": truth.category_names[int(c)]} for c in truth.category_ids]
    results = []
    rles = to_dicts(dets.rles) if dets.rles is not None else None
    for k in range(dets.scores.shape[0]):
        res = {
            "image_id": int(truth.image_ids[dets.image[k]]),
            "category_id": int(dets.category[k]),
            "score": float(dets.scores[k]),
        }
        if dets.boxes is not None:
            res["bbox"] = [float(v) for v in dets.boxes[k]]
        if rles is not None:
            res["segmentation"] = {"size": rles[k]["size"], "counts": rles[k]["counts"].decode()}
        results.append(res)
    return {"images": images, "annotations": anns, "categories": cats}, results
