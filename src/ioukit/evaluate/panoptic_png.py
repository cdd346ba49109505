"""A small PNG reader for COCO panoptic files: 8-bit RGB / RGBA, not interlaced.

Those are what panoptic PNGs are, and reading them here (``zlib`` plus a Numba
unfilter) is several times faster than Pillow, whose
decoding was most of the time of a panoptic evaluation. Anything else (palette,
grey, 16-bit or interlaced PNGs, or a file that is not a PNG) is left to Pillow, as
panopticapi reads it.

Every length is checked against the file and the decompressed size against the
header, so a truncated or hostile file is a ValueError, never an out-of-bounds read.
The image data is inflated by libdeflate when the optional ``deflate`` package is
installed (``pip install 'ioukit[image]'``; several times faster than zlib, and it
never writes past the header's size plus one byte), else by zlib: in one call into a
buffer of the header's size when the compressed stream is too short to inflate past
that size (or past 32 MiB, for small images), else in a call that stops one byte
past it.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 2 * 89_478_485  # Pillow's DecompressionBombError limit
_CHANNELS = {2: 3, 6: 4}  # colour type -> channels (RGB, RGBA)
_DEFLATE_MAX_RATIO = 1032  # deflate's largest expansion (258-byte matches in ~2 bits)
_ONE_SHOT_BYTES = 1 << 25  # 32 MiB: COCO panoptic streams (tens of KiB) inflate in one call


class NotFastPng(Exception):
    """The file is not an 8-bit RGB(A) non-interlaced PNG: read it with Pillow."""


def inflate(data: bytes, path: str) -> tuple[np.ndarray, int, int, int]:
    """The filtered rows of PNG ``data`` (``height * (1 + width * channels)`` bytes) and
    ``(height, width, channels)``; NotFastPng for kinds other than 8-bit RGB(A)."""
    if not data.startswith(SIGNATURE):
        raise NotFastPng
    view = memoryview(data)  # chunk bodies are views: no copies for the CRC or a single IDAT
    pos = len(SIGNATURE)
    header = None
    idat: list[memoryview] = []
    end = False
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = bytes(view[pos + 4 : pos + 8])
        body_end = pos + 8 + length
        if body_end + 4 > len(data):
            raise ValueError(f"{path}: truncated PNG (chunk {kind!r} at byte {pos})")
        (crc,) = struct.unpack_from(">I", data, body_end)
        if zlib.crc32(view[pos + 4 : body_end]) != crc:
            raise ValueError(f"{path}: corrupt PNG (bad CRC of chunk {kind!r} at byte {pos})")
        body = view[pos + 8 : body_end]
        if kind == b"IHDR":
            if length != 13:
                raise ValueError(f"{path}: corrupt PNG (IHDR of {length} bytes)")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            end = True
            break
        pos = body_end + 4
    if header is None or not end:
        raise ValueError(f"{path}: truncated PNG (no {'IHDR' if header is None else 'IEND'})")
    width, height, depth, colour, compression, filtering, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace != 0 or compression or filtering:
        raise NotFastPng
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise ValueError(f"{path}: PNG of {width}x{height} pixels is empty or too large")
    channels = _CHANNELS[colour]
    expected = height * (width * channels + 1)
    stream = idat[0] if len(idat) == 1 else b"".join(idat)
    raw = _inflate(stream, expected, path)
    if len(raw) < expected:
        raise ValueError(f"{path}: truncated PNG image data ({len(raw)} of {expected} bytes)")
    if len(raw) > expected:
        raise ValueError(f"{path}: corrupt PNG (more image data than its {width}x{height} pixels)")
    return np.frombuffer(raw, dtype=np.uint8), height, width, channels


def _libdeflate() -> tuple[Any, Any]:
    """libdeflate's ``zlib_decompress`` and its error (the optional ``deflate`` package,
    in the ``image`` extra), or ``(None, None)``."""
    try:
        from deflate import DeflateError, zlib_decompress
    except ImportError:
        return None, None
    return zlib_decompress, DeflateError


LIBDEFLATE, _LIBDEFLATE_ERROR = _libdeflate()


def _inflate(stream: Any, expected: int, path: str) -> bytes:
    """The zlib ``stream`` inflated: at most ``expected + 1`` bytes (more is an error)."""
    if LIBDEFLATE is not None:  # several times faster than zlib; never past the limit
        try:
            return LIBDEFLATE(stream, expected + 1)
        except _LIBDEFLATE_ERROR as err:
            raise ValueError(f"{path}: corrupt PNG image data (libdeflate: {err})") from None
    try:
        if len(stream) * _DEFLATE_MAX_RATIO <= max(expected + 1, _ONE_SHOT_BYTES):
            # one call into a buffer of the expected size (no growing, no joining): what
            # it can produce is bounded by the stream's length: the image's size, or
            # 32 MiB for a small image (a hostile stream never makes more than that)
            return zlib.decompress(stream, bufsize=expected)
        # a stream that could inflate far past the header's size: stop there
        return zlib.decompressobj().decompress(stream, expected + 1)
    except zlib.error as err:
        raise ValueError(f"{path}: corrupt PNG image data ({err})") from None


def unfilter(raw: np.ndarray, height: int, width: int, channels: int, path: str) -> np.ndarray:
    """``(H, W, channels)`` pixels from the filtered rows returned by :func:`inflate`."""
    from ..kernels.cpu_panoptic import png_unfilter

    row_bytes = width * channels
    pixels = np.empty(height * row_bytes, dtype=np.uint8)
    bad = png_unfilter(raw, height, row_bytes, channels, pixels)
    if bad >= 0:
        raise ValueError(f"{path}: corrupt PNG (row {bad} has an unknown filter type)")
    return pixels.reshape(height, width, channels)


def read_pixels(data: bytes, path: str) -> np.ndarray:
    """``(H, W, 3 or 4)`` uint8 pixels of PNG ``data``; NotFastPng for other kinds."""
    return unfilter(*inflate(data, path), path)
