"""The Dask backend: ``dask.array`` inputs become lazy, blockwise computations.

Every task runs the ordinary kernel (CPU for NumPy chunks, CUDA for CuPy chunks)
on one tile. Boxes may be chunked any way along the box axis; the coordinate
axis (and a mask's height and width) is rechunked to one chunk. Every result is
lazy, the semantic confusion matrix included (the sum of one matrix per chunk).

Thread policy: a task runs its kernel with ``IOUKIT_DASK_TASK_THREADS`` numba
threads (default 1), since Dask already runs one task per core; numba's thread
count is per calling thread, so tasks never oversubscribe the machine. Under
numba's ``workqueue`` layer the calls are also serialised (see ``ioukit._core.jit``).
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from .._core import validate as check
from .._core.dispatch import DASK, require
from .._core.dtypes import float_types

NAME = "Dask"


def _dask() -> Any:
    return require("dask", DASK), require("dask.array", DASK)


def task_threads() -> int:
    """Numba threads each Dask task may use."""
    return max(1, int(os.environ.get("IOUKIT_DASK_TASK_THREADS", "1")))


class _LimitedThreads:
    """Run a kernel with at most :func:`task_threads` numba threads (this thread only)."""

    def __enter__(self) -> None:
        import numba

        self.before = numba.get_num_threads()
        numba.set_num_threads(min(task_threads(), self.before))

    def __exit__(self, *exc: object) -> None:
        import numba

        numba.set_num_threads(self.before)


def _shift_rows(err: ValueError, start_a: Any, start_b: Any) -> ValueError:
    """The message of a tile's error with its row counted in the whole array (the
    starts: the tile's first row in ``a`` and ``b``, numbers or arrays of them)."""
    name = "b" if "argument 'b'" in str(err) else "a"
    starts = np.ravel(start_b if name == "b" else start_a)
    start = int(starts[0]) if starts.size else 0
    text = str(err)
    if f"argument {name!r}" in text and start:
        text = re.sub(r"at row (\d+)", lambda m: f"at row {int(m.group(1)) + start}", text, count=1)
    return ValueError(text)


def _block(a, start_a, b=None, start_b=None, crowd=None, *, func_name, options):
    """``ioukit.<func_name>`` of one tile; a bad box's row is counted in the whole array."""
    import ioukit

    if crowd is not None:
        options = dict(options, crowd=crowd)
    try:
        with _LimitedThreads():
            if b is None:
                return getattr(ioukit, func_name)(a, **options)
            return getattr(ioukit, func_name)(a, b, **options)
    except ValueError as err:
        raise _shift_rows(err, start_a, start_b) from None


def _starts(da: Any, chunks: tuple[int, ...]) -> Any:
    """Each row's chunk start, chunked like the rows (so a block knows where it begins)."""
    starts = np.cumsum((0,) + tuple(chunks[:-1])).astype(np.int64)
    return da.from_array(np.repeat(starts, chunks), chunks=(chunks,))


#: the shapes a Dask argument may have, by what it holds: (how a message says it, test)
_SHAPES = {
    "boxes": ("(N, 4)", lambda s: len(s) == 2 and s[1] == 4),
    "rotated": (
        "(N, 5) for rotated boxes (cx, cy, w, h, angle)",
        lambda s: len(s) == 2 and s[1] == 5,
    ),
    "polygons": (
        "(N, K, 2) with K >= 3 vertices",
        lambda s: len(s) == 3 and s[1] >= 3 and s[2] == 2,
    ),
}


def _as_dask_rows(da: Any, x: Any, name: str, func: str, holds: str = "boxes") -> Any:
    """``x`` as a Dask array chunked along its rows only; ValueError for a wrong shape."""
    arr = da.asarray(x)
    text, fits = _SHAPES[holds]
    if not fits(arr.shape):
        raise ValueError(f"{func}: Dask argument {name!r} must have shape {text}, got {arr.shape}")
    return arr.rechunk({axis: -1 for axis in range(1, arr.ndim)})


def _pairwise(da, func, aa, bb, cores, aligned, options, dtype, flags=None):
    """The lazy (N, M) (``aligned``: (N,)) result of ``ioukit.<func>`` over row tiles;
    ``cores`` are the blockwise indices of the axes after the rows of ``a`` and ``b``."""
    rows_a = _starts(da, aa.chunks[0])
    if aligned:  # row i of a with row i of b: b and the flags take the chunks of a
        options = dict(options, aligned=True)
        out_index, b_row, rows_b = "i", "i", rows_a
        bb = bb.rechunk({0: aa.chunks[0]})
    else:
        out_index, b_row, rows_b = "ij", "j", _starts(da, bb.chunks[0])
    args = [aa, "i" + cores[0], rows_a, "i", bb, b_row + cores[1], rows_b, b_row]
    if flags is not None:
        args += [flags.rechunk(bb.chunks[0]), b_row]
    return da.blockwise(
        _block, out_index, *args, dtype=dtype, concatenate=True, func_name=func, options=options
    )


