"""Reading label maps from image files (PNG and anything Pillow opens).

Needs Pillow: ``pip install 'ioukit[image]'``.
"""

from __future__ import annotations

import struct
import warnings
import zlib
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
    path: str | PathLike,
    colors: dict | None = None,
    mode: str | None = None,
    max_pixels: int | None = None,
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
        :func:`read_color_table` reads such a table from a text file.
    mode : str, optional
        A Pillow mode to convert to first (``"L"`` reads a colour image as grey levels).
    max_pixels : int, optional
        Refuse images whose header declares more pixels (default: Pillow's
        ``Image.MAX_IMAGE_PIXELS``, about 89 million), before any pixel is decoded, so
        a small crafted file cannot claim gigabytes.

    Returns
    -------
    ndarray of int, shape (H, W)
        uint8, uint16 or int32 as the file holds.

    Raises
    ------
    ValueError
        The file is not an image Pillow can read, is truncated or corrupt, is larger
        than ``max_pixels``, or is a colour image without ``colors``.
    TypeError
        The file holds floating-point pixels (image mode ``F``): labels are integers.

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
    pil = _pillow()
    limit = pil.MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pil.DecompressionBombWarning)
            image = pil.open(path)
        width, height = image.size
        if limit is not None and width * height > limit:
            raise ValueError(
                f"read_label_map: {path} is {width} x {height} = {width * height:,} pixels, "
                f"over the limit of {limit:,} (max_pixels=)"
            )
        if mode is not None:
            image = image.convert(mode)
        image.load()
    except pil.DecompressionBombError as err:
        raise ValueError(f"read_label_map: {path} is too large to decode: {err}") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (OSError, SyntaxError, EOFError, struct.error, zlib.error, MemoryError) as err:
        raise ValueError(f"read_label_map: {path} is not a readable image: {err}") from None
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
    if image.mode == "F":
        raise TypeError(
            f"read_label_map: {path} holds floating-point pixels (image mode 'F'); "
            "label maps hold integer labels"
        )
    raise ValueError(f"read_label_map: {path} has image mode {image.mode!r}, not a label map")


def read_color_table(path: str | PathLike) -> dict[tuple[int, int, int], int]:
    """Read a colour table for :func:`read_label_map` from a text file.

    One colour per line, ``R G B`` or ``R G B LABEL`` (spaces or commas between the
    numbers); without ``LABEL`` a colour's label is its position among the colour
    lines, from 0. Empty lines and lines starting with ``#`` are skipped.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict of (r, g, b) -> int

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "colors.txt")
    >>> _ = open(path, "w").write("# road, sidewalk\\n128 64 128\\n244,35,232\\n0 0 0 255\\n")
    >>> read_color_table(path)
    {(128, 64, 128): 0, (244, 35, 232): 1, (0, 0, 0): 255}
    """
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"read_color_table: {path} is not UTF-8 text") from None
    table: dict[tuple[int, int, int], int] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.replace(",", " ").split()
        try:
            values = [int(v) for v in fields]
        except ValueError:
            values = []
        if (
            len(values) not in (3, 4)
            or not all(0 <= v <= 255 for v in values[:3])
            or not (len(values) == 3 or 0 <= values[3] < 2**31)
        ):
            raise ValueError(
                f"read_color_table: {path} line {number}: expected 'R G B' or 'R G B LABEL' "
                f"with R, G, B in 0..255 and LABEL >= 0, got {text[:60]!r}"
            )
        rgb = (values[0], values[1], values[2])
        label = values[3] if len(values) == 4 else len(table)
        if rgb in table:
            raise ValueError(f"read_color_table: {path} line {number}: colour {rgb} listed twice")
        table[rgb] = label
    if not table:
        raise ValueError(f"read_color_table: {path} lists no colours")
    return table


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
