"""The posting format: how a list of postings is laid out as bytes, written and read back.

A posting block is a small header (flags, count, first and last id, the highest weight and the
shortest and longest field length: what a matcher needs to skip a block or bound its score) and
a body without pickle: the gaps between ids as an array of the narrowest of 1, 2 or 4 bytes (the
first and last ids are in the header, so lists of one or two postings have no gaps at all), the
weights left out when all are 1.0 and stored in 4 bits (up to 16) or a byte when integral (they
are term frequencies for our text fields), and the values (positions) concatenated without their
lengths (the weight is the number of positions), their width bytes gathered before them (a
reader finds every posting's deltas without walking them) or, when all position deltas of a
block fit a byte, left out. zlib is used only on the values, and only where it saves an eighth
of them: ids and weights are what every search reads, and decompressing the positions with them
made reading them three times slower.

This module writes and reads one block at a time in Python (for the writer and Whoosh's
matchers); `search.index.engine.codec.arrays` reads whole lists of the same blocks with numpy,
for the searcher's evaluator.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

_FLOAT = struct.Struct("<f")

# Flags of a posting body (a block, or postings inlined in a term's entry).
ID_WIDTH = 0x03  # gap width code: 0, 1, 2 -> 1, 2, 4 bytes
WEIGHT_MODE = 0x0C  # >> 2: 0 all 1.0, 1 uint8, 2 two to a byte (4 bits: weight - 1), 3 float32
VALUE_MODE = 0x30  # no values, or one of:
VALUES_SIZED = 0x10  # values' lengths (but the last's) as varints, then the values
VALUES_COUNTED = 0x20  # `CompactPositions` values, whose lengths follow from their weights: their
#                        width bytes first, then their deltas
VALUES_PACKED = 0x30  # the same, every one of width 1 and stored without its width byte
COMPRESSED = 0x40  # the values are zlib-compressed (ids and weights never are: searches read them)
LAST_BLOCK = 0x80
#: The first byte of a term entry with inlined postings (its other bits are the body's flags).
INLINE = 0x80
FLOAT_WEIGHTS = 0x01  # in the first byte of a term entry pointing at blocks

#: Width code -> array typecode (little-endian on disk: see `pack`).
TYPECODES = ("B", "H", "I")
WIDTHS = (1, 2, 4)

#: Values shorter than this (in bytes, for a block) are never compressed.
COMPRESS_MIN = 64

_BIG_ENDIAN = sys.byteorder == "big"


# -- primitive encodings ----------------------------------------------------------------


def put_varint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def get_varint(buf: bytes, pos: int) -> tuple[int, int]:
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    n, shift = b & 0x7F, 7
    while True:
        pos += 1
        b = buf[pos]
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, pos + 1
        shift += 7


def pack(typecode: str, values: Iterable) -> bytes:
    packed = array(typecode, values)
    if _BIG_ENDIAN:
        packed.byteswap()
    return packed.tobytes()


def unpack(typecode: str, data: bytes) -> array:
    unpacked = array(typecode, data)
    if _BIG_ENDIAN:
        unpacked.byteswap()
    return unpacked


def weights_size(mode: int, count: int) -> int:
    """Bytes of `count` weights stored in weight mode `mode`."""
    return (0, count, (count + 1) // 2, 4 * count)[mode]


def _width(top: int) -> int:
    return 0 if top < 0x100 else 1 if top < 0x10000 else 2


# -- posting bodies -----------------------------------------------------------------------


def encode_body(ids: list[int], weights: list[float], values: list[bytes], level: int = 0) -> tuple[int, bytes, float]:
    """(flags, body, highest weight) for postings whose first and last ids are stored apart;
    with a zlib `level`, the values are compressed when that saves an eighth of them."""
    count = len(ids)
    flags = 0
    parts = []
    if count > 2:
        gaps = [b - a - 1 for a, b in zip(ids, ids[1:-1])]
        code = _width(max(gaps))
        flags |= code
        parts.append(pack(TYPECODES[code], gaps))
    top = max(weights)
    freqs: list[int] | None = None
    if weights.count(1.0) == count:
        freqs = [1] * count
    else:
        ints = [int(w) for w in weights]
        if ints == weights and min(ints) >= 1 and top <= 16:
            mode = 2  # the common case, term frequencies: two to a byte
            halves = [w - 1 for w in ints] + [0]
            parts.append(bytes([(a << 4) | b for a, b in zip(halves[0:count:2], halves[1 : count + 1 : 2])]))
            freqs = ints
        elif ints == weights and min(ints) >= 0 and top < 0x100:
            mode = 1
            parts.append(bytes(ints))
            freqs = ints
        else:
            mode = 3
            parts.append(pack("f", weights))
            top = _FLOAT.unpack(_FLOAT.pack(top))[0]  # as stored
        flags |= mode << 2
    if any(values):
        if freqs is not None and all(v and len(v) == 1 + v[0] * f for v, f in zip(values, freqs)):
            # Positions as `CompactPositions` writes them (a width byte, then one delta of that
            # width per occurrence): the length follows from the width and the frequency, and
            # when every width is 1 (deltas under 256), so does the width byte.
            if all(v[0] == 1 for v in values):
                flags |= VALUES_PACKED
                packed = b"".join([v[1:] for v in values])
            else:  # the widths first, so that a reader finds every posting's deltas at once
                flags |= VALUES_COUNTED
                packed = bytes(v[0] for v in values) + b"".join([v[1:] for v in values])
        else:
            flags |= VALUES_SIZED
            sizes = bytearray()
            for v in values[:-1]:
                put_varint(sizes, len(v))
            packed = bytes(sizes) + b"".join(values)
        packed, flags = squeezed(packed, flags, level)
        parts.append(packed)
    return flags, b"".join(parts), top


def squeezed(packed: bytes, flags: int, level: int) -> tuple[bytes, int]:
    """A block's values compressed, and `COMPRESSED` added to its flags, when that saves at
    least an eighth of them: smaller gains do not pay for inflating them at every read."""
    if level and len(packed) >= COMPRESS_MIN:
        compressed = zlib.compress(packed, level)
        if len(compressed) * 8 < len(packed) * 7:
            return compressed, flags | COMPRESSED
    return packed, flags


def decode_body(
    flags: int, count: int, first: int, last: int, body: bytes, with_values: bool = True
) -> tuple[list[int], Any, list[bytes] | None]:
    """(ids, weights (an array of numbers) or None when all are 1.0, values or None when there
    are none)."""
    pos = 0
    if count == 1:
        ids = [first]
    elif count == 2:
        ids = [first, last]
    else:
        code = flags & ID_WIDTH
        end = (count - 2) * WIDTHS[code]
        gaps = unpack(TYPECODES[code], body[:end])
        ids = list(accumulate((g + 1 for g in gaps), initial=first))
        ids.append(last)
        pos = end
    mode = (flags & WEIGHT_MODE) >> 2
    weights: Any = None
    raw: Any = None
    if mode:
        end = pos + weights_size(mode, count)
        if mode == 2:
            raw = [n + 1 for b in body[pos:end] for n in (b >> 4, b & 0x0F)][:count]
        else:
            raw = unpack("B" if mode == 1 else "f", body[pos:end])
        weights = raw if mode == 3 else array("d", raw)
        pos = end
    values: list[bytes] | None = None
    vmode = flags & VALUE_MODE
    if vmode and with_values:
        values = []
        if flags & COMPRESSED:
            body, pos = zlib.decompress(body[pos:]), 0
        freqs = raw if raw is not None else [1] * count
        if vmode == VALUES_PACKED:
            for freq in freqs:
                values.append(b"\x01" + body[pos : pos + freq])
                pos += freq
            return ids, weights, values
        if vmode == VALUES_COUNTED:
            widths = body[pos : pos + count]
            pos += count
            for width, freq in zip(widths, freqs):
                end = pos + width * freq
                values.append(bytes((width,)) + body[pos:end])
                pos = end
            return ids, weights, values
        sizes = []
        for _ in range(count - 1):
            size, pos = get_varint(body, pos)
            sizes.append(size)
        for size in sizes:
            values.append(body[pos : pos + size])
            pos += size
        values.append(body[pos:])
    return ids, weights, values


def weight_bytes(out: bytearray, weight: float, floats: bool) -> None:
    if floats:
        out += _FLOAT.pack(weight)
    else:
        put_varint(out, int(weight))


def block_header(
    flags: int, count: int, first: int, last: int, prev: int, top: float, minlen: int, maxlen: int, size: int
) -> bytes:
    """The header of a block of `count` postings from `first` to `last` whose body is `size`
    bytes; `prev` is the previous block's last id (0 for the first block)."""
    head = bytearray((flags,))
    put_varint(head, count)
    put_varint(head, first - prev)
    put_varint(head, last - first)
    mode = (flags & WEIGHT_MODE) >> 2
    if mode:
        weight_bytes(head, top, mode == 3)
    head.append(minlen)
    head.append(maxlen)
    put_varint(head, size)
    return bytes(head)


