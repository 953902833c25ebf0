"""Our index codec: Whoosh's W3 layout of segments with compact postings and a compact term file.

Whoosh's W3 codec spent most of the index on overhead around the postings themselves: every
block a pickled tuple (ids, weights as floats, values as separate bytes objects) behind a
pickled header and a four-byte tag, most pair terms a block of their own (its inlining of short
lists is never taken), and every term 39 bytes of term info plus about 40 bytes of hash table,
lengths and index in the term file. Here:

- A posting block is a small header (flags, count, first and last id, the highest weight and
  the shortest and longest field length: what a matcher needs to skip a block or bound its
  score) and a body without pickle: the gaps between ids as an array of the narrowest of 1, 2
  or 4 bytes (the first and last ids are in the header, so lists of one or two postings have no
  gaps at all), the weights left out when all are 1.0 and stored in 4 bits (up to 16) or a byte
  when integral (they are term frequencies for our text fields), and the values (positions)
  concatenated without their lengths (the weight is the number of positions), their width
  bytes gathered before them (a reader finds every posting's deltas without walking them) or,
  when all position deltas of a block fit a byte, left out. zlib is used only on the
  values, and only where it saves an eighth of them: ids and weights are what every search
  reads, and decompressing the positions with them made reading them three times slower.
- A posting list of up to `inlinelimit` postings is kept in the term's entry in the term file,
  in the same encoding; other terms point at their blocks with varints.
- The term file is sorted keys (a field number and the term), prefix-compressed in blocks of
  `TERMS_PER_BLOCK`, with an index of each block's first key: a lookup is a binary search over
  the index and a scan of one block. No hash table.

Segments written with this codec carry it in the table of contents Whoosh pickles, so readers
use it; `Codec` must stay importable here, and its state is only its three parameters and the
checksum of the stored fields' dictionary. The per-document files (lengths, columns) are W3's;
stored fields are W3's pickled dict per document, compressed by zlib with a preset dictionary of
common Vietnamese phrases (`StoredColumn`): a fifth smaller on news articles.

The writer takes the postings of a segment grouped by term (`FieldWriter.add_postings`) and
reads each document's field length once per field, as one byte per document.
"""

from __future__ import annotations

import pickle
import struct
import sys
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

from whoosh import columns
from whoosh.codec import base
from whoosh.codec.whoosh3 import (LENGTHS_COLUMN, W3Codec, W3LeafMatcher, W3PerDocReader, W3PerDocWriter, W3Segment,
                                  W3TermInfo, _lenfield)
from whoosh.matching import ListMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.codec.base import OutOfOrderError

#: Terms per prefix-compressed block of the term file: a lookup scans half of one on average.
TERMS_PER_BLOCK = 16

_TERMS_MAGIC = b"VNT1"
_TRAILER = struct.Struct("<QQQ4s")  # index position, block count, extras length, magic
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
_FLOAT_WEIGHTS = 0x01  # in the first byte of a term entry pointing at blocks

#: Width code -> array typecode (little-endian on disk: see `_pack`).
TYPECODES = ("B", "H", "I")
WIDTHS = (1, 2, 4)

#: Values shorter than this (in bytes, for a block) are never compressed.
_COMPRESS_MIN = 64

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


def _pack(typecode: str, values: Iterable) -> bytes:
    packed = array(typecode, values)
    if _BIG_ENDIAN:
        packed.byteswap()
    return packed.tobytes()


