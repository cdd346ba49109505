"""What kind of array is this, how to get a NumPy view of it, and how to hand a result back.

The front-ends (``boxes``, ``masks``, ...) ask :func:`array_kind` which backend an
input belongs to, convert host inputs with :func:`to_numpy` and give results back
in the caller's library with :func:`restore`. Optional backends (CUDA, Dask) are
looked up by kind in :data:`BACKEND_MODULES` and imported only when such an input
arrives, so the kernels never need to know where an array came from.
"""

from __future__ import annotations

import importlib
import math
import sys
from typing import Any

import numpy as np

NUMPY = "numpy"
SPARSE = "sparse"
CUDA = "cuda"
DASK = "dask"

#: kind -> (module implementing it, the pip extra that provides its dependencies)
BACKEND_MODULES: dict[str, tuple[str, str]] = {
    CUDA: ("ioukit.backends.cuda", "cuda"),
    DASK: ("ioukit.backends.dask", "dask"),
}


def _module_root(x: Any) -> str:
    return type(x).__module__.partition(".")[0]


def is_torch(x: Any) -> bool:
    """True for a torch tensor (without importing torch)."""
    return _module_root(x) == "torch" and hasattr(x, "detach")


def is_sparse(x: Any) -> bool:
    """True for a SciPy sparse matrix or array (without importing SciPy)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def is_dask(x: Any) -> bool:
    """True for a dask array (without importing dask)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(x, dask_array.Array)


def is_cuda(x: Any) -> bool:
    """True for an array on a CUDA device (CuPy, torch CUDA, numba device arrays,
    including the simulator's, which have no ``__cuda_array_interface__``)."""
    if type(x).__module__.startswith("numba.cuda"):
        return hasattr(x, "copy_to_host")
    try:
        return hasattr(x, "__cuda_array_interface__")
    except Exception:  # torch raises for CPU tensors on some versions
        return False


def array_kind(x: Any) -> str:
    """Classify an input: ``"numpy"`` (host arrays and array-likes), ``"sparse"``,
    ``"cuda"`` or ``"dask"``.

    Examples
    --------
    >>> import numpy as np
    >>> array_kind(np.zeros((2, 4)))
    'numpy'
    >>> array_kind([[0, 0, 1, 1]])
    'numpy'
    """
    if isinstance(x, np.ndarray):
        return NUMPY
    if is_dask(x):
        return DASK
    if is_sparse(x):
        return SPARSE
    if is_cuda(x):
        return CUDA
    return NUMPY


def common_kind(func: str, **arrays: Any) -> str:
    """The one kind shared by all non-None ``arrays``; TypeError when they mix."""
    kinds = {name: array_kind(x) for name, x in arrays.items() if x is not None}
    distinct = set(kinds.values())
    if distinct == {DASK, NUMPY}:  # host arrays join a Dask computation as one chunk
        return DASK
    if len(distinct) > 1:
        described = ", ".join(f"{name!r} is {kind}" for name, kind in kinds.items())
        raise TypeError(
            f"{func}: inputs must all live in one place, but {described}; "
            "move them to the same device/library first"
        )
    return distinct.pop() if distinct else NUMPY


def backend(kind: str, func: str) -> Any:
    """Import the optional backend module for ``kind`` or raise an ImportError naming the extra."""
    if kind not in BACKEND_MODULES:
        raise TypeError(f"{func}: {kind} inputs are not supported")
    module, extra = BACKEND_MODULES[kind]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name == module:
            raise TypeError(
                f"{func}: {kind} arrays are not supported by this version of ioukit"
            ) from None
        raise ImportError(
            f"{func}: {kind} inputs need the optional dependency {err.name!r}; "
            f"install it with: pip install 'ioukit[{extra}]'"
        ) from err


def shape_of(x: Any) -> tuple:
    """The shape of an array of any kind as a tuple (a Dask array's unknown sizes stay NaN);
    AttributeError when ``x`` has none."""
    if isinstance(x, np.ndarray):
        return x.shape
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = x.__cuda_array_interface__["shape"]
    if type(shape) is tuple and all(type(n) is int for n in shape):
        return shape
    return tuple(n if isinstance(n, float) and math.isnan(n) else int(n) for n in shape)


def small_to_host(x: Any) -> Any:
    """A small array (flags, labels) from any device library as a host array-like;
    host inputs are returned as they are."""
    if is_cuda(x):
        for method in ("get", "copy_to_host", "cpu"):  # CuPy, numba, torch
            if hasattr(x, method):
                return np.asarray(getattr(x, method)())
    return x


def require(module: str, kind: str) -> Any:
    """Import the optional dependency ``module`` of the backend for ``kind``, or raise an
    ImportError naming the pip extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{kind} inputs need the optional dependency {module!r}; install it with: "
            f"pip install 'ioukit[{BACKEND_MODULES[kind][1]}]'"
        ) from err


def to_numpy(x: Any, name: str, func: str) -> np.ndarray:
    """A NumPy view (or copy) of a host array-like: ndarray, list, torch CPU tensor,
    anything with ``__array__`` or ``__dlpack__``."""
    if isinstance(x, np.ndarray):
        return x
    if is_torch(x) and getattr(x, "requires_grad", False):
        raise TypeError(
            f"{func}: argument {name!r} is a torch tensor that requires grad; ioukit computes "
            "without autograd, so the result would carry no gradient. For a differentiable "
            "loss use torchvision.ops (generalized_box_iou_loss, distance_box_iou_loss, "
            f"complete_box_iou_loss, box_iou); for values only, pass {name}.detach()"
        )
    try:
        if is_torch(x):
            t = x.detach()
            if str(t.dtype) == "torch.bfloat16":  # NumPy has no bfloat16
                t = t.float()
            return t.resolve_conj().resolve_neg().numpy()
        if not hasattr(x, "__array__") and hasattr(x, "__dlpack__"):
            return np.from_dlpack(x)
        return np.asarray(x)
    except (TypeError, ValueError, RuntimeError, BufferError) as err:
        raise TypeError(
            f"{func}: argument {name!r} cannot be read as an array ({type(x).__name__}): {err}"
        ) from None


def restore(result: np.ndarray, *inputs: Any) -> Any:
    """Give ``result`` back in the library of the inputs: a torch CPU tensor of the
    same dtype when any input was one, else the NumPy array."""
    for x in inputs:
        if is_torch(x):
            torch = sys.modules["torch"]
            return torch.from_numpy(np.ascontiguousarray(result))
    return result


def out_view(out: Any, func: str) -> np.ndarray | None:
    """A writable NumPy view of a caller's ``out=`` array (None when not given).

    Only arrays whose memory the view shares are accepted: NumPy arrays, torch CPU
    tensors and DLPack producers. A list or any other array-like would be converted
    to a new array, filled, and leave the caller's object unchanged: TypeError.
    """
    if out is None:
        return None
    if not (isinstance(out, np.ndarray) or is_torch(out) or hasattr(out, "__dlpack__")):
        raise TypeError(
            f"{func}: argument 'out' must be a writable NumPy array (or torch CPU tensor) "
            f"to fill in place, got {type(out).__name__}"
        )
    view = to_numpy(out, "out", func)
    if not view.flags.writeable:
        raise ValueError(f"{func}: argument 'out' is read-only")
    return view
