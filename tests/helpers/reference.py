"""Plain NumPy float64 reference implementations: the oracle for every kernel.

Written for clarity, not speed: broadcasting over (N, M) pairs, no compiled code.
"""

from __future__ import annotations

import numpy as np


def to_xyxy(boxes, fmt="xyxy"):
    b = np.asarray(boxes, dtype=np.float64)
    if fmt == "xyxy":
        return b.copy()
    if fmt == "xywh":
        return np.concatenate([b[..., :2], b[..., :2] + b[..., 2:]], axis=-1)
    if fmt == "cxcywh":
        return np.concatenate([b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2], axis=-1)
    raise ValueError(fmt)


def _wh(boxes, fmt, offset):
    b = np.asarray(boxes, dtype=np.float64)
    if fmt == "xyxy":
        return b[..., 2] - b[..., 0] + offset, b[..., 3] - b[..., 1] + offset
    return b[..., 2] + offset, b[..., 3] + offset


def area(boxes, fmt="xyxy", offset=0):
    w, h = _wh(boxes, fmt, offset)
    return w * h


def _pairs(a, b, fmt, offset, aligned):
    xa, xb = to_xyxy(a, fmt), to_xyxy(b, fmt)
    wa, ha = _wh(a, fmt, offset)
    wb, hb = _wh(b, fmt, offset)
    if aligned:
        return xa, xb, wa, ha, wb, hb
    return (
        xa[..., :, None, :],
        xb[..., None, :, :],
        wa[..., :, None],
        ha[..., :, None],
        wb[..., None, :],
        hb[..., None, :],
    )


def _ratio(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def _inter(xa, xb, offset):
    iw = np.clip(
        np.minimum(xa[..., 2], xb[..., 2]) - np.maximum(xa[..., 0], xb[..., 0]) + offset, 0, None
    )
    ih = np.clip(
        np.minimum(xa[..., 3], xb[..., 3]) - np.maximum(xa[..., 1], xb[..., 1]) + offset, 0, None
    )
    return iw * ih


def _enclosing(xa, xb, offset):
    cw = np.maximum(xa[..., 2], xb[..., 2]) - np.minimum(xa[..., 0], xb[..., 0]) + offset
    ch = np.maximum(xa[..., 3], xb[..., 3]) - np.minimum(xa[..., 1], xb[..., 1]) + offset
    return cw, ch


def iou(a, b, fmt="xyxy", offset=0, aligned=False, crowd=None):
    xa, xb, wa, ha, wb, hb = _pairs(a, b, fmt, offset, aligned)
    inter = _inter(xa, xb, offset)
    union = wa * ha + wb * hb - inter
    if crowd is not None:
        union = np.where(np.asarray(crowd, dtype=bool), wa * ha + 0 * union, union)
    return _ratio(inter, union)


def ioa(a, b, over="a", fmt="xyxy", offset=0, aligned=False):
    xa, xb, wa, ha, wb, hb = _pairs(a, b, fmt, offset, aligned)
    inter = _inter(xa, xb, offset)
    area_a, area_b = wa * ha + 0 * inter, wb * hb + 0 * inter
    den = {"a": area_a, "b": area_b, "min": np.minimum(area_a, area_b)}[over]
    return _ratio(inter, den)


def giou(a, b, fmt="xyxy", offset=0, aligned=False):
    xa, xb, wa, ha, wb, hb = _pairs(a, b, fmt, offset, aligned)
    inter = _inter(xa, xb, offset)
    union = wa * ha + wb * hb - inter
    cw, ch = _enclosing(xa, xb, offset)
    c = cw * ch
    return _ratio(inter, union) - _ratio(c - union, c)


def diou(a, b, fmt="xyxy", offset=0, aligned=False, eps=1e-7):
    xa, xb, wa, ha, wb, hb = _pairs(a, b, fmt, offset, aligned)
    value = iou(a, b, fmt, offset, aligned)
    cw, ch = _enclosing(xa, xb, offset)
    dx = (xa[..., 0] + xa[..., 2]) / 2 - (xb[..., 0] + xb[..., 2]) / 2
    dy = (xa[..., 1] + xa[..., 3]) / 2 - (xb[..., 1] + xb[..., 3]) / 2
    return value - _ratio(dx**2 + dy**2, cw**2 + ch**2 + eps)


def ciou(a, b, fmt="xyxy", offset=0, aligned=False, eps=1e-7):
    xa, xb, wa, ha, wb, hb = _pairs(a, b, fmt, offset, aligned)
    value = iou(a, b, fmt, offset, aligned)
    v = (4 / np.pi**2) * (np.arctan2(wa, ha) - np.arctan2(wb, hb)) ** 2
    alpha = _ratio(v, 1 - value + v + eps)
    return diou(a, b, fmt, offset, aligned, eps) - alpha * v


METRICS = {"iou": iou, "giou": giou, "diou": diou, "ciou": ciou, "ioa": ioa}


def mask_iou(a, b, crowd=None):
    """IoU of (N, H, W) and (M, H, W) 0/1 masks by broadcasting (small inputs only)."""
    fa = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    fb = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    inter = fa @ fb.T
    area_a, area_b = fa.sum(1)[:, None], fb.sum(1)[None, :]
    union = area_a + area_b - inter
    if crowd is not None:
        union = np.where(np.asarray(crowd, bool)[None, :], area_a + 0 * union, union)
    return _ratio(inter, union)


def rle_counts(mask):
    """Column-major run lengths of one (H, W) 0/1 mask, starting with zeros."""
    flat = np.asarray(mask, dtype=np.uint8).T.ravel()
    counts, previous, run = [], 0, 0
    for v in flat:
        if v != previous:
            counts.append(run)
            run, previous = 0, v
        run += 1
    counts.append(run)
    return counts


def label_overlap(a, b):
    """IoU between labelled instances of two label images, by explicit loops."""
    a, b = np.asarray(a), np.asarray(b)
    ids_a = [v for v in np.unique(a) if v != 0]
    ids_b = [v for v in np.unique(b) if v != 0]
    out = np.zeros((len(ids_a), len(ids_b)))
    for i, u in enumerate(ids_a):
        for j, v in enumerate(ids_b):
            inter = np.sum((a == u) & (b == v))
            union = np.sum((a == u) | (b == v))
            out[i, j] = inter / union if union else 0.0
    return out, np.array(ids_a), np.array(ids_b)
