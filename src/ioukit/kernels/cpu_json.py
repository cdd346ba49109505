"""A compiled reader for the common shape of COCO result files.

A results file is a JSON array of flat objects with ``image_id`` and
``category_id`` (integers), ``score`` and ``bbox`` (numbers) and, for masks, a
``segmentation`` RLE object. Building 265,000 Python dicts costs more than the
whole evaluation, so this scanner reads the bytes once and writes the fields
straight into arrays: integers parsed here, the text of every float copied into
one buffer (parsed afterwards by NumPy, so rounding is exactly Python's), the
counts strings copied into another. Anything else (string ids, polygons, escapes
in keys, a missing field) makes it give up with status != 0, and the caller falls
back to the ordinary JSON parser and its detailed error messages.
"""

import numpy as np

from .. import _numba as nb

OK, FAIL = 0, 1
_KEYS = ("image_id", "category_id", "score", "bbox", "segmentation", "size", "counts")


@nb.serial_kernel
def _ws(buf, p):
    while p < buf.shape[0] and (buf[p] == 32 or buf[p] == 10 or buf[p] == 13 or buf[p] == 9):
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
def _number_end(buf, p):
    """End of a JSON number starting at ``p`` (or ``p`` when there is none)."""
    q = p
    while q < buf.shape[0]:
        c = buf[q]
        if (48 <= c <= 57) or c == 45 or c == 43 or c == 46 or c == 101 or c == 69:
            q += 1
        else:
            break
    return q


@nb.serial_kernel
def _integer(buf, p, q):
    """The integer in ``buf[p:q]``, and whether it was a plain integer literal."""
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
def _skip_value(buf, p):
    """End of any JSON value starting at ``p``, or -1."""
    n = buf.shape[0]
    if p >= n:
        return -1
    c = buf[p]
    if c == 34:  # string
        p += 1
        while p < n and buf[p] != 34:
            p += 2 if buf[p] == 92 else 1
        return p + 1 if p < n else -1
    if c == 91 or c == 123:  # array or object: match brackets outside strings
        depth = 0
        while p < n:
            c = buf[p]
            if c == 34:
                p = _skip_value(buf, p)
                if p < 0:
                    return -1
                continue
            if c == 91 or c == 123:
                depth += 1
            elif c == 93 or c == 125:
                depth -= 1
                if depth == 0:
                    return p + 1
            p += 1
        return -1
    q = _number_end(buf, p)
    if q > p:
        return q
    while p < n and 97 <= buf[p] <= 122:  # true, false, null
        p += 1
    return p


@nb.serial_kernel
def _copy_number(buf, p, numbers, nlen):
    q = _number_end(buf, p)
    if q == p:
        return -1, nlen
    for i in range(p, q):
        numbers[nlen] = buf[i]
        nlen += 1
    numbers[nlen] = 32
    return q, nlen + 1


