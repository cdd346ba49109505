"""The user guide's figures, drawn with matplotlib at build time (``docs/conf.py``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

A = (0.0, 0.0, 10.0, 10.0)
B = (5.0, 5.0, 15.0, 15.0)


def _box(ax, box, color, label, fill=False, alpha=0.25):
    x0, y0, x1, y1 = box
    ax.add_patch(
        Rectangle(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            fill=fill,
            alpha=alpha if fill else 1,
            edgecolor=color,
            facecolor=color,
            linewidth=2,
            label=label,
        )
    )


def _frame(ax, title):
    ax.set_xlim(-2, 17)
    ax.set_ylim(-2, 17)
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.set_title(title, fontsize=11)
    ax.legend(loc="lower left", fontsize=8)


def draw_all(out: Path) -> None:
    import ioukit

    fig, axes = plt.subplots(1, 5, figsize=(17, 3.8))
    iou = float(ioukit.box_iou([A], [B])[0, 0])
    ax = axes[0]
    _box(ax, A, "#4c72b0", "A")
    _box(ax, B, "#dd8452", "B")
    _box(ax, (5, 5, 10, 10), "#55a868", "A ∩ B = 25", fill=True)
    _frame(ax, f"IoU = 25 / 175 = {iou:.3f}")
    ax = axes[1]
    _box(ax, (0, 0, 15, 15), "#8172b3", "enclosing C = 225", fill=True, alpha=0.12)
    _box(ax, A, "#4c72b0", "A")
    _box(ax, B, "#dd8452", "B")
    _frame(ax, f"GIoU = IoU - (C - U) / C = {float(ioukit.box_giou([A], [B])[0, 0]):.3f}")
    ax = axes[2]
    _box(ax, A, "#4c72b0", "A")
    _box(ax, B, "#dd8452", "B")
    ax.plot([5, 10], [5, 10], color="#c44e52", linewidth=2, label="d (centres)")
    ax.plot([0, 15], [0, 15], color="#8172b3", linestyle="--", label="c (diagonal)")
    _frame(ax, f"DIoU = IoU - d² / c² = {float(ioukit.box_diou([A], [B])[0, 0]):.3f}")
    ax = axes[3]
    tall = (5.0, 2.0, 9.0, 16.0)
    _box(ax, A, "#4c72b0", "A (1:1)")
    _box(ax, tall, "#dd8452", "B (2:7)")
    _frame(ax, f"CIoU adds aspect term: {float(ioukit.box_ciou([A], [tall])[0, 0]):.3f}")
    ax = axes[4]
    small = (6.0, 6.0, 9.0, 9.0)
    _box(ax, A, "#4c72b0", "A")
    _box(ax, small, "#dd8452", "B inside A")
    _frame(
        ax,
        f"IoA over B = {float(ioukit.box_ioa([A], [small], over='b')[0, 0]):.1f}, "
        f"IoU = {float(ioukit.box_iou([A], [small])[0, 0]):.2f}",
    )
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=90)
    plt.close(fig)
