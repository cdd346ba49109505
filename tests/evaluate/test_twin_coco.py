"""The NumPy twins of the COCO kernels (``kernels.np_coco``, ``kernels.np_masks``) give
the compiled kernels' outputs bit for bit, or decline (``NotImplemented``) leaving
every output untouched.

Differential: random groups (crowd, ignored and id-zero ground truth, area ranges,
several thresholds and maxDets, empty groups; boxes, masks and given IoU), random
accumulations, random RLEs; then the whole sample evaluation with the twins patched
in, every output array compared, and its summary against pycocotools.
"""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ioukit._core import jit
from ioukit._masks.intervals import rle_intervals
from ioukit._masks.rleset import from_counts_list
from ioukit.data import sample_path
from ioukit.evaluate import coco_evaluate
from ioukit.kernels import cpu_coco, cpu_masks, np_coco, np_masks
from tests.helpers.reference import rle_counts

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _identical(a, b) -> bool:
    """Equal values, float bits included, through tuples."""
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return a.tobytes() == b.tobytes()
    return np.array_equal(a, b)


def _differential(kernel, twin, args) -> bool:
    """Run the compiled kernel and the twin on copies; True when the twin ran (and
    matched), False when it declined (and wrote nothing)."""
    want, got = copy.deepcopy(args), copy.deepcopy(args)
    jit.serial_twin(kernel)(*want)
    result = twin(*got)
    if result is NotImplemented:
        assert _identical(got, args), "a declining twin wrote an output"
        return False
    assert result is None
    assert _identical(got, want)
    return True


# ----------------------------------------------------------------------------- matching


def _match_outputs(n_a, n_t, n_dt, n_groups, n_gt):
    """Zeroed ``(dt_matched, dt_ignored, gt_positive, gt_best_iou)`` of ``match_groups``."""
    return (
        np.zeros((n_a, n_t, n_dt), bool),
        np.zeros((n_a, n_t, n_dt), bool),
        np.zeros((n_a, n_groups), np.int64),
        np.zeros((n_a, n_t, n_gt)),
    )


def _random_groups(rng, n_groups, source):
    """Arguments of ``match_groups`` for random groups: IoU from ``source``
    ("boxes", "masks" or "given")."""
    n_gt = rng.integers(0, 6, n_groups)
    n_dt = rng.integers(0, 7, n_groups)
    gs = np.zeros(n_groups, np.int64)
    ds = np.zeros(n_groups, np.int64)
    np.cumsum(n_gt[:-1], out=gs[1:])
    np.cumsum(n_dt[:-1], out=ds[1:])
    ge, de = gs + n_gt, ds + n_dt
    sizes = n_gt * n_dt
    offsets = np.zeros(n_groups + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    g_all, d_all = int(n_gt.sum()), int(n_dt.sum())
    gt_area = rng.choice([0.0, 5.0, 20.0, 50.0, 200.0, np.nan], g_all)
    crowd = rng.random(g_all) < 0.2
    id_zero = rng.random(g_all) < 0.15
    dt_area = rng.choice([0.0, 5.0, 20.0, 50.0, 200.0, np.nan], d_all)
    grid = np.r_[np.linspace(0.5, 0.95, 10), 0.0, 1.0, -0.5, 2.0]
    thresholds = np.sort(rng.choice(grid, rng.integers(0, 5)))
    area_ranges = np.array([[0.0, 1e10], [0.0, 20.0], [20.0, 50.0], [50.0, 1e10]])
    area_ranges = area_ranges[: rng.integers(0, 5)]
    n_a, n_t = area_ranges.shape[0], thresholds.shape[0]
    out = _match_outputs(n_a, n_t, d_all, n_groups, g_all)
    ious = np.full(max(int(offsets[-1]), 1), -7.0)
    gt_boxes = dt_boxes = gt_sets = dt_sets = None
    if source == "boxes":  # small integer boxes: many ties, touching and empty boxes
        gt_boxes = rng.integers(0, 6, (g_all, 4)).astype(np.float64)
        dt_boxes = rng.integers(0, 6, (d_all, 4)).astype(np.float64)
    elif source == "masks":
        h, w = (5, 4) if rng.random() < 0.5 else (13, 9)
        gt_sets = _mask_sets(rng, g_all, h, w)
        dt_sets = _mask_sets(rng, d_all, h, w)
    else:
        ious[:] = rng.choice([0.0, 0.3, 0.5, 0.5, 0.7, 0.95, 1.0], ious.shape[0])
    gt = (gt_area, crowd, id_zero)
    bounds = (gs, ge, ds, de, offsets)
    return (
        bounds,
        gt_boxes,
        dt_boxes,
        gt_sets,
        dt_sets,
        gt,
        dt_area,
        thresholds,
        area_ranges,
        out,
        ious,
    )


def _mask_sets(rng, n, h, w):
    """Interval sets (as the front end builds them) of ``n`` random h x w masks:
    sparse, dense, or a random box (long runs, rows that do not overlap)."""
    masks = rng.random((n, h, w)) < rng.choice([0.1, 0.5, 0.9], (n, 1, 1))
    for m in masks[rng.random(n) < 0.4]:
        y, x = rng.integers(0, h, 2), rng.integers(0, w, 2)
        m[:] = False
        m[y.min() : y.max() + 1, x.min() : x.max() + 1] = True
    counts = [np.array(rle_counts(m), np.int64) for m in masks]
    return rle_intervals(from_counts_list(np.full(n, h), np.full(n, w), counts))


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_groups=st.integers(0, 7),
    source=st.sampled_from(["boxes", "masks", "given"]),
)
def test_match_groups_twin_is_the_kernel(seed, n_groups, source):
    args = _random_groups(np.random.default_rng(seed), n_groups, source)
    assert _differential(cpu_coco.match_groups, np_coco.match_groups, args)


