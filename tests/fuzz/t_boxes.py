"""Target ``boxes``: every box function on random and extreme values in every dtype.

Besides the error contract, a returned result must have the documented dtype
(float16/float32 in, float32 out; float64 in, float64 out; integers, float64 out),
be finite for finite inputs, stay in its range (IoU and IoA in [0, 1], GIoU and
DIoU in [-1, 1], CIoU in [-2, 1]), agree between ``threshold=`` and the dense
matrix, and fill and return ``out=``.
"""

from __future__ import annotations

import numpy as np

from .core import Target, check
from .gen import edge_float

DTYPES = [
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "complex64",
    "object",
    "longdouble",
]
FUNCS = ["box_iou", "box_giou", "box_diou", "box_ciou", "box_ioa", "box_area", "box_convert"]
RANGES = {
    "box_iou": (0, 1),
    "box_ioa": (0, 1),
    "box_giou": (-1, 1),
    "box_diou": (-1, 1),
    "box_ciou": (-2, 1),
}
FMTS = ["xyxy", "xywh", "cxcywh"]


def _value(rng: np.random.Generator, scale: float) -> float:
    r = rng.random()
    if r < 0.6:
        return float(rng.uniform(-scale, scale))
    if r < 0.8:
        return float(10 ** rng.uniform(-300, 308) * rng.choice([1, -1]))
    return edge_float(rng)


def _boxes(rng: np.random.Generator, n: int, fmt: str, dtype: str) -> np.ndarray:
    scale = float(10 ** rng.uniform(0, 20))
    xy = np.array([[_value(rng, scale) for _ in range(2)] for _ in range(n)]).reshape(n, 2)
    wh = np.abs(np.array([[_value(rng, scale) for _ in range(2)] for _ in range(n)]).reshape(n, 2))
    if rng.random() < 0.1 and n:
        wh[int(rng.integers(n))] *= -1  # invalid
    with np.errstate(all="ignore"):
        if fmt == "xyxy":
            arr = np.concatenate([xy, xy + wh], axis=1)
        elif fmt == "xywh":
            arr = np.concatenate([xy, wh], axis=1)
        else:
            arr = np.concatenate([xy, wh], axis=1)
        if dtype in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
            info = np.iinfo(dtype)
            small = np.round(np.clip(arr, -1000, 1000) if rng.random() < 0.7 else arr)
            arr = np.clip(np.nan_to_num(small), info.min, info.max)
            if fmt == "xyxy":
                arr[:, 2:] = np.maximum(arr[:, 2:], arr[:, :2])
            return arr.astype(dtype)
        return arr.astype(dtype)


def generate(rng: np.random.Generator) -> dict:
    fmt = FMTS[int(rng.integers(3))]
    dtype = DTYPES[int(rng.integers(len(DTYPES)))] if rng.random() < 0.7 else "float64"
    n, m = int(rng.integers(0, 5)), int(rng.integers(0, 5))
    func = FUNCS[int(rng.integers(len(FUNCS)))]
    kw: dict = {"fmt": fmt}
    aligned = rng.random() < 0.2
    if aligned:
        m = n
        kw["aligned"] = True
    if rng.random() < 0.3:
        kw["pixel_offset"] = int(rng.choice([0, 1, 1, 2])) if rng.random() < 0.9 else 0.5
    if func != "box_area" and func != "box_convert":
        if rng.random() < 0.2:
            kw["crowd"] = (rng.random(m) < 0.5).tolist()
        if func == "box_iou" and not aligned and rng.random() < 0.3:
            kw["threshold"] = float(rng.choice([1e-9, 0.1, 0.5, 0.99, 1.0, 0.0, 1.5, float("nan")]))
        elif rng.random() < 0.1:
            kw["out"] = "list" if rng.random() < 0.5 else "array"
    if func == "box_convert":
        kw = {"src": fmt, "dst": FMTS[int(rng.integers(3))]}
    a = _boxes(rng, n, fmt if func != "box_convert" else kw["src"], dtype)
    b = _boxes(rng, m, fmt, dtype)
    if rng.random() < 0.05:
        a = a.reshape(-1)[: int(rng.integers(0, a.size + 1))]  # wrong shape
    return {"func": func, "a": a, "b": b, "kw": kw}