def _unpack(typecode: str, data: bytes) -> array:
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
        parts.append(_pack(TYPECODES[code], gaps))
    top = max(weights)
    freqs: list[int] | None = None
    if weights.count(1.0) == count:
        freqs = [1] * count
    else:
        ints = [int(w) for w in weights]
        if ints == weights and min(ints) >= 1 and top <= 16:
            mode = 2  # the common case, term frequencies: two to a byte
            halves = [w - 1 for w in ints] + [0]
            parts.append(bytes([(a << 4) | b for a, b in zip(halves[0:count:2], halves[1:count + 1:2])]))
            freqs = ints
        elif ints == weights and min(ints) >= 0 and top < 0x100:
            mode = 1
            parts.append(bytes(ints))
            freqs = ints
        else:
            mode = 3
            parts.append(_pack("f", weights))
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
        if level and len(packed) >= _COMPRESS_MIN:
            compressed = zlib.compress(packed, level)
            if len(compressed) * 8 < len(packed) * 7:
                packed = compressed
                flags |= COMPRESSED
        parts.append(packed)
    return flags, b"".join(parts), top


def decode_body(flags: int, count: int, first: int, last: int, body: bytes,
                with_values: bool = True) -> tuple[list[int], array | None, list[bytes] | None]:
    """(ids, weights or None when all are 1.0, values or None when there are none)."""
    pos = 0
    if count == 1:
        ids = [first]
    elif count == 2:
        ids = [first, last]
    else:
        code = flags & ID_WIDTH
        end = (count - 2) * WIDTHS[code]
        gaps = _unpack(TYPECODES[code], body[:end])
        ids = list(accumulate((g + 1 for g in gaps), initial=first))
        ids.append(last)
        pos = end
    mode = (flags & WEIGHT_MODE) >> 2
    weights = None
    raw = None
    if mode:
        end = pos + weights_size(mode, count)
        if mode == 2:
            raw = [n + 1 for b in body[pos:end] for n in (b >> 4, b & 0x0F)][:count]
        else:
            raw = _unpack("B" if mode == 1 else "f", body[pos:end])
        weights = raw if mode == 3 else array("d", raw)
        pos = end
    values = None
    vmode = flags & VALUE_MODE
    if vmode and with_values:
        values = []
        if flags & COMPRESSED:
            body, pos = zlib.decompress(body[pos:]), 0
        freqs = raw if raw is not None else [1] * count
        if vmode == VALUES_PACKED:
            for freq in freqs:
                values.append(b"\x01" + body[pos:pos + freq])
                pos += freq
            return ids, weights, values
        if vmode == VALUES_COUNTED:
            widths = body[pos:pos + count]
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
            values.append(body[pos:pos + size])
            pos += size
        values.append(body[pos:])
    return ids, weights, values


def _weight_bytes(out: bytearray, weight: float, floats: bool) -> None:
    if floats:
        out += _FLOAT.pack(weight)
    else:
        put_varint(out, int(weight))


# -- term info ----------------------------------------------------------------------------


class TermInfo(W3TermInfo):
    """A term's statistics and where its postings are (or the postings themselves)."""

    def to_bytes(self) -> bytes:
        """Never used: entries are written by `FieldWriter._write_term`, which has the postings
        and the length bytes at hand, and W3's encoding of this object would not read back."""
        raise TypeError("term entries are written by search.codec.FieldWriter")

    @classmethod
    def from_bytes(cls, s: bytes) -> TermInfo:
        info = cls()
        head = s[0]
        if head & INLINE:
            flags = head & ~INLINE
            count, pos = get_varint(s, 1)
            first, pos = get_varint(s, pos)
            span, pos = get_varint(s, pos) if count > 1 else (0, pos)
            minlen, maxlen = s[pos], s[pos + 1]
            ids, weights, values = decode_body(flags, count, first, first + span, s[pos + 2:])
            weights = list(weights) if weights is not None else [1.0] * count
            info._inlined = (ids, weights, values)
            info._df = count
            info._weight = float(sum(weights))
            info._maxweight = max(weights)
            info._minid, info._maxid = first, first + span
        else:
            floats = head & _FLOAT_WEIGHTS
            info._df, pos = get_varint(s, 1)
            if floats:
                info._weight, info._maxweight = struct.unpack_from("<ff", s, pos)
                pos += 8
            else:
                weight, pos = get_varint(s, pos)
                maxweight, pos = get_varint(s, pos)
                info._weight, info._maxweight = float(weight), float(maxweight)
            minlen, maxlen = s[pos], s[pos + 1]
            info._minid, pos = get_varint(s, pos + 2)
            span, pos = get_varint(s, pos)
            info._maxid = info._minid + span
            info._offset, pos = get_varint(s, pos)
            info._length, pos = get_varint(s, pos)
        info._minlength = byte_to_length(minlen)
        info._maxlength = byte_to_length(maxlen)
        return info