def test_match_groups_on_one_group_by_hand():
    """Two detections and a crowd region: both match the crowd (reusable), and the
    best IoU left on it is the later detection's."""
    bounds = tuple(np.array([v]) for v in (0, 2, 0, 2, 0))
    gt_boxes = np.array([[0.0, 0, 10, 10], [0, 0, 20, 20]])
    dt_boxes = np.array([[0.0, 0, 20, 20], [0, 0, 19, 19]])
    gt = (np.array([100.0, 400.0]), np.array([False, True]), np.array([False, False]))
    out = _match_outputs(1, 2, 2, 1, 2)
    args = (
        bounds,
        gt_boxes,
        dt_boxes,
        None,
        None,
        gt,
        np.array([400.0, 361.0]),
        np.array([0.5, 0.95]),
        np.array([[0.0, 1e10]]),
        out,
        np.zeros(4),
    )
    assert _differential(cpu_coco.match_groups, np_coco.match_groups, args)
    np_coco.match_groups(*args)
    assert out[1][0, 0].all() and out[2][0, 0] == 1  # ignored (crowd), one positive


@pytest.mark.parametrize(
    "case",
    [
        "overlapping groups",
        "ious too short",
        "nan threshold",
        "nan iou",
        "float32 boxes",
        "nan box",
        "float32 matrix",
        "malformed set",
    ],
)
def test_match_groups_twin_declines_untouched(case):
    args = list(
        _random_groups(
            np.random.default_rng(7),
            4,
            "masks" if case == "malformed set" else "given" if case == "nan iou" else "boxes",
        )
    )
    gs, ge, ds, de, offsets = args[0]
    paired = int(np.flatnonzero((ge - gs) * (de - ds) > 0)[0])  # a group with pairs
    if case == "overlapping groups":
        args[0] = (gs, ge + 1, ds, de, offsets)
    elif case == "ious too short":
        args[10] = args[10][:-1]
    elif case == "nan threshold":
        args[7] = np.r_[args[7], np.nan]
        args[9] = tuple(
            np.zeros(o.shape[:1] + (o.shape[1] + 1,) + o.shape[2:], o.dtype) if o.ndim == 3 else o
            for o in args[9]
        )
    elif case == "nan iou":
        args[10][0] = np.nan
    elif case == "float32 boxes":
        args[1] = args[1].astype(np.float32)
    elif case == "nan box":
        args[2][ds[paired], 2] = np.nan
    elif case == "float32 matrix":  # the kernel would round every IoU to float32
        args[10] = args[10].astype(np.float32)
    else:
        starts, first, count = args[3][0], args[3][2], args[3][3]
        starts[first[np.flatnonzero(count)[0]]] = -5  # an interval before the image
    before = copy.deepcopy(tuple(args))
    assert np_coco.match_groups(*args) is NotImplemented
    assert _identical(tuple(args), before)


def _one_set(starts, ends, count=None, lo=None, hi=None):
    """One interval set (the tuple of ``rle_intervals``) from its intervals."""
    n = len(starts) if count is None else count
    lo = (starts[0] if len(starts) else 0) if lo is None else lo
    hi = (ends[-1] if len(ends) else 0) if hi is None else hi
    arrays = (starts, ends, [0], [n], [lo], [hi], [0], [9], [n])
    return tuple(np.array(x, dtype=np.int64) for x in arrays)


