"""Input checks shared by the front-ends: shapes, dtypes, finiteness, box validity.

Every check is O(size of the input) in NumPy and raises a ValueError or TypeError
that names the function, the argument and, for bad values, the first bad row.
"""

from __future__ import annotations

import reprlib
from typing import Any

import numpy as np

from ..kernels.codes import BOX_INVALID_REASONS, FORMAT_CODES
from .loader import kernel

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60


def short_repr(value: Any) -> str:
    """A bounded ``repr`` for error messages: a deeply nested or huge input value
    neither recurses without limit nor makes a huge message."""
    return _SHORT.repr(value)


BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def format_index(flat: int, shape: tuple[int, ...]) -> str:
    """``3`` for 1-D shapes, ``(1, 3)`` for batched ones."""
    if len(shape) == 1:
        return str(flat)
    return str(tuple(int(i) for i in np.unravel_index(flat, shape)))


def check_choice(value: Any, choices: tuple[str, ...], name: str, func: str) -> str:
    """``value`` if it is one of ``choices``, else ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{func}: {name}={value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def check_pixel_offset(pixel_offset: Any, func: str) -> int:
    """0 (continuous coordinates) or 1 (legacy inclusive pixel coordinates)."""
    if isinstance(pixel_offset, bool) or pixel_offset not in (0, 1):
        raise ValueError(f"{func}: pixel_offset must be 0 or 1, got {pixel_offset!r}")
    return int(pixel_offset)


def check_numeric(arr: np.ndarray, name: str, func: str) -> None:
    """TypeError unless ``arr`` holds real numbers (integers or floats; not bool)."""
    kind = arr.dtype.kind
    is_float16_like = kind == "V" and arr.dtype.itemsize == 2 and "float" in str(arr.dtype)
    if kind not in "iuf" and not is_float16_like:
        raise TypeError(
            f"{func}: argument {name!r} must hold integer or floating-point numbers, "
            f"got dtype {arr.dtype}"
        )


def check_box_shape(arr: np.ndarray, name: str, func: str) -> None:
    """ValueError unless ``arr`` has shape ``(..., N, 4)``."""
    if arr.ndim < 2 or arr.shape[-1] != 4:
        hint = f" (for one box use {name}[None])" if arr.shape == (4,) else ""
        raise ValueError(
            f"{func}: argument {name!r} must have shape (..., N, 4), got {arr.shape}{hint}"
        )


def check_box_values(
    arr: np.ndarray, fmt: str, name: str, func: str, validate: bool = True
) -> float:
    """ValueError at the first box that is NaN/inf or has a negative extent (when
    ``validate``); returns the largest ``|value|`` of ``arr`` (0.0 when empty).

    ``arr`` is already float32/float64 and C-contiguous; one compiled pass finds
    the first bad row and the magnitude, so a valid input costs O(N) and no
    temporaries.
    """
    if arr.size == 0:
        return 0.0
    flat = arr.reshape(-1, 4)
    if flat.shape[0] <= NUMPY_BOX_ROWS:  # small: NumPy, no kernel to compile on a first run
        row, reason = _first_invalid_numpy(flat, fmt) if validate else (-1, -1)
        # the scan's max skips NaN (validate=False lets them through)
        big = np.fmax.reduce(np.abs(flat), axis=None, initial=0) if row < 0 else 0.0
    else:
        cpu_boxes = kernel("cpu_boxes")
        row, reason, big = cpu_boxes.first_invalid_box(flat, FORMAT_CODES[fmt], validate)
    if row < 0:
        return float(big)
    hint = ""
    if fmt == "xyxy" and reason in (1, 2) and bool((flat[:, 2:] >= 0).all()):
        hint = '; every box has a non-negative 3rd and 4th value: are they xywh? pass fmt="xywh"'
    where = format_index(int(row), arr.shape[:-1])
    raise invalid_box_error(flat[row], where, fmt, name, func, hint)


NUMPY_BOX_ROWS = 65_536
"""Up to this many boxes :func:`check_box_values` checks in NumPy (temporaries of a
few bytes a box); more go through the compiled scan (no temporaries)."""


def _first_invalid_numpy(flat: np.ndarray, fmt: str) -> tuple[int, int]:
    """``(row, reason)`` of the first box ``kernels.scalar.invalid_box_reason`` refuses,
    or ``(-1, -1)``: the same comparisons, vectorised."""
    finite = np.isfinite(flat).all(axis=1)
    if fmt == "xyxy":
        bad = (flat[:, 2] < flat[:, 0]) | (flat[:, 3] < flat[:, 1])
    else:
        bad = (flat[:, 2] < 0) | (flat[:, 3] < 0)
    bad |= ~finite
    if not bad.any():
        return -1, -1
    from ..kernels.scalar import invalid_box_reason

    row = int(np.argmax(bad))
    p, q, r, t = (float(v) for v in flat[row])
    return row, invalid_box_reason(p, q, r, t, FORMAT_CODES[fmt])


def invalid_box_error(
    values: Any, where: str, fmt: str, name: str, func: str, hint: str = ""
) -> ValueError:
    """The error for the invalid box ``values`` (4 numbers, format ``fmt``) at ``where``
    (see :func:`format_index`); the reason comes from ``kernels.scalar.invalid_box_reason``,
    the rule every backend's scan applies. Returns the exception: raise it."""
    from ..kernels.scalar import invalid_box_reason

    row = [float(v) for v in values]
    reason = invalid_box_reason(row[0], row[1], row[2], row[3], FORMAT_CODES[fmt])
    why = BOX_INVALID_REASONS[reason] if reason >= 0 else "valid"
    return ValueError(
        f"{func}: argument {name!r} has an invalid {fmt} box at row {where}: {row} ({why}){hint}"
    )


