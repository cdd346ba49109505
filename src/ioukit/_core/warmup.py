"""Compile (or load from the on-disk cache) the CPU kernels ahead of the first call.

Each *family* warms its kernels through the public functions on tiny inputs, so
it compiles exactly the specialisations real calls use: once as small calls run
them (serial twins) and once as large calls do (the parallel kernels). Families are independent:
``warmup(jobs=2)`` compiles them in parallel worker processes (filling the on-disk
cache with every core), then loads the cache into the calling process.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable

import numpy as np

from .loader import kernel

_FLOAT_DTYPES = ("float32", "float64")


def _boxes(dtypes: tuple[str, ...]) -> None:
    from .. import boxes

    for name in dtypes:
        a = np.array([[0, 0, 2, 2], [1, 1, 3, 4]], dtype=np.dtype(name))
        for fn in (boxes.box_iou, boxes.box_giou, boxes.box_diou, boxes.box_ciou, boxes.box_ioa):
            fn(a, a)
            fn(a, a, aligned=True)
        boxes.box_iou(a, a, crowd=[False, True])
        big = np.tile(a, (92, 1))  # 184 x 184 pairs: past boxes.SERIAL_PAIRS, the parallel kernels
        for fn in (boxes.box_iou, boxes.box_giou, boxes.box_diou, boxes.box_ciou, boxes.box_ioa):
            fn(big, big)
        boxes.box_iou(big, big, crowd=np.arange(len(big)) % 2 == 0)
        boxes.box_iou(np.tile(big, (179, 1)), np.tile(big, (179, 1)), aligned=True)  # parallel
        boxes.box_area(a)
        boxes.box_convert(a, "xyxy", "cxcywh")


def _sparse_boxes(dtypes: tuple[str, ...]) -> None:
    from .. import boxes

    for name in dtypes:
        a = np.array([[0, 0, 2, 2], [1, 1, 3, 4]], dtype=np.dtype(name))
        boxes.box_iou(a, a, threshold=0.5)
        boxes.box_iou(a, a, threshold=0.5, crowd=[False, True])


def _dense_masks(dtypes: tuple[str, ...]) -> None:
    from ..masks import label_overlap, mask_iou

    for width in (8, 5):  # 64-bit word scan, and the byte scan for other widths
        a = np.zeros((2, 4, width), dtype=bool)
        a[0, :2, :2] = True
        a[1, 1:, 1:] = True
        mask_iou(a, a)
        mask_iou(a, a, crowd=[False, True])
    labels = np.array([[0, 1, 1], [2, 2, 0]], dtype=np.int32)
    label_overlap(labels, labels)


def _sparse_masks(dtypes: tuple[str, ...]) -> None:
    from scipy import sparse

    from ..masks import mask_iou

    a = sparse.csr_array(np.array([[1, 1, 0, 0], [0, 1, 1, 1]], dtype=np.uint8))
    mask_iou(a, a)
    mask_iou(a, a, crowd=[False, True])


def _rle_masks(dtypes: tuple[str, ...]) -> None:
    from .. import rle
    from ..masks import mask_iou

    a = np.zeros((2, 4, 5), dtype=bool)
    a[0, :2, :2] = True
    a[1, 1:, 1:] = True
    rles = rle.encode(a)
    mask_iou(rles, rles)
    mask_iou(rles, rles, crowd=[False, True])
    mask_iou(a, rles)


def _rle_codec(dtypes: tuple[str, ...]) -> None:
    from .. import rle

    a = np.zeros((2, 4, 5), dtype=np.uint8)
    a[0, :2, :2] = 1
    a[1, 1:, 1:] = 1
    rle.encode(np.asfortranarray(a))  # the Fortran-order specialisation
    rles = rle.encode(a)
    rle.decode(rles)
    rle.area(rles)
    rle.to_bbox(rles)
    rle.merge(rles)
    rle.merge(rles, intersect=True)
    rle.from_bbox(np.array([[0.0, 0.0, 2.0, 3.0]]), 4, 5)
    rle.from_uncompressed({"size": [4, 5], "counts": [3, 2, 15]})


def _polygons(dtypes: tuple[str, ...]) -> None:
    from .. import rle

    rle.from_polygons([[0.0, 0.0, 4.0, 0.0, 4.0, 3.0, 0.0, 3.0]], 4, 5)


def _rotated(dtypes: tuple[str, ...]) -> None:
    from .. import polygon_iou
    from .._boxes import rotated

    for name in dtypes:
        boxes = np.array([[0, 0, 2, 1, 10], [1, 1, 3, 4, -20]], dtype=np.dtype(name))
        for metric in rotated.METRICS:
            rotated.rotated_pairwise(metric, boxes, boxes, fmt="cxcywha")
            rotated.rotated_pairwise(metric, boxes, boxes, fmt="cxcywha", aligned=True)
        rotated.rotated_sparse(boxes, boxes, fmt="cxcywha", threshold=0.5)
        rotated.rotated_convert(boxes, "cxcywha", "corners")
    corners = rotated.rotated_convert(np.array([[0.0, 0.0, 2.0, 1.0, 10.0]]), "cxcywha", "corners")
    polygon_iou(corners, corners)


def _nms(dtypes: tuple[str, ...]) -> None:
    from .. import nms, soft_nms

    for name in dtypes:
        dtype = np.dtype(name)
        boxes = np.array([[0, 0, 2, 1, 10], [1, 1, 3, 4, -20]], dtype=dtype)
        scores = np.array([0.9, 0.8], dtype=dtype)
        nms(boxes[:, :4] + [0, 0, 2, 2], scores, 0.5)
        nms(boxes, scores, 0.5, fmt="cxcywha")
        soft_nms(boxes[:, :4] + [0, 0, 2, 2], scores)


def _keypoints(dtypes: tuple[str, ...]) -> None:
    from ..evaluate.keypoints import keypoint_oks

    kpts = np.array([[1.0, 2.0, 2.0, 3.0, 4.0, 1.0]])
    keypoint_oks(kpts, kpts, [4.0], [0.5, 0.5], gt_boxes=[[0.0, 0.0, 4.0, 4.0]])


def _boundary(dtypes: tuple[str, ...]) -> None:
    from ..evaluate.boundary import boundary_iou

    a = np.zeros((1, 8, 8), dtype=np.uint8)
    a[0, 2:6, 2:6] = 1
    boundary_iou(a, a)


def _semantic(dtypes: tuple[str, ...]) -> None:
    from ..semantic import confusion_matrix

    for dtype in (np.uint8, np.uint16, np.int32, np.int64):  # the dtypes labels are cast to
        t = np.arange(16, dtype=dtype).reshape(4, 4) % 3
        confusion_matrix(t, t, 3)
        confusion_matrix(t, t, 3, ignore_index=2)


def _coco_data() -> tuple[dict, list, list]:
    from .. import rle

    square = [[1.0, 1.0, 6.0, 1.0, 6.0, 6.0, 1.0, 6.0]]
    crowd = {"size": [8, 8], "counts": [0, 4, 4, 4, 4, 4, 4, 4, 36]}
    images = [{"id": i, "height": 8, "width": 8} for i in (1, 2)]
    gt = {
        "images": images,
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25}
            | {"iscrowd": 0, "segmentation": square},
            {"id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 4, 4], "area": 16}
            | {"iscrowd": 1, "segmentation": crowd},
        ],
    }
    mask = np.zeros((8, 8), dtype=np.uint8)
    mask[1:6, 1:5] = 1
    counts = rle.encode(mask)["counts"]
    counts = counts.decode() if isinstance(counts, bytes) else counts
    segm, bbox = [], []
    for image, score in ((1, 0.9), (2, 0.4)):
        head = {"image_id": image, "category_id": image, "score": score}
        segm.append(head | {"segmentation": {"size": [8, 8], "counts": counts}})
        bbox.append(head | {"bbox": [1.0, 1.0, 4.0, 5.0]})
    return gt, bbox, segm


def _coco(dtypes: tuple[str, ...]) -> None:
    from ..evaluate import coco_evaluate

    gt, bbox, segm = _coco_data()
    coco_evaluate(gt, bbox, "bbox")
    coco_evaluate(gt, segm, "segm")


def _json(dtypes: tuple[str, ...]) -> None:
    import json

    from ..evaluate import readers

    gt, bbox, segm = _coco_data()
    saved = readers.FAST_JSON_BYTES
    readers.FAST_JSON_BYTES = 0  # the large-file readers, on tiny files
    try:
        readers.parse_json(b"[1]", "warmup")  # the orjson guard (when orjson is installed)
        with tempfile.TemporaryDirectory(prefix="ioukit-warmup-") as folder:
            for iou_type, results in (("bbox", bbox), ("segm", segm)):
                path = os.path.join(folder, f"{iou_type}.json")
                with open(path, "w") as handle:
                    json.dump(results, handle)
                truth = readers.read_ground_truth(gt, iou_type)
                readers.read_detections(path, truth, iou_type)
    finally:
        readers.FAST_JSON_BYTES = saved


FAMILIES: dict[str, Callable[[tuple[str, ...]], None]] = {
    "coco": _coco,  # longest first: parallel workers finish together
    "boxes": _boxes,
    "rle": _rle_codec,
    "dense_masks": _dense_masks,
    "sparse_boxes": _sparse_boxes,
    "semantic": _semantic,
    "rle_masks": _rle_masks,
    "sparse_masks": _sparse_masks,
    "polygons": _polygons,
    "json": _json,
    "rotated": _rotated,
    "nms": _nms,
    "keypoints": _keypoints,
    "boundary": _boundary,
}
"""Kernel families :func:`warmup` knows, by name."""


# A kernel of each family whose cache index on disk suggests the family is cached
# (then warmup(jobs=N) starts no workers; a missing signature still compiles here).
_MARKERS = {
    "coco": ("cpu_coco", "accumulate"),
    "boxes": ("cpu_boxes", "pairwise_ciou"),
    "rle": ("cpu_rle", "merge_counts"),
    "dense_masks": ("cpu_masks", "pack_masks"),
    "sparse_boxes": ("cpu_sparse", "fill_pairs"),
    "semantic": ("cpu_semantic", "confusion_uint8"),
    "rle_masks": ("cpu_masks", "pack_intervals"),
    "sparse_masks": ("cpu_masks", "intervals_from_indices"),
    "polygons": ("cpu_rle", "polygons_to_counts"),
    "json": ("cpu_json", "scan_results"),
    "rotated": ("cpu_rotated", "pairwise"),
    "nms": ("cpu_nms", "greedy"),
    "keypoints": ("cpu_oks", "oks_matrix"),
    "boundary": ("cpu_boundary", "band_counts"),
}


def _looks_cached(name: str) -> bool:
    from .compile_status import cache_is_warm

    module, attr = _MARKERS[name]
    return cache_is_warm([getattr(kernel(module), attr)])


def cold_families(families: Iterable[str]) -> list[str]:
    """The known families among ``families`` whose kernels are not in the on-disk cache
    (all of them with ``IOUKIT_CACHE=0``); compiles nothing.

    Examples
    --------
    >>> from ioukit._core.warmup import cold_families
    >>> cold_families(["no such family"])
    []
    """
    from .jit import CACHE

    known = [name for name in families if name in FAMILIES]
    return [name for name in known if not (CACHE and _looks_cached(name))]


def _warm_family(name: str, dtypes: tuple[str, ...]) -> float:
    """Warm one family twice: on its tiny inputs (the serial twins that small calls
    run, see ``jit.sized_call``) and again with every sized call made parallel (the
    kernels large inputs run). The NumPy twins that serve small inputs (see
    ``twins.twin_call``) are bypassed: warm-up is for the kernels."""
    from .jit import every_variant
    from .twins import kernels_only

    start = time.perf_counter()
    with kernels_only():
        FAMILIES[name](dtypes)
        with every_variant():
            FAMILIES[name](dtypes)
    return time.perf_counter() - start


def _check_families(families: Iterable[str] | None) -> list[str]:
    if families is None:
        return list(FAMILIES)
    if isinstance(families, str):
        families = [families]
    chosen = list(families)
    for name in chosen:
        if name not in FAMILIES:
            raise ValueError(
                f"warmup: unknown family {name!r}; choose from {', '.join(sorted(FAMILIES))}"
            )
    return chosen


def _check_jobs(jobs: int | None) -> int:
    if jobs is None:
        return max(1, os.cpu_count() or 1)
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise ValueError(f"warmup: jobs must be an integer >= 1 or None, got {jobs!r}")
    return int(jobs)


def warmup(
    dtypes: tuple[str, ...] = _FLOAT_DTYPES,
    *,
    families: Iterable[str] | None = None,
    jobs: int | None = 1,
) -> float:
    """Compile every CPU kernel now, so later calls (and processes) start at full speed.

    With the on-disk cache enabled (the default), the first process compiles and
    writes the cache; later processes only load it.

    Parameters
    ----------
    dtypes : tuple of str, default ("float32", "float64")
        The floating-point specialisations of the box kernels to prepare.
    families : iterable of str, optional
        Kernel families to prepare (default all of :data:`FAMILIES`): ``"boxes"``,
        ``"sparse_boxes"`` (``box_iou(threshold=)``), ``"dense_masks"``,
        ``"sparse_masks"``, ``"rle_masks"``, ``"rle"`` (the codec), ``"polygons"``,
        ``"semantic"``, ``"coco"`` (matching and accumulation, bbox and segm) and
        ``"json"`` (the compiled reader of result files).
    jobs : int or None, default 1
        Worker processes compiling families side by side (None: one per CPU). With
        more than one, the workers fill the on-disk cache with the families not yet
        in it, then this process loads it; without the cache (``IOUKIT_CACHE=0``)
        everything compiles here.

    Returns
    -------
    float
        Seconds spent.

    Raises
    ------
    ValueError
        An unknown family name, or ``jobs`` not a positive integer.

    Examples
    --------
    >>> import ioukit
    >>> seconds = ioukit.warmup(("float64",), families=["boxes"])
    >>> seconds >= 0
    True
    """
    chosen = _check_families(families)
    workers = min(_check_jobs(jobs), len(chosen))
    dtypes = tuple(str(np.dtype(d)) for d in dtypes)
    start = time.perf_counter()
    from .jit import CACHE

    cold = cold_families(chosen) if workers > 1 and CACHE else []
    if len(cold) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # no forked numba threads
        with ProcessPoolExecutor(max_workers=min(workers, len(cold)), mp_context=context) as pool:
            for future in [pool.submit(_warm_family, name, dtypes) for name in cold]:
                future.result()
    for name in chosen:  # compiles, or loads what the workers cached
        _warm_family(name, dtypes)
    return time.perf_counter() - start
