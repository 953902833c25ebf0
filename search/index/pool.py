"""The writers' posting pool: every posting of a segment kept compactly in memory, handed to the
field writer sorted when the segment is flushed.

Whoosh's `PostingPool` pickles each posting tuple into sorted runs on disk and merges them back
with a heap: on the news archive that was a third of the build and several times the index in
temporary files (bench/results and the README have the figures). Here a field's postings are
parallel arrays (document number, weight, end of the value bytes in one buffer, and the term's
number: the index of its first posting), and each term is a dict entry holding that number:
about 16 bytes a posting (`search.index.weights`) and 130 a term, no object per posting. Our
text fields do not look their terms up at all: the segment's words are numbered once
(`SegmentWords`), each field keeps its term number per word number, and a document's postings
are added from arrays; pair terms are keyed by their two words' fold numbers and get their
bytes at the flush. At flush the postings are sorted by term with numpy (a stable sort: each
term's stay in the order they came, which is document order when a writer adds documents) and
go to the field writer a run of terms at a time (`TermRun`), exactly the postings Whoosh's pool
would have given, in its order.

The pools of a build share a memory budget (`pool_mb`: `Settings.pool_mb`). When a document
takes a pool over its share, `PoolWriter` writes the segment out and starts a new one in the
same writer, which commits all of them together: nothing spills to disk, nothing is merged.
`PoolMpWriter` (in `search.index.engine.writers`, with the other Whoosh writers) does the same
in each process of a multi-process build (Whoosh's `MpWriter`,
whose sub-writers are fixed to `SegmentWriter`), each with the budget divided by the number of
processes, so that a build's memory does not grow with the CPUs it uses.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, repeat
from operator import mul
from typing import Any

import numpy as np

from search.index.columns import Columns, grouped_positions
from search.index.fields import CompactPositions, PairText, VietnameseText
from search.index.pair_postings import PairPostings
from search.index.run_values import RunValues
from search.index.segment_words import SegmentWords, grown
from search.index.weights import appended, as_numpy, extended, joined, new_weights

#: Pool memory of a build unless told otherwise, shared by its processes. A build's process tree
#: peaks above it (the README gives the measured ratio): each process also holds its
#: interpreter, analysis caches and what a flush fragments. Sized so that a two-process build
#: of an archive like the bundled VNTC writes one segment per process: every term a search
#: reads is looked up and decoded once per segment.
DEFAULT_POOL_MB = 1536
#: A term's share of the pool: its key (a bytes object), the int of its first posting and the
#: dict slot, as tracemalloc measured them for pair-sized keys (a dict just grown takes more,
#: which the figure allows for).
_TERM_BYTES = 130
#: Bytes a posting takes in the arrays besides its weight (document number 4, term number 4,
#: value end 4; a pair's code 8 and document number 4) and its value bytes.
_POSTING_BYTES = 12
#: Array offsets are 32-bit: a pool never grows near 4 GiB before it is flushed.
MAX_POOL_MB = 3072
#: Postings handed to the field writer at a time: the lists of a run are this many Python
#: objects, made at once in C rather than one by one.
_RUN_POSTINGS = 1 << 16
#: Postings put in order at a time at the flush (see `_order`).
_SORT_POSTINGS = 1 << 21


@dataclass(frozen=True)
class TermRun:
    """Consecutive terms of one field with their postings, sorted by (term, document number):
    term i's postings are `ids[starts[i]:starts[i + 1]]` and the same slices of `weights` and
    `values` (None for a field without values)."""

    fieldname: str
    terms: list[bytes]
    starts: list[int]
    ids: np.ndarray
    weights: np.ndarray
    values: RunValues | None

    def postings(self) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        """(field, term bytes, document number, weight, value bytes), as Whoosh's pool gives them."""
        fieldname, ids = self.fieldname, self.ids.tolist()
        values = self.values if self.values is not None else repeat(b"")
        return zip(
            repeat(fieldname),
            chain.from_iterable(map(repeat, self.terms, np.diff(self.starts).tolist())),
            ids,
            self.weights.tolist(),
            values,
        )


