"""Reading torchmetrics-style per-image dicts into flat, validated NumPy arrays.

Each ``update`` of :class:`~ioukit.evaluate.MeanAveragePrecision` receives a list of
dicts (one per image) of NumPy arrays, torch tensors (CPU or CUDA), CuPy arrays or
anything else with ``__dlpack__`` / ``__array__``. This module turns one such list
into one :class:`Batch` of concatenated arrays, checking everything first, with
errors that name the list (``preds`` / ``targets``), the image index and the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FUNC = "MeanAveragePrecision.update"
BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def to_numpy(x: Any, where: str) -> np.ndarray:
    """A NumPy view or copy of an array-like on the host (torch tensors on any device,
    CuPy arrays, ``__dlpack__`` or ``__array__`` objects, lists)."""
    if isinstance(x, np.ndarray):
        return x
    if callable(getattr(x, "detach", None)):
        x = x.detach()
    if callable(getattr(x, "cpu", None)):
        x = x.cpu()
    if callable(getattr(x, "numpy", None)):
        try:
            return np.asarray(x.numpy())
        except (TypeError, RuntimeError):  # torch bfloat16 has no NumPy dtype
            if callable(getattr(x, "float", None)):
                return np.asarray(x.float().numpy())
            raise TypeError(f"{FUNC}: {where} cannot be converted to a NumPy array") from None
    if hasattr(x, "__cuda_array_interface__") and callable(getattr(x, "get", None)):
        return np.asarray(x.get())  # CuPy
    if hasattr(x, "__dlpack__") and hasattr(x, "__dlpack_device__"):
        try:
            return np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError, ValueError) as err:
            raise TypeError(f"{FUNC}: {where} cannot be read through DLPack: {err}") from None
    if isinstance(x, (list, tuple, int, float)) or hasattr(x, "__array__"):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{FUNC}: {where} is not a rectangular array: {err}") from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{FUNC}: {where} holds {arr.dtype} values, expected numbers")
        return arr
    raise TypeError(f"{FUNC}: {where} is a {type(x).__name__}, expected an array or a tensor")


def _numeric(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{FUNC}: {where} has dtype {arr.dtype}, expected numbers")
    return arr


def _vector(x: Any, where: str) -> np.ndarray:
    arr = _numeric(to_numpy(x, where), where)
    if arr.ndim == 0 or (arr.ndim == 2 and arr.shape[1] == 1 and arr.shape[0] != 1):
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{FUNC}: {where} has shape {arr.shape}, expected (N,)")
    return arr


def _integers(x: Any, where: str) -> np.ndarray:
    arr = _vector(x, where)
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"{FUNC}: {where} has dtype {arr.dtype}, expected integers")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{FUNC}: {where} holds a value beyond int64")
    return arr.astype(np.int64, copy=False)


def _boxes(x: Any, where: str) -> np.ndarray:
    arr = _numeric(to_numpy(x, where), where)
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{FUNC}: {where} has shape {arr.shape}, expected (N, 4)")
    return arr.astype(np.float64, copy=False)


@dataclass
class Masks:
    """Run-length encoded masks of one list: ``counts[offsets[i]:offsets[i+1]]``."""

    heights: np.ndarray
    widths: np.ndarray
    lengths: np.ndarray
    counts: np.ndarray


def _masks(x: Any, n: int, where: str) -> Any:
    """An RLESet of one image's masks (dense ``(N, H, W)`` or a list of RLE dicts)."""
    from .._masks.convert import masks_to_rles
    from .._masks.rleset import parse_rles

    if isinstance(x, dict) or (isinstance(x, (list, tuple)) and x and isinstance(x[0], dict)):
        rles, _ = parse_rles(x, where, FUNC)
        rles.common_size(where, FUNC)
        return rles
    arr = to_numpy(x, where)
    if arr.size == 0 and n == 0:
        h, w = (arr.shape[1], arr.shape[2]) if arr.ndim == 3 else (0, 0)
        return masks_to_rles(np.zeros((0, h, w), np.uint8), where, FUNC)
    if arr.ndim != 3:
        raise ValueError(f"{FUNC}: {where} has shape {arr.shape}, expected (N, H, W) or RLE dicts")
    if arr.dtype != np.bool_ and arr.dtype != np.uint8:
        arr = _numeric(arr, where)
        bad = (arr != 0) & (arr != 1)
        if bad.any():
            m = int(np.argmax(bad.reshape(arr.shape[0], -1).any(axis=1)))
            raise ValueError(f"{FUNC}: {where} mask {m} holds values other than 0 and 1")
    masks = np.ascontiguousarray(arr.view(np.uint8) if arr.dtype == np.bool_ else arr, np.uint8)
    return masks_to_rles(masks, where, FUNC)