def _finite(x: np.ndarray) -> bool:
    try:
        return bool(np.isfinite(np.asarray(x, dtype=np.float64)).all())
    except (TypeError, ValueError, OverflowError):
        return False


def _expected_dtype(dtype: np.dtype) -> np.dtype | None:
    if dtype.kind == "f" and dtype.itemsize <= 4:
        return np.dtype(np.float32)
    if dtype == np.float64 or dtype.kind in "iu":
        return np.dtype(np.float64)
    return None  # bool, complex, object, longdouble: either way


def run(case: dict) -> None:
    import ioukit

    func, a, b, kw = case["func"], case["a"], case["b"], dict(case["kw"])
    fn = getattr(ioukit, func)
    finite = _finite(a) and _finite(b)
    if func == "box_convert":
        out = fn(a, kw["src"], kw["dst"])
        check(np.shape(out) == np.shape(a), f"box_convert shape {np.shape(out)} for {np.shape(a)}")
        return
    if func == "box_area":
        out = fn(a, **kw)
        want = _expected_dtype(a.dtype)
        check(want is None or out.dtype == want, f"box_area of {a.dtype} gives {out.dtype}")
        if finite and out.size:
            with np.errstate(all="ignore"):
                wide = np.asarray(a, np.float64)
            if np.isfinite(wide).all() and np.max(np.abs(wide)) < 1e18:
                check(
                    bool(np.isfinite(out).all()), f"box_area gives {out.tolist()} for finite boxes"
                )
        return
    buffer = kw.pop("out", None)
    threshold = kw.get("threshold")
    result = fn(a, b, **kw)
    if threshold is not None:
        kw.pop("threshold")
        dense = fn(a, b, **kw)
        sparse = result.toarray()
        check(sparse.shape == dense.shape, f"threshold= shape {sparse.shape} != {dense.shape}")
        keep = dense >= threshold
        check(
            np.allclose(sparse[keep], dense[keep]) and not np.any(sparse[~keep]),
            f"threshold={threshold} pairs differ from the dense result",
        )
        return
    want = _expected_dtype(a.dtype)
    check(want is None or result.dtype == want, f"{func} of {a.dtype} gives {result.dtype}")
    if finite and result.size:
        lo, hi = RANGES[func]
        ok = (
            np.isfinite(result).all()
            and (result >= lo - 1e-6).all()
            and (result <= hi + 1e-6).all()
        )
        check(
            bool(ok),
            f"{func} gives values outside [{lo}, {hi}] for finite boxes: {result.tolist()}",
        )
    if buffer is not None:
        target = np.zeros_like(result)
        given = target.tolist() if buffer == "list" else target
        try:
            returned = fn(a, b, out=given, **kw)
        except (TypeError, ValueError):
            return
        check(
            np.array_equal(np.asarray(returned), result, equal_nan=True),
            f"out= ({buffer}) returned something else than the result",
        )


def warm() -> None:
    """The kernels the cases reach: small inputs only (ioukit.warmup's boxes family
    also compiles the parallel IoU kernel of large inputs, which no case reaches)."""
    import ioukit

    for dtype in ("float32", "float64"):
        a = np.array([[0, 0, 2, 2], [1, 1, 3, 4]], dtype)
        for func in FUNCS[:5]:
            getattr(ioukit, func)(a, a)
            getattr(ioukit, func)(a, a, aligned=True)
        ioukit.box_iou(a, a, crowd=[False, True])
        ioukit.box_area(a)
        ioukit.box_convert(a, "xyxy", "cxcywh")
        ioukit.box_iou(a, a, threshold=0.5)
        ioukit.box_iou(a, a, threshold=0.5, crowd=[False, True])
        ioukit.box_iou(a, a, pixel_offset=1, threshold=0.5)


TARGETS = {"boxes": Target("boxes", generate, run, warm)}
