"""The NumPy twins of the RLE kernels (``kernels.np_rle`` / ``np_polygons``) against the
compiled kernels of ``kernels.cpu_rle``: identical outputs whenever a twin does not
decline, untouched outputs when it does; plus pycocotools for the rasteriser."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ioukit._core.jit import serial_twin
from ioukit.kernels import cpu_rle, np_polygons, np_rle
from tests.helpers.masks import random_polygon

DATA = Path(__file__).resolve().parents[2] / "src" / "ioukit" / "data"
SENTINEL = -7777
PARALLEL = {"count_terminators", "decode_strings", "gather_segments"}
PARALLEL |= {"areas_from_counts", "polygon_bounds", "polygons_to_counts"}


def compiled(name):
    fn = getattr(cpu_rle, name)
    return serial_twin(fn) if name in PARALLEL else fn


def both(name, inputs, outputs):
    """Run kernel and twin on copies of ``outputs`` (filled with a sentinel); assert
    identical outputs, or untouched ones if the twin declined. Returns (kernel outputs,
    declined)."""
    theirs = [np.full_like(o, SENTINEL) for o in outputs]
    ours = [np.full_like(o, SENTINEL) for o in outputs]
    compiled(name)(*inputs, *theirs)
    result = getattr(np_rle, name)(*inputs, *ours)
    if result is NotImplemented:
        for o in ours:
            assert (o == SENTINEL).all(), f"{name} declined after writing"
        return theirs, True
    assert result is None
    for a, b in zip(theirs, ours, strict=True):
        np.testing.assert_array_equal(b, a)
    return theirs, False


def encode(counts) -> bytes:
    """COCO's string form of run lengths (written here for the tests)."""
    out = bytearray()
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            ch = x & 0x1F
            x >>= 5
            more = x != -1 if ch & 0x10 else x != 0
            out.append((ch | 0x20 if more else ch) + 48)
            if not more:
                break
    return bytes(out)


def decode_both(strings, areas, gaps=None, order=None):
    """Lay the strings out in one buffer (with gaps, in any order) and decode both ways."""
    gaps = gaps or [0] * len(strings)
    order = order or list(range(len(strings)))
    buf, starts, ends = bytearray(), [0] * len(strings), [0] * len(strings)
    for i in order:
        buf += b"!" * gaps[i]
        starts[i] = len(buf)
        buf += strings[i]
        ends[i] = len(buf)
    buf = np.frombuffer(bytes(buf), dtype=np.uint8)
    starts, ends = np.array(starts, np.int64), np.array(ends, np.int64)
    n = len(strings)
    (room,), declined = both("count_terminators", (buf, starts, ends), [np.zeros(n, np.int64)])
    assert not declined
    slots = np.zeros(n + 1, np.int64)
    np.cumsum(room, out=slots[1:])
    outputs = [np.zeros(max(int(slots[-1]), 1), np.int64)] + [np.zeros(n, np.int64)] * 3
    inputs = (buf, starts, ends, np.array(areas, np.int64), slots)
    (counts, lengths, status, where), declined = both("decode_strings", inputs, outputs)
    assert not declined
    return counts, lengths, status, where


# ---- compressed strings ---------------------------------------------------------

runs = st.lists(st.integers(0, 300), max_size=12)
texts = st.one_of(
    runs.map(encode),
    st.lists(st.integers(-(2**40), 2**40), max_size=6).map(encode),
    st.binary(max_size=20),
    st.text("0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmno", max_size=20).map(
        str.encode
    ),
    st.tuples(runs.map(encode), st.integers(0, 20), st.integers(0, 255)).map(
        lambda t: t[0][: t[1]] + bytes([t[2]]) + t[0][t[1] :]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(texts, st.integers(0, 3), st.integers(-1, 2000)), max_size=8), st.data())
def test_decode_strings_match(items, data):
    strings = [t for t, _, _ in items]
    areas = [a for _, _, a in items]
    order = data.draw(st.permutations(range(len(items))))
    decode_both(strings, areas, [g for _, g, _ in items], list(order))


