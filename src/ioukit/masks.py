"""Mask IoU on dense, sparse and COCO RLE masks, and IoU between labelled instances.

Representations and the kernel each one gets:

* dense ``(N, H, W)`` bool/uint8 stacks (or one ``(H, W)`` mask): each mask's
  bounding-box rows are bit-packed once, pairs whose boxes miss are skipped, the
  rest cost a popcount of ANDs over the shared rows;
* COCO RLE (a dict or a list of dicts, compressed or not): decoded to foreground
  runs, which are bit-packed the same way (image columns as rows, since RLE runs
  go down the columns);
* SciPy sparse ``(N, H*W)`` (CSR, CSC, COO; matrices or arrays): each row becomes
  sorted runs of consecutive pixels, intersected by a two-pointer merge;

When the packed bits of all masks would exceed 256 MiB (huge images), dense and
RLE inputs fall back to intersecting the runs themselves, which needs memory
proportional to the runs only.

Mixed dense and RLE inputs are compared as RLE (the dense side is encoded once);
sparse mixed with anything else is a TypeError.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._core import dispatch
from ._core import validate as check
from ._core.loader import kernel, parallel_call
from ._masks import convert as _convert
from ._masks import dense as _dense
from ._masks import intervals as _iv
from ._masks.convert import DENSE, RLE, SPARSE
from ._masks.rleset import RLESet, parse_rles
from ._masks.sparse_check import canonical_csr

# ----------------------------------------------------------------------------- sparse


def _sparse_iou(a: Any, b: Any, crowd: np.ndarray | None, func: str) -> np.ndarray:
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{func}: sparse masks must be (N, H*W) and (M, H*W) with one pixel count, "
            f"got {a.shape} and {b.shape}"
        )
    return _iv.interval_iou(
        _iv.sparse_intervals(canonical_csr(a, "a", func)),
        _iv.sparse_intervals(canonical_csr(b, "b", func)),
        crowd,
    )


# ----------------------------------------------------------------------------- front-end


def _as_rles(x: Any, rep: str, name: str, func: str) -> tuple[RLESet, tuple[int, int]]:
    if rep == RLE:
        parsed, _ = parse_rles(x, name, func)
        return parsed, parsed.common_size(name, func)
    masks, _ = check.dense_masks(x, name, func)
    return _convert.masks_to_rles(masks, name, func), masks.shape[1:]


def mask_iou(a: Any, b: Any, crowd: Any = None) -> np.ndarray:
    """IoU of every mask of ``a`` with every mask of ``b``.

    Parameters
    ----------
    a, b : masks
        Dense ``(N, H, W)`` (or one ``(H, W)``) bool/integer 0/1 arrays; SciPy sparse
        ``(N, H*W)`` matrices or arrays with one flattened mask per row; or COCO RLE
        (a dict or a list of dicts, compressed or uncompressed counts). A single mask
        counts as a stack of one. Dense and RLE may be mixed.
    crowd : array_like of bool, shape (M,), optional
        Crowd flags for the masks of ``b``: against a crowd mask the union is the
        area of the ``a`` mask (pycocotools' ``iscrowd``).

    Returns
    -------
    ndarray of float64, shape (N, M)
        0 where the union is empty; a torch tensor when an input was a torch CPU
        tensor (one that requires grad is a TypeError: IoU here has no gradient).

    Raises
    ------
    ValueError
        Masks of different sizes, wrong dimensions, values other than 0/1, corrupt
        RLE, malformed sparse structure (indptr, indices), crowd without exactly one
        flag per mask of ``b``, a Fortran-ordered ``(H, W, N)`` stack (pass
        ``np.moveaxis(masks, -1, 0)``), or a polygon (see ``rle.from_polygons``).
    TypeError
        Float masks, sparse mixed with dense or RLE, unknown input types.

    Examples
    --------
    >>> import numpy as np, ioukit
    >>> a = np.zeros((1, 4, 4), bool); a[0, :2, :2] = True
    >>> b = np.zeros((2, 4, 4), bool); b[0, :2, :] = True; b[1, 2:, 2:] = True
    >>> ioukit.mask_iou(a, b)
    array([[0.5, 0. ]])
    >>> from ioukit import rle
    >>> ioukit.mask_iou(rle.encode(a), rle.encode(b), crowd=[True, False])
    array([[1., 0.]])
    """
    func = "mask_iou"
    rep_a, rep_b = _convert.representation(a), _convert.representation(b)
    for rep in (rep_a, rep_b):
        if rep not in (DENSE, SPARSE, RLE):
            return dispatch.backend(rep, func).mask_iou(a, b, crowd=crowd)
    # torch CPU tensors in, a torch tensor out (the host kernels work on NumPy views)
    return dispatch.restore(_host_mask_iou(a, b, crowd, rep_a, rep_b, func), a, b)


def _host_mask_iou(a: Any, b: Any, crowd: Any, rep_a: str, rep_b: str, func: str) -> np.ndarray:
    """:func:`mask_iou` of host masks (dense, SciPy sparse or RLE) as a NumPy array."""
    if SPARSE in (rep_a, rep_b) and rep_a != rep_b:
        raise TypeError(
            f"{func}: cannot mix sparse masks with {rep_a if rep_b == SPARSE else rep_b} masks; "
            "convert one side first"
        )
    for x, rep, name in ((a, rep_a, "a"), (b, rep_b, "b")):
        if rep == DENSE:
            _dense.refuse_confusions(x, name, func)
    if rep_a == rep_b == DENSE:
        ma, _ = check.dense_masks(a, "a", func)
        mb, _ = check.dense_masks(b, "b", func)
        check.same_mask_size(ma.shape[1:], mb.shape[1:], func)
        flags = _crowd(crowd, mb.shape[0], func)
        boxes_a = _dense.mask_boxes(ma, "a", func)
        boxes_b = _dense.mask_boxes(mb, "b", func)
        if _iv.fits(boxes_a, boxes_b):
            return _iv.packed_iou(_iv.pack_dense(ma, boxes_a), _iv.pack_dense(mb, boxes_b), flags)
        ra, rb = _convert.masks_to_rles(ma, "a", func), _convert.masks_to_rles(mb, "b", func)
        return _iv.interval_iou(_iv.rle_intervals(ra), _iv.rle_intervals(rb), flags)
    if rep_a == SPARSE:
        n_b = b.shape[0]
        return _sparse_iou(a, b, _crowd(crowd, n_b, func), func)
    ra, size_a = _as_rles(a, rep_a, "a", func)
    rb, size_b = _as_rles(b, rep_b, "b", func)
    if len(ra) and len(rb):
        check.same_mask_size(size_a, size_b, func)
    return _iv.rle_iou(ra, rb, _crowd(crowd, len(rb), func))


#: Old name kept for backends/dask.py until it calls check.same_mask_size itself.
_same_size = check.same_mask_size


def _crowd(crowd: Any, m: int, func: str) -> np.ndarray | None:
    """Exactly one crowd flag per mask of ``b`` (no broadcasting), as a bool array."""
    if crowd is None:
        return None
    shape = np.shape(crowd)
    if shape != (m,):
        raise ValueError(
            f"{func}: crowd has shape {shape}, expected exactly one flag per mask of 'b' ({m},)"
        )
    return np.ascontiguousarray(check.check_flags(crowd, (m,), "crowd", func))


# ----------------------------------------------------------------------------- label images


class LabelOverlap(NamedTuple):
    """IoU between the instances of two label images (returned by :func:`label_overlap`).

    Examples
    --------
    >>> import ioukit
    >>> iou, rows, cols = ioukit.label_overlap([[1, 1], [0, 2]], [[3, 3], [3, 0]])
    >>> rows.tolist(), cols.tolist(), iou.round(3).tolist()
    ([1, 2], [3], [[0.667], [0.0]])
    """

    iou: np.ndarray
    """(K_a, K_b) IoU of instance ``labels_a[i]`` with ``labels_b[j]``."""
    labels_a: np.ndarray
    """Instance ids present in ``a`` (background 0 excluded), ascending."""
    labels_b: np.ndarray
    """Instance ids present in ``b``, ascending."""


def _compact(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ids present except 0, codes)``: code 0 is background, ``k`` is ``ids[k - 1]``."""
    flat = labels.ravel()
    if (
        flat.size
        and flat.dtype.kind in "biu"
        and int(flat.min()) >= 0
        and int(flat.max()) < 1 << 24
    ):
        present = np.bincount(flat.astype(np.intp, copy=False))
        ids = np.flatnonzero(present)
        ids = ids[ids != 0]
        lut = np.zeros(present.shape[0], dtype=np.int64)
        lut[ids] = np.arange(1, ids.shape[0] + 1)
        return ids.astype(labels.dtype), lut[flat]
    values, inverse = np.unique(flat, return_inverse=True)
    nonzero = values != 0
    code_of_value = np.zeros(values.shape[0], dtype=np.int64)
    code_of_value[nonzero] = np.arange(1, int(nonzero.sum()) + 1)
    return values[nonzero], code_of_value[inverse.ravel()]


def label_overlap(a: Any, b: Any) -> LabelOverlap:
    """IoU between every labelled instance of two integer label images.

    Parameters
    ----------
    a, b : array_like of int or bool, same shape
        Label images (2-D or any dimension); 0 is background (a bool image is one
        instance, ``True``).

    Returns
    -------
    LabelOverlap
        ``(iou, labels_a, labels_b)``: the IoU matrix and the ids of its rows and columns.

    Examples
    --------
    >>> import ioukit
    >>> r = ioukit.label_overlap([[1, 1, 0], [2, 2, 0]], [[5, 5, 5], [0, 7, 7]])
    >>> r.labels_a.tolist(), r.labels_b.tolist()
    ([1, 2], [5, 7])
    >>> r.iou.round(3)
    array([[0.667, 0.   ],
           [0.   , 0.333]])
    """
    func = "label_overlap"
    la = dispatch.to_numpy(a, "a", func)
    lb = dispatch.to_numpy(b, "b", func)
    check.label_dtype(la.dtype, "a", func)
    check.label_dtype(lb.dtype, "b", func)
    if la.shape != lb.shape:
        raise ValueError(f"{func}: label images have shapes {la.shape} and {lb.shape}")
    # bool images are one instance (True) on background (False): count them as 0/1
    # (indexing with a bool array would select pixels instead of looking labels up)
    ids_a, codes_a = _compact(la.view(np.uint8) if la.dtype == np.bool_ else la)
    ids_b, codes_b = _compact(lb.view(np.uint8) if lb.dtype == np.bool_ else lb)
    if la.dtype == np.bool_:
        ids_a = ids_a.astype(np.bool_)
    if lb.dtype == np.bool_:
        ids_b = ids_b.astype(np.bool_)
    n_a, n_b = ids_a.shape[0] + 1, ids_b.shape[0] + 1
    inter = _contingency(codes_a, codes_b, n_a, n_b)
    area_a = inter.sum(axis=1)
    area_b = inter.sum(axis=0)
    core = inter[1:, 1:].astype(np.float64)
    union = area_a[1:, None] + area_b[None, 1:] - core
    iou = np.divide(core, union, out=np.zeros_like(core), where=union > 0)
    return LabelOverlap(iou, ids_a, ids_b)


def _contingency(codes_a: np.ndarray, codes_b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """(n_a, n_b) pixel counts of each pair of codes."""
    if n_a * n_b <= 1 << 24:
        from ._core.jit import num_threads

        chunks = max(1, min(num_threads(), codes_a.shape[0] // 65536 + 1))
        table = np.zeros((chunks, n_a * n_b), dtype=np.int64)
        if codes_a.size:
            parallel_call(
                kernel("cpu_masks").label_contingency,
                codes_a,
                codes_b,
                np.int64(n_b),
                chunks,
                table,
            )
        return table.sum(axis=0).reshape(n_a, n_b)
    keys, counts = np.unique(codes_a * n_b + codes_b, return_counts=True)
    from scipy import sparse

    return sparse.coo_array((counts, (keys // n_b, keys % n_b)), shape=(n_a, n_b)).toarray()
