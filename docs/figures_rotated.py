"""The rotated-box guide's figure: both angle conventions, drawn at build time
(``docs/conf.py``) from ``ioukit.rotated_box_corners`` itself."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402


def _panel(ax, boxes, fmt, title, labels):
    import ioukit

    colours = ["#4c72b0", "#dd8452", "#55a868"]
    for box, colour, label in zip(boxes, colours, labels, strict=True):
        corners = ioukit.rotated_box_corners([box], fmt)[0]
        ax.add_patch(
            Polygon(corners, closed=True, fill=False, edgecolor=colour, linewidth=2, label=label)
        )
        ax.plot(*corners[0], "o", color=colour)  # the (+w/2, +h/2) corner
        mid = (corners[0] + corners[3]) / 2  # the middle of the +w/2 side: the box's x axis
        ax.annotate("", xy=mid, xytext=box[:2], arrowprops={"arrowstyle": "->", "color": colour})
    ax.set_xlim(-1, 13)
    ax.set_ylim(-1, 11)
    ax.set_aspect("equal")
    ax.invert_yaxis()  # image coordinates: y points down
    ax.set_xlabel("x")
    ax.set_ylabel("y (down)")
    ax.set_title(title, fontsize=11)
    ax.legend(loc="lower right", fontsize=8)


def draw_all(out: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    boxes_a = [[6, 5, 8, 4, 0], [6, 5, 8, 4, 30], [6, 5, 8, 4, 90]]
    title = 'fmt="cxcywha" (detectron2): degrees,\ncounter-clockwise on screen'
    _panel(axes[0], boxes_a, "cxcywha", title, ["a = 0", "a = 30", "a = 90"])
    boxes_r = [[6, 5, 8, 4, 0], [6, 5, 8, 4, math.pi / 6], [6, 5, 8, 4, math.pi / 2]]
    title = 'fmt="cxcywhr" (mmcv / mmrotate): radians,\nclockwise on screen'
    _panel(axes[1], boxes_r, "cxcywhr", title, ["r = 0", "r = pi/6", "r = pi/2"])
    fig.tight_layout()
    fig.savefig(out / "rotated_conventions.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    draw_all(Path("."))