@pytest.mark.parametrize(
    "bad",
    [
        _one_set([0, 4], [5, 8]),  # overlapping intervals
        _one_set([0, 6, 2], [1, 7, 9]),  # not sorted
        _one_set([0, 3], [2, 3]),  # an empty interval
        _one_set([0, 5], [2, 8], lo=1),  # lo is not the first start
        _one_set([0, 5], [2, 8], hi=9),  # hi is not the last end
        _one_set([0, 5], [2, 8], count=3),  # more intervals than stored
        _one_set([0, 5], [2, 8], count=-1, lo=0, hi=8),
        _one_set([-2, 5], [2, 8]),  # before the image
    ],
)
def test_pair_intersections_refuses_malformed_sets(bad):
    """A malformed set that a pair reads declines (one the culling skips is never
    read, by the kernel either)."""
    good = _one_set([1], [7])
    pair = np.array([0])
    assert np_masks.pair_intersections(good, pair, good, pair)[0] == 6
    assert np_masks.pair_intersections(bad, pair, good, pair) is None
    assert np_masks.pair_intersections(good, pair, bad, pair) is None


def test_match_groups_huge_and_touching_boxes():
    """Touching boxes (IoU 0), zero-area boxes and coordinates near 1e300 (the
    product overflows: the twin declines only if an IoU is not finite)."""
    bounds = tuple(np.array([v]) for v in (0, 3, 0, 3, 0))
    gt_boxes = np.array([[0.0, 0, 10, 10], [10, 0, 10, 10], [5, 5, 0, 0]])
    dt_boxes = np.array([[0.0, 0, 10, 10], [1e300, 1e300, 1e300, 1e300], [5, 5, 0, 0]])
    gt = (np.array([100.0, 100, 0]), np.zeros(3, bool), np.zeros(3, bool))
    out = _match_outputs(1, 1, 3, 1, 3)
    args = (
        bounds,
        gt_boxes,
        dt_boxes,
        None,
        None,
        gt,
        np.array([100.0, 1e300, 0.0]),
        np.array([0.5]),
        np.array([[0.0, 1e10]]),
        out,
        np.zeros(9),
    )
    _differential(cpu_coco.match_groups, np_coco.match_groups, args)
    gt_boxes[:, :2] += 1e300  # every IoU finite again, with huge coordinates
    dt_boxes[1] = [1e300, 1e300, 10, 10]
    assert _differential(cpu_coco.match_groups, np_coco.match_groups, args)


# ----------------------------------------------------------------------------- accumulation


def _random_accumulation(rng, n_cats, n_rec, dims=None):
    n_a, n_t = dims or (int(rng.integers(0, 5)), int(rng.integers(0, 4)))
    per_cat = rng.integers(0, 12, n_cats)
    starts = np.zeros(n_cats, np.int64)
    np.cumsum(per_cat[:-1], out=starts[1:])
    stops = starts + per_cat
    n_d = int(per_cat.sum())
    groups = rng.integers(0, 4, n_cats)
    g_start = np.zeros(n_cats, np.int64)
    np.cumsum(groups[:-1], out=g_start[1:])
    g_stop = g_start + groups
    gt_positive = rng.integers(0, 4, (n_a, int(groups.sum()))) * (rng.random((n_a, 1)) < 0.8)
    scores = rng.choice([0.1, 0.5, 0.5, 0.9, 1.0], n_d)
    order = np.empty(n_d, np.int64)
    for lo, hi in zip(starts, stops, strict=True):
        order[lo:hi] = lo + np.argsort(-scores[lo:hi], kind="stable")
    rank = rng.integers(0, 12, n_d)
    matched = rng.random((n_a, n_t, n_d)) < 0.5
    ignored = rng.random((n_a, n_t, n_d)) < 0.2
    n_m = int(rng.integers(0 if dims is None else 1, 4))  # fixed dims: some maxDets
    max_dets = np.sort(rng.choice([1, 3, 10, 100], n_m, replace=False))
    rec = np.linspace(0, 1, n_rec) if n_rec else np.zeros(0)
    shape = (n_t, n_rec, n_cats, n_a, max_dets.shape[0])
    out = (-np.ones(shape), -np.ones((n_t, n_cats, n_a, shape[4])), -np.ones(shape))
    return (
        (starts, stops, g_start, g_stop),
        gt_positive.astype(np.int64),
        order,
        rank,
        scores,
        (matched, ignored),
        max_dets.astype(np.int64),
        rec,
        out,
    )


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_cats=st.integers(1, 6),
    n_rec=st.sampled_from([0, 1, 7, 101]),
)
def test_accumulate_twin_is_the_kernel(seed, n_cats, n_rec):
    args = _random_accumulation(np.random.default_rng(seed), n_cats, n_rec)
    assert _differential(cpu_coco.accumulate, np_coco.accumulate, args)


