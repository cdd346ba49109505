"""A compiled, strict (RFC 8259) reader for the common shape of COCO result files.

A results file is a JSON array of flat objects with ``image_id`` and
``category_id`` (integers), ``score`` and ``bbox`` (numbers) and, for masks, a
``segmentation`` RLE object. Building 265,000 Python dicts costs more than the
whole evaluation, so this scanner reads the bytes once and writes the fields
straight into arrays: integers parsed here, the text of every score and box
number copied into buffers (parsed afterwards by NumPy, so rounding is exactly
Python's), the counts strings copied into another.

Everything the scanner accepts is valid JSON: numbers, strings (escapes, no
control characters), literals, commas and brackets follow the RFC 8259 grammar,
every read is checked against the buffer's length, and nothing may follow the
top-level array. Anything it is unsure of (non-ASCII bytes, escapes in keys or
in counts beyond ``\\\\ \\/ \\"``, a duplicate key of a field it reads, nesting
deeper than :data:`MAX_DEPTH`, string ids, polygons, a missing field) makes it
give up with ``FAIL``; the caller then falls back to the standard JSON parser,
which decides (last duplicate key wins, detailed error messages).
"""

import numpy as np

from .._core import jit as nb
from .codes import JSON_FAIL as FAIL
from .codes import JSON_OK as OK

MAX_DEPTH = 256  # nesting the compiled validator follows; deeper goes to the JSON parser

# byte classes inside strings: 0 plain ASCII, 1 the closing quote, 2 a backslash,
# 3 a control character or a non-ASCII byte (invalid, or left to the JSON parser)
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[:32] = 3
_CLASS[128:] = 3
_CLASS[34] = 1
_CLASS[92] = 2


@nb.serial_kernel
def _ws(buf, p):
    n = buf.shape[0]
    while p < n and (buf[p] == 32 or buf[p] == 10 or buf[p] == 13 or buf[p] == 9):
        p += 1
    return p


@nb.serial_kernel
def _key_is(buf, start, stop, word):
    if stop - start != len(word):
        return False
    for k in range(stop - start):
        if buf[start + k] != ord(word[k]):
            return False
    return True


@nb.serial_kernel
def _digits(buf, q):
    n = buf.shape[0]
    while q < n and 48 <= buf[q] <= 57:
        q += 1
    return q


@nb.serial_kernel
def _number_end(buf, p):
    """End of the JSON number starting at ``p``, or -1 (RFC 8259 grammar:
    ``-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?``)."""
    n = buf.shape[0]
    q = p
    if q < n and buf[q] == 45:
        q += 1
    if q >= n:
        return -1
    if buf[q] == 48:
        q += 1
    elif 49 <= buf[q] <= 57:
        q = _digits(buf, q + 1)
    else:
        return -1
    if q < n and buf[q] == 46:
        r = _digits(buf, q + 1)
        if r == q + 1:
            return -1
        q = r
    if q < n and (buf[q] == 101 or buf[q] == 69):
        q += 1
        if q < n and (buf[q] == 43 or buf[q] == 45):
            q += 1
        r = _digits(buf, q)
        if r == q:
            return -1
        q = r
    return q


@nb.serial_kernel
def _integer(buf, p, q):
    """The integer in ``buf[p:q]`` (a valid number), and whether it is a plain
    integer literal that fits in int64 (at most 18 digits)."""
    neg = buf[p] == 45
    k = p + 1 if neg else p
    if k >= q or q - k > 18:
        return 0, False
    v = np.int64(0)
    for i in range(k, q):
        c = buf[i]
        if c < 48 or c > 57:
            return 0, False
        v = v * 10 + (c - 48)
    return (-v if neg else v), True


@nb.serial_kernel
def _is_hex(c):
    return (48 <= c <= 57) or (65 <= c <= 70) or (97 <= c <= 102)


@nb.serial_kernel
def _string_end(buf, p):
    """End (after the closing quote) of the JSON string whose quote is at ``p``, or
    -1: invalid escapes, control characters, an unterminated string, or a
    non-ASCII byte (not checked here: the JSON parser decides)."""
    n = buf.shape[0]
    p += 1
    while p < n:
        kind = _CLASS[buf[p]]
        if kind == 0:
            p += 1
            continue
        if kind == 1:
            return p + 1
        if kind == 3 or p + 1 >= n:
            return -1
        e = buf[p + 1]  # after a backslash
        if e == 117:  # \uXXXX
            if p + 5 >= n:
                return -1
            for k in range(2, 6):
                if not _is_hex(buf[p + k]):
                    return -1
            p += 6
        elif (e == 34 or e == 92 or e == 47 or e == 98 or e == 102 or e == 110
              or e == 114 or e == 116):  # fmt: skip
            p += 2
        else:
            return -1
    return -1


