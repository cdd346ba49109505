"""Figures of the training-loop guide (docs/guide/training.md), drawn at build time.

Hook (docs/conf.py ``_generate``)::

    import figures_training  # docs/figures_training.py

    figures_training.draw_all(out)

It writes ``training_pr.png``, ``training_f1.png``, ``training_confusion.png`` and
``training_errors.png`` into ``out`` from a seeded synthetic validation stream.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

NAMES = {0: "cat", 1: "dog", 2: "bird", 3: "car"}


def _metric():
    from ioukit.evaluate import MeanAveragePrecision

    rng = np.random.default_rng(7)
    metric = MeanAveragePrecision()
    for _ in range(60):
        n = int(rng.integers(2, 7))
        xy = rng.random((n, 2)) * 400
        boxes = np.c_[xy, xy + 20 + rng.random((n, 2)) * 120]
        labels = rng.integers(0, 4, n)
        skill = np.array([0.9, 0.75, 0.6, 0.85])[labels]
        guess = np.where(rng.random(n) < skill, labels, rng.integers(0, 4, n))
        noisy = boxes + rng.normal(0, 1, (n, 4)) * (4 + 12 * (1 - skill))[:, None]
        noisy[:, 2:] = np.maximum(noisy[:, 2:], noisy[:, :2] + 1)
        scores = np.clip(skill * rng.random(n) + 0.2 * (guess == labels), 0, 1)
        extra = rng.random((2, 2)) * 450
        metric.update(
            [
                {
                    "boxes": np.r_[noisy, np.c_[extra, extra + 40]],
                    "scores": np.r_[scores, rng.random(2) * 0.5],
                    "labels": np.r_[guess, rng.integers(0, 4, 2)],
                }
            ],
            [{"boxes": boxes, "labels": labels}],
        )
    return metric


def draw_all(out: Path) -> None:
    from ioukit.evaluate import analysis as an
    from ioukit.evaluate import analysis_plots as ap

    metric = _metric()
    figures = {
        "training_pr.png": ap.plot_precision_recall(an.precision_recall(metric), names=NAMES),
        "training_f1.png": ap.plot_f1(an.f1_scores(metric), names=NAMES),
        "training_confusion.png": ap.plot_confusion_matrix(
            an.confusion_matrix(metric), names=NAMES
        ),
        "training_errors.png": ap.plot_error_breakdown(an.error_breakdown(metric)),
    }
    for name, fig in figures.items():
        fig.savefig(Path(out) / name, dpi=110, bbox_inches="tight")
        plt.close(fig)


if __name__ == "__main__":
    import sys

    draw_all(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