class _FieldPostings:
    """One field's postings in insertion order, each with its term's number."""

    __slots__ = ("first", "tids", "docs", "weights", "values", "ends", "by_word")

    def __init__(self) -> None:
        #: term bytes -> its number: the index of its first posting
        self.first: dict = {}
        #: per posting: its term's number
        self.tids = array("i")
        self.docs = array("I")
        self.weights = new_weights()
        self.values = bytearray()
        #: per posting + 1: where its value bytes end in `values` (posting i: ends[i]..ends[i+1])
        self.ends = array("I", [0])
        #: per word number of the segment (`SegmentWords`): its term's number, -1 if not known yet
        self.by_word: np.ndarray | None = None

    def extend(self, tids: np.ndarray, docnum: int, weights: np.ndarray, body: bytes, ends: np.ndarray | None) -> None:
        """One document's postings from arrays: term numbers, weights, and the value bytes with
        where each posting's end in them (None: no values)."""
        self.tids.frombytes(tids.astype(np.int32).tobytes())
        self.docs.extend(repeat(docnum, len(tids)))
        self.weights = extended(self.weights, weights)
        base = len(self.values)
        if ends is None:
            self.ends.extend(repeat(base, len(tids)))
        else:
            self.values += body
            self.ends.frombytes((ends + base).astype(np.uint32).tobytes())

    def nbytes(self) -> int:
        posting = _POSTING_BYTES + self.weights.itemsize
        return len(self.docs) * posting + len(self.values) + len(self.first) * _TERM_BYTES


