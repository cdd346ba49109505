"""NumPy twins of the COCO-path kernels, end to end: the routing, the numbers, and a
fresh small evaluation that never imports numba.

The twins' own differential tests (each twin against its compiled kernel, and the
sample with every twin forced in) live in ``tests/masks/test_twin_rle.py`` and
``tests/evaluate/test_twin_coco.py``. Here whole evaluations run through the real
routing both ways (``IOUKIT_TWINS=always`` and ``never``) and every output array
must be identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from ioukit._core import loader, twins
from ioukit.data import sample_path
from ioukit.evaluate import GtIdZeroWarning, coco_evaluate

_FIELDS = ("stats", "precision", "recall", "scores", "gt_match_iou", "gt_category", "gt_image")


def _both_ways(monkeypatch, *args, **kwargs):
    results = {}
    for mode in ("always", "never"):
        monkeypatch.setenv("IOUKIT_TWINS", mode)
        results[mode] = coco_evaluate(*args, **kwargs)
    return results["always"], results["never"]


def _assert_same(twins, kernels):
    for name in _FIELDS:
        np.testing.assert_array_equal(getattr(twins, name), getattr(kernels, name), err_msg=name)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_sample_twins_match_pycocotools(monkeypatch, iou_type):
    pytest.importorskip("pycocotools")
    import gzip

    from tests.helpers.coco import pycocotools_eval

    def load(path):
        with gzip.open(path, "rb") as handle:
            return json.load(handle)

    gt, dt = load(sample_path("gt")), load(sample_path(iou_type))
    stats, precision, recall = pycocotools_eval(gt, dt, iou_type)
    monkeypatch.setenv("IOUKIT_TWINS", "always")
    ours = coco_evaluate(gt, dt, iou_type)
    np.testing.assert_array_equal(ours.stats, stats)
    np.testing.assert_array_equal(ours.precision, precision)
    np.testing.assert_array_equal(ours.recall, recall)


@pytest.fixture(scope="module")
def synthetic(shared_data, tmp_path_factory):
    tool = shared_data.parent / "tools" / "make_coco.py"
    if not tool.exists():
        pytest.skip("make_coco.py not found")
    out = tmp_path_factory.mktemp("twins")
    cmd = [sys.executable, str(tool), str(out), "--images", "40", "--seed", "3"]
    subprocess.run(cmd, check=True, capture_output=True)
    return {
        name: json.loads((out / f"{name}.json").read_text())
        for name in ("gt", "dt_bbox", "dt_segm")
    }


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"use_cats": False},
        {"max_dets": [1, 3, 7], "iou_thrs": [0.3, 0.5, 0.95]},
        {"area_rng": [[0, 1e10], [0, 900], [900, 1e10]], "area_rng_lbl": ["all", "s", "l"]},
    ],
    ids=["default", "no-cats", "dets-thrs", "areas"],
)
def test_synthetic_identical_both_ways(monkeypatch, synthetic, iou_type, params):
    gt, dt = synthetic["gt"], synthetic[f"dt_{iou_type}"]
    twins, kernels = _both_ways(monkeypatch, gt, dt, iou_type, **params)
    _assert_same(twins, kernels)


def test_crowd_and_id_zero_identical_both_ways(monkeypatch):
    gt = {
        "images": [{"id": 1, "height": 40, "width": 50}, {"id": 2, "height": 30, "width": 30}],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": [
            {"id": 0, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100},
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "bbox": [5, 5, 30, 20],
                "area": 600,
                "iscrowd": 1,
                "segmentation": [[5, 5, 35, 5, 35, 25, 5, 25]],
            },
            {
                "id": 3,
                "image_id": 2,
                "category_id": 2,
                "bbox": [1, 1, 8, 8],
                "area": 64,
                "segmentation": {"size": [30, 30], "counts": [31, 8, 22, 8, 22, 8, 801]},
            },
        ],
    }
    for ann in gt["annotations"]:
        if "segmentation" not in ann:
            x, y, w, h = ann["bbox"]
            ann["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 9], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [6, 6, 10, 10], "score": 0.8},
        {"image_id": 1, "category_id": 1, "bbox": [20, 10, 10, 10], "score": 0.8},
        {"image_id": 2, "category_id": 2, "bbox": [1, 1, 7, 8], "score": 0.5},
        {"image_id": 2, "category_id": 1, "bbox": [1, 1, 7, 8], "score": 0.4},
    ]
    for det in dt:
        x, y, w, h = det["bbox"]
        det["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    for iou_type in ("bbox", "segm"):
        for zero in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", GtIdZeroWarning)
                twins, kernels = _both_ways(
                    monkeypatch, gt, [dict(d) for d in dt], iou_type, match_gt_id_zero=zero
                )
            _assert_same(twins, kernels)


def test_twin_mode_setting(monkeypatch):
    monkeypatch.setenv("IOUKIT_TWINS", " Always ")
    assert twins.twin_mode() == "always"
    monkeypatch.setenv("IOUKIT_TWINS", "")
    assert twins.twin_mode() == twins.DEFAULT_TWIN_MODE
    monkeypatch.setenv("IOUKIT_TWINS", "sometimes")
    with pytest.raises(ValueError, match="IOUKIT_TWINS must be one of auto, never, always, shadow"):
        twins.twin_mode()


def test_twin_lookup():
    assert twins.numpy_twin("cpu_rle", "no_such_kernel") is None
    assert twins.numpy_twin("cpu_no_such_module", "x") is None
    assert twins.numpy_twin("cuda_boxes", "x") is None  # only CPU kernels have twins
    assert twins.numpy_twin("cpu_../x", "x") is None


def _public_twins():
    """``(kernel module, name, twin)`` of every public function of ``kernels/np_*.py``
    named as a kernel, with the ``cpu_*`` module through which the loader finds it
    (None if none does)."""
    import importlib
    import importlib.util
    import inspect
    import pkgutil

    import ioukit.kernels as package

    names = [m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("np_")]
    assert names, "no NumPy twin modules"
    kernels = [
        f"cpu_{n[3:]}" for n in names if importlib.util.find_spec(f"ioukit.kernels.cpu_{n[3:]}")
    ]
    found = []
    for name in names:
        module = importlib.import_module(f"ioukit.kernels.{name}")
        for fn_name, fn in vars(module).items():
            if inspect.isfunction(fn) and fn.__module__ == module.__name__ and fn_name[0] != "_":
                named = [k for k in kernels if hasattr(loader.kernel(k), fn_name)]
                if not named:
                    continue  # a helper the twins share, not a twin
                owners = [k for k in named if twins.numpy_twin(k, fn_name) is fn]
                found.append((owners[0] if owners else None, fn_name, fn))
    return found


def test_twins_mirror_kernel_names():
    """Every function of a twin module named as a kernel is reached by the loader as
    that kernel's twin, and takes the kernel's arguments."""
    import inspect

    for owner, name, fn in _public_twins():
        assert owner is not None, f"{fn.__module__}.{name} twins no kernel"
        kernel = getattr(loader.kernel(owner), name)
        assert list(inspect.signature(fn).parameters) == list(
            inspect.signature(kernel.py_func).parameters
        ), f"{owner}.{name}: not the kernel's signature"


def test_every_twin_has_a_measured_cost():
    for owner, name, _ in _public_twins():
        assert f"{owner}.{name}" in twins.TWIN_NS_PER_WORK


def test_declining_twin_leaves_it_to_the_kernel(monkeypatch):
    calls = []

    def declines(*args):
        calls.append(len(args))
        return NotImplemented

    monkeypatch.setitem(twins._twins, ("cpu_rle", "areas_from_counts"), declines)
    monkeypatch.setenv("IOUKIT_TWINS", "always")
    areas = np.zeros(2, np.int64)
    counts, offsets, sizes = np.array([2, 3, 1, 0, 6]), np.array([0, 3, 5]), np.array([6, 6])
    twins.twin_call("cpu_rle", "areas_from_counts", 5, counts, offsets, sizes, areas)
    assert calls == [4]
    np.testing.assert_array_equal(areas, [3, 6])


def test_large_work_goes_to_the_kernel(monkeypatch):
    def must_not_run(*args):
        raise AssertionError("the twin ran on large work")

    monkeypatch.setitem(twins._twins, ("cpu_rle", "areas_from_counts"), must_not_run)
    monkeypatch.setenv("IOUKIT_TWINS", "auto")
    areas = np.zeros(1, np.int64)
    args = (np.array([2, 3, 1]), np.array([0, 3]), np.array([6]), areas)
    limit = twins.twin_work_limit("cpu_rle", "areas_from_counts")
    twins.twin_call("cpu_rle", "areas_from_counts", limit, *args)
    assert areas[0] == 3


_FRESH = textwrap.dedent(
    """
    import sys
    from ioukit.cli.main import main
    code = main(sys.argv[1:])
    assert code in (0, None), code
    loaded = sorted(m for m in sys.modules if m == "numba" or m.startswith("numba."))
    print("NUMBA-MODULES", len(loaded))
    """
)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_fresh_small_eval_imports_no_numba(iou_type):
    """The point of the twins: a first small evaluation compiles nothing, and a
    warm one does not pay numba's import."""
    env = {k: v for k, v in os.environ.items() if k != "IOUKIT_TWINS"}
    cmd = [sys.executable, "-c", _FRESH, "eval", str(sample_path("gt")),
           str(sample_path(iou_type)), "--iou-type", iou_type]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "NUMBA-MODULES 0" in proc.stdout, proc.stdout[-2000:]
    assert "compiling kernels" not in proc.stderr


