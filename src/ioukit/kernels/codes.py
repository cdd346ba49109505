"""Integer codes shared by the front-ends and every compile target (no numba import)."""

FORMAT_CODES = {"xyxy": 0, "xywh": 1, "cxcywh": 2}
METRIC_CODES = {"iou": 0, "giou": 1, "diou": 2, "ciou": 3, "ioa": 4, "crowd_iou": 5}
OVER_CODES = {"a": 0, "b": 1, "min": 2}
