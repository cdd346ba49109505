"""Shared generators: random masks, COCO counts strings (written here from the
format's definition) and hostile numbers."""

from __future__ import annotations

import numpy as np

INT64_MAX = 2**63 - 1

#: integers a hostile file might hold: int64 edges, past them, powers of two
EDGE_INTS = [
    0,
    1,
    -1,
    2,
    255,
    256,
    2**15,
    2**16,
    2**31 - 1,
    2**31,
    2**32,
    2**32 + 1,
    2**53,
    2**53 + 1,
    2**62,
    INT64_MAX,
    -(2**63),
    2**63,
    2**64 - 1,
    2**64,
    2**64 + 4,
    10**20,
    -(10**20),
    120000,
]
EDGE_FLOATS = [
    0.0,
    -0.0,
    0.5,
    1e-300,
    5e-324,
    1e7,
    1e9,
    2e18,
    9.3e18,
    1e19,
    2e19,
    1e38,
    3.4e38,
    1e155,
    1e300,
    1.7976931348623157e308,
    -1e7,
    -2e18,
    -1e300,
    float("nan"),
    float("inf"),
    float("-inf"),
]


def edge_int(rng: np.random.Generator) -> int:
    value = EDGE_INTS[int(rng.integers(len(EDGE_INTS)))]
    return value + int(rng.integers(-2, 3)) if rng.random() < 0.3 else value


def edge_float(rng: np.random.Generator) -> float:
    return EDGE_FLOATS[int(rng.integers(len(EDGE_FLOATS)))]


def random_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    kind = rng.integers(4)
    if kind == 0:
        return np.zeros((h, w), np.uint8)
    if kind == 1:
        return (rng.random((h, w)) < rng.random()).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        y0, x0 = rng.integers(0, max(h, 1)), rng.integers(0, max(w, 1))
        mask[y0 : y0 + rng.integers(1, h + 2), x0 : x0 + rng.integers(1, w + 2)] = 1
    return mask


def mask_counts(mask: np.ndarray) -> list[int]:
    """Uncompressed COCO counts (column-major runs, starting with zeros)."""
    flat = np.asarray(mask, np.uint8).ravel(order="F")
    if flat.size == 0:
        return [0]
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.r_[0, change, flat.size]
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def compress(counts: list[int], wrap: bool = True) -> bytes:
    """COCO's compressed string of ``counts``; deltas in int64 arithmetic (``wrap``)
    like the C encoder, or exact Python integers."""
    out = bytearray()
    for i, value in enumerate(counts):
        x = int(value) - (int(counts[i - 2]) if i > 2 else 0)
        if wrap:
            x = (x + 2**63) % 2**64 - 2**63
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(c + 48)
    return bytes(out)


def mutate(rng: np.random.Generator, data: bytes, alphabet: bytes | None = None) -> bytes:
    """Random byte edits: replace, insert, delete, truncate, duplicate a slice."""
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        op = rng.integers(5)
        pos = int(rng.integers(0, len(buf) + 1))
        byte = (
            alphabet[int(rng.integers(len(alphabet)))]
            if alphabet and rng.random() < 0.8
            else int(rng.integers(256))
        )
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = byte
        elif op == 1:
            buf.insert(pos, byte)
        elif op == 2 and buf:
            del buf[min(pos, len(buf) - 1)]
        elif op == 3:
            del buf[pos:]
        else:
            end = min(len(buf), pos + int(rng.integers(1, 16)))
            buf[pos:pos] = buf[pos:end]
    return bytes(buf)
