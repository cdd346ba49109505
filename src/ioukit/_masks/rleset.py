"""A batch of COCO RLEs as flat arrays, and its conversion from and to Python objects.

:class:`RLESet` holds any number of RLEs as one ``int64`` counts array with
offsets, plus each RLE's height and width, so every kernel sees a whole batch
in one call. :func:`parse_rles` reads dicts with compressed (``str`` / ``bytes``)
or uncompressed (list) counts, validating everything with errors that name the
item; :func:`to_dicts` writes pycocotools-style dicts back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.loader import kernel, parallel_call
from .._core.twins import twin_call
from .._core.validate import short_repr
from ..kernels.codes import RLE_DECODE_ERRORS

#: Largest mask side and pixel count accepted: ``h * w`` and the rasteriser's
#: ``5 * w`` stay far from int64 overflow.
MAX_SIDE = 1 << 40
MAX_PIXELS = 1 << 60


def check_sizes(heights: np.ndarray, widths: np.ndarray, name: str, func: str) -> None:
    """ValueError naming the first item whose height or width is negative or too large,
    or whose ``h * w`` passes :data:`MAX_PIXELS` (checked without overflow)."""
    h, w = np.asarray(heights, np.int64), np.asarray(widths, np.int64)
    bad = (h < 0) | (w < 0) | (h > MAX_SIDE) | (w > MAX_SIDE)
    bad |= ~bad & (w > 0) & (h > MAX_PIXELS // np.maximum(w, 1))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(_size_error(i, int(h[i]), int(w[i]), name, func))


def _size_error(i: int, h: int, w: int, name: str, func: str) -> str:
    return (
        f"{func}: argument {name!r} item {i} has size [{h}, {w}]: height and width must be "
        "non-negative, at most 2**40 each and 2**60 pixels in all"
    )


@dataclass(frozen=True)
class RLESet:
    """Run-length encoded masks: RLE ``i`` is ``counts[offsets[i]:offsets[i + 1]]``
    for a mask of ``heights[i]`` x ``widths[i]`` pixels."""

    heights: np.ndarray
    widths: np.ndarray
    counts: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def common_size(self, name: str, func: str) -> tuple[int, int]:
        """The (h, w) shared by every RLE; ValueError naming the first that differs."""
        if len(self) == 0:
            return 0, 0
        h, w = int(self.heights[0]), int(self.widths[0])
        differ = (self.heights != h) | (self.widths != w)
        if differ.any():
            i = int(np.argmax(differ))
            raise ValueError(
                f"{func}: argument {name!r} mixes mask sizes: item 0 is {h}x{w}, "
                f"item {i} is {int(self.heights[i])}x{int(self.widths[i])}"
            )
        return h, w

    def sizes(self) -> np.ndarray:
        """Pixels of each RLE's mask, ``h * w`` (sizes are checked when the set is built)."""
        return self.heights * self.widths

    def areas(self) -> np.ndarray:
        out = np.empty(len(self), dtype=np.int64)
        if len(self):
            parallel_call(
                kernel("cpu_rle").areas_from_counts, self.counts, self.offsets, self.sizes(), out
            )
        return out


def from_counts_list(heights: Any, widths: Any, counts_list: list[np.ndarray]) -> RLESet:
    """An :class:`RLESet` from one counts array per RLE."""
    lengths = np.array([c.shape[0] for c in counts_list], dtype=np.int64)
    offsets = np.zeros(len(counts_list) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    counts = (
        np.concatenate(counts_list).astype(np.int64, copy=False)
        if counts_list
        else np.zeros(0, dtype=np.int64)
    )
    return RLESet(
        np.asarray(heights, dtype=np.int64), np.asarray(widths, dtype=np.int64), counts, offsets
    )


def _size_of(item: Any, index: int, name: str, func: str) -> tuple[int, int]:
    where = f"{func}: argument {name!r} item {index}"
    if not isinstance(item, dict):
        raise TypeError(
            f"{where} must be a dict with 'size' and 'counts', got {type(item).__name__}"
        )
    for key in ("size", "counts"):
        if key not in item:
            raise ValueError(f"{where} has no {key!r} key")
    size = item["size"]
    try:
        h, w = (int(v) for v in size)
        exact = all(float(v) == int(v) for v in size)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where} has size {short_repr(size)}, expected [height, width]") from None
    if not exact or h < 0 or w < 0:
        raise ValueError(f"{where} has size {short_repr(size)}, expected two non-negative integers")
    return h, w


