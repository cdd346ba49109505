"""COCO AP/AR, identical to pycocotools' ``COCOeval`` (evaluate, accumulate, summarize).

The protocol is pycocotools' to the last tie: 10 IoU thresholds, 101 recall
points, four area ranges, maxDets 1/10/100, crowd regions that absorb several
detections, ground truth outside the area range ignored, unmatched detections
outside it ignored, ``useCats``. The work runs in two compiled kernels (one pass
over every (image, category) group, one over every (category, area range)), so
a COCO-scale evaluation takes seconds, not minutes.
"""

from __future__ import annotations

from typing import Any

from .cluster import evaluate_on_cluster
from .params import STATS_NAMES, COCOParams, COCOResult, GtIdZeroWarning, summarize, warn_gt_id_zero
from .protocols import PROTOCOL_IOU_TYPES, protocol_defaults, read_protocol_inputs
from .readers import read_detections, read_ground_truth
from .stages import evaluate_arrays, match_stage

__all__ = [
    "STATS_NAMES",
    "COCOParams",
    "COCOResult",
    "GtIdZeroWarning",
    "coco_evaluate",
    "evaluate_arrays",
    "match_stage",
    "summarize",
]


def coco_evaluate(
    gt: Any,
    dt: Any,
    iou_type: str = "bbox",
    *,
    use_cats: bool = True,
    iou_thrs: Any = None,
    rec_thrs: Any = None,
    max_dets: Any = None,
    area_rng: Any = None,
    area_rng_lbl: Any = None,
    img_ids: Any = None,
    cat_ids: Any = None,
    match_gt_id_zero: bool = False,
    client: Any = None,
    kpt_oks_sigmas: Any = None,
    dilation_ratio: float = 0.02,
) -> COCOResult:
    """COCO detection / instance-segmentation evaluation, identical to pycocotools.

    Parameters
    ----------
    gt : str, path or dict
        COCO ground truth (file or loaded dict).
    dt : str, path or list of dict
        Detection results (file or loaded list), as for ``COCO.loadRes``.
    iou_type : {"bbox", "segm", "keypoints", "boundary"}
        "keypoints": OKS as pycocotools (its area ranges all / medium / large,
        ``maxDets=20`` and 10 summary numbers); "boundary": Boundary IoU as
        faster-coco-eval (the smaller of mask IoU and boundary-band IoU).
    use_cats, iou_thrs, rec_thrs, max_dets, area_rng, area_rng_lbl, img_ids, cat_ids
        pycocotools' ``Params`` (``useCats``, ``iouThrs``, ...); defaults as there.
    match_gt_id_zero : bool, default False
        pycocotools records a match by the ground truth's id, so a detection matched to
        a ground-truth annotation whose ``id`` is 0 counts as a false positive (and that
        object is never found). False (the default) gives pycocotools' numbers exactly
        and warns (:class:`GtIdZeroWarning`) when the ground truth has an id 0; True
        counts such matches as every other.
    kpt_oks_sigmas : array_like, optional
        Keypoint sigmas for ``iou_type="keypoints"`` (COCO's 17 by default).
    dilation_ratio : float, default 0.02
        Boundary band width for ``iou_type="boundary"``, as a fraction of the image
        diagonal.
    client : distributed.Client, optional
        Match the images on the workers of a Dask cluster, for every ``iou_type``
        (the same numbers as in one process; needs ``ioukit[dask]``).

    Returns
    -------
    COCOResult
        ``stats`` (the 12 numbers of ``COCOeval.stats``), ``precision``, ``recall``,
        ``scores``, per-category AP and a pycocotools-style ``summary()``.

    Examples
    --------
    >>> from ioukit.evaluate import coco_evaluate
    >>> gt = {"images": [{"id": 1, "height": 10, "width": 10}],
    ...       "categories": [{"id": 1, "name": "thing"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 0}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 5], "score": 0.9}]
    >>> r = coco_evaluate(gt, dt)
    >>> round(float(r.stats[0]), 3), round(float(r.stats[1]), 3)
    (0.7, 1.0)
    """
    defaults = COCOParams(**protocol_defaults(iou_type))
    p = COCOParams(
        iou_type=iou_type,
        iou_thrs=defaults.iou_thrs if iou_thrs is None else iou_thrs,
        rec_thrs=defaults.rec_thrs if rec_thrs is None else rec_thrs,
        max_dets=defaults.max_dets if max_dets is None else tuple(max_dets),
        area_rng=defaults.area_rng if area_rng is None else tuple(map(tuple, area_rng)),
        area_rng_lbl=defaults.area_rng_lbl if area_rng_lbl is None else tuple(area_rng_lbl),
        use_cats=bool(use_cats),
        img_ids=img_ids,
        cat_ids=cat_ids,
        match_gt_id_zero=bool(match_gt_id_zero),
        kpt_oks_sigmas=kpt_oks_sigmas,
        dilation_ratio=dilation_ratio,
    ).checked()
    if p.iou_type in PROTOCOL_IOU_TYPES:  # keypoints / boundary have their own readers
        truth, dets = read_protocol_inputs(gt, dt, p)
    else:
        truth = read_ground_truth(gt, p.iou_type)
        dets = read_detections(dt, truth, p.iou_type)
    if client is not None:
        warn_gt_id_zero(truth, p)
        return evaluate_on_cluster(truth, dets, p, client)
    return evaluate_arrays(truth, dets, p)