#: Options of a box job this backend refuses (name -> why), checked by the front-end.
UNSUPPORTED_BOX_OPTIONS = {"out": "the result is lazy"}


def run_boxes(job: Any) -> Any:
    """Run a :class:`~ioukit._boxes.job.BoxJob` of Dask arrays: a lazy Dask array (a
    ``dask.delayed`` sparse matrix for ``threshold=``); each tile runs the CPU path."""
    dask, da = _dask()
    func = job.func
    aa = _as_dask_rows(da, job.a, "a", func)
    rows_a = _starts(da, aa.chunks[0])
    if job.metric in ("area", "convert"):
        _, result = float_types(np.dtype(aa.dtype))
        if job.metric == "area":
            out_index, options = "i", {"fmt": job.fmt, "pixel_offset": job.offset}
        else:
            out_index, options = "ik", {"src": job.fmt, "dst": job.dst}
        options["validate"] = job.validate
        return da.blockwise(
            _block,
            out_index,
            aa,
            "ik",
            rows_a,
            "i",
            dtype=result,
            concatenate=True,
            func_name=func,
            options=options,
        )
    bb = _as_dask_rows(da, job.b, "b", func)
    _, result = float_types(np.dtype(aa.dtype), np.dtype(bb.dtype))
    options = {"fmt": job.fmt, "pixel_offset": job.offset, "validate": job.validate}
    if job.metric in ("diou", "ciou"):
        options["eps"] = job.eps
    if job.metric == "ioa":
        options["over"] = job.over
    if job.threshold is not None:
        return sparse_box_iou_dask(aa, bb, job.crowd, job.threshold, options)
    flags = None if job.crowd is None else da.asarray(job.crowd)
    return _pairwise(da, func, aa, bb, ("k", "k"), job.aligned, options, result, flags)


def run_shapes(a: Any, b: Any, call: Any) -> Any:
    """A checked rotated-box or polygon call (a :class:`ioukit._boxes.rotated.RotatedCall`
    from ``check_rotated_call``: ``call.fmt`` a rotated format for (N, 5) boxes, None for
    (N, K, 2) and (M, L, 2) polygons) of Dask arrays, from ``rotated.measure``.

    Returns a lazy (N, M) array (``aligned``: (N,)) in the dtype of the eager result,
    or with ``threshold`` a ``dask.delayed`` SciPy CSR array as
    :func:`sparse_box_iou_dask`. Each tile runs ``ioukit.<call.func>`` on the host,
    which checks the values of its shapes; an error names the row in the whole array.

    Examples
    --------
    >>> import dask.array as da, ioukit
    >>> a = da.from_array([[0.0, 0, 2, 2, 0], [5, 5, 2, 2, 45]], chunks=1)
    >>> ioukit.box_iou(a, a, fmt="cxcywha").compute().round(6)
    array([[1., 0.],
           [0., 1.]])
    """
    dask, da = _dask()
    func, holds = call.func, "polygons" if call.fmt is None else "rotated"
    aa, bb = _as_dask_rows(da, a, "a", func, holds), _as_dask_rows(da, b, "b", func, holds)
    if call.aligned:
        check.check_same_length(aa.shape[0], bb.shape[0], func)
    options = {"validate": call.validate}
    if call.fmt is not None:
        options["fmt"] = call.fmt
    if call.metric == "ioa":
        options["over"] = call.over
    if call.threshold is not None:
        return sparse_box_iou_dask(aa, bb, None, call.threshold, options)
    _, result = float_types(np.dtype(aa.dtype), np.dtype(bb.dtype))
    cores = ("kc", "lc") if holds == "polygons" else ("k", "k")
    return _pairwise(da, func, aa, bb, cores, call.aligned, options, result)


def _mask_block(a, b, crowd=None):
    import ioukit

    with _LimitedThreads():
        return ioukit.mask_iou(a, b, crowd=crowd)


