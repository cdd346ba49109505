"""``ioukit semseg``: mIoU over two folders of PNG label maps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..labelmaps import read_label_map
from ..semantic import SegmentationIoU, SegmentationResult
from .progress import Progress

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".bmp")


def pair_files(gt_dir: Path, pred_dir: Path) -> list[tuple[Path, Path]]:
    """(ground truth, prediction) pairs by relative path, or by stem when suffixes differ."""
    if not gt_dir.is_dir():
        raise ValueError(f"{gt_dir} is not a folder")
    if not pred_dir.is_dir():
        raise ValueError(f"{pred_dir} is not a folder")
    gts = sorted(p for p in gt_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not gts:
        raise ValueError(f"{gt_dir} holds no label maps ({', '.join(IMAGE_SUFFIXES)})")
    by_stem = {
        p.relative_to(pred_dir).with_suffix(""): p
        for p in pred_dir.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES
    }
    pairs, missing = [], []
    for gt in gts:
        rel = gt.relative_to(gt_dir)
        pred = pred_dir / rel if (pred_dir / rel).exists() else by_stem.get(rel.with_suffix(""))
        if pred is None:
            missing.append(str(rel))
        else:
            pairs.append((gt, pred))
    if missing:
        raise ValueError(
            f"{len(missing)} label maps have no prediction in {pred_dir}, first: {missing[0]}"
        )
    return pairs


def check_num_classes(num_classes: int) -> None:
    """Refuse a class count whose confusion matrices would not fit in memory.

    Counting holds about (threads + 2) int64 (C, C) tables at once.
    """
    if num_classes < 1:
        raise ValueError(f"--num-classes must be at least 1, got {num_classes}")
    from .._core.jit import num_threads

    need = num_classes * num_classes * 8 * (num_threads() + 2)
    try:
        have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        have = 1 << 40
    if need > have // 2:
        raise ValueError(
            f"--num-classes {num_classes}: counting needs {num_classes:,} x {num_classes:,} "
            f"confusion matrices, about {need / 1e9:,.1f} GB, more than half of this "
            f"machine's {have / 1e9:,.1f} GB of memory"
        )


def reduce_labels(labels: np.ndarray, ignore_index: int) -> np.ndarray:
    """ADE20K's reduction: 0 becomes ``ignore_index``, every other label k becomes k - 1
    (a label already equal to ``ignore_index`` stays ignored).

    Examples
    --------
    >>> reduce_labels(np.array([[0, 1, 150, 255]], np.uint8), 255)
    array([[255,   0, 149, 255]], dtype=uint8)
    """
    dtype = (
        labels.dtype if np.can_cast(np.min_scalar_type(ignore_index), labels.dtype) else np.int64
    )
    out = labels.astype(dtype) - np.asarray(1, dtype)
    out[(labels == 0) | (labels == ignore_index)] = ignore_index
    return out


def _load_pair(
    gt: Path, pred: Path, colors: dict | None, reduce: str | None, ignore_index: int | None
) -> tuple[np.ndarray, np.ndarray]:
    try:
        target = read_label_map(gt, colors)
        guess = read_label_map(pred, colors)
    except ValueError as err:
        raise ValueError(_cli_message(err, None)) from None
    if reduce is None or ignore_index is None:
        return target, guess
    if reduce == "both" and target.shape == guess.shape:
        unlabelled = (guess == 0) & (target != 0) & (target != ignore_index)
        if unlabelled.any():
            y, x = np.unravel_index(int(np.argmax(unlabelled)), unlabelled.shape)
            raise ValueError(
                f"{pred.name}: prediction 0 (unlabelled) at row {y}, column {x}, where the "
                f"ground truth has class {int(target[y, x])}; with --reduce-labels predictions "
                "use the labels 1..C (--reduce-labels gt reduces the ground truth only)"
            )
        guess = reduce_labels(guess, ignore_index)
    return reduce_labels(target, ignore_index), guess


def _cli_message(err: ValueError, name: str | None) -> str:
    """The library's Python advice in command-line words."""
    text = str(err)
    for prefix in (
        "confusion_matrix: ",
        "read_label_map: ",
        "SegmentationIoU.update: ",
        "SegmentationIoU: ",
    ):
        text = text.replace(prefix, "")
    for python, cli in (
        ("(pass ignore_index= to skip it)", "(--ignore-index skips it)"),
        (" (max_pixels=)", ""),
        ("; pass colors={(r, g, b): label}", "; give its colour table with --colors FILE"),
        (", which is not in colors", ", which is not in the --colors table"),
        ("target label", "ground-truth label"),
        ("pred label", "predicted label"),
        ("num_classes", "--num-classes"),
        ("ignore_index", "--ignore-index"),
        ("class names", "--class-names"),
    ):
        text = text.replace(python, cli)
    return f"{name}: {text}" if name else text


