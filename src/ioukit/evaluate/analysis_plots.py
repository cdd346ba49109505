"""matplotlib figures of the detection analyses (needs the ``plot`` extra).

Each ``plot_*`` takes the result of the matching function in
:mod:`ioukit.evaluate.analysis` and returns a ``matplotlib.figure.Figure``; pass
``ax=`` to draw into an existing axes, ``names=`` to label classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .analysis import ERROR_TYPES, DetectionConfusion, ErrorBreakdown, F1Table, PRCurves


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("ioukit's plots need matplotlib: pip install 'ioukit[plot]'") from None
    return plt


def _axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=size)
    return fig, ax


def _label(c: Any, names: dict | None) -> str:
    return str(names.get(int(c), c)) if names else str(c)


def plot_precision_recall(
    curves: PRCurves, ax: Any = None, names: dict | None = None, max_classes: int = 20
) -> Any:
    """Precision against recall per class (the ``max_classes`` with most AP first)
    and the mean over classes (thick line).

    Examples
    --------
    >>> from ioukit.data import sample_path
    >>> from ioukit.evaluate.analysis import precision_recall
    >>> fig = plot_precision_recall(precision_recall(sample_path("gt"), sample_path("bbox")))
    >>> fig.axes[0].get_title()
    'precision-recall at IoU 0.5'
    """
    fig, ax = _axes(ax, (6, 5))
    shown = [k for k in np.argsort(-curves.ap, kind="stable") if curves.ap[k] > -1][:max_classes]
    for k in shown:
        label = f"{_label(curves.classes[k], names)} ({curves.ap[k]:.3f})"
        ax.plot(curves.recall, curves.precision[k], linewidth=1, alpha=0.7, label=label)
    if curves.map > -1:
        ax.plot(
            curves.recall,
            curves.overall,
            color="black",
            linewidth=3,
            label=f"all ({curves.map:.3f})",
        )
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(f"precision-recall at IoU {curves.iou_threshold:g}")
    ax.legend(fontsize="small", loc="lower left")
    return fig


def plot_f1(
    table: F1Table, ax: Any = None, names: dict | None = None, max_classes: int = 20
) -> Any:
    """F1 against the score threshold per class, each best point marked.

    Examples
    --------
    >>> from ioukit.data import sample_path
    >>> from ioukit.evaluate.analysis import f1_scores
    >>> table = f1_scores(sample_path("gt"), sample_path("bbox"), iou_threshold=0.75)
    >>> plot_f1(table, max_classes=5).axes[0].get_xlabel()
    'score threshold'
    """
    fig, ax = _axes(ax, (6, 5))
    order = np.argsort(-np.nan_to_num(table.best_f1, nan=-1), kind="stable")[:max_classes]
    for k in order:
        score, _, _, f1 = table.curves[k]
        if np.isnan(table.best_f1[k]) or score.size == 0:
            continue
        (line,) = ax.plot(score, f1, linewidth=1, label=_label(table.classes[k], names))
        if not np.isnan(table.best_threshold[k]):
            ax.plot([table.best_threshold[k]], [table.best_f1[k]], "o", color=line.get_color())
    ax.set(xlabel="score threshold", ylabel="F1", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(f"F1 at IoU {table.iou_threshold:g}")
    ax.legend(fontsize="small")
    return fig


def plot_confusion_matrix(
    confusion: DetectionConfusion,
    ax: Any = None,
    names: dict | None = None,
    normalize: bool = False,
) -> Any:
    """The matrix as a heat map (rows: true class, columns: predicted class);
    ``normalize=True`` divides each row by its sum.

    Examples
    --------
    >>> from ioukit.data import sample_path
    >>> from ioukit.evaluate.analysis import confusion_matrix
    >>> confusion = confusion_matrix(sample_path("gt"), sample_path("bbox"))
    >>> ax = plot_confusion_matrix(confusion, normalize=True).axes[0]
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('predicted', 'true')
    """
    k = confusion.matrix.shape[0]
    fig, ax = _axes(ax, (1.5 + 0.45 * k, 1.2 + 0.45 * k))
    m = confusion.matrix.astype(np.float64)
    if normalize:
        m = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(m, cmap="Blues")
    labels = [_label(c, names) for c in confusion.classes] + ["background"]
    ax.set_xticks(range(k), labels, rotation=90)
    ax.set_yticks(range(k), labels)
    ax.set(xlabel="predicted", ylabel="true")
    if k <= 30:
        top = m.max() if m.size else 0
        for (i, j), v in np.ndenumerate(m):
            if v:
                text = f"{v:.2f}" if normalize else str(int(v))
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v > top / 2 else "black",
                )
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(f"IoU > {confusion.iou_threshold:g}, score > {confusion.score_threshold:g}")
    return fig


def plot_error_breakdown(errors: ErrorBreakdown, ax: Any = None, what: str = "delta_ap") -> Any:
    """Bars of the six TIDE error types: the AP each would add if fixed
    (``what="delta_ap"``, TIDE's chart) or how many there are (``what="counts"``).

    Examples
    --------
    >>> from ioukit.data import sample_path
    >>> from ioukit.evaluate.analysis import error_breakdown
    >>> errors = error_breakdown(sample_path("gt"), sample_path("bbox"))
    >>> len(plot_error_breakdown(errors, what="counts").axes[0].patches)
    6
    """
    if what not in ("delta_ap", "counts"):
        raise ValueError(f"plot_error_breakdown: what={what!r} is not 'delta_ap' or 'counts'")
    fig, ax = _axes(ax, (6, 3.5))
    source = errors.delta_ap if what == "delta_ap" else errors.counts
    values = [source[name] for name in ERROR_TYPES]
    ax.bar(range(len(values)), values, color="tab:red")
    ax.set_xticks(range(len(values)), ERROR_TYPES, rotation=20)
    ax.set(ylabel="AP gained if fixed" if what == "delta_ap" else "count")
    ax.set_title(
        f"TIDE errors (AP {errors.ap:.3f} at IoU {errors.pos_threshold:g}, "
        f"{errors.true_positives} true positives)"
    )
    return fig