# -- writing ------------------------------------------------------------------------------


class _TermsWriter:
    """Sorted keys and their entries, prefix-compressed in blocks, then the blocks' index."""

    def __init__(self, dbfile: Any) -> None:
        self._dbfile = dbfile
        dbfile.write(_TERMS_MAGIC)
        self._offsets: list[int] = []
        self._firstkeys: list[bytes] = []
        self._buf = bytearray()
        self._count = 0
        self._lastkey = b""
        self.extras: dict[str, Any] = {}

    def add(self, key: bytes, value: bytes) -> None:
        last = self._lastkey
        if key <= last:
            raise ValueError(f"keys must increase: {last!r}..{key!r}")
        buf = self._buf
        if self._count % TERMS_PER_BLOCK == 0:
            if buf:
                self._dbfile.write(bytes(buf))
                buf.clear()
            self._offsets.append(self._dbfile.tell())
            self._firstkeys.append(key)
            shared = 0
        else:
            shared = 0
            limit = min(len(key), len(last))
            while shared < limit and key[shared] == last[shared]:
                shared += 1
        put_varint(buf, shared)
        put_varint(buf, len(key) - shared)
        buf += key[shared:]
        put_varint(buf, len(value))
        buf += value
        self._count += 1
        self._lastkey = key

    def close(self) -> None:
        dbfile = self._dbfile
        if self._buf:
            dbfile.write(bytes(self._buf))
        index_pos = dbfile.tell()
        dbfile.write(_pack("Q", self._offsets))
        dbfile.write(_pack("Q", accumulate(len(k) for k in self._firstkeys)))
        dbfile.write(b"".join(self._firstkeys))
        extras = pickle.dumps(self.extras, 2)
        dbfile.write(extras)
        dbfile.write(_TRAILER.pack(index_pos, len(self._offsets), len(extras), _TERMS_MAGIC))
        dbfile.close()


