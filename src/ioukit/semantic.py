"""Semantic segmentation: confusion matrix, per-class IoU, mIoU, streamed over a data set.

Conventions (see docs/semantics.md):

* rows of the confusion matrix are the target class, columns the prediction;
* pixels whose *target* is ``ignore_index`` are skipped (the mmseg / HF
  ``evaluate`` rule); any other label outside ``[0, num_classes)``, in target or
  prediction, is a ValueError naming the value and where it was found;
* a class with union 0 is *absent*: NaN per class and left out of the mean
  (``absent="nan"``, mmseg / HF ``evaluate`` / torchmetrics' mean), or 0 and
  counted in the mean (``absent="zero"``, the ADE20K devkit), or any number
  (``absent=-1.0`` gives torchmetrics' per-class -1).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._core import dispatch
from ._core import validate as check
from ._core.loader import kernel, parallel_call
from ._core.validate import format_index

_KEPT_DTYPES = (np.uint8, np.uint16, np.int32, np.int64)


def _label_array(x: Any, name: str, func: str) -> np.ndarray:
    arr = dispatch.to_numpy(x, name, func)
    if arr.dtype.kind == "b":
        arr = arr.view(np.uint8)
    check.label_dtype(arr.dtype, name, func)
    return arr


def _common_dtype(a: np.dtype, b: np.dtype) -> np.dtype:
    """One of uint8, uint16, int32, int64 able to hold both (each compiles once)."""
    promoted = np.promote_types(a, b)
    for kept in _KEPT_DTYPES:
        if np.can_cast(promoted, kept, casting="safe"):
            return np.dtype(kept)
    return np.dtype(np.int64)  # uint64: values past int64 are out of range anyway


#: Largest ``num_classes``: the (C, C) int64 confusion matrix is then 2 GiB.
MAX_CLASSES = 1 << 14
_INT64_MAX = int(np.iinfo(np.int64).max)


def _check_classes(num_classes: Any, func: str) -> int:
    """``num_classes`` as an int in ``[1, MAX_CLASSES]``, checked before any allocation."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(
            f"{func}: num_classes must be an integer >= 1, got {num_classes!r} "
            f"({type(num_classes).__name__})"
        )
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(
            f"{func}: num_classes must be an integer in [1, {MAX_CLASSES}] (the confusion "
            f"matrix has num_classes**2 int64 bins), got {num_classes!r}"
        )
    return int(num_classes)


def _check_ignore(ignore_index: Any, func: str) -> int | None:
    """``ignore_index`` as an exact int (None stays None); it is compared with the labels'
    values exactly, never after a cast, so it must be an integer within int64."""
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(
            f"{func}: ignore_index must be an integer or None, got {ignore_index!r} "
            f"({type(ignore_index).__name__})"
        )
    if not -_INT64_MAX - 1 <= int(ignore_index) <= _INT64_MAX:
        raise ValueError(f"{func}: ignore_index must fit in int64, got {ignore_index!r}")
    return int(ignore_index)


def _check_huge_labels(arr: np.ndarray, name: str, c: int, func: str) -> None:
    """uint64 labels past int64 can be no class and no (int64) ignore index: raise on the
    first, naming its true value, before the kernels see the array cast to int64."""
    if arr.dtype != np.uint64 or arr.size == 0:
        return
    huge = arr > np.uint64(_INT64_MAX)
    if huge.any():
        at = int(np.argmax(huge.reshape(-1)))
        value = int(arr.reshape(-1)[at])
        raise ValueError(
            f"{func}: {name} label {value} at index {format_index(at, arr.shape)} "
            f"is outside [0, {c})"
        )


