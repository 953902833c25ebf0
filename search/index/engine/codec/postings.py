"""Writing a segment's postings, and Whoosh's matcher over them.

The writer takes the postings of a segment grouped by term (`FieldWriter.add_runs`, from the
writers' posting pool, a run of terms at a time; `add_postings` for Whoosh's merges) and reads
each document's field length once per field, as one byte per document, instead of once per
posting. The matcher is Whoosh's W3 matcher (block
navigation, skipping and quality bounds) reading our block headers and bodies.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from whoosh.codec import base
from whoosh.codec.base import OutOfOrderError
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    W3Codec,
    W3LeafMatcher,
    W3PerDocReader,
    W3Segment,
    _lenfield,
)
from whoosh.util.numeric import byte_to_length, length_to_byte

from search.index.engine.codec.blocks import (
    FLOAT_WEIGHTS,
    INLINE,
    LAST_BLOCK,
    WEIGHT_MODE,
    block_header,
    decode_body,
    encode_body,
    put_varint,
    read_block_header,
    weight_bytes,
)
from search.index.engine.codec.entries import ARRAY_POSTINGS, long_entry, short_entry
from search.index.engine.codec.terms import TermsWriter

if TYPE_CHECKING:
    from search.index.engine.codec import Codec
    from search.index.pool import TermRun


class FieldWriter(base.FieldWriter):
    """Writes the term file and the postings file of a segment."""

    def __init__(self, codec: Codec, storage: Any, segment: W3Segment) -> None:
        self._blocklimit = codec._blocklimit
        self._inlinelimit = codec._inlinelimit
        self._level = codec._compression
        self._terms = TermsWriter(segment.create_file(storage, W3Codec.TERMS_EXT))
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
        if self._btext is None:
            raise ValueError("finish_term() without start_term()")
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

    def add_runs(self, schema: Any, lengths: Any, runs: Iterable[TermRun]) -> None:
        """The pool's postings a run of terms at a time (`MemoryPool.term_runs`): each term's
        lists are slices of the run's, and the length bytes are looked up for a run at once."""
        self._lengths = lengths
        lastfn = None
        write, add = self._write_term, self._terms.add
        # Terms of one or two postings (most terms) have their entries made here, without the
        # general encoder's lists: the same bytes.
        short = min(2, self._inlinelimit) + 1
        # Terms long enough for blocks have them encoded with numpy from the run's arrays.
        wide = max(self._inlinelimit + 1, ARRAY_POSTINGS)
        for run in runs:
            if run.fieldname != lastfn:
                self.start_field(run.fieldname, schema[run.fieldname])
                lastfn = run.fieldname
            ids, weights, values, starts = run.ids.tolist(), run.weights.tolist(), run.values, run.starts
            lenbytes = self._lenbytes
            lens_array = np.frombuffer(lenbytes, dtype=np.uint8)[run.ids] if lenbytes is not None else None
            lens = lens_array.tolist() if lens_array is not None else None
            id_array = run.ids.astype(np.int64)
            data = np.frombuffer(values.data, dtype=np.uint8) if values is not None else None
            offsets = values.offsets if values is not None else None
            prefix = self._prefix
            for k, term in enumerate(run.terms):
                lo, hi = starts[k], starts[k + 1]
                if hi - lo < short:
                    entry = short_entry(ids, weights, values, lens, lo, hi)
                    if entry is not None:
                        add(prefix + term, entry)
                        continue
                elif hi - lo >= wide:
                    entry = long_entry(
                        self._postfile,
                        id_array[lo:hi],
                        run.weights[lo:hi],
                        data,
                        offsets[lo : hi + 1] if offsets is not None else None,
                        lens_array[lo:hi] if lens_array is not None else None,
                        self._blocklimit,
                        self._level,
                    )
                    if entry is not None:
                        add(prefix + term, entry)
                        continue
                write(
                    term,
                    ids[lo:hi],
                    weights[lo:hi],
                    values[lo:hi] if values is not None else [b""] * (hi - lo),
                    lens[lo:hi] if lens is not None else [0] * (hi - lo),
                )
        self._lengths = None

    def _write_term(
        self, btext: bytes, ids: list[int], weights: list[float], values: list[bytes], lens: list[int] | None
    ) -> None:
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
                block_ids = ids[i : i + limit]
                flags, body, top = encode_body(block_ids, weights[i : i + limit], values[i : i + limit], self._level)
                if i + limit >= count:
                    flags |= LAST_BLOCK
                block_lens = lens[i : i + limit]
                floats = floats or (flags & WEIGHT_MODE) >> 2 == 3
                postfile.write(
                    block_header(
                        flags,
                        len(block_ids),
                        block_ids[0],
                        block_ids[-1],
                        prev,
                        top,
                        min(block_lens),
                        max(block_lens),
                        len(body),
                    )
                )
                postfile.write(body)
                prev = block_ids[-1]
                maxweight = max(maxweight, top)
            entry.append(FLOAT_WEIGHTS if floats else 0)
            put_varint(entry, count)
            weight_bytes(entry, sum(weights), floats)
            weight_bytes(entry, maxweight, floats)
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


class LeafMatcher(W3LeafMatcher):
    """Whoosh's W3 matcher over our blocks: the block navigation, skipping and quality methods
    are W3's; reading a block header and body is ours."""

    # Set by `reset()` and `_goto()` (W3's matcher state, with our block's decoded parts).
    _maxid: Any
    _data: Any
    _ids: Any
    _weights: Any
    _values: Any

    #: Longest block header: flags, four varints of up to 5 bytes, a float, two length bytes.
    _HEADER_MAX = 32

    def __init__(
        self, postfile: Any, startoffset: int, length: int, format_: Any, term: Any = None, scorer: Any = None
    ) -> None:
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
            yield from self._ids[self._i :]
            self._i = self._blocklength
            self._next_block()
