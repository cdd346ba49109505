"""``ioukit semseg``: mIoU over two folders of PNG label maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._progress import Progress
from .labelmaps import read_label_map
from .semantic import SegmentationIoU, SegmentationResult

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


def evaluate_folders(
    gt_dir: Path,
    pred_dir: Path,
    num_classes: int,
    ignore_index: int | None,
    class_names: Any,
    absent: str,
    client: Any = None,
) -> tuple[SegmentationResult, int]:
    pairs = pair_files(gt_dir, pred_dir)
    if client is not None:
        from .distributed import segmentation_iou_files

        metric = segmentation_iou_files(
            pairs, num_classes, ignore_index, client, class_names, absent
        )
        return metric.compute(), len(pairs)
    metric = SegmentationIoU(num_classes, ignore_index, class_names=class_names, absent=absent)
    with Progress(len(pairs), "semseg") as bar:
        for gt, pred in pairs:
            try:
                metric.update(read_label_map(gt), read_label_map(pred))
            except ValueError as err:
                raise ValueError(f"{gt.name}: {err}") from None
            bar.advance()
    return metric.compute(), len(pairs)


def describe(result: SegmentationResult, images: int) -> list[str]:
    names = result.class_names or tuple(str(i) for i in range(result.iou.shape[0]))
    lines = [
        f"Semantic segmentation over {images} label maps, {result.iou.shape[0]} classes",
        f"  mIoU {result.miou:.4f}   pixel accuracy {result.pixel_accuracy:.4f}   "
        f"mean accuracy {result.mean_accuracy:.4f}   frequency-weighted IoU {result.fwiou:.4f}",
        "",
        f"  {'class':<24} {'IoU':>7} {'accuracy':>9}",
    ]
    for name, iou, acc in zip(names, result.iou, result.accuracy, strict=True):
        lines.append(f"  {name[:24]:<24} {iou:>7.4f} {acc:>9.4f}")
    return lines