class MemoryPool:
    """Postings of one segment, in memory; the interface of Whoosh's `PostingPool` that the
    writers use (`add`, `iter_postings`, `fieldnames`, `cleanup`) plus `add_field` and
    `add_columns`, which take all of a document's postings in one field at once, and
    `term_runs`, the flush a run of terms at a time."""

    def __init__(self) -> None:
        self._fields: dict[str, _FieldPostings] = {}
        #: The pair fields' postings keyed by pair code (`SegmentWords.pair_codes`), turned
        #: into term bytes at the flush.
        self._pairs: dict[str, PairPostings] = {}
        self._words = SegmentWords()

    @property
    def fieldnames(self) -> set[str]:
        return set(self._fields) | set(self._pairs)

    def add_text(self, fieldname: str, docnum: int, field: Any, value: str, boost: float) -> int:
        """Add a document's postings in one of our text fields, as its `posting_columns` gives
        them, through the segment's numbered words; returns the field length."""
        if isinstance(field, PairText):
            return self._add_pairs(fieldname, docnum, field, value, boost)
        if isinstance(field, VietnameseText):
            return self._add_words(fieldname, docnum, field, value, boost)
        return self.add_columns(fieldname, docnum, field.posting_columns(value), boost, field.scorable)

    def _add_words(self, fieldname: str, docnum: int, field: VietnameseText, value: str, boost: float) -> int:
        wids = self._words.numbers(value)[1]
        if not len(wids):
            return 0
        f = self._field(fieldname)
        table = f.by_word = grown(f.by_word, len(self._words.words))
        keys = table[wids]
        pending: dict[bytes, int] = {}
        unknown = keys < 0
        if unknown.any():
            # Words new to this field in this segment: their terms, some of them new too, for
            # now numbered -2, -3, ... until their first posting's index is known.
            new = np.unique(wids[unknown]).tolist()
            words, first = self._words.words, f.first
            for w, term in zip(new, field.terms_of([words[w] for w in new])):
                tid = first.get(term)
                table[w] = tid if tid is not None else pending.setdefault(term, -2 - len(pending))
            keys = table[wids]
        positions = isinstance(field.format, CompactPositions)
        if positions:
            grouped = grouped_positions(keys)
            codes, counts, body, ends = grouped.codes, grouped.counts, grouped.body, grouped.ends
        else:
            codes, counts = np.unique(keys, return_counts=True)
            body, ends = b"", None
        tids = codes
        if pending:
            n = len(f.docs)
            fresh = np.flatnonzero(codes < 0)
            numbered = dict(zip(codes[fresh].tolist(), (fresh + n).tolist()))
            for term, key in pending.items():
                f.first[term] = numbered[key]
            for w in new:
                if table[w] < -1:
                    table[w] = numbered[int(table[w])]
            tids = codes.copy()
            tids[fresh] = fresh + n
        f.extend(tids, docnum, counts * float(field.format.field_boost) * boost, body, ends)
        return int(counts.sum()) if field.scorable else 0

    def _add_pairs(self, fieldname: str, docnum: int, field: PairText, value: str, boost: float) -> int:
        codes = self._words.pair_codes(value)
        if not len(codes):
            return 0
        codes, counts = np.unique(codes, return_counts=True)
        f = self._pairs.get(fieldname)
        if f is None:
            f = self._pairs[fieldname] = PairPostings()
        f.extend(codes, docnum, counts * float(field.format.field_boost) * boost)
        return int(counts.sum()) if field.scorable else 0

    def _field(self, fieldname: str) -> _FieldPostings:
        found = self._fields.get(fieldname)
        if found is None:
            found = self._fields[fieldname] = _FieldPostings()
        return found

    def add_field(
        self,
        fieldname: str,
        docnum: int,
        items: Iterable[tuple[bytes, int, float, bytes]],
        boost: float,
        scorable: bool,
    ) -> int:
        """Add a document's (term bytes, frequency, weight, value bytes) in one field, as a field's
        `index()` yields them (each term once); returns the field length (0 unless `scorable`)."""
        f = self._field(fieldname)
        number, tids, docs, values, ends = f.first.setdefault, f.tids, f.docs, f.values, f.ends
        n = len(docs)
        length = 0
        weights: list[float] = []
        for tbytes, freq, weight, vbytes in items:
            tids.append(number(tbytes, n))
            n += 1
            docs.append(docnum)
            weights.append(weight * boost)
            if vbytes:
                values += vbytes
            ends.append(len(values))
            length += freq
        f.weights = extended(f.weights, weights)
        return length if scorable else 0

    def add_columns(self, fieldname: str, docnum: int, columns: Columns, boost: float, scorable: bool) -> int:
        """`add_field` for postings given as `Columns`: the arrays are extended in C, with no
        Python step per posting."""
        f = self._field(fieldname)
        terms = columns.terms
        n = len(f.docs)
        f.tids.extend(map(f.first.setdefault, terms, range(n, n + len(terms))))
        f.docs.extend(repeat(docnum, len(terms)))
        f.weights = extended(f.weights, list(map(mul, columns.weights, repeat(boost))))
        base = len(f.values)
        if columns.ends is None:
            f.ends.extend(repeat(base, len(terms)))
        else:
            f.values += columns.values
            f.ends.extend(map(base.__add__, columns.ends))
        return sum(columns.freqs) if scorable else 0

    def add(self, item: tuple[str, bytes, int, float, bytes]) -> None:
        """One (field, term bytes, document number, weight, value bytes) posting, in any order."""
        fieldname, tbytes, docnum, weight, vbytes = item
        f = self._field(fieldname)
        f.tids.append(f.first.setdefault(tbytes, len(f.docs)))
        f.docs.append(docnum)
        f.weights = appended(f.weights, weight)
        if vbytes:
            f.values += vbytes
        f.ends.append(len(f.values))

    def nbytes(self) -> int:
        """The pool's size as counted against its budget."""
        pairs = sum(f.nbytes(_POSTING_BYTES) + f.terms() * _TERM_BYTES for f in self._pairs.values())
        return pairs + sum(f.nbytes() for f in self._fields.values())

    def over(self, limit: int) -> bool:
        """Whether `nbytes()` is over `limit`, without counting the pair terms exactly while a
        bound of them (`PairPostings.terms_at_most`) keeps the pool under it."""
        pairs = sum(f.nbytes(_POSTING_BYTES) + f.terms_at_most() * _TERM_BYTES for f in self._pairs.values())
        return pairs + sum(f.nbytes() for f in self._fields.values()) > limit and self.nbytes() > limit

    def __len__(self) -> int:
        return sum(len(f.docs) for f in self._fields.values()) + sum(len(f.docs) for f in self._pairs.values())

    def iter_postings(self) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        """All postings sorted by (field, term bytes, document number), emptying the pool."""
        return chain.from_iterable(run.postings() for run in self.term_runs())

    def term_runs(self) -> Iterator[TermRun]:
        """The pool's postings as `TermRun`s, by field and term, emptying it: a field's arrays
        are released once the field writer has its postings."""
        fields, self._fields = self._fields, {}
        pairs, self._pairs = self._pairs, {}
        for fieldname in sorted(fields.keys() | pairs.keys()):
            # A pair field's terms are made only when its turn comes: its dict of term bytes
            # would otherwise be held while the fields before it are sorted and written.
            coded = pairs.pop(fieldname, None)
            found = fields.pop(fieldname, None)
            if coded is not None:
                found = _decoded(coded, self._words.pair_term, found)
            if found is not None:
                yield from _runs(fieldname, found)

    def cleanup(self) -> None:
        self._fields = {}
        self._pairs = {}