class FieldWriter(base.FieldWriter):
    """Writes the term file and the postings file of a segment."""

    def __init__(self, codec: Codec, storage: Any, segment: W3Segment) -> None:
        self._blocklimit = codec._blocklimit
        self._inlinelimit = codec._inlinelimit
        self._level = codec._compression
        self._terms = _TermsWriter(segment.create_file(storage, W3Codec.TERMS_EXT))
        self._fieldmap: dict[str, int] = {}
        self._terms.extras["fieldmap"] = self._fieldmap
        self._postfile = segment.create_file(storage, W3Codec.POSTS_EXT)
        self._prefix = b""
        self._lengths: Any = None
        self._lenbytes: bytes | None = None
        self._btext: bytes | None = None
        self._ids: list[int] = []
        self._weights: list[float] = []
        self._values: list[bytes] = []
        self._postlengths: list[int] = []
        self.is_closed = False

    # The posting-at-a-time interface of Whoosh's field writers.

    def start_field(self, fieldname: str, fieldobj: Any) -> None:
        fieldid = self._fieldmap.setdefault(fieldname, len(self._fieldmap))
        self._prefix = fieldid.to_bytes(2, "big")
        self._lenbytes = _length_bytes(self._lengths, fieldname)

    def start_term(self, btext: bytes) -> None:
        self._btext = btext
        self._ids, self._weights, self._values, self._postlengths = [], [], [], []

    def add(self, docnum: int, weight: float, vbytes: bytes, length: int) -> None:
        self._ids.append(docnum)
        self._weights.append(weight)
        self._values.append(vbytes or b"")
        self._postlengths.append(length_to_byte(length) if length else 0)

    def finish_term(self) -> None:
        self._write_term(self._btext, self._ids, self._weights, self._values, self._postlengths)

    def finish_field(self) -> None:
        self._lenbytes = None

    def close(self) -> None:
        self._terms.close()
        self._postfile.close()
        self.is_closed = True

    # The grouped path the writers use.

    def add_postings(self, schema: Any, lengths: Any, items: Iterable[tuple]) -> None:
        """Postings sorted by field and term, as (fieldname, btext, docnum, weight, value):
        collected a term at a time without a call per posting."""
        self._lengths = lengths
        lastfn = lasttext = None
        ids: list[int] = []
        weights: list[float] = []
        values: list[bytes] = []
        write = self._write_term
        for fieldname, btext, docnum, weight, value in items:
            if btext != lasttext or fieldname != lastfn:
                if lasttext is not None:
                    write(lasttext, ids, weights, values, None)
                if fieldname != lastfn:
                    if lastfn is not None and fieldname < lastfn:
                        raise OutOfOrderError(f"field {lastfn!r} .. {fieldname!r}")
                    self.start_field(fieldname, schema[fieldname])
                    lastfn = fieldname
                elif btext < lasttext:
                    raise OutOfOrderError(f"term {fieldname}:{lasttext!r} .. {btext!r}")
                lasttext = btext
                ids, weights, values = [], [], []
            ids.append(docnum)
            weights.append(weight)
            values.append(value or b"")
        if lasttext is not None:
            write(lasttext, ids, weights, values, None)
        self._lengths = None

    def _write_term(self, btext: bytes, ids: list[int], weights: list[float], values: list[bytes],
                    lens: list[int] | None) -> None:
        if ids and ids[0] == -1:  # Whoosh's spelling-word marker: nothing to write
            return
        if lens is None:
            lenbytes = self._lenbytes
            lens = [lenbytes[d] for d in ids] if lenbytes is not None else [0] * len(ids)
        count = len(ids)
        entry = bytearray()
        if count <= self._inlinelimit:
            flags, body, _ = encode_body(ids, weights, values)
            entry.append(INLINE | flags)
            put_varint(entry, count)
            put_varint(entry, ids[0])
            if count > 1:
                put_varint(entry, ids[-1] - ids[0])
            entry.append(min(lens))
            entry.append(max(lens))
            entry += body
        else:
            postfile = self._postfile
            start = postfile.tell()
            limit = self._blocklimit
            prev = 0
            maxweight = 0.0
            floats = False
            for i in range(0, count, limit):
                block_ids = ids[i:i + limit]
                flags, body, top = encode_body(block_ids, weights[i:i + limit], values[i:i + limit], self._level)
                if i + limit >= count:
                    flags |= LAST_BLOCK
                block_lens = lens[i:i + limit]
                head = bytearray((flags,))
                put_varint(head, len(block_ids))
                put_varint(head, block_ids[0] - prev)
                put_varint(head, block_ids[-1] - block_ids[0])
                mode = (flags & WEIGHT_MODE) >> 2
                if mode:
                    _weight_bytes(head, top, mode == 3)
                floats = floats or mode == 3
                head.append(min(block_lens))
                head.append(max(block_lens))
                put_varint(head, len(body))
                postfile.write(bytes(head))
                postfile.write(body)
                prev = block_ids[-1]
                maxweight = max(maxweight, top)
            entry.append(_FLOAT_WEIGHTS if floats else 0)
            put_varint(entry, count)
            _weight_bytes(entry, sum(weights), floats)
            _weight_bytes(entry, maxweight, floats)
            entry.append(min(lens))
            entry.append(max(lens))
            put_varint(entry, ids[0])
            put_varint(entry, ids[-1] - ids[0])
            put_varint(entry, start)
            put_varint(entry, postfile.tell() - start)
        self._terms.add(self._prefix + btext, bytes(entry))