def confusion_matrix(
    target: Any, pred: Any, num_classes: int, ignore_index: int | None = None
) -> Any:
    """Pixel confusion matrix of two integer label maps.

    Parameters
    ----------
    target, pred : array_like of int, same shape
        Label maps of any shape: one image ``(H, W)``, a batch ``(B, H, W)``, a volume.
        Any signed or unsigned integer dtype (bool counts as 0/1).
    num_classes : int
        Number of classes C; labels are ``0 .. C - 1``.
    ignore_index : int, optional
        Target label whose pixels are skipped (255 for Cityscapes, 0 for ADE20K).
        Compared with the label values exactly (a uint64 label 2**64 - 1 is not
        -1); it must be an integer.

    Returns
    -------
    ndarray or tensor of int64, shape (C, C)
        ``cm[t, p]`` = pixels of target class ``t`` predicted as ``p``; a torch
        CPU tensor when an input was one (CUDA inputs: a NumPy array).

    Raises
    ------
    ValueError
        Different shapes, ``num_classes`` not an integer in
        ``[1, MAX_CLASSES]`` (checked before anything is allocated), or a label
        outside ``[0, C)`` that is not the ignore index (the message names the
        value, the array and the index).
    TypeError
        Float (non-integer) label maps, ``ignore_index`` that is not an integer
        (``255.7``), a torch tensor that requires grad.

    Examples
    --------
    >>> from ioukit.semantic import confusion_matrix
    >>> confusion_matrix([[0, 1], [1, 255]], [[0, 1], [0, 3]], num_classes=2, ignore_index=255)
    array([[1, 0],
           [1, 1]])
    """
    cm = _confusion(target, pred, num_classes, ignore_index, "confusion_matrix")
    return dispatch.restore(cm, target, pred)