def mask_iou(a: Any, b: Any, crowd: Any = None) -> Any:
    """Dense mask IoU of Dask stacks ``(N, H, W)`` and ``(M, H, W)``: a lazy (N, M) array."""
    dask, da = _dask()
    arrays = []
    for name, x in (("a", a), ("b", b)):
        if isinstance(x, (dict, list, tuple)):
            raise TypeError(f"mask_iou: Dask inputs take dense masks only ('{name}' is RLE)")
        arr = da.asarray(x)
        if arr.ndim != 3:
            raise ValueError(f"mask_iou: Dask argument {name!r} must be (N, H, W), got {arr.shape}")
        arrays.append(arr.rechunk({1: -1, 2: -1}))
    aa, bb = arrays
    from ..masks import _same_size

    _same_size(aa.shape[1:], bb.shape[1:], "mask_iou")
    args = [aa, "ihw", bb, "jhw"]
    if crowd is not None:
        args += [da.asarray(np.asarray(crowd, dtype=bool)).rechunk(bb.chunks[0]), "j"]
    return da.blockwise(_mask_block, "ij", *args, dtype=np.float64, concatenate=True)


def _confusion_block(t, p, num_classes, ignore_index):
    from ..semantic import confusion_matrix

    with _LimitedThreads():
        return confusion_matrix(t, p, num_classes, ignore_index)


def confusion_matrix(target: Any, pred: Any, num_classes: int, ignore_index: int | None) -> Any:
    """Confusion matrix of Dask label maps: a lazy (C, C) int64 Dask array, the sum of
    one matrix per chunk (computed when asked, like the other Dask results)."""
    dask, da = _dask()
    t, p = da.asarray(target), da.asarray(pred)
    if t.shape != p.shape:
        raise ValueError(
            f"confusion_matrix: target has shape {t.shape} but pred has shape {p.shape}"
        )
    p = p.rechunk(t.chunks)
    c = int(num_classes)
    block = dask.delayed(_confusion_block, pure=True)
    parts = [
        da.from_delayed(block(tb, pb, c, ignore_index), shape=(c, c), dtype=np.int64)
        for tb, pb in zip(t.to_delayed().ravel(), p.to_delayed().ravel(), strict=True)
    ]
    return da.stack(parts).sum(axis=0, dtype=np.int64)


# --- box_iou(dask_a, dask_b, threshold=t): one task per pair of chunks finds the pairs
# above the threshold with the grid kernel; a lazy value computing to a SciPy sparse matrix


def _sparse_block(
    a: np.ndarray,
    b: np.ndarray,
    crowd: Any,
    start_a: int,
    start_b: int,
    threshold: float,
    options: dict,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import ioukit

    try:
        with _LimitedThreads():
            block = ioukit.box_iou(a, b, threshold=threshold, crowd=crowd, **options).tocoo()
    except ValueError as err:
        raise _shift_rows(err, start_a, start_b) from None
    return block.row.astype(np.int64) + start_a, block.col.astype(np.int64) + start_b, block.data


def _assemble(blocks: list, shape: tuple[int, int]) -> Any:
    from scipy import sparse

    rows = np.concatenate([b[0] for b in blocks]) if blocks else np.zeros(0, np.int64)
    cols = np.concatenate([b[1] for b in blocks]) if blocks else np.zeros(0, np.int64)
    vals = np.concatenate([b[2] for b in blocks]) if blocks else np.zeros(0)
    return sparse.coo_array((vals, (rows, cols)), shape=shape).tocsr()


def sparse_box_iou_dask(a: Any, b: Any, crowd: Any, threshold: float, options: dict) -> Any:
    """Pairs with IoU >= ``threshold`` of two Dask box arrays: a ``dask.delayed`` value
    computing to a ``scipy.sparse.csr_array`` (one task per pair of chunks).

    Examples
    --------
    >>> import dask.array as da, ioukit
    >>> a = da.from_array([[0, 0, 10, 10], [20, 20, 30, 30]], chunks=1)
    >>> lazy = ioukit.box_iou(a, a, threshold=0.5)
    >>> lazy.compute().toarray()
    array([[1., 0.],
           [0., 1.]])
    """
    import dask

    starts_a = np.cumsum((0,) + a.chunks[0][:-1])
    starts_b = np.cumsum((0,) + b.chunks[0][:-1])
    flags = None if crowd is None else np.asarray(crowd, dtype=bool)
    blocks = []
    for block_a, sa in zip(a.to_delayed().ravel(), starts_a, strict=True):
        for k, (block_b, sb) in enumerate(zip(b.to_delayed().ravel(), starts_b, strict=True)):
            part = None if flags is None else flags[sb : sb + b.chunks[0][k]]
            blocks.append(
                dask.delayed(_sparse_block)(
                    block_a, block_b, part, int(sa), int(sb), threshold, options
                )
            )
    return dask.delayed(_assemble)(blocks, (a.shape[0], b.shape[0]))