def read_block_header(buf: bytes, pos: int, prev: int) -> tuple[int, int, int, int, float, int, int, int, int]:
    """(flags, count, first id, last id, highest weight, min length byte, max length byte,
    body position, body length) of the block at `pos`; `prev` is the previous block's last id."""
    flags = buf[pos]
    count, pos = get_varint(buf, pos + 1)
    first, pos = get_varint(buf, pos)
    first += prev
    span, pos = get_varint(buf, pos)
    mode = (flags & WEIGHT_MODE) >> 2
    if mode == 0:
        top = 1.0
    elif mode == 3:
        top = _FLOAT.unpack_from(buf, pos)[0]
        pos += 4
    else:
        top, pos = get_varint(buf, pos)
        top = float(top)
    minlen, maxlen = buf[pos], buf[pos + 1]
    size, pos = get_varint(buf, pos + 2)
    return flags, count, first, first + span, top, minlen, maxlen, pos, size


def iter_blocks(data: bytes) -> Iterator[tuple[int, int, int, int, bytes]]:
    """(flags, count, first id, last id, body) of each block of one posting list, given all its
    bytes (for `decode_body`; ids and weights are never compressed)."""
    pos = prev = 0
    while True:
        flags, count, first, last, _, _, _, start, size = read_block_header(data, pos, prev)
        yield flags, count, first, last, data[start : start + size]
        if flags & LAST_BLOCK:
            return
        pos, prev = start + size, last