def _length_bytes(lengths: Any, fieldname: str) -> bytes | None:
    """Every document's length in `fieldname` as Whoosh stores it (one byte), or None when the
    field keeps no lengths: read once per field instead of once per posting."""
    if not lengths:
        return None
    count = lengths.doc_count_all()
    if isinstance(lengths, W3PerDocReader):
        column = lengths._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return None
        return bytes(column[d] for d in range(count))
    return bytes(length_to_byte(lengths.doc_field_length(d, fieldname) or 0) for d in range(count))


# -- reading ------------------------------------------------------------------------------


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
        yield flags, count, first, last, data[start:start + size]
        if flags & LAST_BLOCK:
            return
        pos, prev = start + size, last


class LeafMatcher(W3LeafMatcher):
    """Whoosh's W3 matcher over our blocks: the block navigation, skipping and quality methods
    are W3's; reading a block header and body is ours."""

    #: Longest block header: flags, four varints of up to 5 bytes, a float, two length bytes.
    _HEADER_MAX = 32

    def __init__(self, postfile: Any, startoffset: int, length: int, format_: Any, term: Any = None,
                 scorer: Any = None) -> None:
        self._postfile = postfile
        self._startoffset = startoffset
        self._length = length
        self.format = format_
        self._term = term
        self._byteids = False
        self.scorer = scorer
        self._fixedsize = format_.fixed_value_size()
        self._baseoffset = startoffset
        self.reset()

    def copy(self) -> LeafMatcher:
        m = LeafMatcher(self._postfile, self._startoffset, self._length, self.format, self._term, self.scorer)
        if self.is_active():
            m.skip_to(self.id())
        else:
            m._atend = True
        return m

    def _goto(self, position: int) -> None:
        self._data = self._ids = self._weights = self._values = None
        self._i = 0
        prev = self._maxid or 0  # None after reset(): the first block
        end = min(self._startoffset + self._length, position + self._HEADER_MAX)
        head = self._postfile.get(position, end - position)
        flags, count, first, last, top, minlen, maxlen, start, size = read_block_header(head, 0, prev)
        self._flags = flags
        self._blocklength = count
        self._minid, self._maxid = first, last
        self._maxweight = top
        self._minlength = byte_to_length(minlen)
        self._maxlength = byte_to_length(maxlen)
        self._lastblock = bool(flags & LAST_BLOCK)
        self._dataoffset = position + start
        self._nextoffset = self._dataoffset + size

    def block_min_id(self) -> int:
        return self._minid

    def _read_data(self) -> None:
        body = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
        self._data = decode_body(self._flags, self._blocklength, self._minid, self._maxid, body)

    def _read_ids(self) -> None:
        if self._data is None:
            self._read_data()
        self._ids = self._data[0]

    def _read_weights(self) -> None:
        if self._data is None:
            self._read_data()
        weights = self._data[1]
        self._weights = weights if weights is not None else array("d", [1.0]) * self._blocklength

    def _read_values(self) -> None:
        if self._data is None:
            self._read_data()
        values = self._data[2]
        if values is None:
            values = (None if self._fixedsize == 0 else b"",) * self._blocklength
        self._values = values

    def all_ids(self) -> Iterator[int]:
        while self.is_active():
            if self._ids is None:
                self._read_ids()
            yield from self._ids[self._i:]
            self._i = self._blocklength
            self._next_block()


class FieldCursor(base.FieldCursor):
    def __init__(self, terms: TermsReader, fieldname: str, fieldobj: Any) -> None:
        self._terms = terms
        self._fieldname = fieldname
        self._fieldobj = fieldobj
        self._prefix = terms._keyprefix(fieldname)
        self.first()

    def first(self) -> Any:
        return self._start(self._prefix)

    def find(self, term: Any) -> Any:
        if not isinstance(term, bytes):
            term = self._fieldobj.to_bytes(term)
        return self._start(self._prefix + term)

    def _start(self, key: bytes) -> Any:
        self._items = self._terms._items_from(key)
        return self.next()

    def next(self) -> Any:
        for key, value in self._items:
            if key.startswith(self._prefix):
                self._text = self._fieldobj.from_bytes(key[2:])
                self._value = value
                return self._text
            break
        self._text = self._value = None
        return None

    def text(self) -> Any:
        return self._text

    def term_info(self) -> TermInfo | None:
        return None if self._value is None else TermInfo.from_bytes(self._value)

    def is_valid(self) -> bool:
        return self._text is not None


