"""Targets ``results_files`` and ``ground_truth``: ``coco_evaluate`` on hostile input.

``results_files`` writes a results file (mutated valid files, truncated files,
duplicate keys, deep nesting, wrong types, numbers past int64, JSON that RFC 8259
forbids) and evaluates it through its path, so the compiled reader runs. The
oracle is the JSON itself: when both ``json`` (strict: no NaN / Infinity) and
``orjson`` read the file to the same value, the result must equal the evaluation
of that value as a Python list (the last of duplicate keys wins); when both
refuse it, ``coco_evaluate`` must raise ValueError.

``ground_truth`` mutates a valid ground-truth dict (any node replaced by a hostile
value, keys dropped, duplicate and zero ids) and evaluates valid results against it.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile

import numpy as np

from .core import Target, check
from .gen import EDGE_FLOATS, compress, edge_float, edge_int, mask_counts, mutate, random_mask

H, W = 24, 32


def _ground_truth(rng: np.random.Generator) -> dict:
    images = [{"id": i + 1, "height": H, "width": W} for i in range(2)]
    anns = []
    for k in range(int(rng.integers(1, 5))):
        x, y = float(rng.integers(0, W - 8)), float(rng.integers(0, H - 8))
        w, h = float(rng.integers(1, 8)), float(rng.integers(1, 8))
        if rng.random() < 0.7:
            segm: object = [[x, y, x + w, y, x + w, y + h, x, y + h]]
        else:
            m = np.zeros((H, W), np.uint8)
            m[int(y) : int(y + h), int(x) : int(x + w)] = 1
            segm = {"size": [H, W], "counts": mask_counts(m)}
        anns.append(
            {
                "id": k + 1,
                "image_id": int(rng.integers(1, 3)),
                "category_id": int(rng.integers(1, 3)),
                "bbox": [x, y, w, h],
                "area": w * h,
                "iscrowd": int(rng.random() < 0.1),
                "segmentation": segm,
            }
        )
    return {
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }


def _detections(rng: np.random.Generator, segm: bool) -> list[list[tuple[str, object]]]:
    """Detections as lists of (key, value) pairs, so that keys can repeat."""
    dets = []
    for _ in range(int(rng.integers(1, 6))):
        x, y = float(rng.integers(0, W - 8)), float(rng.integers(0, H - 8))
        w, h = float(rng.integers(1, 8)), float(rng.integers(1, 8))
        pairs: list[tuple[str, object]] = [
            ("image_id", int(rng.integers(1, 3))),
            ("category_id", int(rng.integers(1, 3))),
            ("score", round(float(rng.random()), 4)),
        ]
        if not segm or rng.random() < 0.5:
            pairs.append(("bbox", [x, y, w, h]))
        if segm:
            m = random_mask(rng, H, W)
            pairs.append(
                ("segmentation", {"size": [H, W], "counts": compress(mask_counts(m)).decode()})
            )
        dets.append(pairs)
    return dets


def _hostile_value(rng: np.random.Generator) -> object:
    options = [
        edge_int(rng),
        edge_float(rng),
        "1",
        "",
        None,
        True,
        [],
        {},
        [1, 2, 3, 4],
        {"size": [H, W], "counts": "0"},
        [[1, 2]],
        10**30,
        -(2**63) - 1,
    ]
    return options[int(rng.integers(len(options)))]


def _dumps(value: object) -> str:
    if isinstance(value, float) and not np.isfinite(value):
        return {True: "NaN"}.get(bool(np.isnan(value)), "Infinity" if value > 0 else "-Infinity")
    return json.dumps(value, allow_nan=True)


def _serialise(dets: list, rng: np.random.Generator) -> str:
    items = []
    for pairs in dets:
        body = ", ".join(f"{json.dumps(k)}: {_dumps(v)}" for k, v in pairs)
        items.append("{" + body + "}")
    sep = ", " if rng.random() < 0.5 else ",\n"
    return "[" + sep.join(items) + "]"


JSON_QUIRKS = [
    b",]",
    b",}",
    b"01",
    b".5",
    b"+0.5",
    b"1.",
    b"-",
    b"1e",
    b"0x10",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b'"\\ud800"',
    b"'a'",
    b"NaN",
    b"-Infinity",
    b"//",
    b"[",
    b"]",
    b"{",
    b"}",
    b":",
    b'"',
    b"\\",
    b"truE",
    b"nul",
    b"1e400",
    b"-0",
    b"1E+2",
    b"\t",
    b"\x0c",
]


def generate_results(rng: np.random.Generator) -> dict:
    segm = rng.random() < 0.5
    gt = _ground_truth(rng)
    dets = _detections(rng, segm)
    r = rng.random()
    if r < 0.25:  # duplicate keys (the last must win)
        for pairs in dets:
            if rng.random() < 0.6:
                k, v = pairs[int(rng.integers(len(pairs)))]
                if k == "segmentation" and rng.random() < 0.7:
                    other = {
                        "size": [H, W],
                        "counts": compress(mask_counts(random_mask(rng, H, W))).decode(),
                    }
                    v2: object = other
                elif rng.random() < 0.5:
                    v2 = copy.deepcopy(v)
                else:
                    v2 = _hostile_value(rng)
                pairs.insert(int(rng.integers(len(pairs) + 1)), (k, v2))
    elif r < 0.45:  # wrong types, numbers past int64, non-finite numbers
        for _ in range(int(rng.integers(1, 3))):
            pairs = dets[int(rng.integers(len(dets)))]
            i = int(rng.integers(len(pairs)))
            pairs[i] = (pairs[i][0], _hostile_value(rng))
    text = _serialise(dets, rng).encode()
    r = rng.random()
    if r < 0.2:
        text = text[: int(rng.integers(0, len(text) + 1))]  # truncated
    elif r < 0.4:
        text = mutate(rng, text, b'0123456789,:[]{}"-.eE ')
    elif r < 0.55:
        pos = int(rng.integers(0, len(text) + 1))
        text = text[:pos] + JSON_QUIRKS[int(rng.integers(len(JSON_QUIRKS)))] + text[pos:]
    elif r < 0.6:
        depth = int(rng.choice([100, 1000, 5000, 100000]))
        inner = b"[" * depth + b"]" * depth
        text = (
            text[:-1]
            + b', {"image_id": 1, "category_id": 1, "score": 0.5, "bbox": '
            + inner
            + b"}]"
        )
    elif r < 0.62:
        text = b"[" * int(rng.choice([1000, 100000]))
    if rng.random() < 0.1:
        text = (
            text.decode("latin-1").encode("utf-16")
            if rng.random() < 0.3
            else b" \n" + text + b"\n "
        )
    return {"gt": gt, "file": text, "iou_type": "segm" if segm else "bbox"}


def _strict_json(raw: bytes) -> tuple[bool, object]:
    def no_constants(name: str) -> object:
        raise ValueError(name)

    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return False, None
    try:
        import orjson
    except ImportError:
        return True, value
    try:
        other = orjson.loads(raw)
    except (ValueError, TypeError):
        return False, None
    return (True, value) if other == value else (None, None)  # None: they disagree


def _outcome(fn) -> tuple[str, object]:
    try:
        return "ok", fn()
    except (ValueError, TypeError) as err:
        return "error", err


def run_results(case: dict) -> None:
    from ioukit.evaluate import coco_evaluate

    fd, path = tempfile.mkstemp(suffix=".json", prefix="ioukit-fuzz-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(case["file"])
        kind, result = _outcome(lambda: coco_evaluate(case["gt"], path, case["iou_type"]))
    finally:
        os.unlink(path)
    if kind == "ok":
        stats = result.stats
        check(
            bool(np.all((stats >= -1) & (stats <= 1))), f"stats outside [-1, 1]: {stats.tolist()}"
        )
    valid, value = _strict_json(case["file"])
    if valid is False:
        check(kind == "error", "a file that is not valid JSON (RFC 8259) was evaluated")
    elif valid:
        ref_kind, ref = _outcome(lambda: coco_evaluate(case["gt"], value, case["iou_type"]))
        if kind != ref_kind:
            detail = ref if ref_kind == "error" else "a result"
            check(False, f"the file gives {kind} but its parsed JSON gives {ref_kind}: {detail}")
        if kind == "ok":
            check(
                np.allclose(result.stats, ref.stats, equal_nan=True),
                f"the file gives {result.stats.tolist()}, its parsed JSON {ref.stats.tolist()}",
            )
    if kind == "error":
        raise result  # an accepted rejection


def _mutate_tree(rng: np.random.Generator, obj: object) -> object:
    """Replace, drop or duplicate one random node of a JSON-like tree."""
    nodes: list[tuple[object, object]] = []  # (container, key)

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k in list(node):
                nodes.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                nodes.append((node, i))
                walk(node[i])

    walk(obj)
    if not nodes:
        return obj
    parent, key = nodes[int(rng.integers(len(nodes)))]
    op = rng.random()
    if op < 0.6:
        parent[key] = _hostile_value(rng)  # type: ignore[index]
    elif op < 0.8:
        del parent[key]  # type: ignore[arg-type]
    elif isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))  # duplicate an item (ids repeat)
    else:
        parent[key] = float(rng.choice(EDGE_FLOATS))  # type: ignore[index]
    return obj


def generate_gt(rng: np.random.Generator) -> dict:
    gt = _ground_truth(rng)
    r = rng.random()
    if r < 0.1:
        for ann in gt["annotations"]:
            ann["id"] -= 1  # ids from 0 (pycocotools cannot match id 0)
    for _ in range(int(rng.integers(1, 4))):
        gt = _mutate_tree(rng, gt)
    segm = rng.random() < 0.5
    dets = [
        dict(pairs)
        for pairs in _detections(np.random.default_rng(int(rng.integers(1 << 30))), segm)
    ]
    return {"gt": gt, "dt": dets, "iou_type": "segm" if segm else "bbox"}


def run_gt(case: dict) -> None:
    from ioukit.evaluate import coco_evaluate

    result = coco_evaluate(copy.deepcopy(case["gt"]), copy.deepcopy(case["dt"]), case["iou_type"])
    stats = result.stats
    check(bool(np.all((stats >= -1) & (stats <= 1))), f"stats outside [-1, 1]: {stats.tolist()}")


def warm() -> None:
    rng = np.random.default_rng(1)
    for segm in (False, True):
        gt = _ground_truth(rng)
        dets = _detections(rng, segm)
        run_results(
            {
                "gt": gt,
                "file": _serialise(dets, rng).encode(),
                "iou_type": "segm" if segm else "bbox",
            }
        )


TARGETS = {
    "results_files": Target("results_files", generate_results, run_results, warm),
    "ground_truth": Target("ground_truth", generate_gt, run_gt, warm),
}