def _sizes(items: list, name: str, func: str) -> tuple[np.ndarray, np.ndarray]:
    """Heights and widths of every item, in one NumPy conversion when all are well formed."""
    fast = None
    try:
        sizes = np.array([item["size"] for item in items])
        if sizes.shape == (len(items), 2) and sizes.dtype.kind == "i" and (sizes >= 0).all():
            fast = sizes[:, 0].astype(np.int64), sizes[:, 1].astype(np.int64)
    except (KeyError, TypeError, ValueError, OverflowError):
        pass
    if fast is not None:
        check_sizes(fast[0], fast[1], name, func)
        return fast
    heights = np.empty(len(items), dtype=np.int64)
    widths = np.empty(len(items), dtype=np.int64)
    for i, item in enumerate(items):
        h, w = _size_of(item, i, name, func)
        if max(h, w) > MAX_SIDE or h * w > MAX_PIXELS:
            raise ValueError(_size_error(i, h, w, name, func))
        heights[i], widths[i] = h, w
    return heights, widths


def _all_strings(items: list) -> list[bytes] | None:
    """Every item's compressed counts as bytes, or None if any item is different."""
    try:
        counts = [item["counts"] for item in items]
    except (KeyError, TypeError):
        return None
    if all(type(c) is bytes for c in counts):
        return counts
    if all(type(c) is str for c in counts):
        try:
            return [c.encode("ascii") for c in counts]
        except UnicodeEncodeError:
            return None
    return None


def _decode_error(index: int, code: int, byte: int, name: str, func: str, text: bytes) -> str:
    detail = RLE_DECODE_ERRORS[code]
    if code == 1:
        bad = text[byte : byte + 1]
        detail = f"invalid character {bad!r} at byte {byte}"
    return f"{func}: argument {name!r} item {index} has a corrupt RLE: {detail}"


def parse_rles(obj: Any, name: str, func: str, validate: bool = True) -> tuple[RLESet, bool]:
    """Read one RLE dict or a sequence of them; returns ``(set, was_single_dict)``.

    Compressed strings are always checked (a corrupt string cannot be decoded);
    ``validate=False`` skips the checks of uncompressed counts (non-negative,
    summing to h * w)."""
    if isinstance(obj, RLESet):
        return obj, False
    if isinstance(obj, dict):
        items, single = [obj], True
    elif isinstance(obj, (list, tuple)):
        items, single = list(obj), False
    else:
        raise TypeError(
            f"{func}: argument {name!r} must be an RLE dict or a list of them, "
            f"got {type(obj).__name__}"
        )
    n = len(items)
    heights, widths = _sizes(items, name, func)
    fast = _all_strings(items)
    if fast is not None:
        counts, offsets = _decode_strings(fast, heights * widths, name, func, list(range(n)))
        return RLESet(heights, widths, counts, offsets), single
    strings: list[bytes] = []
    string_items: list[int] = []
    plain: dict[int, np.ndarray] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "counts" not in item:
            _size_of(item, i, name, func)  # raises the error that names what is missing
        counts = item["counts"]
        if isinstance(counts, bytes):
            strings.append(counts)
            string_items.append(i)
        elif isinstance(counts, str):
            try:
                strings.append(counts.encode("ascii"))
            except UnicodeEncodeError:
                raise ValueError(
                    f"{func}: argument {name!r} item {i} has a corrupt RLE: non-ASCII characters"
                ) from None
            string_items.append(i)
        else:
            plain[i] = _uncompressed_counts(counts, i, name, func)
    per_item: list[np.ndarray | None] = [None] * n
    if strings:
        areas = heights[string_items] * widths[string_items]
        counts, offsets = _decode_strings(strings, areas, name, func, string_items)
        if not plain:
            return RLESet(heights, widths, counts, offsets), single
        for k, i in enumerate(string_items):
            per_item[i] = counts[offsets[k] : offsets[k + 1]]
    if plain:
        if validate:
            _check_plain(plain, heights, widths, name, func)
        for i, c in plain.items():
            per_item[i] = c
    return from_counts_list(heights, widths, per_item), single  # type: ignore[arg-type]