class TermsReader(base.TermsReader):
    def __init__(self, codec: Codec, dbfile: Any, length: int, postfile: Any) -> None:
        self._codec = codec
        self._dbfile = dbfile
        self._postfile = postfile
        index_pos, blocks, extras_len, magic = _TRAILER.unpack(dbfile.get(length - _TRAILER.size, _TRAILER.size))
        if magic != _TERMS_MAGIC:
            raise ValueError(f"not a vnsearch term file (tag {magic!r})")
        self._offsets = _unpack("Q", dbfile.get(index_pos, 8 * blocks))
        ends = _unpack("Q", dbfile.get(index_pos + 8 * blocks, 8 * blocks))
        keys_pos = index_pos + 16 * blocks
        keys_len = ends[-1] if blocks else 0
        self._keyblob, self._keyends = bytes(dbfile.get(keys_pos, keys_len)), ends
        self._dataend = index_pos
        extras = pickle.loads(dbfile.get(keys_pos + keys_len, extras_len))
        self._fieldmap: dict[str, int] = extras["fieldmap"]
        self._fieldunmap = {num: name for name, num in self._fieldmap.items()}
        self._last: tuple[bytes, bytes | None] = (b"", None)
        self._keylist: list[bytes] | None = None

    # keys and blocks

    def _keyprefix(self, fieldname: str) -> bytes:
        return self._fieldmap.get(fieldname, 65535).to_bytes(2, "big")

    def _block(self, i: int) -> bytes:
        start = self._offsets[i]
        end = self._offsets[i + 1] if i + 1 < len(self._offsets) else self._dataend
        return self._dbfile.get(start, end - start)

    @staticmethod
    def _entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
        pos, key, end = 0, b"", len(block)
        while pos < end:
            shared, pos = get_varint(block, pos)
            size, pos = get_varint(block, pos)
            key = key[:shared] + block[pos:pos + size]
            pos += size
            size, pos = get_varint(block, pos)
            yield key, block[pos:pos + size]
            pos += size

    def _find(self, key: bytes) -> bytes | None:
        """The entry stored under `key`, or None. The search hot path: `_entries` unrolled."""
        last = self._last
        if last[0] == key:
            return last[1]
        found = None
        i = bisect_right(self._firstkeys(), key) - 1
        if i >= 0:
            block = self._block(i)
            pos, prev, end = 0, b"", len(block)
            while pos < end:
                shared = block[pos]
                if shared < 0x80:
                    pos += 1
                else:
                    shared, pos = get_varint(block, pos)
                size = block[pos]
                if size < 0x80:
                    pos += 1
                else:
                    size, pos = get_varint(block, pos)
                k = prev[:shared] + block[pos:pos + size]
                pos += size
                size = block[pos]
                if size < 0x80:
                    pos += 1
                else:
                    size, pos = get_varint(block, pos)
                if k >= key:
                    if k == key:
                        found = block[pos:pos + size]
                    break
                pos += size
                prev = k
        self._last = (key, found)
        return found

    def _firstkeys(self) -> list[bytes]:
        """The blocks' first keys, made on the first lookup (a reader may never look one up)."""
        keys = self._keylist
        if keys is None:
            blob, ends = self._keyblob, self._keyends
            keys = self._keylist = [blob[start:end] for start, end in zip([0, *ends[:-1]], ends)]
        return keys

    def _items_from(self, key: bytes) -> Iterator[tuple[bytes, bytes]]:
        i = max(bisect_right(self._firstkeys(), key) - 1, 0)
        for n in range(i, len(self._offsets)):
            for k, value in self._entries(self._block(n)):
                if k >= key:
                    yield k, value

    def _decode(self, key: bytes) -> tuple[str, bytes]:
        return self._fieldunmap[int.from_bytes(key[:2], "big")], key[2:]

    def entry(self, fieldname: str, tbytes: bytes) -> bytes | None:
        """The raw term entry (for `search.evaluate`), or None when the term is not here."""
        return self._find(self._keyprefix(fieldname) + tbytes)

    # Whoosh's TermsReader interface

    def __contains__(self, term: tuple[str, bytes]) -> bool:
        return self.entry(*term) is not None

    def indexed_field_names(self) -> Iterable[str]:
        return self._fieldmap.keys()

    def cursor(self, fieldname: str, fieldobj: Any) -> FieldCursor:
        return FieldCursor(self, fieldname, fieldobj)

    def terms(self) -> Iterator[tuple[str, bytes]]:
        return (self._decode(k) for k, _ in self._items_from(b""))

    def terms_from(self, fieldname: str, prefix: bytes) -> Iterator[tuple[str, bytes]]:
        return (self._decode(k) for k, _ in self._items_from(self._keyprefix(fieldname) + prefix))

    def items(self) -> Iterator[tuple[tuple[str, bytes], TermInfo]]:
        return ((self._decode(k), TermInfo.from_bytes(v)) for k, v in self._items_from(b""))

    def items_from(self, fieldname: str, prefix: bytes) -> Iterator[tuple[tuple[str, bytes], TermInfo]]:
        start = self._keyprefix(fieldname) + prefix
        return ((self._decode(k), TermInfo.from_bytes(v)) for k, v in self._items_from(start))

    def term_info(self, fieldname: str, tbytes: bytes) -> TermInfo:
        value = self.entry(fieldname, tbytes)
        if value is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        return TermInfo.from_bytes(value)

    def frequency(self, fieldname: str, tbytes: bytes) -> float:
        try:
            return self.term_info(fieldname, tbytes).weight()
        except TermNotFound:
            raise KeyError((fieldname, tbytes)) from None

    def doc_frequency(self, fieldname: str, tbytes: bytes) -> int:
        value = self.entry(fieldname, tbytes)
        if value is None:
            raise KeyError((fieldname, tbytes))
        return get_varint(value, 1)[0]  # the count follows the first byte in both layouts

    def matcher(self, fieldname: str, tbytes: bytes, format_: Any, scorer: Any = None) -> Any:
        terminfo = self.term_info(fieldname, tbytes)
        return self._codec.postings_reader(self._postfile, terminfo, format_, term=(fieldname, tbytes),
                                           scorer=scorer)

    def postings_bytes(self, terminfo: TermInfo) -> bytes:
        """All the blocks of a term that is not inlined (for `search.evaluate`)."""
        offset, length = terminfo.extent()
        return self._postfile.get(offset, length)

    def close(self) -> None:
        self._dbfile.close()
        self._postfile.close()


