"""The contract every fuzz case is held to, and the registry of targets.

A case passes when the call returns a result that meets the target's invariants
or raises ``ValueError`` / ``TypeError``. Anything else fails: another exception
(an ``IndexError`` from numba's bounds checking, ``KeyError``, ``RecursionError``,
``MemoryError``, ...), a broken invariant (:class:`InvariantError`), a crash or a
hang (seen by the runner, outside the worker).
"""

from __future__ import annotations

import importlib
import os
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: target name -> module defining it in ``TARGETS`` (a leading dot: in this package)
TARGET_MODULES = {
    "rle_strings": ".t_rle",
    "rle_counts": ".t_rle",
    "polygons": ".t_polygons",
    "results_files": ".t_coco",
    "ground_truth": ".t_coco",
    "sparse_masks": ".t_sparse",
    "boxes": ".t_boxes",
    "semantic": ".t_semantic",
    "rotated_nms": ".t_shapes",
    "panoptic_png": ".t_shapes",
    "twins": ".t_twins",
}

# more targets for the workers too: IOUKIT_FUZZ_EXTRA_TARGETS="name=module,..."
for _item in filter(None, os.environ.get("IOUKIT_FUZZ_EXTRA_TARGETS", "").split(",")):
    _name, _, _module = _item.partition("=")
    TARGET_MODULES[_name.strip()] = _module.strip()

ACCEPTED = (ValueError, TypeError)


class InvariantError(AssertionError):
    """A call returned, but its result breaks a documented property."""


@dataclass(frozen=True)
class Target:
    """One fuzz target: ``generate(rng) -> case``, ``run(case)`` (raises on a broken
    invariant), and ``warm()`` that runs valid inputs to compile the kernels."""

    name: str
    generate: Callable[[np.random.Generator], Any]
    run: Callable[[Any], None]
    warm: Callable[[], None]


def get_target(name: str) -> Target:
    if name not in TARGET_MODULES:
        raise KeyError(f"unknown fuzz target {name!r}; known: {', '.join(TARGET_MODULES)}")
    module = importlib.import_module(TARGET_MODULES[name], __package__)
    return module.TARGETS[name]


def case_rng(name: str, seed: int, index: int) -> np.random.Generator:
    """The generator of case ``index`` of target ``name`` under ``seed`` (replayable)."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode()), int(index)])


def make_case(name: str, seed: int, index: int) -> Any:
    return get_target(name).generate(case_rng(name, seed, index))


def check(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantError(message)


def execute(name: str, seed: int, index: int) -> tuple[str, str]:
    """Run one case in this process: ``("ok" | "rejected" | "fail", detail)``."""
    target = get_target(name)
    try:
        case = target.generate(case_rng(name, seed, index))
    except Exception:  # a bug of the harness, not of ioukit
        return "fail", "harness: case generation failed\n" + traceback.format_exc(limit=4)
    try:
        target.run(case)
    except ACCEPTED as err:
        return "rejected", f"{type(err).__name__}: {str(err)[:300]}"
    except InvariantError as err:
        return "fail", f"invariant broken: {err}"
    except BaseException as err:  # noqa: BLE001 - everything else is a failure
        if isinstance(err, KeyboardInterrupt):
            raise
        tb = traceback.format_exc(limit=-3)
        return "fail", f"{type(err).__name__}: {str(err)[:300]}\n{tb[-1500:]}"
    return "ok", ""


def short(value: Any, limit: int = 2000) -> str:
    """A printable form of a case, shortened to ``limit`` characters."""
    with np.printoptions(threshold=50, edgeitems=5):
        text = repr(value)
    return text if len(text) <= limit else text[: limit // 2] + " ... " + text[-limit // 2 :]
