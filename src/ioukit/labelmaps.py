"""Reading label maps from image files (PNG and anything Pillow opens).

Needs Pillow: ``pip install 'ioukit[image]'``.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError(
            "reading label maps needs Pillow; install it with: pip install 'ioukit[image]'"
        ) from err
    return Image


def read_label_map(
    path: str | PathLike, colors: dict | None = None, mode: str | None = None
) -> np.ndarray:
    """Read a label map image as an integer array.

    Parameters
    ----------
    path : str or path-like
        Greyscale (``L``), palette (``P``: the palette indices are the labels) or
        16/32-bit integer images are read as they are. Colour images need ``colors``.
    colors : dict of (r, g, b) -> int, optional
        Colour-coded label maps (Cityscapes colour, deeplab class maps): each colour
        becomes its label; a colour not in the table is a ValueError.
    mode : str, optional
        A Pillow mode to convert to first (``"L"`` reads a colour image as grey levels).

    Returns
    -------
    ndarray of int, shape (H, W)
        uint8, uint16 or int32 as the file holds.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "map.png")
    >>> Image.fromarray(np.array([[0, 3], [255, 1]], np.uint8)).save(path)
    >>> read_label_map(path)
    array([[  0,   3],
           [255,   1]], dtype=uint8)
    """
    image = _pillow().open(path)
    if mode is not None:
        image = image.convert(mode)
    if image.mode in ("RGB", "RGBA"):
        if colors is None:
            raise ValueError(
                f"read_label_map: {path} is a colour image; pass colors={{(r, g, b): label}}"
            )
        return _decode_colors(np.asarray(image.convert("RGB")), colors, path)
    if image.mode in ("L", "P", "I;16", "I;16B", "I", "1", "LA"):
        if image.mode == "LA":
            image = image.getchannel(0)
        arr = np.asarray(image)
        return arr.astype(np.uint8) if arr.dtype == bool else arr
    raise ValueError(f"read_label_map: {path} has image mode {image.mode!r}, not a label map")


def _decode_colors(rgb: np.ndarray, colors: dict, path: Any) -> np.ndarray:
    keys = rgb[..., 0].astype(np.int64) << 16 | rgb[..., 1].astype(np.int64) << 8 | rgb[..., 2]
    table = {(int(r) << 16 | int(g) << 8 | int(b)): int(v) for (r, g, b), v in colors.items()}
    codes = np.array(sorted(table), dtype=np.int64)
    position = np.searchsorted(codes, keys)
    position = np.minimum(position, len(codes) - 1)
    known = codes[position] == keys
    if not known.all():
        y, x = np.unravel_index(int(np.argmax(~known)), keys.shape)
        raise ValueError(
            f"read_label_map: {path} has colour {tuple(int(v) for v in rgb[y, x])} at "
            f"row {y}, column {x}, which is not in colors"
        )
    labels = np.array([table[k] for k in codes.tolist()])
    out = labels[position]
    return out.astype(
        np.uint8 if out.max(initial=0) < 256 and out.min(initial=0) >= 0 else np.int32
    )