@dataclass
class Batch:
    """One list of per-image dicts, concatenated."""

    counts: np.ndarray  # objects per image
    labels: np.ndarray
    boxes: np.ndarray | None  # xywh float64
    scores: np.ndarray | None
    crowd: np.ndarray | None
    areas: np.ndarray | None  # given areas (0 = not given)
    masks: Masks | None
    mask_size: np.ndarray | None  # (n_images, 2) height, width (0, 0 when unknown)


def to_xywh(boxes: np.ndarray, fmt: str) -> np.ndarray:
    """``boxes`` (float64) in COCO's ``[x, y, w, h]``."""
    out = boxes.copy()
    if fmt == "xyxy":
        out[:, 2:] = boxes[:, 2:] - boxes[:, :2]
    elif fmt == "cxcywh":
        out[:, :2] = boxes[:, :2] - boxes[:, 2:] / 2
    return out


def _first_bad_row(bad: np.ndarray, counts: np.ndarray) -> tuple[int, int]:
    """(image index, row within the image) of the first True of ``bad``."""
    row = int(np.argmax(bad))
    starts = np.concatenate([[0], np.cumsum(counts)])
    image = int(np.searchsorted(starts, row, "right") - 1)
    return image, row - int(starts[image])


def read_batch(
    items: Any, name: str, is_pred: bool, iou_types: tuple[str, ...], box_format: str
) -> Batch:
    """Validate and concatenate one list of per-image dicts."""
    use_boxes, use_masks = "bbox" in iou_types, "segm" in iou_types
    required = ["labels"]
    required += ["boxes"] if use_boxes else []
    required += ["masks"] if use_masks else []
    required += ["scores"] if is_pred else []
    n_img = len(items)
    counts = np.zeros(n_img, dtype=np.int64)
    labels, boxes, scores, crowd, areas, masks = [], [], [], [], [], []
    for i, item in enumerate(items):
        where = f"{name}[{i}]"
        if not isinstance(item, Mapping):
            raise TypeError(f"{FUNC}: {where} is a {type(item).__name__}, expected a dict")
        for key in required:
            if key not in item:
                raise ValueError(
                    f"{FUNC}: {where} has no {key!r} key (iou_type={iou_types} needs "
                    f"{', '.join(map(repr, required))})"
                )
        lab = _integers(item["labels"], f"{where}['labels']")
        n = lab.shape[0]
        counts[i] = n
        labels.append(lab)
        sizes = {"labels": n}
        if use_boxes:
            b = _boxes(item["boxes"], f"{where}['boxes']")
            boxes.append(b)
            sizes["boxes"] = b.shape[0]
        if is_pred:
            s = _vector(item["scores"], f"{where}['scores']").astype(np.float64, copy=False)
            scores.append(s)
            sizes["scores"] = s.shape[0]
        else:
            if item.get("iscrowd") is not None:
                c = _vector(item["iscrowd"], f"{where}['iscrowd']")
                sizes["iscrowd"] = c.shape[0]
                crowd.append(c != 0)
            else:
                crowd.append(np.zeros(n, dtype=np.bool_))
            if item.get("area") is not None:
                a = _vector(item["area"], f"{where}['area']").astype(np.float64, copy=False)
                sizes["area"] = a.shape[0]
                if not np.isfinite(a).all():
                    k = int(np.argmax(~np.isfinite(a)))
                    raise ValueError(
                        f"{FUNC}: {where}['area'] row {k} is {float(a[k])}, not finite"
                    )
                areas.append(a)
            else:
                areas.append(np.zeros(n))
        if use_masks:
            m = _masks(item["masks"], n, f"{where}['masks']")
            masks.append(m)
            sizes["masks"] = len(m)
        if len(set(sizes.values())) > 1:
            detail = ", ".join(f"{k!r} {v}" for k, v in sizes.items())
            raise ValueError(f"{FUNC}: {where} has different lengths: {detail}")
    batch = Batch(counts, _cat(labels, np.int64), None, None, None, None, None, None)
    if use_boxes:
        raw = np.concatenate(boxes) if boxes else np.zeros((0, 4))
        _check_boxes(raw, counts, name, box_format)
        batch.boxes = to_xywh(raw, box_format)
    if is_pred:
        batch.scores = _cat(scores, np.float64)
        if not np.isfinite(batch.scores).all():
            image, row = _first_bad_row(~np.isfinite(batch.scores), counts)
            value = float(scores[image][row])
            raise ValueError(f"{FUNC}: {name}[{image}]['scores'] row {row} is {value}, not finite")
    else:
        batch.crowd = _cat(crowd, np.bool_)
        batch.areas = _cat(areas, np.float64)
    if use_masks:
        batch.masks = Masks(
            _cat([m.heights for m in masks], np.int64),
            _cat([m.widths for m in masks], np.int64),
            _cat([np.diff(m.offsets) for m in masks], np.int64),
            _cat([m.counts for m in masks], np.int64),
        )
        size = np.zeros((n_img, 2), dtype=np.int64)
        for i, m in enumerate(masks):
            if len(m):
                size[i] = m.heights[0], m.widths[0]
        batch.mask_size = size
    return batch


