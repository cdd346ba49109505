"""Target ``semantic``: ``confusion_matrix`` and ``label_overlap`` on label maps of
every integer dtype with edge labels, ``ignore_index`` and ``num_classes`` values,
checked against a NumPy reference when they return.

``num_classes`` stays where the (C, C) output fits in memory (or is far past it,
where the answer must be a ValueError): the output size is the caller's request.
"""

from __future__ import annotations

import numpy as np

from .core import Target, check

DTYPES = [
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "object",
]
IGNORES = [
    None,
    None,
    255,
    0,
    -1,
    255.7,
    255.0,
    2**64 - 1,
    2**63,
    -(2**63),
    1e30,
    "x",
    True,
    np.uint8(3),
]
CLASSES = [
    1,
    2,
    3,
    5,
    19,
    150,
    256,
    0,
    -1,
    2.5,
    3.0,
    True,
    "3",
    2**31,
    2**32,
    3037000500,
    2**63,
    None,
]


def _labels(rng: np.random.Generator, shape: tuple, dtype: str, c: int) -> np.ndarray:
    r = rng.random()
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if r < 0.6:
        values = rng.integers(0, max(c, 1), size=shape)
    else:
        values = rng.integers(-3, max(c, 1) + 3, size=shape)
    with np.errstate(all="ignore"):
        arr = values.astype(dtype) if dtype != "object" else values.astype(object)
    if rng.random() < 0.1 and arr.size and dtype not in ("object",):
        kind = np.dtype(dtype).kind
        if kind in "iu":
            arr.flat[int(rng.integers(arr.size))] = np.iinfo(dtype).max
        elif kind == "f":
            arr.flat[int(rng.integers(arr.size))] = rng.choice([np.nan, np.inf, 1e30])
    return arr


def generate(rng: np.random.Generator) -> dict:
    func = "label_overlap" if rng.random() < 0.3 else "confusion_matrix"
    shape = tuple(int(s) for s in rng.integers(0, 9, size=int(rng.integers(1, 4))))
    c = CLASSES[int(rng.integers(len(CLASSES)))] if rng.random() < 0.3 else int(rng.integers(1, 12))
    nominal = c if isinstance(c, int) and 0 < c < 1000 else 4
    dt_t = DTYPES[int(rng.integers(len(DTYPES)))] if rng.random() < 0.5 else "uint8"
    dt_p = dt_t if rng.random() < 0.7 else DTYPES[int(rng.integers(len(DTYPES)))]
    target = _labels(rng, shape, dt_t, nominal)
    pred = _labels(rng, shape, dt_p, nominal)
    if rng.random() < 0.05:
        pred = pred.reshape(-1)[: max(0, pred.size - 1)]
    ignore = IGNORES[int(rng.integers(len(IGNORES)))] if rng.random() < 0.5 else None
    return {"func": func, "target": target, "pred": pred, "num_classes": c, "ignore_index": ignore}


def run(case: dict) -> None:
    from ioukit import label_overlap
    from ioukit.semantic import confusion_matrix

    t, p = case["target"], case["pred"]
    if case["func"] == "label_overlap":
        iou, ids_a, ids_b = label_overlap(t, p)
        check(iou.shape == (ids_a.size, ids_b.size), f"label_overlap shape {iou.shape}")
        ref_a = np.unique(np.asarray(t).ravel())
        ref_a = ref_a[ref_a != 0]
        check(
            np.array_equal(np.asarray(ids_a, dtype=ref_a.dtype), ref_a),
            f"labels {ids_a} != {ref_a}",
        )
        for i, la in enumerate(ids_a.tolist()):
            for j, lb in enumerate(ids_b.tolist()):
                ma, mb = np.asarray(t) == la, np.asarray(p) == lb
                union = (ma | mb).sum()
                ref = (ma & mb).sum() / union if union else 0.0
                check(
                    abs(iou[i, j] - ref) < 1e-12, f"IoU of labels {la}, {lb}: {iou[i, j]} != {ref}"
                )
        return
    c, ignore = case["num_classes"], case["ignore_index"]
    cm = confusion_matrix(t, p, c, ignore_index=ignore)
    n = int(c)
    check(cm.shape == (n, n), f"shape {cm.shape} for num_classes={c!r}")
    tt = np.asarray(t).ravel().astype(object)
    pp = np.asarray(p).ravel().astype(object)
    keep = [not (ignore is not None and tv == ignore) for tv in tt]
    ref = np.zeros((n, n), np.int64)
    for tv, pv, k in zip(tt, pp, keep, strict=True):
        if k:
            check(0 <= tv < n and 0 <= pv < n, f"label {tv!r}/{pv!r} outside [0, {n}) was accepted")
            ref[int(tv), int(pv)] += 1
    check(np.array_equal(cm, ref), f"confusion matrix {cm.tolist()} != reference {ref.tolist()}")


def warm() -> None:
    from ioukit import label_overlap
    from ioukit.semantic import confusion_matrix

    for dtype in ("uint8", "int64", "uint16"):
        a = np.arange(40).reshape(5, 8).astype(dtype) % 3
        confusion_matrix(a, a, 3)
        confusion_matrix(a, a, 3, ignore_index=2)
        label_overlap(a, a)


TARGETS = {"semantic": Target("semantic", generate, run, warm)}
