"""CrowdPose keypoint evaluation as faster-coco-eval's ``iouType="keypoints_crowd"``
with ``use_area=False``.

CrowdPose ground truth has no ``area``: the OKS scale is ``h * w * 0.53`` of the
ground-truth box. The summary has nine numbers: AP, AP50, AP75, AR, AR50, AR75 over
all images (area "all", maxDets 20), then AP over the easy / medium / hard images
(``crowdIndex`` below 0.2, below 0.8, the rest), each the plain mean of the
precision array at area "all" (its -1 entries included) rounded to 4 decimals, as
faster-coco-eval computes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .readers import _named, load_json

CROWDPOSE_SIGMAS = (
    np.array([0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89, 0.79, 0.79])
    / 10.0
)
"""The sigmas of CrowdPose's 14 keypoints."""

CROWDPOSE_STATS_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "AR",
    "AR50",
    "AR75",
    "AP_easy",
    "AP_medium",
    "AP_hard",
)


def crowdpose_evaluate(
    gt: Any,
    dt: Any,
    kpt_oks_sigmas: Any = None,
    *,
    easy_below: float = 0.2,
    hard_from: float = 0.8,
    client: Any = None,
) -> dict[str, float]:
    """CrowdPose AP/AR and the easy / medium / hard breakdown.

    Parameters
    ----------
    gt : str, path or dict
        CrowdPose ground truth (COCO keypoints; every image has a ``crowdIndex``).
    dt : str, path or list of dict
        Keypoint results.
    kpt_oks_sigmas : array_like, optional
        CrowdPose's 14 sigmas by default.
    easy_below, hard_from : float
        ``crowdIndex`` bounds of the easy and hard image groups (faster-coco-eval's).
    client : distributed.Client, optional
        A Dask client: the full evaluation and each crowd group are matched image
        by image on its workers (``ioukit[dask]``); the numbers do not change.

    Returns
    -------
    dict
        The nine numbers of :data:`CROWDPOSE_STATS_NAMES`.

    Examples
    --------
    >>> from ioukit.evaluate.crowdpose import crowdpose_evaluate
    >>> kp = [10, 10, 2] * 14
    >>> gt = {"images": [{"id": 1, "height": 50, "width": 50, "crowdIndex": 0.1}],
    ...       "categories": [{"id": 1, "name": "person"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
    ...                        "bbox": [5, 5, 10, 10], "num_keypoints": 14, "keypoints": kp}]}
    >>> r = crowdpose_evaluate(gt, [{"image_id": 1, "category_id": 1, "keypoints": kp,
    ...                             "score": 1.0}])
    >>> round(r["AP"], 6), r["AP_easy"], r["AP_hard"]
    (1.0, 1.0, -1.0)
    """
    from .keypoints import (
        KEYPOINT_AREA_LBL,
        KEYPOINT_AREA_RNG,
        KEYPOINT_MAX_DETS,
        read_keypoint_inputs,
    )
    from .params import COCOParams
    from .stages import evaluate_arrays

    def evaluate(p: Any) -> Any:
        if client is None:
            return evaluate_arrays(truth, dets, p)
        from .cluster import evaluate_on_cluster

        return evaluate_on_cluster(truth, dets, p, client)

    data = load_json(gt, "ground truth")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise _named(
            gt, "ground truth", ValueError("ground truth is not a COCO dict with 'images'")
        )
    index = []
    for i, img in enumerate(data["images"]):
        value = img.get("crowdIndex") if isinstance(img, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise _named(
                gt,
                "ground truth",
                ValueError(f"ground-truth image {i} has crowdIndex {value!r}, expected a number"),
            )
        index.append(float(value))
    anns = data.get("annotations")
    if isinstance(anns, list):  # CrowdPose has no areas; they only bound the unused ranges
        anns = [dict(a, area=a.get("area", 0.0)) if isinstance(a, dict) else a for a in anns]
        data = {**data, "annotations": anns}
    sigmas = CROWDPOSE_SIGMAS if kpt_oks_sigmas is None else kpt_oks_sigmas
    base = dict(
        iou_type="keypoints",
        max_dets=KEYPOINT_MAX_DETS,
        area_rng=KEYPOINT_AREA_RNG,
        area_rng_lbl=KEYPOINT_AREA_LBL,
        kpt_oks_sigmas=sigmas,
    )
    p = COCOParams(**base).checked()
    truth, dets = read_keypoint_inputs(data, dt, p)
    truth.oks_areas = truth.boxes[:, 3] * truth.boxes[:, 2] * 0.53  # faster-coco-eval's order
    full = evaluate(p)
    s = full.stats
    out = dict(zip(CROWDPOSE_STATS_NAMES[:6], (s[0], s[1], s[2], s[5], s[6], s[7]), strict=True))
    ids = np.array([img["id"] for img in data["images"]])
    crowd = np.array(index)
    groups = (crowd < easy_below, (crowd >= easy_below) & (crowd < hard_from), crowd >= hard_from)
    for name, member in zip(CROWDPOSE_STATS_NAMES[6:], groups, strict=True):
        part = COCOParams(**base, img_ids=ids[member].tolist()).checked()
        precision = evaluate(part).precision
        out[name] = round(float(np.mean(precision[:, :, :, 0, :])), 4)
    return {k: float(v) for k, v in out.items()}
