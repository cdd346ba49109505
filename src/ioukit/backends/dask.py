"""The Dask backend: ``dask.array`` inputs become lazy, blockwise computations.

Every task runs the ordinary kernel (CPU for NumPy chunks, CUDA for CuPy chunks)
on one tile. Boxes may be chunked any way along the box axis; the coordinate
axis (and a mask's height and width) is rechunked to one chunk. Small results
(the semantic confusion matrix) are computed and returned on the host.

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

from .._core.dtypes import float_types
from .._core.validate import check_same_length


def _dask() -> Any:
    try:
        import dask
        import dask.array as da
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Dask inputs need dask; install it with: pip install 'ioukit[dask]'"
        ) from err
    return dask, da


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


def _shift_rows(err: ValueError, name: str, start: int) -> ValueError:
    """The message of a chunk's error with its row counted in the whole array."""
    text = str(err)
    if f"argument {name!r}" in text and start:
        text = re.sub(r"at row (\d+)", lambda m: f"at row {int(m.group(1)) + start}", text, count=1)
    return ValueError(text)


def _pair_block(a, b, start_a, start_b, crowd=None, *, func_name, options):
    import ioukit

    try:
        with _LimitedThreads():
            return (
                getattr(ioukit, func_name)(a, b, crowd=crowd, **options)
                if crowd is not None
                else (getattr(ioukit, func_name)(a, b, **options))
            )
    except ValueError as err:
        name = "a" if "argument 'a'" in str(err) else "b"
        starts = start_a if name == "a" else start_b
        raise _shift_rows(err, name, int(np.ravel(starts)[0]) if np.size(starts) else 0) from None


def _aligned_block(a, b, crowd=None, *, func_name, options):
    import ioukit

    with _LimitedThreads():
        if crowd is not None:
            return getattr(ioukit, func_name)(a, b, aligned=True, crowd=crowd, **options)
        return getattr(ioukit, func_name)(a, b, aligned=True, **options)


def _starts(da: Any, chunks: tuple[int, ...]) -> Any:
    """Each row's chunk start, chunked like the rows (so a block knows where it begins)."""
    starts = np.cumsum((0,) + tuple(chunks[:-1])).astype(np.int64)
    return da.from_array(np.repeat(starts, chunks), chunks=(chunks,))


def _as_dask_boxes(da: Any, x: Any, name: str, func: str) -> Any:
    arr = da.asarray(x)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{func}: Dask argument {name!r} must have shape (N, 4), got {arr.shape}")
    return arr.rechunk({1: -1})


def pairwise_boxes(
    func,
    metric,
    a,
    b,
    *,
    fmt,
    aligned,
    pixel_offset,
    out,
    validate,
    crowd,
    over,
    eps,
    threshold=None,
):
    """Box metrics of Dask arrays: a lazy (N, M) or (N,) Dask array."""
    dask, da = _dask()
    if out is not None:
        raise TypeError(f"{func}: out= is not supported for Dask inputs (the result is lazy)")
    aa, bb = _as_dask_boxes(da, a, "a", func), _as_dask_boxes(da, b, "b", func)
    _, result = float_types(np.dtype(aa.dtype), np.dtype(bb.dtype))
    options: dict[str, Any] = {"fmt": fmt, "pixel_offset": pixel_offset, "validate": validate}
    if metric in ("diou", "ciou"):
        options["eps"] = eps
    if metric == "ioa":
        options["over"] = over
    if threshold is not None:
        return sparse_box_iou_dask(aa, bb, crowd, threshold, options)
    flags = (
        None
        if crowd is None
        else da.asarray(np.asarray(crowd, dtype=bool) if not hasattr(crowd, "dask") else crowd)
    )
    if aligned:
        check_same_length(aa.shape[0], bb.shape[0], func)
        bb = bb.rechunk({0: aa.chunks[0]})
        args = [aa, bb] + ([flags.rechunk(aa.chunks[0])] if flags is not None else [])
        return da.map_blocks(
            _aligned_block,
            *args,
            dtype=result,
            drop_axis=1,
            func_name=func,
            options=options,
        )
    args = [aa, "ik", bb, "jk", _starts(da, aa.chunks[0]), "i", _starts(da, bb.chunks[0]), "j"]
    if flags is not None:
        args += [flags.rechunk(bb.chunks[0]), "j"]
    return da.blockwise(
        _pair_block,
        "ij",
        *args,
        dtype=result,
        concatenate=True,
        func_name=func,
        options=options,
    )


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


def confusion_matrix(
    target: Any, pred: Any, num_classes: int, ignore_index: int | None
) -> np.ndarray:
    """Confusion matrix of Dask label maps: one task per chunk, summed; returned computed."""
    dask, da = _dask()
    t, p = da.asarray(target), da.asarray(pred)
    if t.shape != p.shape:
        raise ValueError(
            f"confusion_matrix: target has shape {t.shape} but pred has shape {p.shape}"
        )
    p = p.rechunk(t.chunks)
    parts = [
        dask.delayed(_confusion_block)(tb, pb, num_classes, ignore_index)
        for tb, pb in zip(t.to_delayed().ravel(), p.to_delayed().ravel(), strict=True)
    ]
    total = dask.delayed(sum)(parts)
    return np.asarray(total.compute(), dtype=np.int64)


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

    with _LimitedThreads():
        block = ioukit.box_iou(a, b, threshold=threshold, crowd=crowd, **options).tocoo()
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
