"""Interpretation bands for IoU values: excellent, good, poor."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Default lower bounds (exclusive) of the named bands, best first.
DEFAULT_BANDS: tuple[tuple[str, float], ...] = (("excellent", 0.95), ("good", 0.7))
LOWEST_BAND = "poor"


def iou_band(iou: float, bands: tuple[tuple[str, float], ...] = DEFAULT_BANDS) -> str:
    """Name the band of one IoU value.

    Parameters
    ----------
    iou : float
        The value to classify.
    bands : tuple of (name, threshold), default ``(("excellent", 0.95), ("good", 0.7))``
        Bands, best first; a value belongs to the first band whose threshold it
        exceeds, else to ``"poor"``.

    Returns
    -------
    str

    Examples
    --------
    >>> iou_band(25 / 175)
    'poor'
    >>> iou_band(0.96)
    'excellent'
    """
    for name, threshold in bands:
        if iou > threshold:
            return name
    return LOWEST_BAND


def band_shares(
    values: Any, bands: tuple[tuple[str, float], ...] = DEFAULT_BANDS
) -> dict[str, float]:
    """Share of ``values`` in each band (0 for every band when ``values`` is empty).

    Examples
    --------
    >>> band_shares([0.99, 0.8, 0.1, 0.2])
    {'excellent': 0.25, 'good': 0.25, 'poor': 0.5}
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    counts = dict.fromkeys([name for name, _ in bands] + [LOWEST_BAND], 0)
    remaining = np.ones(arr.shape, dtype=bool)
    for name, threshold in bands:
        hit = remaining & (arr > threshold)
        counts[name] = int(hit.sum())
        remaining &= ~hit
    counts[LOWEST_BAND] = int(remaining.sum())
    total = arr.size
    return {name: (count / total if total else 0.0) for name, count in counts.items()}
