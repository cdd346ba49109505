"""Targets ``rle_strings`` (compressed counts) and ``rle_counts`` (uncompressed lists).

Every RLE that parses goes through ``rle.area``, ``rle.to_bbox``, ``mask_iou``
(with itself and a valid mask) and ``rle.merge``, and through ``rle.decode`` when
the image is small; the results are held to the facts that tie them together.
"""

from __future__ import annotations

import numpy as np

from .core import Target, check
from .gen import INT64_MAX, compress, edge_int, mask_counts, mutate, random_mask

ALPHABET = bytes(range(48, 112))
DECODE_LIMIT = 1 << 22  # decode (h * w bytes) only below this many pixels
HUGE_SIZES = [
    (120000, 120000),
    (2**31, 2**31),
    (2**32, 2**32),
    (2**31 - 1, 3),
    (1, 2**62),
    (2**62, 4),
    (3037000500, 3037000500),
    (2**63 - 1, 1),
    (0, 2**40),
    (2**33, 2**31),
]


def _size(rng: np.random.Generator) -> tuple[int, int]:
    r = rng.random()
    if r < 0.7:
        return int(rng.integers(0, 12)), int(rng.integers(0, 12))
    if r < 0.85:
        return int(rng.integers(1, 300)), int(rng.integers(1, 300))
    return HUGE_SIZES[int(rng.integers(len(HUGE_SIZES)))]


def _wrapping_counts(rng: np.random.Generator, area: int) -> list[int]:
    """Non-negative counts whose int64 sum wraps around to ``area`` (or next to it),
    each within reach of the compressed format (a delta below 2**59)."""
    total = 2**64 * int(rng.integers(1, 3)) + area
    limit = 2**59 - 1
    counts = [int(rng.integers(0, 3))]
    while len(counts) < 80:
        i = len(counts)
        base = counts[i - 2] if i > 2 else 0
        rest = total - sum(counts)
        if abs(rest - base) <= limit:
            counts.append(rest)
            break
        step = int(rng.integers(2**57, limit))
        counts.append(min(base + step, rest) if rest > base else max(base - step, 0))
    if rng.random() < 0.3:
        counts[-1] += int(rng.choice([-1, 1]))
    return counts


def _valid_counts(rng: np.random.Generator, h: int, w: int) -> list[int]:
    if h * w <= DECODE_LIMIT:
        return mask_counts(random_mask(rng, h, w))
    # a few runs on a huge image
    area, counts, used = h * w, [], 0
    for _ in range(int(rng.integers(0, 6))):
        run = int(rng.integers(0, min(area - used, 2**40) + 1))
        counts.append(run)
        used += run
    counts.append(area - used)
    return counts


def _counts_for(rng: np.random.Generator, h: int, w: int) -> list[int]:
    r = rng.random()
    if r < 0.45:
        return _valid_counts(rng, h, w)
    if r < 0.7:
        return _wrapping_counts(rng, h * w)
    counts = _valid_counts(rng, h, w)
    for _ in range(int(rng.integers(1, 4))):  # hostile edits
        op = rng.integers(4)
        pos = int(rng.integers(0, len(counts) + 1))
        if op == 0 and counts:
            counts[min(pos, len(counts) - 1)] = edge_int(rng)
        elif op == 1:
            counts.insert(pos, edge_int(rng))
        elif op == 2 and counts:
            del counts[min(pos, len(counts) - 1)]
        else:
            counts.insert(pos, 0)  # zero-length runs are legal
    return counts


def _size_field(rng: np.random.Generator, h: int, w: int):
    r = rng.random()
    if r < 0.9:
        return [h, w]
    odd = [
        [float(h), float(w)],
        [h],
        [h, w, 1],
        "ab",
        None,
        [str(h), w],
        [True, w],
        [h + 0.5, w],
        [-h - 1, w],
        (h, w),
        np.array([h, w]),
        [edge_int(rng), edge_int(rng)],
    ]
    return odd[int(rng.integers(len(odd)))]


def generate_strings(rng: np.random.Generator) -> dict:
    h, w = _size(rng)
    r = rng.random()
    if r < 0.15:
        counts: bytes | str = bytes(
            rng.integers(40, 120, int(rng.integers(0, 40))).astype(np.uint8)
        )
    elif r < 0.45:
        counts = mutate(rng, compress(_valid_counts(rng, h, w)), ALPHABET)
    else:
        counts = compress(_counts_for(rng, h, w), wrap=rng.random() < 0.8)
    if rng.random() < 0.3:
        counts = counts.decode("latin-1")
    return {"size": _size_field(rng, h, w), "counts": counts}


