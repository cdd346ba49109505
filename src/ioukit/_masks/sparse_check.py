"""Checks of SciPy sparse masks before any compiled code reads them.

SciPy's own constructors check little by default, and its compiled routines
(``sum_duplicates``, format conversions) trust ``indptr`` and the index arrays: a
decreasing ``indptr`` or an index out of range corrupts the heap. Here every
index array is checked in O(nnz) with NumPy first, and the matrix is rebuilt from
the checked arrays.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


def _int_array(arr: Any, what: str, name: str, func: str) -> np.ndarray:
    out = np.asarray(arr)
    if out.ndim != 1 or (out.size and out.dtype.kind not in "iu"):
        raise ValueError(f"{func}: argument {name!r} has a malformed sparse {what} array")
    return out.astype(np.int64, copy=False)


def _first_bad(bad: np.ndarray, values: np.ndarray, what: str, name: str, func: str, limit) -> None:
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(
            f"{func}: argument {name!r} has sparse {what} {int(values[k])} at position {k}, "
            f"outside [0, {limit})"
        )


class _Blocks(NamedTuple):
    """The block structure of a BSR matrix, checked as a CSR of blocks."""

    shape: tuple
    indptr: Any
    indices: Any
    blocks: Any
    format: str = "csr"

    @property
    def data(self) -> np.ndarray:
        return np.zeros(np.shape(self.blocks)[:1], dtype=np.int8)


def _checked_compressed(x: Any, name: str, func: str) -> Any:
    """A CSR array rebuilt from a CSR / CSC matrix whose index arrays are all checked
    (O(nnz)) before SciPy or a kernel reads them."""
    from scipy import sparse

    csr = x.format == "csr"
    major, minor = x.shape if csr else x.shape[::-1]
    indptr = _int_array(x.indptr, "indptr", name, func)
    indices = _int_array(x.indices, "indices", name, func)
    data = np.asarray(x.data)
    if indptr.shape[0] != major + 1 or (indptr.shape[0] and indptr[0] != 0):
        raise ValueError(
            f"{func}: argument {name!r} has a malformed sparse indptr: expected {major + 1} "
            "entries starting at 0"
        )
    steps = np.diff(indptr)
    if (steps < 0).any():
        row = int(np.argmax(steps < 0))
        raise ValueError(
            f"{func}: argument {name!r} has a sparse indptr that decreases at "
            f"{'row' if csr else 'column'} {row} ({int(indptr[row])} -> {int(indptr[row + 1])})"
        )
    nnz = int(indptr[-1])
    if nnz > min(indices.shape[0], data.shape[0]) or data.ndim != 1:
        raise ValueError(
            f"{func}: argument {name!r} has a sparse indptr ending at {nnz} but only "
            f"{indices.shape[0]} indices and {data.shape[0]} values"
        )
    indices, data = indices[:nnz], data[:nnz]
    what = "column index" if csr else "row index"
    _first_bad((indices < 0) | (indices >= minor), indices, what, name, func, minor)
    if isinstance(x, _Blocks):
        return None
    built = (sparse.csr_array if csr else sparse.csc_array)(
        (data, indices, indptr), shape=x.shape, copy=True
    )
    return sparse.csr_array(built)


def _checked_coo(x: Any, name: str, func: str) -> Any:
    from scipy import sparse

    coords = getattr(x, "coords", None) or (x.row, x.col)
    row = _int_array(coords[0], "row", name, func)
    col = _int_array(coords[1], "col", name, func)
    data = np.asarray(x.data)
    if not (row.shape[0] == col.shape[0] == data.shape[0]) or data.ndim != 1:
        raise ValueError(
            f"{func}: argument {name!r} has sparse row, column and value arrays "
            "of different lengths"
        )
    _first_bad((row < 0) | (row >= x.shape[0]), row, "row index", name, func, x.shape[0])
    _first_bad((col < 0) | (col >= x.shape[1]), col, "column index", name, func, x.shape[1])
    return sparse.csr_array(sparse.coo_array((data, (row, col)), shape=x.shape))


def canonical_csr(x: Any, name: str, func: str) -> Any:
    """Sorted, duplicate-free 0/1 CSR of a SciPy sparse matrix, after checking its
    shape and index arrays: malformed CSR/CSC/COO structure is a ValueError, never
    passed to SciPy's compiled routines or the kernels."""
    from scipy import sparse

    shape = tuple(int(v) for v in x.shape)
    if len(shape) != 2 or min(shape) < 0:
        raise ValueError(f"{func}: sparse masks must be (N, H*W), got shape {x.shape} for {name!r}")
    fmt = getattr(x, "format", None)
    if fmt in ("csr", "csc"):
        csr = _checked_compressed(x, name, func)
    elif fmt == "coo":
        csr = _checked_coo(x, name, func)
    elif fmt == "bsr":  # checked block by block, then expanded by SciPy
        rows, cols = x.blocksize
        blocks = _Blocks((shape[0] // rows, shape[1] // cols), x.indptr, x.indices, x.data)
        _checked_compressed(blocks, name, func)
        csr = _checked_coo(sparse.coo_array(x), name, func)
    else:  # lil, dok, dia: Python-level structures, converted by SciPy then checked
        csr = _checked_coo(sparse.coo_array(x), name, func)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    if csr.data.size and not np.all(csr.data == 1):
        row = int(np.searchsorted(csr.indptr, int(np.argmax(csr.data != 1)), side="right") - 1)
        raise ValueError(f"{func}: argument {name!r} row {row} holds values other than 0 and 1")
    csr.sort_indices()
    return csr