def _confusion(target: Any, pred: Any, num_classes: Any, ignore_index: Any, func: str) -> Any:
    """The confusion matrix as a NumPy array (host inputs) or the backend's result."""
    c = _check_classes(num_classes, func)
    ignore_index = _check_ignore(ignore_index, func)
    kind = dispatch.common_kind(func, target=target, pred=pred)
    if kind not in (dispatch.NUMPY, dispatch.SPARSE):
        return dispatch.backend(kind, func).confusion_matrix(target, pred, c, ignore_index)
    t = _label_array(target, "target", func)
    p = _label_array(pred, "pred", func)
    if t.shape != p.shape:
        raise ValueError(f"{func}: target has shape {t.shape} but pred has shape {p.shape}")
    _check_huge_labels(t, "target", c, func)
    _check_huge_labels(p, "pred", c, func)
    dtype = _common_dtype(t.dtype, p.dtype)
    flat_t = np.ascontiguousarray(t, dtype=dtype).reshape(-1)
    flat_p = np.ascontiguousarray(p, dtype=dtype).reshape(-1)
    has_ignore = ignore_index is not None
    ignore = ignore_index if has_ignore else 0
    if flat_t.size == 0:
        return np.zeros((c, c), dtype=np.int64)
    from ._core.jit import num_threads

    k = kernel("cpu_semantic")
    chunks = max(1, min(num_threads(), flat_t.size // (1 << 16) + 1))
    chunks = max(1, min(chunks, (1 << 25) // (c * c)))  # per-thread tables: <= 256 MiB
    table = np.zeros((chunks, c * c), dtype=np.int64)
    bad_at = np.empty(chunks, dtype=np.int64)
    args = (np.int64(c), np.int64(ignore), has_ignore, table, bad_at)
    if dtype == np.uint8 and flat_t.size >= 8:
        whole = flat_t.size // 8 * 8
        words_t, words_p = flat_t[:whole].view(np.uint64), flat_p[:whole].view(np.uint64)
        parallel_call(k.confusion_uint8, flat_t, flat_p, words_t, words_p, *args)
    else:
        parallel_call(k.confusion_runs, flat_t, flat_p, *args)
    if (bad_at >= 0).any():
        at = int(bad_at[bad_at >= 0].min())
        value_t, value_p = int(flat_t[at]), int(flat_p[at])
        raise check.label_range_error(value_t, value_p, at, t.shape, c, ignore_index, func)
    return (table[0] if chunks == 1 else table.sum(axis=0)).reshape(c, c)


def iou_from_confusion(cm: Any, absent: str | float = "nan") -> np.ndarray:
    """Per-class IoU ``cm[c, c] / (row_c + col_c - cm[c, c])`` from a confusion matrix.

    Parameters
    ----------
    cm : array_like, shape (C, C)
        Rows target, columns prediction.
    absent : {"nan", "zero"} or float, default "nan"
        Value for classes whose union is 0: NaN (left out of ``np.nanmean``), 0, or
        any number (torchmetrics reports -1).

    Returns
    -------
    ndarray of float64, shape (C,)

    Examples
    --------
    >>> from ioukit.semantic import iou_from_confusion
    >>> iou_from_confusion([[2, 1, 0], [0, 3, 0], [0, 0, 0]])
    array([0.66666667, 0.75      ,        nan])
    >>> iou_from_confusion([[2, 1, 0], [0, 3, 0], [0, 0, 0]], absent=-1.0)
    array([ 0.66666667,  0.75      , -1.        ])
    """
    matrix = np.asarray(cm)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"iou_from_confusion: cm must be square (C, C), got shape {matrix.shape}")
    fill = _absent_value(absent, "iou_from_confusion")
    inter = np.diagonal(matrix).astype(np.float64)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - inter
    return np.divide(inter, union, out=np.full(inter.shape, fill), where=union > 0)


def _absent_value(absent: str | float, func: str) -> float:
    if isinstance(absent, str):
        if absent == "nan":
            return math.nan
        if absent == "zero":
            return 0.0
        raise ValueError(f"{func}: absent={absent!r} is not 'nan', 'zero' or a number")
    return float(absent)


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else math.nan


@dataclass(frozen=True)
class SegmentationResult:
    """Scores of a :class:`SegmentationIoU` run (NaN entries: absent classes)."""

    iou: np.ndarray
    """Per-class IoU."""
    miou: float
    """Mean IoU over present classes (over all classes with ``absent="zero"``)."""
    accuracy: np.ndarray
    """Per-class accuracy (recall): ``cm[c, c] / row_c``."""
    mean_accuracy: float
    pixel_accuracy: float
    """Correct pixels over counted pixels."""
    fwiou: float
    """Frequency-weighted IoU: per-class IoU weighted by each class's share of target pixels."""
    confusion: np.ndarray = field(repr=False)
    class_names: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain Python values (for JSON), per-class entries keyed by class name."""
        names = self.class_names or tuple(str(i) for i in range(self.iou.shape[0]))
        as_float = lambda v: None if math.isnan(v) else float(v)  # noqa: E731
        return {
            "miou": as_float(self.miou),
            "mean_accuracy": as_float(self.mean_accuracy),
            "pixel_accuracy": as_float(self.pixel_accuracy),
            "fwiou": as_float(self.fwiou),
            "iou": {n: as_float(v) for n, v in zip(names, self.iou, strict=True)},
            "accuracy": {n: as_float(v) for n, v in zip(names, self.accuracy, strict=True)},
        }


def scores_from_confusion(
    cm: np.ndarray, absent: str | float = "nan", class_names: Any = None
) -> SegmentationResult:
    """Every score of :class:`SegmentationResult` from one confusion matrix.

    Examples
    --------
    >>> from ioukit.semantic import scores_from_confusion
    >>> r = scores_from_confusion([[2, 1], [0, 3]])
    >>> round(r.miou, 4), round(r.pixel_accuracy, 4)
    (0.7083, 0.8333)
    """
    matrix = np.asarray(cm, dtype=np.int64)
    iou = iou_from_confusion(matrix, absent)
    rows = matrix.sum(axis=1)
    diagonal = np.diagonal(matrix).astype(np.float64)
    accuracy = np.divide(diagonal, rows, out=np.full(diagonal.shape, math.nan), where=rows > 0)
    total = int(rows.sum())
    union = rows + matrix.sum(axis=0) - diagonal
    # absent classes leave the mean, except with absent="zero" (the ADE20K devkit)
    present = np.ones(iou.shape, dtype=bool) if absent == "zero" else union > 0
    miou = float(iou[present].mean()) if present.any() else math.nan
    freq = rows / total if total else np.zeros(rows.shape)
    fw = float(np.sum(freq * np.where(rows > 0, np.nan_to_num(iou), 0.0))) if total else math.nan
    return SegmentationResult(
        iou=iou,
        miou=miou,
        accuracy=accuracy,
        mean_accuracy=_nanmean(accuracy),
        pixel_accuracy=float(diagonal.sum() / total) if total else math.nan,
        fwiou=fw,
        confusion=matrix,
        class_names=tuple(class_names) if class_names is not None else None,
    )


class SegmentationIoU:
    """Streaming per-class IoU / mIoU over a data set.

    Parameters
    ----------
    num_classes : int
        Number of classes C, at most :data:`MAX_CLASSES`.
    ignore_index : int, optional
        Target label to skip.
    class_names : sequence of str, optional
        Names reported in the result (length ``num_classes``).
    absent : {"nan", "zero"} or float, default "nan"
        See :func:`iou_from_confusion`.
    per_sample : bool, default False
        False: IoU from the counts summed over the data set (mmseg, HF ``evaluate``,
        the ADE20K devkit). True: torchmetrics' ``MeanIoU`` definition, which
        averages per-sample IoUs: for each sample (a 2-D map, or each slice of a
        batch ``(B, ...)``) the IoU of every class present in it (union > 0); the
        per-class result is the mean over the samples where the class is present
        (``absent`` where it never is), and ``miou`` is the mean over samples of
        each sample's mean over its present classes. Accuracies and ``fwiou``
        stay those of the summed counts.

    Examples
    --------
    >>> from ioukit.semantic import SegmentationIoU
    >>> metric = SegmentationIoU(num_classes=3, ignore_index=255)
    >>> metric.update([[0, 1], [2, 255]], [[0, 1], [1, 0]])
    >>> metric.update(target=[[2, 2]], pred=[[2, 2]])
    >>> r = metric.compute()
    >>> r.iou.round(3).tolist(), round(r.miou, 4)
    ([1.0, 0.5, 0.667], 0.7222)
    >>> per_sample = SegmentationIoU(num_classes=2, per_sample=True)
    >>> per_sample.update([[[0, 1]], [[1, 1]]], [[[0, 0]], [[1, 1]]])  # a batch of 2
    >>> r = per_sample.compute()
    >>> r.iou.tolist(), r.miou
    ([0.5, 0.5], 0.625)
    """

    def __init__(
        self,
        num_classes: int,
        ignore_index: int | None = None,
        class_names: Any = None,
        absent: str | float = "nan",
        per_sample: bool = False,
    ) -> None:
        self.num_classes = _check_classes(num_classes, "SegmentationIoU")
        self.ignore_index = _check_ignore(ignore_index, "SegmentationIoU")
        self.absent = absent
        _absent_value(absent, "SegmentationIoU")
        if not isinstance(per_sample, bool):
            raise TypeError(
                f"SegmentationIoU: per_sample must be True or False, got {per_sample!r}"
            )
        self.per_sample = per_sample
        if class_names is not None and len(class_names) != self.num_classes:
            raise ValueError(
                f"SegmentationIoU: {len(class_names)} class names for {self.num_classes} classes"
            )
        self.class_names = tuple(class_names) if class_names is not None else None
        self.confusion = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        self.images = 0
        # per_sample state: sums of per-sample IoUs and how many samples had each class
        self.sample_iou_sum = np.zeros(self.num_classes, dtype=np.float64)
        self.sample_class_count = np.zeros(self.num_classes, dtype=np.int64)
        self.sample_miou_sum = 0.0
        self.sample_count = 0

    def update(self, target: Any = None, pred: Any = None, *, preds: Any = None) -> None:
        """Add one label map, or a batch ``(B, H, W)``, to the running counts.

        ``update(target, pred)``: target first (torchmetrics' ``update(preds, target)``
        has the other order). Keywords are safe in any order, and torchmetrics'
        ``preds=`` is accepted for ``pred=``.
        """
        func = "SegmentationIoU.update"
        if preds is not None:
            if pred is not None:
                raise TypeError(f"{func}: give pred= or preds=, not both")
            pred = preds
        if target is None or pred is None:
            raise TypeError(f"{func}: needs both target= and pred=")
        shape = np.shape(target)
        samples = shape[0] if len(shape) >= 3 else 1
        if self.per_sample:
            cm = self._add_samples(target, pred, len(shape) >= 3, func)
        else:
            cm = _confusion(target, pred, self.num_classes, self.ignore_index, func)
        self.confusion += np.asarray(cm)
        self.images += samples

    def _add_samples(self, target: Any, pred: Any, batched: bool, func: str) -> np.ndarray:
        """Add each sample's IoUs to the per-sample sums; returns the summed counts."""
        t = _label_array(target, "target", func)
        p = _label_array(pred, "pred", func)
        if t.shape != p.shape:
            raise ValueError(f"{func}: target has shape {t.shape} but pred has shape {p.shape}")
        total = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        for one_t, one_p in zip(t, p, strict=True) if batched else [(t, p)]:
            cm = _confusion(one_t, one_p, self.num_classes, self.ignore_index, func)
            total += cm
            inter = np.diagonal(cm).astype(np.float64)
            union = cm.sum(axis=0) + cm.sum(axis=1) - inter
            present = union > 0
            iou = np.divide(inter, union, out=np.zeros_like(inter), where=present)
            self.sample_iou_sum += iou
            self.sample_class_count += present
            if present.any():
                self.sample_miou_sum += float(iou[present].mean())
                self.sample_count += 1
        return total

    def merge(self, other: SegmentationIoU) -> SegmentationIoU:
        """Add another accumulator's counts (from another worker); returns self."""
        mine = (self.num_classes, self.ignore_index, self.per_sample)
        theirs = (other.num_classes, other.ignore_index, other.per_sample)
        if mine != theirs:
            raise ValueError(
                "SegmentationIoU.merge: accumulators differ in num_classes, ignore_index or "
                f"per_sample {mine!r} vs {theirs!r}"
            )
        self.confusion += other.confusion
        self.images += other.images
        self.sample_iou_sum += other.sample_iou_sum
        self.sample_class_count += other.sample_class_count
        self.sample_miou_sum += other.sample_miou_sum
        self.sample_count += other.sample_count
        return self

    def reset(self) -> None:
        """Forget every update."""
        self.confusion[...] = 0
        self.images = 0
        self.sample_iou_sum[...] = 0
        self.sample_class_count[...] = 0
        self.sample_miou_sum, self.sample_count = 0.0, 0

    def compute(self) -> SegmentationResult:
        """The scores of everything seen so far."""
        result = scores_from_confusion(self.confusion, self.absent, self.class_names)
        if not self.per_sample:
            return result
        fill = _absent_value(self.absent, "SegmentationIoU")
        counts = self.sample_class_count
        iou = np.divide(
            self.sample_iou_sum, counts, out=np.full(counts.shape, fill), where=counts > 0
        )
        miou = self.sample_miou_sum / self.sample_count if self.sample_count else math.nan
        return dataclasses.replace(result, iou=iou, miou=miou)


def binary_iou(target: Any, pred: Any, ignore_index: int | None = None) -> float:
    """IoU of the foreground (label 1) of two binary masks; NaN when both are empty.

    Parameters
    ----------
    target, pred : array_like of bool or 0/1 integers, same shape
    ignore_index : int, optional
        Target value to skip (for example 255).

    Examples
    --------
    >>> from ioukit.semantic import binary_iou
    >>> binary_iou([[1, 1, 0, 0]], [[1, 0, 1, 0]])
    0.3333333333333333
    """
    cm = confusion_matrix(target, pred, 2, ignore_index)
    return float(iou_from_confusion(cm)[1])
