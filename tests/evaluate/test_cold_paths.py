"""The first-run shortcuts give the same numbers as the paths they stand in for.

A first run on small data takes cheaper-to-compile paths (issue 12): serial twins
of the COCO and RLE kernels below a size threshold (``jit.sized_call``), the score
order and small box checks in NumPy. Each is compared here with the path it
replaces, bit for bit; and the kernels keep one specialisation each.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ioukit
from ioukit._core import jit, validate
from ioukit.data import sample_path
from ioukit.evaluate import coco_evaluate, stages

SRC = Path(ioukit.__file__).resolve().parents[1]


def _all_parallel(monkeypatch):
    from ioukit._core import loader

    monkeypatch.setattr(stages, "SERIAL_MATCH", 0)
    monkeypatch.setattr(stages, "SERIAL_ACCUMULATE", 0)
    monkeypatch.setattr(loader, "SERIAL_WORK", 0)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_serial_twins_give_the_parallel_numbers(monkeypatch, iou_type):
    gt, dt = str(sample_path("gt")), str(sample_path(iou_type))
    small = coco_evaluate(gt, dt, iou_type)
    _all_parallel(monkeypatch)
    large = coco_evaluate(gt, dt, iou_type)
    for name in ("stats", "precision", "recall", "scores", "gt_match_iou"):
        np.testing.assert_array_equal(getattr(small, name), getattr(large, name))


def test_every_variant_takes_the_parallel_path():
    calls = []

    class Fake:
        py_func = staticmethod(lambda: None)

        def __call__(self, *args):
            calls.append("parallel")

    with jit.every_variant():
        jit.sized_call(Fake(), 1, 10)
    assert calls == ["parallel"]


SIGNATURES = """
import sys
from ioukit._core import jit
from ioukit._core.loader import kernel
from ioukit.data import sample_path
from ioukit.evaluate import coco_evaluate

iou_type = sys.argv[1]
coco_evaluate(str(sample_path("gt")), str(sample_path(iou_type)), iou_type)
cpu_coco = kernel("cpu_coco")
twin = jit.serial_twin(cpu_coco.match_groups)
source = {"bbox": "gt_boxes", "segm": "gt_sets"}[iou_type]  # the argument that is not None
names = twin.py_func.__code__.co_varnames
used = [s for s in twin.signatures if str(s[names.index(source)]) != "none"]
assert len(used) == 1, twin.signatures
assert len(jit.serial_twin(cpu_coco.accumulate).signatures) == 1
assert len(cpu_coco._match_group.signatures) <= 1  # 0 when loaded with its caller
print("ok")
"""


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_coco_kernels_have_one_signature(iou_type):
    """Casting once at the front (int64 indices, float64 values) keeps one
    specialisation per kernel: a new one would compile again on a first run. Run in
    a fresh process (with the session's cache), so that other tests' calls in this
    worker do not add signatures of their own."""
    proc = subprocess.run(
        [sys.executable, "-c", SIGNATURES, iou_type],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(SRC), IOUKIT_TWINS="never"),  # the kernels
        timeout=900,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_score_order_is_a_stable_sort_per_category():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, 200) / 4.0  # many ties
    stops = np.cumsum(rng.integers(0, 30, 12))
    stops[-1] = scores.size
    starts = np.concatenate([[0], stops[:-1]])
    order = stages.score_order(starts, stops, scores)
    for lo, hi in zip(starts, stops, strict=True):
        want = lo + np.argsort(-scores[lo:hi], kind="mergesort")
        np.testing.assert_array_equal(order[lo:hi], want)


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_box_checks_in_numpy_match_the_kernel(monkeypatch, fmt, dtype):
    rng = np.random.default_rng(7)
    for trial in range(30):
        boxes = rng.normal(5, 4, (int(rng.integers(1, 40)), 4)).astype(dtype)
        if trial % 3 == 0:
            boxes[rng.integers(0, len(boxes)), rng.integers(0, 4)] = [np.nan, np.inf, -np.inf][
                trial % 2
            ]
        if trial % 5 == 0:
            boxes = np.abs(boxes)
        results = []
        for rows in (validate.NUMPY_BOX_ROWS, 0):  # NumPy, then the compiled scan
            monkeypatch.setattr(validate, "NUMPY_BOX_ROWS", rows)
            try:
                results.append(validate.check_box_values(boxes, fmt, "a", "f"))
            except ValueError as err:
                results.append(str(err))
        assert results[0] == results[1]


def test_small_box_checks_skip_validation_when_asked(monkeypatch):
    for boxes in ([[0.0, 0.0, -1.0, np.nan]], [[np.nan, 1, 2, 3]], [[1.0, 2, np.inf, 3]]):
        boxes = np.array(boxes)
        numpy_big = validate.check_box_values(boxes, "xywh", "a", "f", validate=False)
        monkeypatch.setattr(validate, "NUMPY_BOX_ROWS", 0)
        kernel_big = validate.check_box_values(boxes, "xywh", "a", "f", validate=False)
        monkeypatch.undo()
        assert numpy_big == kernel_big  # NaN skipped by both


LAZY = r"""
import sys
import ioukit
import ioukit.cli.eval_command
loaded = sorted(m for m in sys.modules if m.startswith(("numba", "scipy", "ioukit.")))
print(" ".join(loaded))
"""


def test_eval_command_imports_only_what_it_needs():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [sys.executable, "-c", LAZY], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(out.stdout.split())
    assert not {m for m in loaded if m.startswith(("numba", "scipy"))}
    for heavy in ("analysis", "panoptic", "streaming", "lvis", "tide"):
        assert f"ioukit.evaluate.{heavy}" not in loaded
    assert "ioukit.boxes" not in loaded and "ioukit.masks" not in loaded


def test_lazy_names_are_all_there():
    import ioukit.evaluate as evaluate

    for module in (ioukit, evaluate):
        for name in module.__all__:
            assert getattr(module, name) is not None
        assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = ioukit.nope
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = evaluate.nope
