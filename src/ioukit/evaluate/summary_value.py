"""One of pycocotools' summary numbers from the accumulated precision / recall arrays.

Shared by the COCO, keypoint and CrowdPose summaries (its own module so that the
protocol modules need not import the COCO settings that dispatch to them).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _summarize(precision, recall, p: Any, ap: int, iou_thr=None, area="all", max_dets=100) -> float:
    aind = [i for i, lbl in enumerate(p.area_rng_lbl) if lbl == area]
    mind = [i for i, m in enumerate(p.max_dets) if m == max_dets]
    s = precision if ap == 1 else recall
    if iou_thr is not None:
        s = s[np.where(iou_thr == p.iou_thrs)[0]]
    s = s[:, :, :, aind, mind] if ap == 1 else s[:, :, aind, mind]
    valid = s[s > -1]
    return -1.0 if valid.size == 0 else float(np.mean(valid))