@nb.serial_kernel
def _literal_end(buf, p, word):
    n = buf.shape[0]
    if p + len(word) > n:
        return -1
    for k in range(len(word)):
        if buf[p + k] != ord(word[k]):
            return -1
    return p + len(word)


@nb.serial_kernel
def _member_key(buf, p):
    """From the key of an object member at ``p`` to its value (``"key" ws : ws``), or -1."""
    n = buf.shape[0]
    if p >= n or buf[p] != 34:
        return -1
    p = _string_end(buf, p)
    if p < 0:
        return -1
    p = _ws(buf, p)
    if p >= n or buf[p] != 58:
        return -1
    return _ws(buf, p + 1)


@nb.serial_kernel
def _skip_value(buf, p, stack):
    """End of the JSON value at ``p``, or -1 when it is invalid (or nested deeper
    than ``stack`` holds). Iterative: no recursion however deep the input."""
    n = buf.shape[0]
    depth = 0
    while True:
        # a value starts at p
        if p >= n:
            return -1
        c = buf[p]
        if c == 34:
            p = _string_end(buf, p)
        elif c == 91 or c == 123:
            if depth >= stack.shape[0]:
                return -1
            stack[depth] = c
            depth += 1
            p = _ws(buf, p + 1)
            if p >= n:
                return -1
            if (c == 91 and buf[p] == 93) or (c == 123 and buf[p] == 125):
                p += 1
                depth -= 1
            elif c == 123:
                p = _member_key(buf, p)
                if p < 0:
                    return -1
                continue
            else:
                continue
        elif c == 116:
            p = _literal_end(buf, p, "true")
        elif c == 102:
            p = _literal_end(buf, p, "false")
        elif c == 110:
            p = _literal_end(buf, p, "null")
        else:
            p = _number_end(buf, p)
        if p < 0:
            return -1
        # after a value: commas and closing brackets until the next value
        while True:
            if depth == 0:
                return p
            p = _ws(buf, p)
            if p >= n:
                return -1
            c = buf[p]
            top = stack[depth - 1]
            if c == 44:
                p = _ws(buf, p + 1)
                if top == 123:
                    p = _member_key(buf, p)
                    if p < 0:
                        return -1
                break
            if (top == 91 and c == 93) or (top == 123 and c == 125):
                p += 1
                depth -= 1
                continue
            return -1


@nb.serial_kernel
def validate(buf):
    """``OK`` when ``buf`` holds exactly one JSON value the compiled grammar accepts
    (``FAIL`` for invalid JSON, and for what it leaves to the JSON parser)."""
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    p = _skip_value(buf, _ws(buf, 0), stack)
    if p < 0 or _ws(buf, p) != buf.shape[0]:
        return FAIL
    return OK


@nb.serial_kernel
def _copy(buf, p, q, out, used):
    """Copy ``buf[p:q]`` and a space to ``out[used:]``; the new ``used``, or -1."""
    if used + (q - p) + 1 > out.shape[0]:
        return -1
    for i in range(p, q):
        out[used] = buf[i]
        used += 1
    out[used] = 32
    return used + 1


@nb.serial_kernel
def _box(buf, p, boxes, used):
    """Copy the 4 numbers of the box array at ``p``; ``(end, used)``, end -1 if not
    exactly 4 valid numbers."""
    n = buf.shape[0]
    if p >= n or buf[p] != 91:
        return -1, used
    p = _ws(buf, p + 1)
    for k in range(4):
        q = _number_end(buf, p)
        if q < 0:
            return -1, used
        used = _copy(buf, p, q, boxes, used)
        if used < 0:
            return -1, used
        p = _ws(buf, q)
        if p >= n or buf[p] != (44 if k < 3 else 93):
            return -1, used
        p = _ws(buf, p + 1) if k < 3 else p + 1
    return p, used


@nb.serial_kernel
def _plain_key_end(buf, p):
    """End quote of a key at ``p`` with no escapes, control or non-ASCII bytes, or -1."""
    n = buf.shape[0]
    if p >= n or buf[p] != 34:
        return -1
    k = p + 1
    while k < n:
        kind = _CLASS[buf[k]]
        if kind == 1:
            return k
        if kind != 0:
            return -1
        k += 1
    return -1