def test_a_process_busy_in_twins_moves_to_the_kernels(monkeypatch):
    def must_not_run(*args):
        raise AssertionError("the twin ran after the process moved to the kernels")

    monkeypatch.setitem(twins._twins, ("cpu_rle", "areas_from_counts"), must_not_run)
    monkeypatch.setenv("IOUKIT_TWINS", "auto")
    monkeypatch.setattr(twins, "_twin_seconds", twins.TWIN_PROCESS_SECONDS)
    areas = np.zeros(1, np.int64)
    twins.twin_call("cpu_rle", "areas_from_counts", 3, np.array([2, 3, 1]), np.array([0, 3]),
                     np.array([6]), areas)  # fmt: skip
    assert areas[0] == 3
    monkeypatch.setenv("IOUKIT_TWINS", "always")  # always: the twin, however busy
    with pytest.raises(AssertionError, match="moved to the kernels"):
        twins.twin_call("cpu_rle", "areas_from_counts", 3, np.array([2, 3, 1]),
                         np.array([0, 3]), np.array([6]), areas)  # fmt: skip


def test_time_in_twins_is_counted(monkeypatch):
    monkeypatch.setenv("IOUKIT_TWINS", "auto")
    monkeypatch.setattr(twins, "_kernel_ready", lambda *a: False)
    monkeypatch.setattr(twins, "_twin_seconds", 0.0)
    monkeypatch.setitem(twins._twins, ("cpu_rle", "areas_from_counts"), lambda *a: None)
    twins.twin_call("cpu_rle", "areas_from_counts", 3, None, None, None, None)
    assert twins._twin_seconds > 0.0