def test_accumulate_odd_recall_thresholds():
    """NaN (finds nothing, as NumPy's searchsorted), negative, above 1, unsorted,
    and thresholds that are exact recalls (1/3, 2/3)."""
    args = list(_random_accumulation(np.random.default_rng(3), 4, 7, (2, 3)))
    args[7] = np.array([np.nan, -0.5, 1.5, 2 / 3, 1 / 3, 0.0, 1.0])
    assert _differential(cpu_coco.accumulate, np_coco.accumulate, tuple(args))


def test_accumulate_no_detection_and_no_positive():
    args = list(_random_accumulation(np.random.default_rng(5), 3, 11, (2, 3)))
    args[0] = (args[0][0], args[0][0].copy(), args[0][2], args[0][3])  # no detections
    assert _differential(cpu_coco.accumulate, np_coco.accumulate, tuple(args))
    args[1] = np.zeros_like(args[1])  # no positives: everything stays -1
    assert _differential(cpu_coco.accumulate, np_coco.accumulate, tuple(args))


@pytest.mark.parametrize(
    "case",
    ["order out of range", "negative positives", "bad groups", "float positives", "short output"],
)
def test_accumulate_twin_declines_untouched(case):
    args = list(_random_accumulation(np.random.default_rng(11), 3, 11, (2, 3)))
    if case == "order out of range":
        args[2] = args[2].copy()
        args[2][0] = 10**6
    elif case == "negative positives":
        args[1] = args[1] - 5
    elif case == "float positives":
        args[1] = args[1].astype(np.float64)
    elif case == "short output":
        args[8] = (args[8][0][:, :-1], args[8][1], args[8][2][:, :-1])
    else:
        args[0] = (args[0][0], args[0][1], args[0][2] + 100, args[0][3] + 100)
    before = copy.deepcopy(tuple(args))
    assert np_coco.accumulate(*args) is NotImplemented
    assert _identical(tuple(args), before)


# ----------------------------------------------------------------------------- RLE intervals


def _rle_args(rng, n, wild=False):
    heights = rng.integers(0, 6, n)
    widths = rng.integers(0, 5, n)
    sizes = heights * widths
    counts = []
    for size in sizes:
        k = int(rng.integers(0, 9))
        c = rng.integers(0, 4, k)
        if wild:  # negative counts and counts past the image are clipped
            c = c + rng.choice([0, 0, -3, 50], k)
        elif k and size:
            c[-1] += max(int(size) - int(c.sum()), 0)
        counts.append(c.astype(np.int64))
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum([len(c) for c in counts], out=offsets[1:])
    flat = np.concatenate(counts) if n else np.zeros(0, np.int64)
    slots = np.zeros(n + 1, np.int64)
    np.cumsum(np.diff(offsets) // 2, out=slots[1:])
    total = max(int(slots[-1]), 1)
    outs = [np.full(total, -9, np.int64), np.full(total, -9, np.int64)]
    outs += [np.full(n, -9, np.int64) for _ in range(6)]
    return (flat, offsets, heights, sizes, slots, *outs)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 8), wild=st.booleans())
def test_intervals_from_counts_twin_is_the_kernel(seed, n, wild):
    args = _rle_args(np.random.default_rng(seed), n, wild)
    assert _differential(cpu_masks.intervals_from_counts, np_masks.intervals_from_counts, args)


def test_intervals_from_counts_huge_counts():
    """Counts near int64's limit: clipped to the image, no sum wraps around."""
    args = list(_rle_args(np.random.default_rng(1), 3))
    args[0] = np.array([2**62, 2**62, 2**62, 5, 2**63 - 1, 1, 2**63 - 1], np.int64)
    args[1] = np.array([0, 3, 4, 7])
    args[3] = np.array([12, 0, 20])
    args[2] = np.array([3, 0, 4])
    assert _differential(
        cpu_masks.intervals_from_counts, np_masks.intervals_from_counts, tuple(args)
    )