#: zlib's preset dictionary for stored fields (made by bench/make_stored_dictionary.py).
STORED_DICTIONARY_FILE = Path(__file__).with_name("data") / "stored.zdict"
STORED_DICTIONARY = STORED_DICTIONARY_FILE.read_bytes()
#: What a segment's codec records, so an index is never read with another dictionary.
STORED_DICTIONARY_CRC = zlib.crc32(STORED_DICTIONARY)


class DictionaryCompressedColumn(columns.VarBytesColumn):
    """Byte strings each compressed by zlib with `STORED_DICTIONARY` preset."""

    def __init__(self, level: int = 9) -> None:
        self._level = level

    def writer(self, dbfile: Any) -> "DictionaryCompressedColumn.Writer":
        return self.Writer(dbfile, self._level)

    def reader(self, dbfile: Any, basepos: int, length: int, doccount: int) -> "DictionaryCompressedColumn.Reader":
        return self.Reader(dbfile, basepos, length, doccount)

    class Writer(columns.VarBytesColumn.Writer):
        def __init__(self, dbfile: Any, level: int) -> None:
            super().__init__(dbfile)
            self._level = level

        def add(self, docnum: int, v: bytes) -> None:
            compressor = zlib.compressobj(self._level, zdict=STORED_DICTIONARY)
            super().add(docnum, compressor.compress(v) + compressor.flush())

    class Reader(columns.VarBytesColumn.Reader):
        def __getitem__(self, docnum: int) -> bytes:
            v = super().__getitem__(docnum)
            return _inflate(v) if v else v

        def __iter__(self) -> Iterator[bytes]:
            for v in super().__iter__():
                yield _inflate(v) if v else v