def evaluate_folders(
    gt_dir: Path,
    pred_dir: Path,
    num_classes: int,
    ignore_index: int | None,
    class_names: Any,
    absent: str,
    client: Any = None,
    colors: dict | None = None,
    reduce: str | None = None,
) -> tuple[SegmentationResult, int]:
    """Count every (ground truth, prediction) pair of two folders; (result, images)."""
    check_num_classes(num_classes)
    if reduce is not None:
        ignore_index = 255 if ignore_index is None else ignore_index
        if ignore_index < num_classes:
            raise ValueError(
                f"--reduce-labels: --ignore-index {ignore_index} is a class of "
                f"--num-classes {num_classes}; leave it out (255) or give one >= {num_classes}"
            )
    pairs = pair_files(gt_dir, pred_dir)
    try:
        metric = SegmentationIoU(num_classes, ignore_index, class_names=class_names, absent=absent)
    except ValueError as err:
        raise ValueError(_cli_message(err, None)) from None
    if client is not None:
        if colors is not None or reduce is not None:
            raise ValueError("--colors and --reduce-labels do not work with --scheduler yet")
        from ..distributed import segmentation_iou_files

        metric = segmentation_iou_files(
            pairs, num_classes, ignore_index, client, class_names, absent
        )
        return metric.compute(), len(pairs)
    with Progress(len(pairs), "semseg") as bar:
        for gt, pred in pairs:
            target, guess = _load_pair(gt, pred, colors, reduce, ignore_index)
            try:
                metric.update(target, guess)
            except ValueError as err:
                raise ValueError(_cli_message(err, gt.name)) from None
            bar.advance()
    return metric.compute(), len(pairs)


def describe(result: SegmentationResult, images: int, per_class: int | None = None) -> list[str]:
    """The text report; ``per_class`` rows of the table (all when None, the most
    frequent classes first when fewer)."""
    names = result.class_names or tuple(str(i) for i in range(result.iou.shape[0]))
    c = result.iou.shape[0]
    lines = [
        f"Semantic segmentation over {images} label maps, {c} classes",
        f"  mIoU {result.miou:.4f}   pixel accuracy {result.pixel_accuracy:.4f}   "
        f"mean accuracy {result.mean_accuracy:.4f}   frequency-weighted IoU {result.fwiou:.4f}",
    ]
    rows = list(range(c))
    if per_class is not None and per_class < c:
        pixels = result.confusion.sum(axis=1)
        rows = sorted(np.argsort(-pixels, kind="stable")[:per_class].tolist())
    if not rows:
        return lines
    lines += ["", f"  {'class':<24} {'IoU':>7} {'accuracy':>9}"]
    for i in rows:
        lines.append(f"  {names[i][:24]:<24} {result.iou[i]:>7.4f} {result.accuracy[i]:>9.4f}")
    if len(rows) < c:
        lines.append(f"  ... {c - len(rows)} more classes (--per-class N, or --json)")
    return lines
