"""The term file: every term of a segment with its statistics and where its postings are.

Whoosh's W3 term file spent about 80 bytes a term on overhead (39 of term info, about 40 of hash
table, lengths and index). Here it is sorted keys (a field number and the term),
prefix-compressed in blocks of `TERMS_PER_BLOCK`, with an index of each block's first key: a
lookup is a binary search over the index and a scan of one block, no hash table. A posting list
of up to the codec's `inlinelimit` postings is kept in the term's entry itself, in the block
encoding (`search.index.engine.codec.blocks`); other terms point at their blocks with varints.
"""

from __future__ import annotations

import pickle
import struct
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from whoosh.codec import base
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from search.index.engine.codec.blocks import (
    FLOAT_WEIGHTS,
    INLINE,
    LAST_BLOCK,
    WEIGHT_MODE,
    decode_body,
    get_varint,
    pack,
    put_varint,
    unpack,
)

if TYPE_CHECKING:
    from search.index.engine.codec import Codec

#: Terms per prefix-compressed block of the term file: a lookup scans half of one on average.
TERMS_PER_BLOCK = 16

_TERMS_MAGIC = b"VNT1"
_TRAILER = struct.Struct("<QQQ4s")  # index position, block count, extras length, magic


class TermInfo(W3TermInfo):
    """A term's statistics and where its postings are (or the postings themselves)."""

    def to_bytes(self) -> bytes:
        """Never used: `FieldWriter._write_term` writes entries (W3's would not read back)."""
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
            ids, stored, values = decode_body(flags, count, first, first + span, s[pos + 2 :])
            weights = list(stored) if stored is not None else [1.0] * count
            info._inlined = (ids, weights, values)
            info._df = count
            info._weight = float(sum(weights))
            info._maxweight = max(weights)
            info._minid, info._maxid = first, first + span
        else:
            floats = head & FLOAT_WEIGHTS
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


def entry_doc_frequency(entry: bytes) -> int:
    """A term's document count without decoding the rest of its entry: both layouts (postings
    inlined or in blocks) put it first after the head byte."""
    return get_varint(entry, 1)[0]


def inlined_block(entry: bytes) -> bytes:
    """The postings inlined in a term's entry laid out as a posting list of one block (its
    header's highest weight left at zero: nothing reads it), so that a list reader treats short
    and long lists alike."""
    flags = entry[0] & ~INLINE
    count, pos = get_varint(entry, 1)
    first, pos = get_varint(entry, pos)
    span, pos = get_varint(entry, pos) if count > 1 else (0, pos)
    body = entry[pos + 2 :]
    head = bytearray((flags | LAST_BLOCK,))
    put_varint(head, count)
    put_varint(head, first)
    put_varint(head, span)
    mode = (flags & WEIGHT_MODE) >> 2
    if mode:
        head += bytes(4 if mode == 3 else 1)
    head += entry[pos : pos + 2]  # the shortest and longest lengths
    put_varint(head, len(body))
    return bytes(head) + body


class TermsWriter:
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
            # The bytes both keys start with: where their first `limit` bytes, read as one
            # big-endian number each, first differ.
            limit = min(len(key), len(last))
            differ = int.from_bytes(key[:limit], "big") ^ int.from_bytes(last[:limit], "big")
            shared = limit - (differ.bit_length() + 7) // 8
        rest = len(key) - shared
        if shared < 0x80 and rest < 0x80:
            buf.append(shared)
            buf.append(rest)
        else:
            put_varint(buf, shared)
            put_varint(buf, rest)
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
        dbfile.write(pack("Q", self._offsets))
        dbfile.write(pack("Q", accumulate(len(k) for k in self._firstkeys)))
        dbfile.write(b"".join(self._firstkeys))
        extras = pickle.dumps(self.extras, 2)
        dbfile.write(extras)
        dbfile.write(_TRAILER.pack(index_pos, len(self._offsets), len(extras), _TERMS_MAGIC))
        dbfile.close()


class FieldCursor(base.FieldCursor):
    _text: Any
    _value: bytes | None

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
        self._offsets = unpack("Q", dbfile.get(index_pos, 8 * blocks))
        ends = unpack("Q", dbfile.get(index_pos + 8 * blocks, 8 * blocks))
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
            key = key[:shared] + block[pos : pos + size]
            pos += size
            size, pos = get_varint(block, pos)
            yield key, block[pos : pos + size]
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
                k = prev[:shared] + block[pos : pos + size]
                pos += size
                size = block[pos]
                if size < 0x80:
                    pos += 1
                else:
                    size, pos = get_varint(block, pos)
                if k >= key:
                    if k == key:
                        found = block[pos : pos + size]
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

    def sorted_entries(self, fieldname: str, terms: Sequence[bytes]) -> list[bytes | None]:
        """The raw entries of many terms of a field, given in ascending order: each block is
        read once and walked forward from one term to the next, where `entry` would read and
        decode its block from the start for every term."""
        prefix, firstkeys = self._keyprefix(fieldname), self._firstkeys()
        out: list[bytes | None] = []
        number, current = -1, None
        walk: Iterator[tuple[bytes, bytes]] = iter(())
        for tbytes in terms:
            key = prefix + tbytes
            i = bisect_right(firstkeys, key) - 1
            if i < 0:
                out.append(None)
                continue
            if i != number:
                number, walk = i, self._entries(self._block(i))
                current = next(walk, None)
            while current is not None and current[0] < key:
                current = next(walk, None)
            out.append(current[1] if current is not None and current[0] == key else None)
        return out

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
        if (value := self.entry(fieldname, tbytes)) is None:
            raise KeyError((fieldname, tbytes))
        return entry_doc_frequency(value)

    def matcher(self, fieldname: str, tbytes: bytes, format_: Any, scorer: Any = None) -> Any:
        terminfo = self.term_info(fieldname, tbytes)
        return self._codec.postings_reader(self._postfile, terminfo, format_, term=(fieldname, tbytes), scorer=scorer)

    def list_bytes(self, entry: bytes) -> bytes:
        """A term's inlined postings as one block, or the blocks it points at (their offset and
        length follow its count, weights, lengths, first id and span), without a `TermInfo`."""
        if entry[0] & INLINE:
            return inlined_block(entry)
        pos = get_varint(entry, 1)[1]
        pos = pos + 8 if entry[0] & FLOAT_WEIGHTS else get_varint(entry, get_varint(entry, pos)[1])[1]
        offset, pos = get_varint(entry, get_varint(entry, get_varint(entry, pos + 2)[1])[1])
        return self._postfile.get(offset, get_varint(entry, pos)[0])

    def close(self) -> None:
        self._dbfile.close()
        self._postfile.close()
