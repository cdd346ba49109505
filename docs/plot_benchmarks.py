"""Plot the recorded box benchmark (time versus size, log axes) for the benchmarks page.

The data come from ``python -m benchmarks.peers.boxes --json docs/_data/boxes.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def draw(data: Path, out: Path) -> None:
    records = json.loads(data.read_text())["records"]
    metrics = sorted({r["metric"] for r in records}, key=["iou", "giou", "diou", "ciou"].index)
    every_tool = sorted({r["tool"] for r in records}, key=lambda t: (not t.startswith("ioukit"), t))
    colors = {tool: f"C{i}" for i, tool in enumerate(every_tool)}
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 4.4), sharey=True)
    for ax, metric in zip(axes, metrics, strict=True):
        tools = [
            t for t in every_tool if any(r["tool"] == t and r["metric"] == metric for r in records)
        ]
        for tool in tools:
            rows = sorted(
                (r["n"], r["seconds"])
                for r in records
                if r["metric"] == metric and r["tool"] == tool
            )
            style = "-o" if tool.startswith("ioukit") else "--s"
            ax.loglog(
                [n for n, _ in rows],
                [t for _, t in rows],
                style,
                color=colors[tool],
                label=tool,
                markersize=4,
            )
        ax.set_title(metric)
        ax.set_xlabel("N = M boxes")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6, loc="upper left")
    axes[0].set_ylabel("seconds (median)")
    fig.tight_layout()
    fig.savefig(out / "bench_boxes.png", dpi=90)
    plt.close(fig)
