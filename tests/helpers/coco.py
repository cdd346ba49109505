"""Running pycocotools' COCOeval on the same inputs, for live comparisons."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np


def pycocotools_eval(gt: dict, dt: list, iou_type: str, **params):
    """``(stats or None, precision, recall)`` from pycocotools, silenced."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(dt)) if dt else COCO()
        if not dt:
            coco_dt.dataset = {
                "images": gt["images"],
                "categories": gt.get("categories", []),
                "annotations": [],
            }
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        for key, value in params.items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        try:
            ev.summarize()
            stats = np.array(ev.stats)
        except IndexError:  # pycocotools cannot summarize empty iouThrs or < 3 maxDets
            stats = None
    return stats, ev.eval["precision"], ev.eval["recall"]
