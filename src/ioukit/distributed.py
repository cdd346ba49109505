"""Beyond one machine: data-set evaluation and huge sparse box IoU on a Dask cluster.

* :func:`evaluate_on_cluster` (``coco_evaluate(..., client=)``): the images are
  split over the workers, each matches its share, the client merges the shares and
  accumulates: the same numbers as one process.
* :func:`segmentation_iou_files`: the label-map pairs are split over the workers,
  each returns its confusion matrix, the client adds them exactly.
* :func:`sparse_box_iou_dask` (``box_iou(dask_a, dask_b, threshold=t)``): one task
  per pair of chunks finds the pairs above the threshold with the grid kernel; the
  result is a lazy value that computes to a SciPy sparse matrix.

Needs ``pip install 'ioukit[dask]'``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def client_for(address: str) -> Any:
    """A ``distributed.Client`` connected to the scheduler at ``address``.

    Examples
    --------
    >>> from distributed import LocalCluster
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     with client_for(cluster.scheduler_address) as client:
    ...         print(len(client.scheduler_info()["workers"]))
    1
    """
    try:
        from distributed import Client
    except ImportError as err:
        raise ImportError(
            "--scheduler needs distributed; install it with: pip install 'ioukit[dask]'"
        ) from err
    return Client(address)


def _workers(client: Any) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def _subset(truth: Any, dets: Any, image_lo: int, image_hi: int) -> tuple[Any, Any]:
    """The annotations and detections of images ``image_lo .. image_hi - 1`` (indices)."""
    g = (truth.ann_image >= image_lo) & (truth.ann_image < image_hi)
    d = (dets.image >= image_lo) & (dets.image < image_hi)
    gi, di = np.flatnonzero(g), np.flatnonzero(d)
    sub_truth = dataclasses.replace(
        truth,
        ann_ids=truth.ann_ids[gi],
        ann_image=truth.ann_image[gi],
        ann_category=truth.ann_category[gi],
        boxes=truth.boxes[gi],
        areas=truth.areas[gi],
        crowd=truth.crowd[gi],
        segmentations=None
        if truth.segmentations is None
        else [truth.segmentations[i] for i in gi.tolist()],
    )
    sub_dets = dataclasses.replace(
        dets,
        image=dets.image[di],
        category=dets.category[di],
        scores=dets.scores[di],
        boxes=None if dets.boxes is None else dets.boxes[di],
        areas=dets.areas[di],
        segmentations=None
        if dets.segmentations is None
        else [dets.segmentations[i] for i in di.tolist()],
        rles=None if dets.rles is None else _rle_subset(dets.rles, di),
    )
    return sub_truth, sub_dets


def _rle_subset(rles: Any, index: np.ndarray) -> Any:
    from ._masks.rleset import subset

    return subset(rles, index)


def _match_share(truth: Any, dets: Any, params: Any) -> Any:
    from .evaluate.coco import match_stage

    return match_stage(truth, dets, params)


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
    from .evaluate.coco import finish, merge_stages

    n_img = len(truth.image_ids)
    parts = max(1, min(parts or 2 * _workers(client), n_img or 1))
    bounds = np.linspace(0, n_img, parts + 1).astype(np.int64)
    shares = [
        _subset(truth, dets, int(lo), int(hi))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    futures = [client.submit(_match_share, t, d, params, pure=False) for t, d in shares]
    stages = client.gather(futures)
    return finish(merge_stages(stages), params, truth.category_names)


def _confusion_of_files(pairs: list, num_classes: int, ignore_index: Any) -> np.ndarray:
    from .labelmaps import read_label_map
    from .semantic import SegmentationIoU

    metric = SegmentationIoU(num_classes, ignore_index)
    for gt, pred in pairs:
        metric.update(read_label_map(gt), read_label_map(pred))
    return metric.confusion


def segmentation_iou_files(
    pairs: list,
    num_classes: int,
    ignore_index: Any,
    client: Any,
    class_names: Any = None,
    absent: Any = "nan",
) -> Any:
    """A :class:`~ioukit.semantic.SegmentationIoU` over (target, prediction) files,
    read and counted on the workers of ``client``; the counts add up exactly.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from PIL import Image
    >>> from distributed import Client
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "map.png")
    >>> Image.fromarray(np.array([[0, 1], [1, 1]], np.uint8)).save(path)
    >>> with Client(processes=False, dashboard_address=None) as client:
    ...     metric = segmentation_iou_files([(path, path)], 2, None, client)
    >>> metric.compute().miou
    1.0
    """
    from .semantic import SegmentationIoU

    metric = SegmentationIoU(num_classes, ignore_index, class_names=class_names, absent=absent)
    n = max(1, min(len(pairs), 4 * _workers(client)))
    chunks = [pairs[i::n] for i in range(n)]
    futures = [
        client.submit(_confusion_of_files, c, num_classes, ignore_index, pure=False)
        for c in chunks
        if c
    ]
    for confusion in client.gather(futures):
        metric.confusion += confusion
    metric.images = len(pairs)
    return metric


def _sparse_block(
    a: np.ndarray,
    b: np.ndarray,
    crowd: Any,
    start_a: int,
    start_b: int,
    threshold: float,
    options: dict,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import ioukit

    from .backends.dask import _LimitedThreads

    with _LimitedThreads():
        block = ioukit.box_iou(a, b, threshold=threshold, crowd=crowd, **options).tocoo()
    return block.row.astype(np.int64) + start_a, block.col.astype(np.int64) + start_b, block.data


def _assemble(blocks: list, shape: tuple[int, int]) -> Any:
    from scipy import sparse

    rows = np.concatenate([b[0] for b in blocks]) if blocks else np.zeros(0, np.int64)
    cols = np.concatenate([b[1] for b in blocks]) if blocks else np.zeros(0, np.int64)
    vals = np.concatenate([b[2] for b in blocks]) if blocks else np.zeros(0)
    return sparse.coo_array((vals, (rows, cols)), shape=shape).tocsr()


def sparse_box_iou_dask(a: Any, b: Any, crowd: Any, threshold: float, options: dict) -> Any:
    """Pairs with IoU >= ``threshold`` of two Dask box arrays: a ``dask.delayed`` value
    computing to a ``scipy.sparse.csr_array`` (one task per pair of chunks).

    Examples
    --------
    >>> import dask.array as da, ioukit
    >>> a = da.from_array([[0, 0, 10, 10], [20, 20, 30, 30]], chunks=1)
    >>> lazy = ioukit.box_iou(a, a, threshold=0.5)
    >>> lazy.compute().toarray()
    array([[1., 0.],
           [0., 1.]])
    """
    import dask

    starts_a = np.cumsum((0,) + a.chunks[0][:-1])
    starts_b = np.cumsum((0,) + b.chunks[0][:-1])
    flags = None if crowd is None else np.asarray(crowd, dtype=bool)
    blocks = []
    for block_a, sa in zip(a.to_delayed().ravel(), starts_a, strict=True):
        for k, (block_b, sb) in enumerate(zip(b.to_delayed().ravel(), starts_b, strict=True)):
            part = None if flags is None else flags[sb : sb + b.chunks[0][k]]
            blocks.append(
                dask.delayed(_sparse_block)(
                    block_a, block_b, part, int(sa), int(sb), threshold, options
                )
            )
    return dask.delayed(_assemble)(blocks, (a.shape[0], b.shape[0]))
