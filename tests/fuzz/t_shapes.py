"""Targets ``rotated_nms`` and ``panoptic_png``: the families added after issue 11.

``rotated_nms``: rotated-box IoU (dense and ``threshold=``), convex ``polygon_iou``
and ``nms`` / ``batched_nms`` (axis-aligned and rotated) on boxes with hostile values
(NaN, inf, huge, zero-size, negative sides, angles far past a turn), scores and
thresholds. A returned IoU lies in [0, 1]; kept indices are distinct, in range and in
decreasing score.

``panoptic_png``: the PNG reader of the panoptic files on valid RGB / RGBA PNGs cut
short, with bytes flipped, chunk lengths or header sizes changed, or extra data; it
returns the header's pixels or raises ValueError (a kind it does not read itself is
NotFastPng, also accepted: the caller hands those to Pillow).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from .core import Target, check

VALUES = [0.0, -0.0, 1e-300, -1.0, 1e15, 1e300, np.inf, -np.inf, np.nan, 360.0 * 1e6]
FORMATS = ["cxcywha", "cxcywhr"]


def _rotated(rng: np.random.Generator, n: int, hostile: bool = True) -> np.ndarray:
    boxes = np.c_[rng.random((n, 2)) * 100, rng.random((n, 2)) * 40, rng.random(n) * 720 - 360]
    for _ in range(int(rng.integers(0, 3)) if hostile else 0):
        if n:
            boxes[int(rng.integers(n)), int(rng.integers(5))] = VALUES[
                int(rng.integers(len(VALUES)))
            ]
    return boxes


def generate_shapes(rng: np.random.Generator) -> dict:
    kind = ["rotated", "threshold", "polygon", "nms", "rotated_nms"][int(rng.integers(5))]
    n, m = int(rng.integers(0, 6)), int(rng.integers(0, 6))
    dtype = ["float64", "float32", "int64"][int(rng.integers(3))]
    case = {"kind": kind, "fmt": FORMATS[int(rng.integers(2))], "dtype": dtype}
    if kind == "polygon":
        k = int(rng.integers(3, 7))
        angles = np.sort(rng.random((n + m, k)) * 2 * np.pi, axis=1)
        radius = rng.random((n + m, 1)) * 10 + (rng.random() < 0.1) * 1e12
        poly = np.stack([np.cos(angles), np.sin(angles)], axis=-1) * radius[..., None]
        if rng.random() < 0.3 and n + m:
            poly[int(rng.integers(n + m)), int(rng.integers(k)), int(rng.integers(2))] = VALUES[
                int(rng.integers(len(VALUES)))
            ]
        case.update(a=poly[:n], b=poly[n:])
    elif kind == "nms":
        xy = rng.random((n + m, 2)) * 50
        boxes = np.c_[xy, xy + rng.random((n + m, 2)) * 30]
        if rng.random() < 0.3 and n + m:
            boxes[int(rng.integers(n + m)), int(rng.integers(4))] = VALUES[
                int(rng.integers(len(VALUES)))
            ]
        case.update(boxes=boxes)
    else:
        case.update(a=_rotated(rng, n), b=_rotated(rng, m), boxes=_rotated(rng, n + m))
    size = len(case.get("boxes", []))
    scores = np.round(rng.random(size), 1)  # ties
    if rng.random() < 0.1 and size:
        scores[int(rng.integers(size))] = VALUES[int(rng.integers(len(VALUES)))]
    case["scores"] = scores
    case["labels"] = rng.integers(0, 3, size)
    case["threshold"] = [0.5, 0.0, 1.0, 0.3, -0.1, 1.5, np.nan][int(rng.integers(7))]
    case["max_output"] = [None, None, 0, 2, -1][int(rng.integers(5))]
    return case


def _check_iou(iou: np.ndarray) -> None:
    values = np.asarray(iou, dtype=np.float64)
    check(bool(np.all((values >= 0) & (values <= 1))), f"IoU outside [0, 1]: {values}")


def _check_kept(kept: np.ndarray, scores: np.ndarray, max_output) -> None:
    kept = np.asarray(kept)
    check(kept.ndim == 1 and np.unique(kept).size == kept.size, f"kept {kept} repeats")
    check(bool(np.all((kept >= 0) & (kept < scores.size))), f"kept {kept} out of range")
    s = scores[kept]
    check(bool(np.all(s[:-1] >= s[1:])), f"kept scores {s} not in decreasing order")
    if max_output is not None and max_output >= 0:
        check(kept.size <= max_output, f"{kept.size} kept past max_output={max_output}")


def run_shapes(case: dict) -> None:
    import ioukit

    kind, fmt, dtype = case["kind"], case["fmt"], case["dtype"]
    with np.errstate(all="ignore"):
        a = np.asarray(case.get("a", np.zeros((0, 5)))).astype(dtype)
        b = np.asarray(case.get("b", np.zeros((0, 5)))).astype(dtype)
        boxes = np.asarray(case.get("boxes", np.zeros((0, 5)))).astype(dtype)
    if kind == "rotated":
        _check_iou(ioukit.box_iou(a, b, fmt=fmt))
        _check_iou(ioukit.box_giou(a, b, fmt=fmt) * 0.5 + 0.5)  # GIoU in [-1, 1]
    elif kind == "threshold":
        found = ioukit.box_iou(a, b, fmt=fmt, threshold=case["threshold"])
        dense = ioukit.box_iou(a, b, fmt=fmt)
        got = found.toarray()
        t = case["threshold"]
        check(np.array_equal(got, np.where(dense >= t, dense, 0)), "threshold= != dense IoU >= t")
    elif kind == "polygon":
        _check_iou(ioukit.polygon_iou(a, b))
    else:
        rotated = kind == "rotated_nms"
        scores, max_output = case["scores"], case["max_output"]
        options = {"fmt": fmt} if rotated else {}
        kept = ioukit.nms(boxes, scores, case["threshold"], max_output=max_output, **options)
        _check_kept(kept, scores, max_output)
        kept = ioukit.batched_nms(boxes, scores, case["labels"], case["threshold"], **options)
        _check_kept(kept, scores, None)


def warm_shapes() -> None:
    import ioukit

    rng = np.random.default_rng(0)
    for dtype in ("float64", "float32"):
        a, b = _rotated(rng, 4, False).astype(dtype), _rotated(rng, 3, False).astype(dtype)
        for fmt in FORMATS:
            ioukit.box_iou(a, b, fmt=fmt)
            ioukit.box_giou(a, b, fmt=fmt)
            ioukit.box_iou(a, b, fmt=fmt, threshold=0.3)
            ioukit.nms(a, rng.random(4), 0.5, fmt=fmt)
        xy = rng.random((5, 2)) * 10
        plain = np.c_[xy, xy + 3].astype(dtype)
        ioukit.nms(plain, rng.random(5), 0.5)
        ioukit.batched_nms(plain, rng.random(5), np.arange(5) % 2, 0.5)
        square = np.array([[[0, 0], [2, 0], [2, 2], [0, 2]]], dtype)
        ioukit.polygon_iou(square, square)


# ------------------------------------------------------------------- PNG files


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def generate_png(rng: np.random.Generator, mutate: bool = True) -> bytes:
    h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    channels = 3 if rng.random() < 0.7 else 4
    rows = b"".join(
        bytes([5 if mutate and rng.random() < 0.03 else int(rng.integers(0, 5))])
        + rng.integers(0, 256, w * channels, np.uint8).tobytes()
        for _ in range(h)
    )
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2 if channels == 3 else 6, 0, 0, 0)
    if mutate and rng.random() < 0.2:  # a header that lies about the size
        ihdr = struct.pack(">II", int(rng.integers(0, 2**31)), h) + ihdr[8:]
    data = bytearray(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(rows + b"\0" * (mutate and rng.random() < 0.1)))
        + _chunk(b"IEND", b"")
    )
    mutations = int(rng.integers(1, 4)) if mutate and rng.random() < 0.6 else 0
    for _ in range(mutations):
        mutation = rng.random()
        if mutation < 0.4 and data:
            data[int(rng.integers(len(data)))] = int(rng.integers(256))
        elif mutation < 0.7:
            del data[int(rng.integers(len(data) + 1)) :]
        else:
            at = int(rng.integers(8, max(len(data), 9)))
            data[at:at] = struct.pack(">I", int(rng.integers(0, 2**32)))
    return bytes(data)


def run_png(data: bytes) -> None:
    from ioukit.evaluate import panoptic_png

    try:
        pixels = panoptic_png.read_pixels(data, "fuzz.png")
    except panoptic_png.NotFastPng as err:
        raise ValueError(f"not a PNG this reader reads: {err}") from None
    check(pixels.dtype == np.uint8 and pixels.ndim == 3, f"pixels {pixels.dtype} {pixels.shape}")
    w, h = struct.unpack(">II", data[16:24])
    check(pixels.shape[:2] == (h, w), f"pixels {pixels.shape} for a {w}x{h} header")


def warm_png() -> None:
    for seed in range(4):
        run_png(generate_png(np.random.default_rng(seed), mutate=False))


TARGETS = {
    "rotated_nms": Target("rotated_nms", generate_shapes, run_shapes, warm_shapes),
    "panoptic_png": Target("panoptic_png", generate_png, run_png, warm_png),
}