def check_same_length(n: int, m: int, func: str) -> None:
    """``aligned=True`` needs as many boxes in ``a`` as in ``b``."""
    if n != m:
        raise ValueError(
            f"{func}: aligned=True needs as many boxes in 'a' as in 'b', got {n} and {m}"
        )


def broadcast_batch(
    shape_a: tuple[int, ...], shape_b: tuple[int, ...], func: str
) -> tuple[int, ...]:
    """The broadcast of two batch shapes, or a ValueError naming both."""
    try:
        return tuple(np.broadcast_shapes(shape_a, shape_b))
    except ValueError:
        raise ValueError(
            f"{func}: the leading (batch) dimensions of 'a' {shape_a} and 'b' {shape_b} "
            "do not broadcast"
        ) from None


def check_flags(
    flags: Any, target: tuple[int, ...], name: str, func: str, item: str = "box"
) -> np.ndarray:
    """A bool array of shape ``target`` from 0/1 or bool values: exactly one flag per
    ``item`` of ``b`` (shape ``(M,)``, or batch dimensions that broadcast to those of
    ``target``). A scalar or a single flag is not spread over every item."""
    arr = np.asarray(flags)
    if arr.dtype.kind not in "biu" and not (arr.dtype.kind == "f" and arr.size == 0):
        raise TypeError(f"{func}: {name} must be booleans or 0/1 integers, got dtype {arr.dtype}")
    if arr.dtype.kind != "b" and arr.size and not np.isin(arr, (0, 1)).all():
        first = int(np.argmax(~np.isin(arr.ravel(), (0, 1))))
        raise ValueError(
            f"{func}: {name} must hold only 0/1, found {arr.ravel()[first].item()!r} at row "
            f"{format_index(first, arr.shape) if arr.ndim else 0}"
        )
    expected = f"one flag per {item} of 'b' (shape {target[-1:]}" + (
        f" or {target})" if len(target) > 1 else ")"
    )
    if arr.ndim == 0 or arr.ndim > len(target) or arr.shape[-1] != target[-1]:
        raise ValueError(f"{func}: {name} has shape {arr.shape}, expected {expected}")
    try:
        return np.broadcast_to(arr.astype(bool, copy=False), target)
    except ValueError:
        raise ValueError(f"{func}: {name} has shape {arr.shape}, expected {expected}") from None


