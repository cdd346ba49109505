"""Beyond one machine: work spread over the workers of a Dask cluster.

* :func:`client_for`: a client connected to a scheduler's address.
* :func:`segmentation_iou_files`: the label-map pairs are split over the workers,
  each returns its confusion matrix, the client adds them exactly.

COCO evaluation on a cluster (``coco_evaluate(..., client=)``) lives in
:mod:`ioukit.evaluate.cluster`, ``box_iou(dask_a, dask_b, threshold=t)`` in
:mod:`ioukit.backends.dask`.

Needs ``pip install 'ioukit[dask]'``.
"""

from __future__ import annotations

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


def _confusion_of_files(pairs: list, num_classes: int, ignore_index: Any) -> np.ndarray:
    from .labelmaps import read_label_map
    from .semantic import SegmentationIoU

    metric = SegmentationIoU(num_classes, ignore_index)
    for gt, pred in pairs:
        metric.update(read_label_map(gt), read_label_map(pred))
    return metric.confusion


# duplicates pairs this parameter list with boxes.py's by shape alone (names and types,
# no shared logic): deliberate, each front-end spells out its own keywords
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