def _uncompressed_counts(counts: Any, index: int, name: str, func: str) -> np.ndarray:
    try:
        arr = np.asarray(counts)
    except (TypeError, ValueError):
        arr = np.asarray([], dtype=object)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(
            f"{func}: argument {name!r} item {index} has counts that are neither a "
            "compressed string nor a flat list of integers"
        )
    return arr.astype(np.int64)


def _check_plain(plain: dict[int, np.ndarray], heights, widths, name: str, func: str) -> None:
    keys = list(plain)
    subset = from_counts_list(heights[keys], widths[keys], [plain[i] for i in keys])
    status = np.zeros(len(keys), dtype=np.int64)
    args = (subset.counts, subset.offsets, heights[keys] * widths[keys], status)
    twin_call("cpu_rle", "check_counts", subset.counts.size, *args)
    if status.any():
        k = int(np.argmax(status != 0))
        raise ValueError(_decode_error(keys[k], int(status[k]), 0, name, func, b""))


def _decode_strings(
    strings: list[bytes], areas: np.ndarray, name: str, func: str, items: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Decode compressed strings in one parallel call: ``(counts, offsets)``."""
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    ends = np.cumsum(lengths)
    buf = np.frombuffer(b"".join(strings), dtype=np.uint8)
    return decode_buffer(buf, ends - lengths, ends, areas, name, func, items, strings)


def decode_buffer(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    areas: np.ndarray,
    name: str,
    func: str,
    items: list[int] | None = None,
    strings: list[bytes] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode the compressed strings ``buf[starts[i]:ends[i]]``: ``(counts, offsets)``."""

    n = starts.shape[0]
    items = items if items is not None else list(range(n))
    room = np.empty(n, dtype=np.int64)
    twin_call("cpu_rle", "count_terminators", buf.size, buf, starts, ends, room)
    slots = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(room, out=slots[1:])
    counts = np.empty(max(int(slots[-1]), 1), dtype=np.int64)
    n_counts = np.empty(n, dtype=np.int64)
    status = np.empty(n, dtype=np.int64)
    where = np.empty(n, dtype=np.int64)
    twin_call(
        "cpu_rle",
        "decode_strings",
        buf.size + counts.size,
        *(buf, starts, ends, areas, slots, counts, n_counts, status, where),
    )
    if status.any():
        k = int(np.argmax(status != 0))
        text = strings[k] if strings is not None else buf[starts[k] : ends[k]].tobytes()
        raise ValueError(_decode_error(items[k], int(status[k]), int(where[k]), name, func, text))
    if np.array_equal(n_counts, room):  # valid strings fill their room exactly
        return counts[: int(slots[-1])], slots
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_counts, out=offsets[1:])
    packed = np.empty(int(offsets[-1]), dtype=np.int64)
    args = (counts, slots[:-1], n_counts, offsets, packed)
    twin_call("cpu_rle", "gather_segments", packed.size, *args)
    return packed, offsets


def subset(rles: RLESet, index: np.ndarray) -> RLESet:
    """The RLEs ``index`` of a set, in that order."""

    lengths = np.diff(rles.offsets)[index]
    offsets = np.zeros(index.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    counts = np.empty(int(offsets[-1]), dtype=np.int64)
    if index.shape[0]:
        twin_call(
            "cpu_rle",
            "gather_segments",
            counts.size,
            rles.counts,
            rles.offsets[index],
            lengths,
            offsets,
            counts,
        )
    return RLESet(rles.heights[index], rles.widths[index], counts, offsets)


def encode_strings(rles: RLESet) -> list[bytes]:
    """The compressed counts string of every RLE."""

    kernels = kernel("cpu_rle")
    n = len(rles)
    buf = np.empty(max(13 * rles.counts.shape[0], 1), dtype=np.uint8)
    lengths = np.empty(n, dtype=np.int64)
    parallel_call(kernels.encode_strings, rles.counts, rles.offsets, buf, lengths)
    data = buf.tobytes()
    starts = 13 * rles.offsets[:-1]
    return [data[s : s + k] for s, k in zip(starts.tolist(), lengths.tolist(), strict=True)]


def to_dicts(rles: RLESet) -> list[dict[str, Any]]:
    """pycocotools-style dicts: ``{"size": [h, w], "counts": b"..."}``."""
    strings = encode_strings(rles)
    return [
        {"size": [int(h), int(w)], "counts": text}
        for h, w, text in zip(rles.heights.tolist(), rles.widths.tolist(), strings, strict=True)
    ]