def test_decode_valid_strings_use_their_sums():
    counts = [[5, 3, 0, 7], [0, 15], [], [2**58, 3], [15]]
    strings = [encode(c) for c in counts]
    out, lengths, status, _ = decode_both(strings, [sum(c) for c in counts])
    assert status.tolist() == [0] * 5 and lengths.tolist() == [4, 2, 0, 2, 1]
    assert out[:4].tolist() == [5, 3, 0, 7]


@pytest.mark.parametrize(
    "text, code, at",
    [
        (b"52 3", 1, 2),  # invalid character
        (b"52\x7f", 1, 2),
        (b"52o", 2, 3),  # truncated: the last byte has the "more" bit
        (b"o" * 13, 3, 12),  # a 13th group
        (b"o" * 12 + b"\x00", 1, 12),  # an invalid 13th group: invalid wins
        (encode([3, -2, 5]), 4, 0),
        (encode([3, 2, 6]), 5, 0),
        (encode([2**58] * 64 + [10]), 5, 0),  # adds up to 10 after wrapping around int64
    ],
)
def test_decode_errors_match(text, code, at):
    _, _, status, where = decode_both([b"1", text, b""], [1, 10, 0])
    assert status.tolist() == [0, code, 0]
    assert where.tolist() == [0, at, 0]


def test_decode_declines_out_of_range():
    buf = np.frombuffer(b"5220", dtype=np.uint8)
    out = [np.full(4, SENTINEL, np.int64) for _ in range(4)]
    args = (buf, np.array([0]), np.array([9]), np.array([9]), np.array([0]))
    assert np_rle.decode_strings(*args, *out) is NotImplemented
    assert np_rle.count_terminators(buf, np.array([-1]), np.array([2]), out[0]) is NotImplemented
    small = np.full(1, SENTINEL, np.int64)  # room for 1 count of 3
    args = (buf, np.array([0]), np.array([3]), np.array([9]), np.array([0]))
    assert np_rle.decode_strings(*args, small, *out[1:]) is NotImplemented
    assert (small == SENTINEL).all() and all((o == SENTINEL).all() for o in out)


# ---- gather, check, areas ----------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(-2, 6)), max_size=8), st.booleans())
def test_gather_segments_match(segments, packed):
    src = np.arange(40, dtype=np.int64) * 3 + 1
    starts = np.array([s for s, _ in segments], np.int64)
    lengths = np.array([k for _, k in segments], np.int64)
    room = np.maximum(lengths, 0) + (0 if packed else 2)
    offsets = np.zeros(len(segments) + 1, np.int64)
    np.cumsum(room, out=offsets[1:])
    inputs = (src, starts, lengths, offsets[:-1])
    _, declined = both("gather_segments", inputs, [np.zeros(int(offsets[-1]) + 1, np.int64)])
    assert declined == bool((starts + np.maximum(lengths, 0) > src.size).any())


def test_gather_declines():
    out = np.full(4, SENTINEL, np.int64)
    src = np.arange(4, dtype=np.int64)
    three = (src, np.array([0, 0]), np.array([2, 2]))
    assert np_rle.gather_segments(*three, np.array([0, 1]), out) is NotImplemented  # overlap
    assert np_rle.gather_segments(*three, np.array([0, 3]), out) is NotImplemented  # past end
    assert np_rle.gather_segments(out, np.array([0]), np.array([1]), np.array([2]), out) is (
        NotImplemented
    )
    assert (out == SENTINEL).all()


big = st.integers(-(2**63), 2**63 - 1)
run_values = st.one_of(st.integers(-3, 40), big, st.sampled_from([2**62, 2**63 - 1, 2**61]))
rle_lists = st.lists(st.lists(run_values, max_size=7), max_size=6)
area_values = st.one_of(st.integers(-2, 120), big, st.sampled_from([2**62, 2**63 - 1]))


def flat(lists):
    offsets = np.zeros(len(lists) + 1, np.int64)
    np.cumsum([len(x) for x in lists], out=offsets[1:])
    counts = np.array([v for x in lists for v in x], np.int64)
    return counts, offsets


