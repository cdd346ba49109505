"""Matching predictions to ground truth from an IoU matrix: greedy (COCO) or optimal."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Matches(NamedTuple):
    """Result of :func:`match`."""

    pairs: np.ndarray
    """(K, 2) int: (row, column) of each matched pair, rows ascending by score order."""
    ious: np.ndarray
    """(K,) IoU of each pair."""
    unmatched_rows: np.ndarray
    """Rows (predictions) left unmatched."""
    unmatched_cols: np.ndarray
    """Columns (ground truth) left unmatched (a crowd column that absorbed rows is matched)."""


def _best(values: np.ndarray) -> int:
    """Index of the maximum, the last one on ties (as COCO's ``>=`` scan), or -1."""
    if values.size == 0 or values.max() == -np.inf:
        return -1
    return values.size - 1 - int(np.argmax(values[::-1]))


def _greedy(iou: np.ndarray, order: np.ndarray, threshold: float, crowd: np.ndarray) -> list:
    taken = np.zeros(iou.shape[1], dtype=bool)
    pairs = []
    for row in order.tolist():
        usable = (iou[row] >= threshold) & ~(taken & ~crowd)
        # COCO prefers any regular ground truth to a crowd region
        col = _best(np.where(usable & ~crowd, iou[row], -np.inf))
        if col < 0:
            col = _best(np.where(usable & crowd, iou[row], -np.inf))
        if col >= 0:
            taken[col] = True
            pairs.append((row, col))
    return pairs


def match(
    iou: Any,
    threshold: float = 0.5,
    method: str = "greedy",
    scores: Any = None,
    crowd: Any = None,
) -> Matches:
    """Match predictions (rows of ``iou``) to ground truth (columns).

    Parameters
    ----------
    iou : array_like, shape (N, M)
        IoU of prediction i with ground truth j (any ioukit pairwise function).
    threshold : float, default 0.5
        Pairs below it never match.
    method : {"greedy", "optimal"}
        ``"greedy"``: predictions in descending score order (input order without
        ``scores``, stable) each take the best remaining ground truth, as COCO does;
        crowd columns can absorb several predictions and are used only when no
        regular column qualifies. ``"optimal"``: the assignment maximising the total
        IoU over pairs at or above ``threshold`` (Hungarian, SciPy); crowd is not
        used.
    scores : array_like, shape (N,), optional
        Prediction confidences (greedy order).
    crowd : array_like of bool, shape (M,), optional

    Returns
    -------
    Matches
        ``(pairs, ious, unmatched_rows, unmatched_cols)``.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit.evaluate import match
    >>> iou = np.array([[0.9, 0.6], [0.8, 0.1]])
    >>> match(iou).pairs.tolist()
    [[0, 0]]
    >>> match(iou, method="optimal").pairs.tolist()
    [[0, 1], [1, 0]]
    """
    matrix = np.asarray(iou, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"match: iou must be a 2-D (N, M) matrix, got shape {matrix.shape}")
    n, m = matrix.shape
    flags = np.zeros(m, bool) if crowd is None else np.asarray(crowd, dtype=bool).reshape(-1)
    if flags.shape != (m,):
        raise ValueError(f"match: crowd has {flags.shape[0]} flags for {m} columns")
    if method == "greedy":
        if scores is None:
            order = np.arange(n)
        else:
            s = np.asarray(scores, dtype=np.float64).reshape(-1)
            if s.shape != (n,):
                raise ValueError(f"match: scores has {s.shape[0]} values for {n} rows")
            order = np.argsort(-s, kind="mergesort")
        pairs = _greedy(matrix, order, threshold, flags) if n and m else []
    elif method == "optimal":
        from scipy.optimize import linear_sum_assignment

        gain = np.where(matrix >= threshold, matrix, 0.0)
        rows, cols = linear_sum_assignment(gain, maximize=True) if n and m else ([], [])
        pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if matrix[r, c] >= threshold]
    else:
        raise ValueError(f"match: method={method!r} is not 'greedy' or 'optimal'")
    pair_arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    matched_rows = np.zeros(n, bool)
    matched_cols = np.zeros(m, bool)
    matched_rows[pair_arr[:, 0]] = True
    matched_cols[pair_arr[:, 1]] = True
    return Matches(
        pairs=pair_arr,
        ious=matrix[pair_arr[:, 0], pair_arr[:, 1]],
        unmatched_rows=np.flatnonzero(~matched_rows),
        unmatched_cols=np.flatnonzero(~matched_cols),
    )