@nb.serial_kernel
def _after_member(buf, p, close):
    """After a member's value: ``(next key position, done)``; -1 on a syntax error
    (a trailing comma included)."""
    n = buf.shape[0]
    p = _ws(buf, p)
    if p >= n:
        return -1, False
    if buf[p] == 44:
        p = _ws(buf, p + 1)
        if p >= n or buf[p] != 34:
            return -1, False
        return p, False
    if buf[p] == close:
        return p + 1, True
    return -1, False


@nb.serial_kernel
def _plain_int(buf, p):
    """A plain integer at ``p`` and the whitespace after it: ``(end, value)``, end -1
    unless one is there."""
    q = _number_end(buf, p)
    if q < 0:
        return -1, 0
    value, ok = _integer(buf, p, q)
    if not ok:
        return -1, 0
    return _ws(buf, q), value


@nb.serial_kernel
def _size(buf, p):
    """``[h, w]`` at ``p``: ``(end, h, w)``, end -1 unless two plain integers."""
    n = buf.shape[0]
    if p >= n or buf[p] != 91:
        return -1, 0, 0
    p, h = _plain_int(buf, _ws(buf, p + 1))
    if p < 0 or p >= n or buf[p] != 44:
        return -1, 0, 0
    p, w = _plain_int(buf, _ws(buf, p + 1))
    if p < 0 or p >= n or buf[p] != 93:
        return -1, 0, 0
    return p + 1, h, w


@nb.serial_kernel
def _counts(buf, p, counts, clen):
    """Copy the counts string at ``p`` (escapes ``\\\\ \\/ \\"`` only); ``(end, clen)``."""
    n = buf.shape[0]
    if p >= n or buf[p] != 34 or clen + (n - p) > counts.shape[0]:
        return -1, clen  # (each byte is copied at most once: no overflow below)
    p += 1
    while p < n:
        c = buf[p]
        kind = _CLASS[c]
        if kind == 1:
            return p + 1, clen
        if kind != 0:
            if kind == 3 or p + 1 >= n:
                return -1, clen
            p += 1
            c = buf[p]
            if c != 92 and c != 47 and c != 34:
                return -1, clen
        counts[clen] = c
        clen += 1
        p += 1
    return -1, clen


@nb.serial_kernel
def _segmentation(buf, p, counts, clen, stack):
    """The RLE object at ``p``: ``(end, h, w, clen)``; end -1 unless it is an object
    with exactly one ``size`` and one ``counts`` (other members are validated)."""
    n = buf.shape[0]
    if p >= n or buf[p] != 123:
        return -1, 0, 0, clen
    p = _ws(buf, p + 1)
    h, w, seen = -1, -1, 0
    if p < n and buf[p] == 125:
        return -1, 0, 0, clen
    while True:
        k1 = _plain_key_end(buf, p)
        if k1 < 0:
            return -1, 0, 0, clen
        k0 = p + 1
        p = _ws(buf, k1 + 1)
        if p >= n or buf[p] != 58:
            return -1, 0, 0, clen
        p = _ws(buf, p + 1)
        if _key_is(buf, k0, k1, "size"):
            if seen & 1:
                return -1, 0, 0, clen
            p, h, w = _size(buf, p)
            seen |= 1
        elif _key_is(buf, k0, k1, "counts"):
            if seen & 2:
                return -1, 0, 0, clen
            p, clen = _counts(buf, p, counts, clen)
            seen |= 2
        else:
            p = _skip_value(buf, p, stack)
        if p < 0:
            return -1, 0, 0, clen
        p, done = _after_member(buf, p, 125)
        if p < 0:
            return -1, 0, 0, clen
        if done:
            break
    if seen != 3:
        return -1, 0, 0, clen
    return p, h, w, clen