@settings(max_examples=300, deadline=None)
@given(rle_lists, st.lists(area_values, min_size=6, max_size=6))
def test_check_counts_match(lists, areas):
    counts, offsets = flat(lists)
    n = len(lists)
    (status,), declined = both(
        "check_counts", (counts, offsets, np.array(areas[:n], np.int64)), [np.zeros(n, np.int64)]
    )
    assert not declined
    for i, x in enumerate(lists):  # and Python's exact arithmetic
        expected = 4 if min(x, default=0) < 0 else (0 if sum(x) == areas[i] else 5)
        assert status[i] == expected


@settings(max_examples=300, deadline=None)
@given(rle_lists, st.lists(area_values, min_size=6, max_size=6))
def test_areas_from_counts_match(lists, sizes):
    counts, offsets = flat(lists)
    n = len(lists)
    inputs = (counts, offsets, np.array(sizes[:n], np.int64))
    _, declined = both("areas_from_counts", inputs, [np.zeros(n, np.int64)])
    assert not declined


def test_check_and_areas_decline_bad_offsets():
    out = np.full(1, SENTINEL, np.int64)
    counts = np.array([1, 2, 3])
    two = np.array([0, 1, 3])  # two RLEs, but one area / one output slot
    assert np_rle.check_counts(counts, two, np.array([6]), np.zeros(2, np.int64)) is (
        NotImplemented
    )
    assert np_rle.areas_from_counts(counts, two, np.array([6, 6]), out) is NotImplemented
    assert np_rle.polygon_bounds(np.zeros(12), np.array([0, 6, 12]), np.array([4]), out) is (
        NotImplemented
    )
    assert np_rle.check_counts(counts, np.array([0, 5]), np.array([6]), out) is NotImplemented
    assert np_rle.areas_from_counts(counts, np.array([2, 1]), np.array([6]), out) is (
        NotImplemented
    )
    assert (out == SENTINEL).all()


# ---- merge ----------------------------------------------------------------------


def merge_both(lists, size, intersect):
    counts, offsets = flat(lists)
    theirs = cpu_rle.merge_counts(counts, offsets, np.int64(size), intersect)
    ours = np_rle.merge_counts(counts, offsets, np.int64(size), intersect)
    assert ours is not NotImplemented
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    return ours


merge_runs = st.one_of(st.integers(-2, 12), st.sampled_from([0, 0, 2**62, 2**63 - 1]))


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.lists(merge_runs, max_size=8), min_size=1, max_size=5),
    st.integers(-2, 40),
    st.booleans(),
)
def test_merge_counts_match(lists, size, intersect):
    merge_both(lists, size, intersect)


def test_merge_canonical_examples():
    assert merge_both([[0, 3, 3], [2, 2, 2]], 6, False).tolist() == [0, 4, 2]
    assert merge_both([[0, 3, 3], [2, 2, 2]], 6, True).tolist() == [2, 1, 3]
    assert merge_both([[0, 6], [0, 6]], 6, True).tolist() == [0, 6]
    assert merge_both([[6], [3, 0, 0, 3]], 6, False).tolist() == [3, 3]
    assert merge_both([[2, 0, 0, 2, 2], [6]], 6, False).tolist() == [2, 2, 2]
    assert merge_both([[1, 2, 3]], 6, False).tolist() == [1, 2, 3]  # one: copied as is
    assert merge_both([[1, 2, 3], [6]], 0, False).tolist() == [0]


def test_merge_declines_without_rles_or_signed_counts():
    assert np_rle.merge_counts(np.zeros(0, np.int64), np.zeros(1, np.int64), 4, False) is (
        NotImplemented
    )
    unsigned = np.array([2**63, 1, 2, 3], np.uint64)  # the kernel never sees it negative
    assert np_rle.merge_counts(unsigned, np.array([0, 2, 4]), 4, False) is NotImplemented
    status = np.full(1, SENTINEL, np.int64)
    assert np_rle.check_counts(unsigned, np.array([0, 4]), np.array([4]), status) is (
        NotImplemented
    )
    assert (status == SENTINEL).all()