def test_shadow_mode_catches_a_twin_that_differs(monkeypatch):
    def off_by_one(counts, offsets, sizes, out):
        out[:] = 99
        return None

    monkeypatch.setitem(twins._twins, ("cpu_rle", "areas_from_counts"), off_by_one)
    monkeypatch.setenv("IOUKIT_TWINS", "shadow")
    areas = np.zeros(1, np.int64)
    args = (np.array([2, 3, 1]), np.array([0, 3]), np.array([6]), areas)
    with pytest.raises(AssertionError, match=r"areas_from_counts differs .*kernel 3, twin 99"):
        twins.twin_call("cpu_rle", "areas_from_counts", 3, *args)


def test_shadow_mode_returns_the_kernels_result_and_accepts_a_declining_twin(monkeypatch):
    monkeypatch.setitem(twins._twins, ("cpu_rle", "areas_from_counts"), lambda *a: NotImplemented)
    monkeypatch.setenv("IOUKIT_TWINS", "shadow")
    areas = np.zeros(1, np.int64)
    args = (np.array([2, 3, 1]), np.array([0, 3]), np.array([6]), areas)
    assert twins.twin_call("cpu_rle", "areas_from_counts", 3, *args) is None
    assert areas[0] == 3


def test_difference_reports_nan_shapes_and_values():
    diff = twins._difference
    nan = np.array([np.nan, 1.0])
    assert diff((nan, 2), (nan.copy(), 2), "x") is None
    assert "shape" in diff(np.zeros(2), np.zeros(3), "x")
    assert diff(np.array([1, 2]), np.array([1, 3]), "x") == "x[1]: kernel 2, twin 3"
    assert diff(float("nan"), float("nan"), "x") is None
    assert diff((1, 2), (1,), "x").startswith("x: tuple")


def test_kernels_only_overrides_the_setting(monkeypatch):
    monkeypatch.setenv("IOUKIT_TWINS", "always")
    with twins.kernels_only():
        assert twins.twin_mode() == "never"
    assert twins.twin_mode() == "always"


def test_auto_takes_a_kernel_that_is_ready(monkeypatch):
    """With numba imported and the kernel compiled (here, or cached on disk), auto
    runs the kernel: the twin would only be slower."""

    def must_not_run(*args):
        raise AssertionError("the twin ran although the kernel was ready")

    monkeypatch.setattr(twins, "_twin_seconds", 0.0)
    args = (np.array([2, 3, 1]), np.array([0, 3]), np.array([6]))
    monkeypatch.setenv("IOUKIT_TWINS", "never")  # compiles (or loads) the kernel
    twins.twin_call("cpu_rle", "areas_from_counts", 3, *args, np.zeros(1, np.int64))
    monkeypatch.setenv("IOUKIT_TWINS", "auto")
    assert twins._kernel_ready("cpu_rle", "areas_from_counts", 3, loader.SERIAL_WORK)
    monkeypatch.setitem(twins._twins, ("cpu_rle", "areas_from_counts"), must_not_run)
    areas = np.zeros(1, np.int64)
    twins.twin_call("cpu_rle", "areas_from_counts", 3, *args, areas)
    assert areas[0] == 3


def test_kernel_ready_is_false_without_numba_or_kernel(monkeypatch):
    import sys

    assert not twins._kernel_ready("cpu_rle", "no_such_kernel", 3, 10)
    monkeypatch.delitem(sys.modules, "numba")
    assert not twins._kernel_ready("cpu_rle", "areas_from_counts", 3, 10)