@nb.serial_kernel
def scan_results(buf, want_masks, image_ids, category_ids, scores, boxes, sizes, counts, offsets):
    """Scan a results array. Returns ``(status, n, score_bytes, box_bytes, has_bbox)``.

    Per detection ``i``: ``image_ids[i]``, ``category_ids[i]``; the text of its score
    in ``scores`` and (when every result has one) of its 4 box numbers in ``boxes``;
    for masks, ``sizes[i]`` (-1 when it has no segmentation) and its counts string
    at ``counts[offsets[i]:offsets[i + 1]]``. Output buffers too small give ``FAIL``.
    """
    n_bytes = buf.shape[0]
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    p = _ws(buf, 0)
    if p >= n_bytes or buf[p] != 91:
        return FAIL, 0, 0, 0, False
    p = _ws(buf, p + 1)
    n, slen, blen, clen = 0, 0, 0, 0
    has_bbox = False
    offsets[0] = 0
    if p < n_bytes and buf[p] == 93:
        return (OK if _ws(buf, p + 1) == n_bytes else FAIL), 0, 0, 0, False
    while True:
        if p >= n_bytes or buf[p] != 123 or n >= image_ids.shape[0]:
            return FAIL, n, slen, blen, has_bbox
        p = _ws(buf, p + 1)
        seen = 0
        score_at, score_end, box_used = -1, -1, blen
        seg_h, seg_w = -1, -1
        while True:
            k1 = _plain_key_end(buf, p)
            if k1 < 0:  # an escaped key, or an empty object: the JSON parser decides
                return FAIL, n, slen, blen, has_bbox
            k0 = p + 1
            p = _ws(buf, k1 + 1)
            if p >= n_bytes or buf[p] != 58:
                return FAIL, n, slen, blen, has_bbox
            p = _ws(buf, p + 1)
            bit = 0
            if _key_is(buf, k0, k1, "image_id") or _key_is(buf, k0, k1, "category_id"):
                bit = 1 if buf[k0] == 105 else 2
                q = _number_end(buf, p)
                if q < 0:
                    return FAIL, n, slen, blen, has_bbox
                value, ok = _integer(buf, p, q)
                if not ok:
                    return FAIL, n, slen, blen, has_bbox
                if bit == 1:
                    image_ids[n] = value
                else:
                    category_ids[n] = value
                p = q
            elif _key_is(buf, k0, k1, "score"):
                bit = 4
                score_at = p
                p = _number_end(buf, p)
                score_end = p
            elif _key_is(buf, k0, k1, "bbox"):
                bit = 8
                p, box_used = _box(buf, p, boxes, blen)
            elif want_masks and _key_is(buf, k0, k1, "segmentation"):
                bit = 16
                p, seg_h, seg_w, clen = _segmentation(buf, p, counts, clen, stack)
            else:
                p = _skip_value(buf, p, stack)
            if p < 0 or seen & bit:  # invalid, or a duplicate key (the parser: last wins)
                return FAIL, n, slen, blen, has_bbox
            seen |= bit
            p, done = _after_member(buf, p, 125)
            if p < 0:
                return FAIL, n, slen, blen, has_bbox
            if done:
                break
        if seen & 7 != 7:
            return FAIL, n, slen, blen, has_bbox
        if n == 0:
            has_bbox = seen & 8 != 0
        if has_bbox != (seen & 8 != 0):
            return FAIL, n, slen, blen, has_bbox
        if want_masks and seen & 24 == 0:
            return FAIL, n, slen, blen, has_bbox
        slen = _copy(buf, score_at, score_end, scores, slen)
        if slen < 0:
            return FAIL, n, 0, blen, has_bbox
        blen = box_used
        if want_masks:
            sizes[n, 0] = seg_h if seen & 16 else -1
            sizes[n, 1] = seg_w if seen & 16 else -1
        offsets[n + 1] = clen
        n += 1
        p = _ws(buf, p)
        if p >= n_bytes:
            return FAIL, n, slen, blen, has_bbox
        if buf[p] == 44:
            p = _ws(buf, p + 1)
        elif buf[p] == 93:
            return (OK if _ws(buf, p + 1) == n_bytes else FAIL), n, slen, blen, has_bbox
        else:
            return FAIL, n, slen, blen, has_bbox


@nb.serial_kernel
def orjson_unsafe(buf, limit):
    """Whether ``buf`` needs the standard parser rather than orjson: bracket nesting
    outside strings reaches ``limit`` (orjson 3.8 recurses on the C stack without a
    limit), or a number has a run of 19 or more digits (orjson reads integers past
    64 bits as floats, the standard parser as integers, and errors quote the value).
    """
    n = buf.shape[0]
    depth = 0
    digits = 0
    p = 0
    while p < n:
        c = buf[p]
        if 48 <= c <= 57:
            digits += 1
            if digits >= 19:
                return True
        else:
            digits = 0
        if c == 34:  # skip a string, escapes included
            p += 1
            while p < n and buf[p] != 34:
                p += 2 if buf[p] == 92 else 1
        elif c == 91 or c == 123:
            depth += 1
            if depth >= limit:
                return True
        elif c == 93 or c == 125:
            depth -= 1
        p += 1
    return False
