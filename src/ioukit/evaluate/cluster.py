"""COCO evaluation on a Dask cluster (``coco_evaluate(..., client=)``): the images
are split over the workers, each matches its share (:func:`~ioukit.evaluate.stages.match_stage`),
the client merges the shares and accumulates: the same numbers as one process.

Needs ``pip install 'ioukit[dask]'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..distributed import _workers
from .stages import finish, match_stage, merge_stages


def _subset(truth: Any, dets: Any, image_lo: int, image_hi: int) -> tuple[Any, Any]:
    """The annotations and detections of images ``image_lo .. image_hi - 1`` (indices)."""
    g = (truth.ann_image >= image_lo) & (truth.ann_image < image_hi)
    d = (dets.image >= image_lo) & (dets.image < image_hi)
    return truth.take_annotations(np.flatnonzero(g)), dets.take(np.flatnonzero(d))


def evaluate_on_cluster(
    truth: Any, dets: Any, params: Any, client: Any, parts: int | None = None
) -> Any:
    """COCO evaluation with the images split over the workers of ``client``
    (what ``coco_evaluate(..., client=client)`` runs).

    Examples
    --------
    >>> from distributed import Client
    >>> from ioukit.evaluate import coco_evaluate
    >>> gt = {"images": [{"id": 1}, {"id": 2}], "categories": [{"id": 1}],
    ...       "annotations": [{"id": i, "image_id": i, "category_id": 1, "bbox": [0, 0, 4, 4],
    ...                        "area": 16, "iscrowd": 0} for i in (1, 2)]}
    >>> dt = [{"image_id": i, "category_id": 1, "bbox": [0, 0, 4, 5], "score": 0.9} for i in (1, 2)]
    >>> with Client(processes=False, dashboard_address=None) as client:
    ...     remote = coco_evaluate(gt, dt, client=client)
    >>> bool((remote.stats == coco_evaluate(gt, dt).stats).all())
    True
    """
    n_img = len(truth.image_ids)
    parts = max(1, min(parts or 2 * _workers(client), n_img or 1))
    bounds = np.linspace(0, n_img, parts + 1).astype(np.int64)
    shares = [
        _subset(truth, dets, int(lo), int(hi))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    futures = [client.submit(match_stage, t, d, params, pure=False) for t, d in shares]
    stages = client.gather(futures)
    return finish(merge_stages(stages), params, truth.category_names)
