"""The uint8 confusion kernel on noise (every pixel its own pair) and on mixed words."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ioukit.semantic import confusion_matrix


def reference(target, pred, c, ignore):
    t, p = target.reshape(-1).astype(np.int64), pred.reshape(-1).astype(np.int64)
    keep = np.ones(t.shape, bool) if ignore is None else t != ignore
    return np.bincount(t[keep] * c + p[keep], minlength=c * c).reshape(c, c)


def first_bad(target, pred, c, ignore):
    t, p = target.reshape(-1).astype(np.int64), pred.reshape(-1).astype(np.int64)
    bad = (t >= c) | (p >= c)
    if ignore is not None:
        bad &= t != ignore
    return int(np.argmax(bad)) if bad.any() else -1


@pytest.mark.parametrize("ignore", [None, 0, 2, 255])
@pytest.mark.parametrize("classes", [1, 3, 19, 256, 300])
def test_noise_matches_bincount(classes, ignore):
    rng = np.random.default_rng(classes)
    n = 3 * 8 * 1024 + 5  # whole words and a tail
    top = min(classes, 256)
    target = rng.integers(0, top, n).astype(np.uint8)
    pred = rng.integers(0, top, n).astype(np.uint8)
    if ignore is not None:
        target[rng.random(n) < 0.1] = ignore
    target[100:900] = target[100]  # a run in the middle of the noise
    pred[100:900] = pred[100]
    assert np.array_equal(
        confusion_matrix(target, pred, classes, ignore), reference(target, pred, classes, ignore)
    )


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 200),
    classes=st.integers(1, 6),
    ignore=st.sampled_from([None, 0, 3, 255]),
    seed=st.integers(0, 2**32 - 1),
    bad_rate=st.sampled_from([0.0, 0.01, 0.2]),
    runs=st.booleans(),
)
def test_mixed_words_property(size, classes, ignore, seed, bad_rate, runs):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, classes, size).astype(np.uint8)
    pred = rng.integers(0, classes, size).astype(np.uint8)
    if runs:  # long runs with a few boundaries, as in real maps
        target = np.repeat(target[: max(1, size // 16)], 16)[:size]
        pred = np.repeat(pred[: max(1, size // 16)], 16)[:size]
        target = np.resize(target, size)
        pred = np.resize(pred, size)
    if ignore is not None:
        target[rng.random(size) < 0.1] = ignore
    bad_t = rng.random(size) < bad_rate
    target[bad_t] = 200
    pred[rng.random(size) < bad_rate] = 77
    expect_bad = first_bad(target, pred, classes, ignore)
    if expect_bad < 0:
        got = confusion_matrix(target, pred, classes, ignore)
        assert np.array_equal(got, reference(target, pred, classes, ignore))
    else:
        with pytest.raises(ValueError, match=rf"label \d+ at index {expect_bad} is outside"):
            confusion_matrix(target, pred, classes, ignore)


def test_bad_label_in_a_mixed_word_after_a_run():
    target = np.zeros(64, np.uint8)
    pred = np.zeros(64, np.uint8)
    target[40:48] = [0, 1, 0, 1, 0, 9, 0, 1]  # word 5 is mixed; pixel 45 is out of range
    target[60] = 9  # a later bad pixel in the tail
    with pytest.raises(ValueError, match=r"target label 9 at index 45 is outside \[0, 2\)"):
        confusion_matrix(target, pred, 2)
    pred[41] = 5
    with pytest.raises(ValueError, match=r"pred label 5 at index 41 is outside \[0, 2\)"):
        confusion_matrix(target, pred, 2)
