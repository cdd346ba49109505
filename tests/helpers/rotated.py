"""Shared helpers for the rotated-box, polygon and NMS tests: an independent float64
reference built on shapely 2 and the corner formula stated in issue 14."""

from __future__ import annotations

import numpy as np


def corners(boxes, fmt="cxcywha"):
    """(N, 4, 2) corners from the issue's formula: the offset of (+w/2, +h/2) in
    cxcywha is (w/2 cos a + h/2 sin a, h/2 cos a - w/2 sin a); cxcywhr is radians in
    the opposite sense."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
    cx, cy, w, h, ang = b.T
    a = np.deg2rad(ang) if fmt == "cxcywha" else -ang
    c, s = np.cos(a), np.sin(a)
    out = []
    for su, sv in [(1, 1), (-1, 1), (-1, -1), (1, -1)]:
        u, v = su * w / 2, sv * h / 2
        out.append(np.stack([cx + u * c + v * s, cy + v * c - u * s], axis=-1))
    return np.stack(out, axis=1)


def random_rotated(rng, n, scale=50.0, fmt="cxcywha"):
    """``n`` random rotated boxes; some zero-sized, some sharing centres and angles."""
    xy = rng.uniform(0, scale, size=(n, 2))
    wh = rng.uniform(0, scale / 2, size=(n, 2))
    ang = rng.uniform(-180, 180, size=n)
    if n:
        wh[rng.random(n) < 0.05, 0] = 0.0
        ang[rng.random(n) < 0.2] = rng.choice([0.0, 90.0, -90.0, 180.0], size=1)
    if fmt == "cxcywhr":
        ang = -np.deg2rad(ang)
    return np.concatenate([xy, wh, ang[:, None]], axis=1)


def shapely_metrics(pa, pb):
    """``(iou, giou, inter, area_a, area_b)`` (N, M) of polygon arrays (N, K, 2), (M, L, 2)."""
    import shapely

    ga, gb = shapely.polygons(np.asarray(pa, float)), shapely.polygons(np.asarray(pb, float))
    inter = shapely.area(shapely.intersection(ga[:, None], gb[None]))
    area_a, area_b = shapely.area(ga)[:, None], shapely.area(gb)[None]
    union = area_a + area_b - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    hull = shapely.area(shapely.convex_hull(shapely.union(ga[:, None], gb[None])))
    hull = np.maximum(hull, union)
    giou = iou - np.divide(hull - union, hull, out=np.zeros_like(hull), where=hull > 0)
    return iou, giou, inter, area_a, area_b


def greedy_reference(iou, scores, threshold):
    """Greedy NMS from a full IoU matrix (float64 scores, stable descending order)."""
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    suppressed = np.zeros(len(order), bool)
    keep = []
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        later = order[pos + 1 :]
        suppressed[later[iou[i, later] > threshold]] = True
    return np.array(keep, dtype=np.int64)
