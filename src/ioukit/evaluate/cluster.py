"""Evaluation on a Dask cluster: ``coco_evaluate(..., client=)`` (every ``iou_type``),
``lvis_evaluate(..., client=)``, ``crowdpose_evaluate(..., client=)`` and
``panoptic_evaluate(..., client=)``.

The images are split over the workers. For the COCO family each worker matches its
share (:func:`~ioukit.evaluate.stages.match_stage`, which also computes the OKS or
Boundary IoU matrices), the client merges the shares and accumulates; for panoptic
quality each worker reads and matches its images and the client adds the per-image
matches in image order. Either way the numbers are those of one process, to the
last bit.

Needs ``pip install 'ioukit[dask]'``. Panoptic PNG folders must be readable at the
same paths on every worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..distributed import _workers
from .stages import MatchStage, finish, match_stage, merge_stages


def _subset(truth: Any, dets: Any, image_lo: int, image_hi: int) -> tuple[Any, Any]:
    """The annotations and detections of images ``image_lo .. image_hi - 1`` (indices)."""
    g = (truth.ann_image >= image_lo) & (truth.ann_image < image_hi)
    d = (dets.image >= image_lo) & (dets.image < image_hi)
    return truth.take_annotations(np.flatnonzero(g)), dets.take(np.flatnonzero(d))


def _bounds(n: int, client: Any, parts: int | None) -> list[tuple[int, int]]:
    """``parts`` (default twice the workers) contiguous ``(lo, hi)`` ranges of ``n`` items."""
    parts = max(1, min(parts or 2 * _workers(client), n or 1))
    edges = np.linspace(0, n, parts + 1).astype(np.int64).tolist()
    return list(zip(edges[:-1], edges[1:], strict=True))


def match_on_cluster(
    truth: Any, dets: Any, params: Any, client: Any, parts: int | None = None
) -> MatchStage:
    """:func:`~ioukit.evaluate.stages.match_stage` with the images split over the
    workers of ``client``, the shares merged (the stage of one process)."""
    shares = [
        _subset(truth, dets, lo, hi) for lo, hi in _bounds(len(truth.image_ids), client, parts)
    ]
    futures = [client.submit(match_stage, t, d, params, pure=False) for t, d in shares]
    return merge_stages(client.gather(futures))


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
    return finish(
        match_on_cluster(truth, dets, params, client, parts), params, truth.category_names
    )


def _map_images(function: Callable, items: list) -> list:
    return [function(item) for item in items]


def map_images_on_cluster(
    function: Callable,
    items: list,
    client: Any,
    parts: int | None = None,
) -> Iterator[Any]:
    """``function(item)`` for every item, computed on the workers of ``client`` in
    contiguous shares (default four per worker), yielded in item order."""
    shares = _bounds(len(items), client, parts or 4 * _workers(client))
    futures = [client.submit(_map_images, function, items[lo:hi], pure=False) for lo, hi in shares]
    try:
        for future in futures:
            yield from future.result()
    finally:
        client.cancel(futures)
