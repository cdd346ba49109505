"""The dtype rules of DESIGN.md section 2.

float32 in, float32 out; float64 in, float64 out; float16 and bfloat16 are
computed and returned in float32 (as torchvision does: a half-precision area
overflows at 65504, a 256 x 256 box); integer inputs are computed and returned
in float64. Mixed inputs promote as NumPy does, so int + float32 gives float64
and float16 + float32 gives float32. Never an integer result.
"""

from __future__ import annotations

import numpy as np

FLOAT32 = np.dtype(np.float32)
FLOAT64 = np.dtype(np.float64)


def _is_half(dtype: np.dtype) -> bool:
    """float16 or a 2-byte float extension type such as ml_dtypes.bfloat16."""
    return dtype == np.float16 or (dtype.kind == "V" and dtype.itemsize == 2)


def compute_dtype_of(dtype: np.dtype) -> np.dtype:
    """The kernel dtype for one input dtype: float32 or float64."""
    if dtype == FLOAT32 or _is_half(dtype):
        return FLOAT32
    return FLOAT64


def result_dtype_of(dtype: np.dtype) -> np.dtype:
    """The output dtype for one input dtype: the compute dtype (half gives float32)."""
    return compute_dtype_of(dtype)


def float_types(*dtypes: np.dtype) -> tuple[np.dtype, np.dtype]:
    """``(compute, result)`` dtypes for a call whose inputs have ``dtypes``.

    Examples
    --------
    >>> import numpy as np
    >>> float_types(np.dtype("float32"), np.dtype("float32"))
    (dtype('float32'), dtype('float32'))
    >>> float_types(np.dtype("int32"), np.dtype("float16"))
    (dtype('float64'), dtype('float64'))
    >>> float_types(np.dtype("float16"), np.dtype("float16"))
    (dtype('float32'), dtype('float32'))
    """
    compute = FLOAT64 if any(compute_dtype_of(d) == FLOAT64 for d in dtypes) else FLOAT32
    return compute, compute
