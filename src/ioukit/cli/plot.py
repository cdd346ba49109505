"""Figures for the command line: IoU histogram with the bands, per-class bars (matplotlib)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..bands import DEFAULT_BANDS


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "--plot needs matplotlib; install it with: pip install 'ioukit[plot]'"
        ) from err
    return plt


def _save(fig: Any, path: str) -> None:
    try:
        fig.savefig(path, dpi=110)
    except OSError as err:
        raise ValueError(f"--plot {path}: cannot write: {err.strerror or err}") from None
    finally:
        _pyplot().close(fig)


def plot_report(path: str, ious: np.ndarray, per_class: dict[str, float], title: str) -> None:
    """Histogram of matched IoUs (band limits marked) and mean IoU per class."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.4]}
    )
    left.hist(ious[ious > 0], bins=40, range=(0, 1), color="#4c72b0")
    for name, limit in DEFAULT_BANDS:
        left.axvline(limit, color="#c44e52", linestyle="--", linewidth=1)
        left.text(limit, left.get_ylim()[1] * 0.95, f" {name}", color="#c44e52", va="top")
    left.set_xlabel("IoU of matched pairs")
    left.set_ylabel("pairs")
    left.set_title(title)
    items = sorted(((v, k) for k, v in per_class.items() if v == v), reverse=True)[:30]
    right.barh([k for _, k in items][::-1], [v for v, _ in items][::-1], color="#55a868")
    right.set_xlim(0, 1)
    right.set_xlabel("mean IoU")
    right.set_title("per class (top 30)")
    fig.tight_layout()
    _save(fig, path)


def check_plot(path: str) -> None:
    """Fail before the work when ``--plot`` cannot be drawn or written."""
    from .errors import check_writable

    _pyplot()
    check_writable(path, "--plot")


def plot_semseg(
    path: str, iou: np.ndarray, names: list[str], pixels: np.ndarray, miou: float
) -> None:
    """Per-class IoU: its distribution over the classes that occur (``pixels``: ground
    truth plus predicted pixels of each class) and the bars of the largest classes."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.4]}
    )
    present = ~np.isnan(iou) & (pixels > 0)
    left.hist(iou[present], bins=20, range=(0, 1), color="#4c72b0")
    left.axvline(miou, color="#c44e52", linestyle="--", linewidth=1)
    left.text(miou, left.get_ylim()[1] * 0.95, f" mIoU {miou:.3f}", color="#c44e52", va="top")
    left.set_xlabel("IoU of a class")
    left.set_ylabel("classes")
    left.set_title(f"per-class IoU, {int(present.sum())} of {iou.shape[0]} classes present")
    order = [i for i in np.argsort(-pixels, kind="stable").tolist() if present[i]][:30]
    right.barh([names[i] for i in order][::-1], [iou[i] for i in order][::-1], color="#55a868")
    right.axvline(miou, color="#c44e52", linestyle="--", linewidth=1)
    right.set_xlim(0, 1)
    right.set_xlabel("IoU")
    right.set_title("the 30 classes with most ground-truth pixels")
    fig.tight_layout()
    _save(fig, path)