# ---- polygons -------------------------------------------------------------------


def rasterise_both(polygons, heights, widths, room_extra=0):
    n = len(polygons)
    poly_offsets = np.zeros(n + 1, np.int64)
    np.cumsum([len(p) for p in polygons], out=poly_offsets[1:])
    xy = np.concatenate([np.asarray(p, np.float64) for p in polygons]) if n else np.zeros(0)
    heights, widths = np.array(heights, np.int64), np.array(widths, np.int64)
    (bounds,), declined = both(
        "polygon_bounds", (xy, poly_offsets, widths), [np.zeros(n, np.int64)]
    )
    assert not declined
    slots = np.zeros(n + 1, np.int64)
    np.cumsum(bounds + room_extra, out=slots[1:])
    inputs = (xy, poly_offsets, heights, widths, slots)
    outputs = [np.zeros(max(int(slots[-1]), 1), np.int64), np.zeros(n, np.int64)]
    (counts, lengths), declined = both("polygons_to_counts", inputs, outputs)
    return [counts[slots[i] : slots[i] + lengths[i]] for i in range(n)], declined


coordinate = st.one_of(
    st.floats(-20, 60, allow_nan=False),
    st.integers(-10, 50).map(float),
    st.integers(-2000, 2000).map(lambda v: v / 10),
    st.sampled_from([-1e6, 1e6, -0.1, 0.1, -0.5, 0.5, -1e15, 1e15, 1e9 + 0.3]),
)
polygon = st.lists(st.tuples(coordinate, coordinate), min_size=0, max_size=9).map(
    lambda pts: [v for p in pts for v in p]
)
side = st.one_of(st.integers(0, 40), st.sampled_from([1, 2, 1000, 100_000]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(polygon, side, side), min_size=1, max_size=5))
def test_polygons_match(items):
    polygons = [p for p, _, _ in items]
    _, declined = rasterise_both(polygons, [h for _, h, _ in items], [w for _, _, w in items])
    assert not declined or max(abs(v) for p in polygons for v in p) > 4e14


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(polygon, side, side), min_size=1, max_size=4))
def test_polygons_repeated_and_collinear(items):
    polygons = []
    for p, _, _ in items:
        pts = np.asarray(p + [0.0, 0.0], np.float64).reshape(-1, 2)[:3]
        mid = (pts[0] + pts[-1]) / 2
        polygons.append(np.r_[pts.ravel(), pts[0], mid, pts[-1], pts[-1]].tolist())
    rasterise_both(polygons, [h for _, h, _ in items], [w for _, _, w in items])


def test_polygon_edge_cases():
    polygons = [
        [1.0, 1, 6, 1, 6, 4],
        [],  # no vertex
        [2.0, 3],  # one vertex
        [2.0, 3, 2.0, 3, 2.0, 3],  # a point
        [0.0, 0, 10, 0, 10, 10, 0, 10],  # touching the border
        [-5.0, -5, 50, -5, 50, 50, -5, 50],  # covering the image
        [-1e14, -1e14, 1e14, -1e14, 0, 1e14],  # huge, mostly outside
        [3.0, -1e14, 3.4, 1e14, 2.6, 0],  # long steep edges
        [-0.3, -0.3, -0.1, 7.2, -0.2, 3],  # negative, rounding toward zero
        [1.0, 1, 6, 1, 6, 4, 7.5],  # an odd coordinate left over
        [2.0, 2, 8, 2, 8, 8] * 2,  # traced twice: every crossing twice (odd zero stretches)
        [2.0, 2, 8, 2, 8, 8] * 3,  # three times (even zero stretches)
        [2.0, 2, 8, 2, 8, 8, 2, 2, 8, 2.2, 8, 8],  # partly twice
    ]
    out, declined = rasterise_both(polygons, [10] * len(polygons), [10] * len(polygons))
    assert not declined
    assert out[1].tolist() == out[2].tolist() == [100]


