"""Fuzz target ``twins``: the NumPy twins of the COCO-path kernels against the kernels.

A case is one of the other targets' hostile inputs (RLE strings and counts, polygons,
results files, ground truth); it runs twice through the same public function, once
with ``IOUKIT_TWINS=always`` (the NumPy twins, which may decline and hand an input to
the kernel) and once with ``never`` (the compiled kernels, bounds-checked in the
workers). Both runs must end the same way: the same result, or the same exception
type and message.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

from .core import ACCEPTED, Target, check
from .t_coco import generate_gt, generate_results
from .t_polygons import generate as generate_polygons
from .t_rle import generate_counts, generate_strings

_KINDS = ("strings", "counts", "polygons", "results", "gt")


def generate(rng: np.random.Generator) -> dict:
    kind = _KINDS[int(rng.integers(len(_KINDS)))]
    make = {
        "strings": generate_strings,
        "counts": generate_counts,
        "polygons": generate_polygons,
        "results": generate_results,
        "gt": generate_gt,
    }[kind]
    return {"kind": kind, "case": make(rng)}


def _plain(value: Any) -> Any:
    """A comparable form of a result (arrays as lists, NaN as a string)."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def _rle_calls(rle: dict) -> Any:
    from ioukit import rle as R

    area = R.area(rle)
    size = [int(v) for v in rle["size"]]
    merged = R.merge([rle, {"size": size, "counts": [size[0] * size[1]]}], intersect=False)
    return area, merged, R.merge([rle, rle], intersect=True)


def _polygon_calls(case: dict) -> Any:
    from ioukit import rle as R

    h, w = case["h"], case["w"]
    if case["call"] == 2:
        return R.from_segmentation(case["polygons"], h, w)
    return R.from_polygons(case["polygons"], h, w)


def _evaluation(gt: dict, dt: Any, iou_type: str) -> Any:
    import copy

    from ioukit.evaluate import coco_evaluate

    result = coco_evaluate(copy.deepcopy(gt), copy.deepcopy(dt), iou_type)
    return result.stats, result.precision, result.recall, result.gt_match_iou


def _call(case: dict, path: str) -> Callable[[], Any]:
    kind, inner = case["kind"], case["case"]
    if kind in ("strings", "counts"):
        return lambda: _rle_calls(inner)
    if kind == "polygons":
        return lambda: _polygon_calls(inner)
    if kind == "results":  # one file for both runs: its path is in the messages
        return lambda: _evaluation(inner["gt"], path, inner["iou_type"])
    return lambda: _evaluation(inner["gt"], inner["dt"], inner["iou_type"])


def _outcome(fn: Callable[[], Any], mode: str) -> tuple[str, Any]:
    previous = os.environ.get("IOUKIT_TWINS")
    os.environ["IOUKIT_TWINS"] = mode
    try:
        return "ok", _plain(fn())
    except ACCEPTED as err:
        return "error", f"{type(err).__name__}: {err}"
    finally:
        if previous is None:
            del os.environ["IOUKIT_TWINS"]
        else:
            os.environ["IOUKIT_TWINS"] = previous


def run(case: dict) -> None:
    import warnings

    fd, path = tempfile.mkstemp(suffix=".json", prefix="ioukit-fuzz-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(case["case"].get("file", b""))
        fn = _call(case, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            twins = _outcome(fn, "always")
            kernels = _outcome(fn, "never")
    finally:
        os.unlink(path)
    check(
        twins == kernels,
        f"{case['kind']}: the NumPy twins give {str(twins)[:400]}, "
        f"the kernels {str(kernels)[:400]}",
    )
    if twins[0] == "error":
        raise ValueError(twins[1])  # an accepted rejection, the same both ways


def warm() -> None:
    rng = np.random.default_rng(5)
    for _ in range(6):
        try:
            run(generate(rng))
        except ACCEPTED:
            pass


TARGETS = {"twins": Target("twins", generate, run, warm)}