def _cat(parts: list, dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _check_boxes(raw: np.ndarray, counts: np.ndarray, name: str, fmt: str) -> None:
    finite = np.isfinite(raw).all(axis=1)
    if fmt == "xyxy":
        extent = (raw[:, 2] >= raw[:, 0]) & (raw[:, 3] >= raw[:, 1])
    else:
        extent = (raw[:, 2] >= 0) & (raw[:, 3] >= 0)
    bad = ~(finite & extent)
    if bad.any():
        image, row = _first_bad_row(bad, counts)
        values = [float(v) for v in raw[int(np.argmax(bad))]]
        why = "not finite" if not finite[int(np.argmax(bad))] else "negative width or height"
        raise ValueError(f"{FUNC}: {name}[{image}]['boxes'] row {row} is {values} in {fmt} ({why})")


def check_pairs(preds: Any, targets: Any) -> None:
    """Both lists of dicts, of the same length."""
    for name, items in (("preds", preds), ("targets", targets)):
        if isinstance(items, (Mapping, str, bytes)) or not isinstance(items, Sequence):
            raise TypeError(
                f"{FUNC}: {name} must be a list of dicts (one per image), "
                f"got {type(items).__name__}"
            )
    if len(preds) != len(targets):
        raise ValueError(
            f"{FUNC}: preds and targets must have one dict per image each, "
            f"got {len(preds)} and {len(targets)}"
        )


def check_mask_sizes(dets: Batch, gts: Batch) -> None:
    """The masks of one image all share its size."""
    a, b = dets.mask_size, gts.mask_size
    clash = (a != 0).any(axis=1) & (b != 0).any(axis=1) & (a != b).any(axis=1)
    if clash.any():
        i = int(np.argmax(clash))
        raise ValueError(
            f"{FUNC}: image {i}: preds[{i}]['masks'] are {a[i, 0]}x{a[i, 1]} but "
            f"targets[{i}]['masks'] are {b[i, 0]}x{b[i, 1]}"
        )