@pytest.mark.parametrize(
    "case",
    ["slots too small", "negative size", "zero height", "offsets past counts", "float counts"],
)
def test_intervals_from_counts_twin_declines_untouched(case):
    args = list(_rle_args(np.random.default_rng(2), 4))
    args[0] = np.array([0, 3, 1, 2, 1, 1] * 4, np.int64)
    args[1] = np.array([0, 6, 12, 18, 24])
    args[2], args[3] = np.full(4, 3), np.full(4, 9)
    args[4] = np.array([0, 3, 6, 9, 12])
    args[5], args[6] = np.full(12, -9, np.int64), np.full(12, -9, np.int64)
    if case == "slots too small":
        args[4] = np.array([0, 1, 6, 9, 12])
    elif case == "negative size":
        args[3] = np.array([9, -9, 9, 9])
    elif case == "zero height":
        args[2] = np.array([3, 0, 3, 3])
    elif case == "offsets past counts":
        args[1] = np.array([0, 6, 12, 18, 25])
    else:
        args[0] = args[0].astype(np.float64)
    before = copy.deepcopy(tuple(args))
    assert np_masks.intervals_from_counts(*args) is NotImplemented
    assert _identical(tuple(args), before)


# ----------------------------------------------------------------------------- the sample


TWINS = {
    "match_groups": np_coco.match_groups,
    "accumulate": np_coco.accumulate,
    "intervals_from_counts": np_masks.intervals_from_counts,
}


VARIANTS = {
    "default": {},
    "no categories": {"use_cats": False},
    "odd parameters": {
        "max_dets": [1, 3, 7],
        "iou_thrs": [0.3, 0.5, 0.5, 0.99],
        "rec_thrs": [0.0, 0.25, 1 / 3, 0.5, 1.0],
        "area_rng": [[0, 1e10], [0, 2000], [1000, 1e5]],
        "area_rng_lbl": ["all", "a", "b"],
    },
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_sample_with_twins_gives_every_kernel_output(monkeypatch, iou_type, variant):
    gt, dt = str(sample_path("gt")), str(sample_path(iou_type))
    params = VARIANTS[variant]
    want = coco_evaluate(gt, dt, iou_type, **params)
    original, ran = jit.sized_call, []

    def route(kernel, work, serial_below, *args):
        twin = TWINS.get(kernel.__name__)
        if twin is None:
            return original(kernel, work, serial_below, *args)
        assert twin(*args) is None  # the twin did not decline
        ran.append(kernel.__name__)
        return None

    monkeypatch.setattr(jit, "sized_call", route)
    got = coco_evaluate(gt, dt, iou_type, **params)
    assert sorted(set(ran)) == sorted(
        TWINS if iou_type == "segm" else ["match_groups", "accumulate"]
    )
    for name in (
        "stats",
        "precision",
        "recall",
        "scores",
        "gt_match_iou",
        "gt_category",
        "gt_image",
        "gt_ignored",
        "category_ids",
    ):
        assert _identical(getattr(got, name), getattr(want, name)), name


def test_twins_import_no_numba():
    code = (
        "import sys, ioukit.kernels.np_coco, ioukit.kernels.np_masks; "
        "assert 'numba' not in sys.modules, sorted(m for m in sys.modules if 'numba' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_accumulate_fractional_max_dets():
    """maxDets compared as given: rank 1 counts under 1.5."""
    args = list(_random_accumulation(np.random.default_rng(9), 3, 11, (2, 3)))
    args[6] = np.array([0.5, 1.5, 10.0])
    shape = args[8][0].shape[:4] + (3,)
    args[8] = (-np.ones(shape), -np.ones(shape[:1] + shape[2:]), -np.ones(shape))
    assert _differential(cpu_coco.accumulate, np_coco.accumulate, tuple(args))


def test_twins_decline_past_their_memory_bound(monkeypatch):
    """Past the bound on intermediate arrays every twin declines, writing nothing."""
    rng = np.random.default_rng(4)
    match = _random_groups(rng, 6, "masks")
    acc = _random_accumulation(rng, 3, 11, (2, 3))
    assert _differential(cpu_coco.match_groups, np_coco.match_groups, match)
    monkeypatch.setattr(np_masks, "MAX_QUERIES", 0)
    monkeypatch.setattr(np_coco, "MAX_ELEMENTS", 0)
    for twin, args in ((np_coco.match_groups, match), (np_coco.accumulate, acc)):
        before = copy.deepcopy(args)
        assert twin(*args) is NotImplemented
        assert _identical(args, before)
    monkeypatch.setattr(np_coco, "MAX_ELEMENTS", 1 << 22)
    assert np_coco.match_groups(*copy.deepcopy(match)) is NotImplemented  # the mask queries