def _inflate(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(zdict=STORED_DICTIONARY)
    return decompressor.decompress(data) + decompressor.flush()


#: Stored fields: W3's pickled dict per document, compressed with the preset dictionary.
STORED_COLUMN = columns.PickleColumn(DictionaryCompressedColumn())


class PerDocWriter(W3PerDocWriter):
    """W3's per-document writer, with stored fields in `STORED_COLUMN`."""

    def _create_column(self, fieldname: str, column: Any) -> None:
        super()._create_column(fieldname, STORED_COLUMN if fieldname == "_stored" else column)


class PerDocReader(W3PerDocReader):
    """W3's per-document reader, with stored fields in `STORED_COLUMN`."""

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        return self._cached_reader("_stored", STORED_COLUMN)[docnum] or {}


class StoredDictionaryMismatch(RuntimeError):
    """The index was written with another stored-fields dictionary than this version has."""


class Codec(W3Codec):
    """The codec our writers use; see the module's docstring. Pickled into the table of
    contents of every segment it writes: its state is its three parameters and the checksum of
    the stored fields' dictionary, checked before any stored field is read."""

    def __init__(self, blocklimit: int = 128, compression: int = 3, inlinelimit: int = 4) -> None:
        if not 1 <= blocklimit <= 0x10000:
            raise ValueError(f"blocklimit {blocklimit} is not within 1..65536")
        super().__init__(blocklimit, compression, inlinelimit)
        self.stored_dictionary = STORED_DICTIONARY_CRC

    def per_document_writer(self, storage: Any, segment: W3Segment) -> PerDocWriter:
        return PerDocWriter(self, storage, segment)

    def per_document_reader(self, storage: Any, segment: W3Segment) -> PerDocReader:
        if getattr(self, "stored_dictionary", None) != STORED_DICTIONARY_CRC:
            raise StoredDictionaryMismatch(
                "this index's stored fields were compressed with another dictionary than "
                f"{STORED_DICTIONARY_FILE.name}: run `vnsearch index --rebuild`")
        return PerDocReader(storage, segment)

    def field_writer(self, storage: Any, segment: W3Segment) -> FieldWriter:
        return FieldWriter(self, storage, segment)

    def postings_reader(self, dbfile: Any, terminfo: TermInfo, format_: Any, term: Any = None,
                        scorer: Any = None) -> Any:
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            if values is None:  # as `LeafMatcher` gives them; ListMatcher would give ""
                values = [None if format_.fixed_value_size() == 0 else b""] * len(ids)
            return ListMatcher(ids, weights, values, format_, scorer=scorer, term=term, terminfo=terminfo)
        offset, length = terminfo.extent()
        return LeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

    def terms_reader(self, storage: Any, segment: W3Segment) -> TermsReader:
        name = segment.make_filename(self.TERMS_EXT)
        return TermsReader(self, storage.open_file(name), storage.file_length(name),
                           segment.open_file(storage, self.POSTS_EXT))

    def new_segment(self, storage: Any, indexname: str) -> W3Segment:
        return W3Segment(self, indexname)