def generate_counts(rng: np.random.Generator) -> dict:
    h, w = _size(rng)
    counts: object = _counts_for(rng, h, w)
    r = rng.random()
    if r < 0.1:
        counts = (
            np.array(counts, dtype=object if rng.random() < 0.5 else None)
            if all(-(2**63) <= c <= INT64_MAX for c in counts)
            else counts
        )
    elif r < 0.2:
        weird = [[1.0, 3.0], [1.5, 2.5], [True, 3], [[1, 3]], ["1", "3"], [None], {}, 7, [1e300]]
        counts = weird[int(rng.integers(len(weird)))]
    elif r < 0.25:
        dtype = np.dtype(str(rng.choice(["u8", "i4", "u1", "f8"])))
        small = [c % 200 if dtype.kind in "iu" else c for c in counts[:4]] or [0]
        counts = np.asarray(small, dtype=dtype)
    return {"size": _size_field(rng, h, w), "counts": counts}


def _small(size) -> bool:
    return size[0] * size[1] <= DECODE_LIMIT


def _exercise(rle: dict) -> None:
    from ioukit import mask_iou
    from ioukit import rle as R

    area = R.area(rle)  # parses and validates (ValueError/TypeError end the case)
    # from here on the RLE was accepted: its size is two non-negative integers
    size = [int(v) for v in rle["size"]]
    h, w = size
    check(0 <= area <= h * w, f"area {area} outside [0, h*w] for size {size}")
    box = R.to_bbox(rle)
    if area:
        check(
            box[0] >= 0
            and box[1] >= 0
            and box[0] + box[2] <= w
            and box[1] + box[3] <= h
            and box[2] >= 1
            and box[3] >= 1,
            f"to_bbox {box.tolist()} outside the {h}x{w} image (area {area})",
        )
    else:
        check(not box.any(), f"to_bbox {box.tolist()} of an empty mask")
    iou = mask_iou(rle, [rle, rle])
    expected = 1.0 if area else 0.0
    check(
        iou.shape == (1, 2) and np.all(iou == expected),
        f"mask_iou(r, r) = {iou.tolist()}, area {area}",
    )
    merged = R.merge([rle, rle])
    check(R.area(merged) == area, f"merge([r, r]) has area {R.area(merged)}, not {area}")
    inter = R.merge([rle, {"size": size, "counts": [h * w]}], intersect=True)
    check(R.area(inter) == 0, "intersection with an empty mask is not empty")
    if _small(size):
        mask = R.decode(rle)
        check(mask.shape == (h, w), f"decode shape {mask.shape}")
        check(int(mask.sum()) == area, f"decode has {int(mask.sum())} pixels, area says {area}")
        if area:
            cols = np.flatnonzero(mask.any(0))
            rows = np.flatnonzero(mask.any(1))
            truth = [cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1]
            check(box.tolist() == [float(v) for v in truth], f"to_bbox {box.tolist()} != {truth}")
        again = R.encode(mask)
        check(np.array_equal(R.decode(again), mask), "encode/decode round trip differs")
        other = random_mask(np.random.default_rng(area), h, w)
        check(
            np.isclose(mask_iou(rle, R.encode(other))[0, 0], mask_iou(mask, other)[0, 0]),
            "mask_iou of the RLE differs from the dense mask's",
        )


def run_strings(case: dict) -> None:
    _exercise(case)


def run_counts(case: dict) -> None:
    from ioukit import rle as R

    _exercise(case)
    R.from_uncompressed(case)
    R.from_uncompressed(case, validate=False) if _small(case["size"]) else None


def warm() -> None:
    from ioukit import mask_iou
    from ioukit import rle as R

    m = np.zeros((5, 6), np.uint8)
    m[1:3, 2:5] = 1
    for rle in (R.encode(m), {"size": [5, 6], "counts": mask_counts(m)}):
        _exercise(rle)
        R.from_uncompressed({"size": [5, 6], "counts": mask_counts(m)})
    big = {"size": [120000, 120000], "counts": [5, 2, 120000 * 120000 - 7]}
    mask_iou([big] * 4, [big] * 4)
    for bad in ({"size": [2, 2], "counts": b"0"}, {"size": [2, 2], "counts": [1, 1]}):
        try:
            R.area(bad)
        except ValueError:
            pass


TARGETS = {
    "rle_strings": Target("rle_strings", generate_strings, run_strings, warm),
    "rle_counts": Target("rle_counts", generate_counts, run_counts, warm),
}
