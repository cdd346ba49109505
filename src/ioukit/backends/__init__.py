"""Backends: where a validated call runs, one module per kind of array.

``cpu`` runs host arrays (NumPy and array-likes); ``cuda`` and ``dask`` are
optional and imported only when such inputs arrive (``_core.dispatch`` finds
them by kind). The front-ends validate every option first and call a backend
once; each backend module provides the same names with the same keywords
(checked by ``tests/test_backends_interface.py``):

``NAME``
    How messages name the backend ("CUDA", "Dask").
``UNSUPPORTED_BOX_OPTIONS``
    ``{option: why}`` for the options of a box job it refuses; the front-end
    raises ``TypeError("box_iou: threshold= is not supported for CUDA inputs (...)")``
    before calling it.
``run_boxes(job)``
    Every box function (``box_iou`` and relatives, ``box_area``, ``box_convert``)
    from one :class:`ioukit._boxes.job.BoxJob`.
``mask_iou(a, b, crowd=None)``
    Dense mask IoU, (N, M) float64; ``crowd`` has exactly one flag per mask of ``b``.
``confusion_matrix(target, pred, num_classes, ignore_index)``
    The (C, C) int64 confusion matrix (``num_classes`` and ``ignore_index``
    already checked).

Rotated boxes and polygons go through ``_boxes.rotated.measure`` with a checked
``RotatedCall``: CUDA arrays to ``_boxes.rotated_cuda.measure_cuda``, Dask arrays to
``run_shapes(a, b, call)`` of the Dask backend (not part of the shared interface).
"""

#: name -> its parameters, as every backend module must declare them
INTERFACE: dict[str, tuple[str, ...]] = {
    "run_boxes": ("job",),
    "mask_iou": ("a", "b", "crowd"),
    "confusion_matrix": ("target", "pred", "num_classes", "ignore_index"),
}

#: constants every backend module defines
ATTRIBUTES = ("NAME", "UNSUPPORTED_BOX_OPTIONS")
