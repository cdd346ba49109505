"""The RLE decoder never reads or writes out of bounds: random and mutated strings either
decode to a valid mask or raise ValueError."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import ioukit
from ioukit import rle

VALID = [
    rle.encode(np.eye(16, dtype=bool))["counts"],
    b"Q21c000000o7",
    b"h02`012N_O0`00@1>OB3`0MQ8",
]


def decode_or_value_error(counts, h, w):
    try:
        mask = rle.decode({"size": [h, w], "counts": counts})
    except ValueError:
        return None
    assert mask.shape == (h, w)
    assert set(np.unique(mask).tolist()) <= {0, 1}
    return mask


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40), st.integers(0, 20), st.integers(0, 20))
def test_random_bytes(counts, h, w):
    decode_or_value_error(counts, h, w)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 255)), max_size=4),
    st.integers(0, 40),
    st.sampled_from([(16, 16), (20, 20), (4, 64), (1, 1)]),
)
def test_mutated_strings(base, edits, cut, size):
    data = bytearray(base)
    for pos, value in edits:
        if data:
            data[pos % len(data)] = value
    data = bytes(data[: max(0, len(data) - cut % 4)])
    mask = decode_or_value_error(data, *size)
    if mask is not None:  # whatever decodes must round-trip
        assert rle.decode(rle.encode(mask)).tolist() == mask.tolist()
        ioukit.mask_iou({"size": list(size), "counts": data}, mask)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 50), max_size=8), st.integers(0, 8), st.integers(0, 8))
def test_random_uncompressed_counts(counts, h, w):
    try:
        mask = rle.decode({"size": [h, w], "counts": counts})
    except ValueError:
        return
    assert mask.shape == (h, w) and mask.sum() == sum(counts[1::2])
