"""Target ``sparse_masks``: ``mask_iou`` on SciPy CSR masks whose ``indptr``,
``indices``, ``data`` or ``shape`` were broken after construction (as a caller's
hand-built or unpickled matrix can be), and on valid ones against a dense oracle."""

from __future__ import annotations

import numpy as np

from .core import Target, check
from .gen import edge_int


def _valid(rng: np.random.Generator, n: int, hw: int) -> dict:
    dense = (rng.random((n, hw)) < rng.random()).astype(np.uint8)
    rows, cols = np.nonzero(dense)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return {
        "data": np.ones(cols.shape[0], np.uint8),
        "indices": cols.astype(np.int32),
        "indptr": indptr.astype(np.int32),
        "shape": (n, hw),
    }


def _break(rng: np.random.Generator, part: dict) -> None:
    op = int(rng.integers(9))
    indptr, indices = part["indptr"], part["indices"]
    if op == 0 and indptr.size > 2:  # not monotonic
        i = int(rng.integers(1, indptr.size - 1))
        indptr[i] = indptr[i + 1] + int(rng.integers(1, 5))
    elif op == 1 and indptr.size:
        indptr[int(rng.integers(indptr.size))] = (
            edge_int(rng) % 2**31 * (1 if rng.random() < 0.7 else -1)
        )
    elif op == 2 and indices.size:
        i = int(rng.integers(indices.size))
        bad = [-1, -(2**31), part["shape"][1], part["shape"][1] + 7, 2**31 - 1]
        indices[i] = int(np.clip(rng.choice(bad), -(2**31), 2**31 - 1))
    elif op == 3 and indices.size:
        rng.shuffle(indices)  # unsorted, maybe duplicated within a row
    elif op == 4:
        part["data"] = part["data"].astype(rng.choice(["f8", "i8", "bool"])) * rng.choice(
            [1, 2, -1]
        )
    elif op == 5:
        part["shape"] = (
            part["shape"][0],
            int(rng.choice([0, 1, part["shape"][1] - 1, 2**31, 2**40])),
        )
    elif op == 6 and indices.size:
        part["indices"] = indices[: int(rng.integers(indices.size))]  # too short for indptr[-1]
    elif op == 7:
        part["indptr"] = indptr[: int(rng.integers(indptr.size + 1))]
    else:
        part["indices"] = indices.astype(np.int64)
        part["indptr"] = indptr.astype(np.int64)
        if indptr.size:
            part["indptr"][-1] += int(rng.integers(1, 3))


def generate(rng: np.random.Generator) -> dict:
    hw = int(rng.integers(0, 40))
    a = _valid(rng, int(rng.integers(0, 5)), hw)
    b = _valid(rng, int(rng.integers(0, 5)), hw)
    broken = rng.random() < 0.8
    for part in (a, b) if broken else ():
        if rng.random() < 0.7:
            for _ in range(int(rng.integers(1, 3))):
                _break(rng, part)
    return {"a": a, "b": b, "broken": broken}


def _build(part: dict):
    from scipy import sparse

    m = sparse.csr_array(
        (np.ones(1, np.uint8), np.zeros(1, np.int32), np.array([0, 1])), shape=(1, 1)
    )
    # set the parts directly, as a hand-built or unpickled matrix can hold them
    m.data, m.indices, m.indptr = part["data"], part["indices"], part["indptr"]
    m._shape = tuple(part["shape"])
    return m


def run(case: dict) -> None:
    from ioukit import mask_iou

    a, b = _build(case["a"]), _build(case["b"])
    iou = mask_iou(a, b)
    check(iou.shape == (a.shape[0], b.shape[0]), f"shape {iou.shape}")
    check(bool(np.all((iou >= 0) & (iou <= 1))), f"IoU outside [0, 1]: {iou.tolist()}")
    if not case["broken"]:
        da, db = a.toarray() != 0, b.toarray() != 0
        inter = da.astype(float) @ db.T.astype(float)
        union = da.sum(1)[:, None] + db.sum(1)[None, :] - inter
        ref = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        check(np.allclose(iou, ref), "IoU differs from the dense reference")


def warm() -> None:
    rng = np.random.default_rng(0)
    run({"a": _valid(rng, 3, 20), "b": _valid(rng, 2, 20), "broken": False})


TARGETS = {"sparse_masks": Target("sparse_masks", generate, run, warm)}