def _decoded(coded: PairPostings, term: Callable[[int], bytes], into: _FieldPostings | None) -> _FieldPostings:
    """Pair postings keyed by code as postings keyed by term bytes, added after those of `into`
    (the field's postings added as bytes, by a merge)."""
    codes, firsts, tids = coded.numbered()
    coded.codes = array("q")  # only the term numbers are needed now
    first = dict(zip(map(term, codes.tolist()), firsts.tolist()))
    if into is None or not into.first:
        decoded = _FieldPostings()
        decoded.first = first
        decoded.tids.frombytes(tids.tobytes())
        decoded.docs, decoded.weights = coded.docs, coded.weights
        decoded.ends.extend(repeat(0, len(tids)))
        return decoded
    n, known = len(into.docs), into.first
    renumber = np.zeros(len(coded.docs), dtype=np.int64)
    for tbytes, tid in first.items():
        existing = known.get(tbytes)
        if existing is None:
            existing = known[tbytes] = tid + n
        renumber[tid] = existing
    into.tids.frombytes(renumber[tids].astype(np.int32).tobytes())
    into.docs.extend(coded.docs)
    into.weights = joined(into.weights, coded.weights)
    into.ends.extend(repeat(len(into.values), len(tids)))
    return into


def _runs(fieldname: str, f: _FieldPostings) -> Iterator[TermRun]:
    terms = sorted(f.first)
    if not terms:
        return
    # Each posting's key is its term's rank; a stable sort keeps each term's in arrival order.
    rank = np.zeros(len(f.docs), dtype=np.int32)
    rank[np.fromiter(map(f.first.__getitem__, terms), dtype=np.int64, count=len(terms))] = np.arange(len(terms))
    keys = rank[np.frombuffer(f.tids, dtype=np.int32)]
    del rank
    bounds = np.concatenate(([0], np.cumsum(np.bincount(keys, minlength=len(terms)))))
    docs = np.frombuffer(f.docs, dtype=np.uint32)
    weights = as_numpy(f.weights)
    ends = np.frombuffer(f.ends, dtype=np.uint32)
    vb = np.frombuffer(f.values, dtype=np.uint8) if f.values else None
    f.values = bytearray()  # `vb` keeps the bytes: no copy of them
    first = 0
    while first < len(terms):
        stop = _next_terms(bounds, first, _SORT_POSTINGS)
        order, base = _order(keys, first, stop, len(terms)), int(bounds[first])
        while first < stop:
            last = min(_next_terms(bounds, first, _RUN_POSTINGS), stop)
            lo, hi = int(bounds[first]), int(bounds[last])
            chosen = order[lo - base : hi - base]
            starts = (bounds[first : last + 1] - lo).tolist()
            ids = docs[chosen]
            values = None
            if vb is not None:
                values = RunValues.gathered(vb, ends[chosen].astype(np.int64), ends[chosen + 1].astype(np.int64))
            run = TermRun(fieldname, terms[first:last], starts, ids, weights[chosen].astype(float, copy=False), values)
            # A merge adds postings in any order: where a term's are not strictly increasing by
            # document, they are sorted as Whoosh's pool sorts them (document, weight, value).
            later = ids[1:] <= ids[:-1]
            later[np.array(starts[1:-1], dtype=np.int64) - 1] = False  # a term's first posting
            if later.any():
                run = _sorted(run, set((np.searchsorted(starts, np.flatnonzero(later) + 1, side="right") - 1).tolist()))
            yield run
            first = last


def _next_terms(bounds: np.ndarray, first: int, postings: int) -> int:
    """The end of the terms from `first` on that hold about `postings` postings (one at least)."""
    last = int(np.searchsorted(bounds, bounds[first] + postings, side="right")) - 1
    return min(max(last, first + 1), len(bounds) - 1)


def _order(keys: np.ndarray, first: int, stop: int, count: int) -> np.ndarray:
    """Where the postings of the terms ranked `first` to `stop` are, in (term, arrival) order.
    A field's postings are ordered a slice of its terms at a time: a sort's index arrays take
    about 20 bytes a posting, which for all of a large segment's postings at once was the
    highest memory of the flush."""
    if first == 0 and stop == count:
        return np.argsort(keys, kind="stable")
    chosen = np.flatnonzero((keys >= first) & (keys < stop))  # ascending: the sort stays stable
    return chosen[np.argsort(keys[chosen], kind="stable")]


def _sorted(run: TermRun, which: set[int]) -> TermRun:
    """`run` with the postings of its terms numbered `which` sorted by (document, weight, value)."""
    ids, weights = run.ids.tolist(), run.weights.tolist()
    values = list(run.values) if run.values is not None else None
    for k in which:
        lo, hi = run.starts[k], run.starts[k + 1]
        rows = sorted(zip(ids[lo:hi], weights[lo:hi], values[lo:hi] if values is not None else repeat(b"", hi - lo)))
        ids[lo:hi] = [r[0] for r in rows]
        weights[lo:hi] = [r[1] for r in rows]
        if values is not None:
            values[lo:hi] = [r[2] for r in rows]
    found = RunValues.of(values) if values is not None else None
    return TermRun(run.fieldname, run.terms, run.starts, np.array(ids, dtype=np.uint32), np.array(weights), found)