def test_polygons_decline_inexact_steep_walks():
    # a steep edge of more than 2**52 grid steps: float64 cannot hold every step t, u(t)
    # skips values, and the kernel's walk no longer matches the plain one: the twin
    # declines (here the plain walk finds a crossing in column 0 that the kernel skips)
    polygon = [-3e14, -2.5, 3.3, 0.0, -1e15, -1e15, 1e7 + 0.3, 9e14 + 0.2]
    _, declined = rasterise_both([polygon], [50], [100_000])
    assert declined


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=30), st.data())
def test_first_true_bisection(firsts, data):
    # the fallback of the steep-edge search, which the estimate rarely leaves to it
    firsts = np.array(firsts, np.int64)
    lo = np.array([data.draw(st.integers(0, int(f))) for f in firsts], np.int64)
    hi = np.maximum(firsts, lo)
    found = np_polygons._first_true(lambda t: t >= firsts[: t.shape[0]], lo, hi)
    np.testing.assert_array_equal(found, np.maximum(firsts, lo))


def test_polygons_decline_small_room():
    polygons = [[0.0, 0, 10, 0, 10, 10, 0, 10]]
    out, declined = rasterise_both(polygons, [10], [10], room_extra=-20)
    assert declined
    xy = np.array([np.nan, 0, 1, 1, 2, 0])
    out = np.full(3, SENTINEL, np.int64)
    assert np_rle.polygon_bounds(xy, np.array([0, 6]), np.array([4]), out) is NotImplemented
    single = np.array([0, 0, 1, 1, 2, 0], np.float32)  # rounds otherwise than float64
    assert np_rle.polygon_bounds(single, np.array([0, 6]), np.array([4]), out) is (NotImplemented)
    assert (out == SENTINEL).all()


def test_polygons_against_pycocotools(rng):
    mask_utils = pytest.importorskip("pycocotools.mask")
    polygons, heights, widths = [], [], []
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 200, 2))
        polygons.append(random_polygon(rng, h, w))
        heights.append(h)
        widths.append(w)
    ours, declined = rasterise_both(polygons, heights, widths)
    assert not declined
    for p, h, w, counts in zip(polygons, heights, widths, ours, strict=True):
        theirs = mask_utils.frPyObjects([p], h, w)[0]
        assert encode(counts.tolist()) == theirs["counts"]


def test_sample_data_matches():
    data = json.loads(gzip.decompress((DATA / "instances_val2014_100.json.gz").read_bytes()))
    size = {im["id"]: (im["height"], im["width"]) for im in data["images"]}
    polygons, heights, widths, owners = [], [], [], []
    for i, ann in enumerate(data["annotations"]):
        if isinstance(ann["segmentation"], list):
            for p in ann["segmentation"]:
                polygons.append(p)
                heights.append(size[ann["image_id"]][0])
                widths.append(size[ann["image_id"]][1])
                owners.append(i)
    rasters, declined = rasterise_both(polygons, heights, widths)
    assert not declined
    owners = np.array(owners)
    for i in np.unique(owners):  # the union (and intersection) of each object's polygons
        parts = np.flatnonzero(owners == i)
        if parts.shape[0] > 1:
            area = heights[parts[0]] * widths[parts[0]]
            for intersect in (False, True):
                merge_both([rasters[k].tolist() for k in parts], area, intersect)
    results = gzip.decompress((DATA / "instances_val2014_fakesegm100_results.json.gz").read_bytes())
    segms = [r["segmentation"] for r in json.loads(results)]
    strings = [s["counts"].encode() for s in segms]
    areas = np.array([s["size"][0] * s["size"][1] for s in segms], np.int64)
    counts, lengths, status, _ = decode_both(strings, areas)
    assert not status.any()
    offsets = np.zeros(len(segms) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    counts = counts[: offsets[-1]]
    both("areas_from_counts", (counts, offsets, areas), [np.zeros(len(segms), np.int64)])
    both("check_counts", (counts, offsets, areas), [np.zeros(len(segms), np.int64)])


def test_twins_import_no_numba():
    code = "import ioukit.kernels.np_rle, sys; assert 'numba' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert np_polygons.polygons_to_counts is np_rle.polygons_to_counts
