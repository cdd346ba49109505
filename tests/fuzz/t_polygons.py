"""Target ``polygons``: ``rle.from_polygons``, ``rle.from_bbox`` and
``rle.from_segmentation`` on hostile coordinates and image sizes.

Huge images get polygons whose part inside the image is small, so that a correct
rasteriser needs little memory (its output is bounded by the clipped polygon); huge,
NaN and infinite coordinates go on small images.
"""

from __future__ import annotations

import numpy as np

from .core import Target, check
from .gen import edge_float, edge_int

HUGE = [
    (120000, 120000),
    (2**31 - 1, 7),
    (7, 2**31 - 1),
    (2**31, 2**31),
    (2**40, 3),
    (10**9, 10**9),
]


def _coordinate(rng: np.random.Generator, extent: float) -> float:
    r = rng.random()
    if r < 0.7:
        return float(rng.uniform(-2, extent + 2))
    if r < 0.85:
        return float(np.round(rng.uniform(-1, extent + 1)))
    value = edge_float(rng)
    return value if rng.random() < 0.5 else -value


def _polygon(rng: np.random.Generator, extent: float) -> list:
    k = int(rng.choice([0, 1, 2, 3, 3, 4, 5, 8, 20]))
    poly = [_coordinate(rng, extent) for _ in range(2 * k)]
    r = rng.random()
    if r < 0.05:
        poly = poly + [1.0]  # odd length
    elif r < 0.1:
        poly = [[poly[i], poly[i + 1]] for i in range(0, len(poly) - 1, 2)]  # (K, 2)
    elif r < 0.13:
        poly = [str(v) for v in poly]
    elif r < 0.15:
        poly = [None] * len(poly)
    return poly


def generate(rng: np.random.Generator) -> dict:
    r = rng.random()
    if r < 0.75:
        h, w = int(rng.integers(0, 40)), int(rng.integers(0, 40))
        extent = float(max(h, w, 1))
    else:
        h, w = HUGE[int(rng.integers(len(HUGE)))]
        extent = 300.0  # the polygons stay near the origin (their clipped part is small)
    if rng.random() < 0.05:
        h, w = edge_int(rng), edge_int(rng)
    polygons = [_polygon(rng, extent) for _ in range(int(rng.integers(0, 4)))]
    box = [_coordinate(rng, extent) for _ in range(4)]
    if rng.random() < 0.7:
        box[2], box[3] = abs(box[2]), abs(box[3])
    return {"h": h, "w": w, "polygons": polygons, "bbox": box, "call": int(rng.integers(3))}


def _check_rles(rles: list, h: int, w: int, what: str) -> None:
    from ioukit import rle as R

    for r in rles:
        check(r["size"] == [h, w], f"{what}: size {r['size']} for a {h}x{w} image")
        area = R.area(r)
        check(0 <= area <= h * w, f"{what}: area {area} outside [0, {h}*{w}]")
        if h * w <= 1 << 20:
            check(int(R.decode(r).sum()) == area, f"{what}: decode and area disagree")


def run(case: dict) -> None:
    from ioukit import rle as R

    h, w = case["h"], case["w"]
    if case["call"] == 0:
        rles = R.from_polygons(case["polygons"], h, w)
        check(len(rles) == len(case["polygons"]), "from_polygons: one RLE per polygon")
        _check_rles(rles, h, w, "from_polygons")
    elif case["call"] == 1:
        _check_rles([R.from_bbox(case["bbox"], h, w)], h, w, "from_bbox")
    else:
        _check_rles([R.from_segmentation(case["polygons"], h, w)], h, w, "from_segmentation")


def warm() -> None:
    from ioukit import rle as R

    square = [1, 1, 4, 1, 4, 3, 1, 3]
    R.area(R.from_polygons([square, square], 5, 6))
    R.from_bbox([1, 1, 2, 2], 5, 6)
    R.from_segmentation([square, square], 5, 6)


TARGETS = {"polygons": Target("polygons", generate, run, warm)}