def image_size(h: Any, w: Any, func: str) -> tuple[int, int]:
    """Two non-negative integers, else ValueError."""
    try:
        height, width = int(h), int(w)
        exact = float(h) == height and float(w) == width
    except (TypeError, ValueError, OverflowError):
        exact, height, width = False, -1, -1
    if not exact or height < 0 or width < 0:
        raise ValueError(
            f"{func}: h and w must be non-negative integers, got h={short_repr(h)}, "
            f"w={short_repr(w)}"
        )
    return height, width


def dense_masks(x: Any, name: str, func: str) -> tuple[np.ndarray, bool]:
    """``(N, H, W)`` C-contiguous uint8 0/1 masks from bool or integer input, and whether
    a single ``(H, W)`` mask was given. uint8 values are checked by the kernels;
    other integer dtypes here."""
    from .dispatch import to_numpy

    arr = to_numpy(x, name, func)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"{func}: argument {name!r} must be one mask (H, W) or a stack (N, H, W), "
            f"got shape {arr.shape}"
        )
    if arr.dtype.kind not in "biu":
        hint = " (threshold probabilities first, e.g. mask > 0.5)" if arr.dtype.kind == "f" else ""
        raise TypeError(
            f"{func}: argument {name!r} must be a bool or integer mask, got dtype {arr.dtype}{hint}"
        )
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    elif arr.dtype != np.uint8:
        wrong = (arr != 0) & (arr != 1)
        if wrong.any():
            n = int(np.unravel_index(int(np.argmax(wrong)), arr.shape)[0])
            raise ValueError(f"{func}: argument {name!r} mask {n} holds values other than 0 and 1")
        arr = arr.astype(np.uint8)
    return np.ascontiguousarray(arr), single


def label_dtype(dtype: Any, name: str, func: str, allow_bool: bool = True) -> None:
    """TypeError unless ``dtype`` holds integer labels (bool too, when ``allow_bool``).

    The one rule for label maps and label images, whatever the array library
    (NumPy, CuPy and torch dtypes all have ``kind`` once passed through NumPy):
    a float label map is a TypeError everywhere.
    """
    kinds = "biu" if allow_bool else "iu"
    if np.dtype(dtype).kind not in kinds:
        raise TypeError(f"{func}: argument {name!r} must hold integer labels, got dtype {dtype}")


def label_range_error(
    value_t: int,
    value_p: int,
    at: int,
    shape: tuple[int, ...],
    num_classes: int,
    ignore_index: int | None,
    func: str,
) -> ValueError:
    """The error for the first pixel ``at`` whose target or prediction lies outside
    ``[0, num_classes)`` (a target equal to ``ignore_index`` is allowed).

    The one message every backend raises (return value: raise it). The target is
    named when it is the bad one, with a hint to pass ``ignore_index=``.
    """
    target_ok = (ignore_index is not None and value_t == ignore_index) or 0 <= value_t < num_classes
    name, value = ("pred", value_p) if target_ok else ("target", value_t)
    hint = "" if ignore_index is not None or name == "pred" else " (pass ignore_index= to skip it)"
    return ValueError(
        f"{func}: {name} label {value} at index {format_index(at, shape)} "
        f"is outside [0, {num_classes}){hint}"
    )


def same_mask_size(size_a: tuple, size_b: tuple, func: str) -> None:
    """ValueError unless the masks of ``a`` and ``b`` have the same ``(height, width)``.

    The one mask-size message of every backend (``size_*``: any two integers).
    """
    if tuple(size_a) != tuple(size_b):
        raise ValueError(
            f"{func}: masks of 'a' are {size_a[0]}x{size_a[1]} but masks of 'b' are "
            f"{size_b[0]}x{size_b[1]}"
        )
