"""Term entries made from a run's arrays (`search.index.pool.TermRun`) without the general
encoder: the bytes `FieldWriter._write_term` writes, made faster for the two kinds of term
that hold nearly all of a segment.

Most terms have one or two postings: `short_entry` makes their inlined entries without the
general encoder's lists. Nearly all postings with positions, and most pair postings, are in
terms of dozens to thousands of documents, cut into blocks: `encode_body` walks a block's lists
several times in Python (gaps, weights, each value's shape, the values joined), where
`encode_block` is a few array operations on the run's arrays, the values read from the run's
one buffer (`search.index.run_values`), and `long_entry` writes a term's blocks and makes its
entry. Only the common layouts are made here (weights 1.0 or small whole numbers, values none
or `CompactPositions`); for any other the functions return None and the writer uses the general
encoder, so every entry and block is what it writes (tests/test_codec.py compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from search.index.engine.codec.blocks import (
    LAST_BLOCK,
    VALUES_COUNTED,
    VALUES_PACKED,
    block_header,
    put_varint,
    squeezed,
    weight_bytes,
)

#: Gap width code -> little-endian dtype (`blocks.TYPECODES` on disk).
_GAP_TYPES = (np.dtype("<u1"), np.dtype("<u2"), np.dtype("<u4"))


def encode_block(
    ids: np.ndarray, weights: np.ndarray, data: np.ndarray | None, offsets: np.ndarray | None, level: int
) -> tuple[int, bytes, float] | None:
    """`encode_body(ids, weights, values, level)` for one block, or None when the block is not
    of the layouts handled here. `ids` are int64, `weights` float64; posting i's value is
    `data[offsets[i]:offsets[i + 1]]` (`data` None: no values)."""
    count = len(ids)
    flags = 0
    parts = []
    if count > 2:
        gaps = ids[1:-1] - ids[:-2] - 1
        top_gap = int(gaps.max())
        if int(gaps.min()) < 0:
            return None
        code = 0 if top_gap < 0x100 else 1 if top_gap < 0x10000 else 2
        flags |= code
        parts.append(gaps.astype(_GAP_TYPES[code]).tobytes())
    top = float(weights.max())
    if top == 1.0 and bool((weights == 1.0).all()):
        freqs = None
    else:
        low = float(weights.min())
        if not bool((weights == np.trunc(weights)).all()):
            return None
        if low >= 1 and top <= 16:
            halves = (weights - 1).astype(np.uint8)
            if count % 2:
                halves = np.append(halves, np.uint8(0))
            parts.append(((halves[0::2] << 4) | halves[1::2]).tobytes())
            flags |= 2 << 2
        elif low >= 0 and top < 0x100:
            parts.append(weights.astype(np.uint8).tobytes())
            flags |= 1 << 2
        else:
            return None
        freqs = weights.astype(np.int64)
    if data is not None and offsets is not None and offsets[-1] > offsets[0]:
        begins = offsets[:-1]
        sizes = offsets[1:] - begins
        if not bool((sizes > 0).all()):
            return None
        widths = data[begins]
        expected = 1 + widths.astype(np.int64) * (freqs if freqs is not None else 1)
        if not bool((sizes == expected).all()):
            return None
        base = int(offsets[0])
        keep = np.ones(int(offsets[-1]) - base, dtype=bool)
        keep[begins - base] = False  # each value's width byte
        deltas = data[base : int(offsets[-1])][keep].tobytes()
        if bool((widths == 1).all()):
            flags |= VALUES_PACKED
            packed = deltas
        else:
            flags |= VALUES_COUNTED
            packed = widths.tobytes() + deltas
        packed, flags = squeezed(packed, flags, level)
        parts.append(packed)
    return flags, b"".join(parts), top


def long_entry(
    postfile: Any,
    ids: np.ndarray,
    weights: np.ndarray,
    data: np.ndarray | None,
    offsets: np.ndarray | None,
    lens: np.ndarray | None,
    limit: int,
    level: int,
) -> bytes | None:
    """The entry `FieldWriter._write_term` makes for a term of more than the inline limit
    of postings, after writing its blocks of `limit` to `postfile` (encoded by
    `encode_block`); None, with nothing written, when a block is of a layout only
    `encode_body` writes. `ids` are int64, `lens` the length bytes (None: no lengths)."""
    count = len(ids)
    encoded = []
    for i in range(0, count, limit):
        block = encode_block(
            ids[i : i + limit],
            weights[i : i + limit],
            data,
            offsets[i : i + limit + 1] if offsets is not None else None,
            level,
        )
        if block is None:
            return None
        encoded.append(block)
    firsts = np.arange(0, count, limit)
    if lens is None:
        lens = np.zeros(count, dtype=np.uint8)
    lows, highs = np.minimum.reduceat(lens, firsts).tolist(), np.maximum.reduceat(lens, firsts).tolist()
    bounds = ids[firsts].tolist(), ids[np.minimum(firsts + limit, count) - 1].tolist()
    start = postfile.tell()
    out = bytearray()
    prev = 0
    maxweight = 0.0
    for k, (flags, body, top) in enumerate(encoded):
        first, last = bounds[0][k], bounds[1][k]
        if k == len(encoded) - 1:
            flags |= LAST_BLOCK
        size = min(limit, count - k * limit)
        out += block_header(flags, size, first, last, prev, top, lows[k], highs[k], len(body))
        out += body
        prev = last
        maxweight = max(maxweight, top)
    postfile.write(bytes(out))
    entry = bytearray((0,))
    put_varint(entry, count)
    weight_bytes(entry, float(weights.sum()), False)
    weight_bytes(entry, maxweight, False)
    entry.append(int(lens.min()))
    entry.append(int(lens.max()))
    first_id = int(ids[0])
    put_varint(entry, first_id)
    put_varint(entry, int(ids[-1]) - first_id)
    put_varint(entry, start)
    put_varint(entry, postfile.tell() - start)
    return bytes(entry)


#: Terms of at least this many postings have their blocks encoded with numpy (`long_entry`):
#: below it, a block's few array operations cost more than `encode_body`'s lists.
ARRAY_POSTINGS = 16

#: A varint of each number under 0x80: one byte.
_SMALL_VARINTS = [bytes((n,)) for n in range(0x80)]


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL_VARINTS[n]
    out = bytearray()
    put_varint(out, n)
    return bytes(out)


def short_entry(
    ids: list[int], weights: list[float], values: Sequence[bytes] | None, lens: list[int] | None, lo: int, hi: int
) -> bytes | None:
    """The inlined entry `_write_term` writes for the one or two postings `lo:hi` of a term,
    when their weights are 1.0 or small frequencies and their values none or positions
    (None otherwise: the general encoder's other modes)."""
    first = ids[lo]
    if hi - lo == 1:
        w0 = weights[lo]
        if w0 == 1.0:
            head, wbody = 0x80, b""
        elif w0.is_integer() and 1.0 <= w0 <= 16.0:
            head, wbody = 0x88, bytes(((int(w0) - 1) << 4,))
        else:
            return None
        length = lens[lo] if lens is not None else 0
        entry = bytes((head, 1)) + _varint(first) + bytes((length, length)) + wbody
        if values is None or not values[lo]:
            return entry
        v = values[lo]
        if len(v) != 1 + v[0] * int(w0):
            return None
        if v[0] == 1:  # every delta in a byte: the width byte left out
            return bytes((head | VALUES_PACKED,)) + entry[1:] + v[1:]
        return bytes((head | VALUES_COUNTED,)) + entry[1:] + v
    w0, w1 = weights[lo], weights[lo + 1]
    if w0 == 1.0 and w1 == 1.0:
        head, wbody = 0x80, b""
    elif w0.is_integer() and w1.is_integer() and 1.0 <= w0 <= 16.0 and 1.0 <= w1 <= 16.0:
        head, wbody = 0x88, bytes((((int(w0) - 1) << 4) | (int(w1) - 1),))
    else:
        return None
    a, b = (lens[lo], lens[lo + 1]) if lens is not None else (0, 0)
    if values is not None and (values[lo] or values[lo + 1]):
        v0, v1 = values[lo], values[lo + 1]
        if not (v0 and v1 and len(v0) == 1 + v0[0] * int(w0) and len(v1) == 1 + v1[0] * int(w1)):
            return None
        if v0[0] == 1 and v1[0] == 1:
            head |= VALUES_PACKED
            wbody += v0[1:] + v1[1:]
        else:
            head |= VALUES_COUNTED
            wbody += bytes((v0[0], v1[0])) + v0[1:] + v1[1:]
    bounds = bytes((a, b) if a <= b else (b, a))
    return bytes((head, 2)) + _varint(first) + _varint(ids[lo + 1] - first) + bounds + wbody