@nb.serial_kernel
def scan_results(buf, want_masks, image_ids, category_ids, numbers, sizes, counts, count_offsets):
    """Scan a results array. Returns ``(status, n, numbers_used, counts_used, has_bbox)``.

    Per detection ``i``: ``image_ids[i]``, ``category_ids[i]``; the text of its score
    then (when every result has one) its 4 box numbers in ``numbers``; for masks,
    ``sizes[i]`` and its counts string at ``counts[count_offsets[i]:count_offsets[i + 1]]``.
    """
    n_bytes = buf.shape[0]
    p = _ws(buf, 0)
    if p >= n_bytes or buf[p] != 91:
        return FAIL, 0, 0, 0, False
    p = _ws(buf, p + 1)
    n, nlen, clen = 0, 0, 0
    has_bbox = False
    count_offsets[0] = 0
    if p < n_bytes and buf[p] == 93:
        return OK, 0, 0, 0, False
    while p < n_bytes:
        if buf[p] != 123 or n >= image_ids.shape[0]:
            return FAIL, n, nlen, clen, has_bbox
        p = _ws(buf, p + 1)
        seen = 0
        score_at, bbox_at, seg_size_h, seg_size_w = -1, -1, -1, -1
        while p < n_bytes and buf[p] != 125:
            if buf[p] != 34:
                return FAIL, n, nlen, clen, has_bbox
            k0 = p + 1
            k1 = k0
            while k1 < n_bytes and buf[k1] != 34 and buf[k1] != 92:
                k1 += 1
            if k1 >= n_bytes or buf[k1] == 92:
                return FAIL, n, nlen, clen, has_bbox
            p = _ws(buf, k1 + 1)
            if p >= n_bytes or buf[p] != 58:
                return FAIL, n, nlen, clen, has_bbox
            p = _ws(buf, p + 1)
            if _key_is(buf, k0, k1, "image_id") or _key_is(buf, k0, k1, "category_id"):
                q = _number_end(buf, p)
                value, ok = _integer(buf, p, q)
                if not ok:
                    return FAIL, n, nlen, clen, has_bbox
                if buf[k0] == 105:
                    image_ids[n] = value
                    seen |= 1
                else:
                    category_ids[n] = value
                    seen |= 2
                p = q
            elif _key_is(buf, k0, k1, "score"):
                score_at = p
                p = _number_end(buf, p)
                if p == score_at:
                    return FAIL, n, nlen, clen, has_bbox
                seen |= 4
            elif _key_is(buf, k0, k1, "bbox"):
                if buf[p] != 91:
                    return FAIL, n, nlen, clen, has_bbox
                bbox_at = p
                p = _skip_value(buf, p)
                if p < 0:
                    return FAIL, n, nlen, clen, has_bbox
                seen |= 8
            elif want_masks and _key_is(buf, k0, k1, "segmentation"):
                if buf[p] != 123:
                    return FAIL, n, nlen, clen, has_bbox
                p = _ws(buf, p + 1)
                while p < n_bytes and buf[p] != 125:
                    if buf[p] != 34:
                        return FAIL, n, nlen, clen, has_bbox
                    s0 = p + 1
                    s1 = s0
                    while s1 < n_bytes and buf[s1] != 34:
                        s1 += 1
                    p = _ws(buf, s1 + 1)
                    if p >= n_bytes or buf[p] != 58:
                        return FAIL, n, nlen, clen, has_bbox
                    p = _ws(buf, p + 1)
                    if _key_is(buf, s0, s1, "size"):
                        if buf[p] != 91:
                            return FAIL, n, nlen, clen, has_bbox
                        p = _ws(buf, p + 1)
                        q = _number_end(buf, p)
                        seg_size_h, ok_h = _integer(buf, p, q)
                        p = _ws(buf, q)
                        if p >= n_bytes or buf[p] != 44:
                            return FAIL, n, nlen, clen, has_bbox
                        p = _ws(buf, p + 1)
                        q = _number_end(buf, p)
                        seg_size_w, ok_w = _integer(buf, p, q)
                        p = _ws(buf, q)
                        if not (ok_h and ok_w) or p >= n_bytes or buf[p] != 93:
                            return FAIL, n, nlen, clen, has_bbox
                        p += 1
                    elif _key_is(buf, s0, s1, "counts"):
                        if buf[p] != 34:
                            return FAIL, n, nlen, clen, has_bbox
                        p += 1
                        while p < n_bytes and buf[p] != 34:
                            c = buf[p]
                            if c == 92:  # an escaped character: \\ or \/ or \"
                                p += 1
                                if p >= n_bytes:
                                    return FAIL, n, nlen, clen, has_bbox
                                c = buf[p]
                                if c != 92 and c != 47 and c != 34:
                                    return FAIL, n, nlen, clen, has_bbox
                            counts[clen] = c
                            clen += 1
                            p += 1
                        p += 1
                        seen |= 16
                    else:
                        p = _skip_value(buf, p)
                        if p < 0:
                            return FAIL, n, nlen, clen, has_bbox
                    p = _ws(buf, p)
                    if p < n_bytes and buf[p] == 44:
                        p = _ws(buf, p + 1)
                if p >= n_bytes:
                    return FAIL, n, nlen, clen, has_bbox
                p += 1
            else:
                p = _skip_value(buf, p)
                if p < 0:
                    return FAIL, n, nlen, clen, has_bbox
            p = _ws(buf, p)
            if p < n_bytes and buf[p] == 44:
                p = _ws(buf, p + 1)
        if p >= n_bytes or seen & 7 != 7:
            return FAIL, n, nlen, clen, has_bbox
        if n == 0:
            has_bbox = seen & 8 != 0
        if has_bbox != (seen & 8 != 0):
            return FAIL, n, nlen, clen, has_bbox
        if want_masks and not has_bbox and (seen & 16 == 0 or seg_size_h < 0):
            return FAIL, n, nlen, clen, has_bbox
        q, nlen = _copy_number(buf, score_at, numbers, nlen)
        if has_bbox:
            r = _ws(buf, bbox_at + 1)
            for k in range(4):
                r, nlen = _copy_number(buf, r, numbers, nlen)
                if r < 0:
                    return FAIL, n, nlen, clen, has_bbox
                r = _ws(buf, r)
                if k < 3:
                    if r >= n_bytes or buf[r] != 44:
                        return FAIL, n, nlen, clen, has_bbox
                    r = _ws(buf, r + 1)
            if r >= n_bytes or buf[r] != 93:
                return FAIL, n, nlen, clen, has_bbox
        if want_masks:
            if seen & 16 == 0 and not has_bbox:
                return FAIL, n, nlen, clen, has_bbox
            sizes[n, 0] = seg_size_h
            sizes[n, 1] = seg_size_w
            if seen & 16 == 0:  # results with boxes only: the box stands in for the mask
                sizes[n, 0] = -1
        count_offsets[n + 1] = clen
        n += 1
        p = _ws(buf, p + 1)
        if p < n_bytes and buf[p] == 44:
            p = _ws(buf, p + 1)
        elif p < n_bytes and buf[p] == 93:
            p = _ws(buf, p + 1)
            return (OK if p == n_bytes else FAIL), n, nlen, clen, has_bbox
        else:
            return FAIL, n, nlen, clen, has_bbox
    return FAIL, n, nlen, clen, has_bbox
