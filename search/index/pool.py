"""The writers' posting pool: every posting of a segment kept compactly in memory, handed to the
field writer sorted when the segment is flushed.

Whoosh's `PostingPool` pickles each posting tuple into sorted runs on disk and merges them back
with a heap: on the news archive that was a third of the build and several times the index in
temporary files (bench/results and the README have the figures). Here a field's postings
are parallel arrays (document number, weight, end of the value bytes in one buffer, and the
index of the same term's previous posting), and each term is a dict entry holding the index of
its last posting: about 20 bytes a posting and 130 a term, no object per posting. At flush each
term's chain is walked back, and the postings go to the field writer sorted by (field, term
bytes, document number), exactly the items Whoosh's pool would have given.

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
from collections.abc import Iterable, Iterator
from itertools import chain, repeat
from operator import mul

from search.index.columns import Columns

#: Pool memory of a build unless told otherwise, shared by its processes. A build's process tree
#: peaks above it (the README gives the measured ratio): each process also holds its
#: interpreter, analysis caches and what a flush fragments.
DEFAULT_POOL_MB = 1024
#: A term's share of the pool: its key (a bytes object), the int of its last posting and the
#: dict slot, as tracemalloc measured them for pair-sized keys (a dict just grown takes more,
#: which the figure allows for).
_TERM_BYTES = 130
#: Bytes a posting takes in the arrays (document number 4, weight 8, previous posting 4, value
#: end 4), without its value bytes.
_POSTING_BYTES = 20
#: Array offsets are 32-bit: a pool never grows near 4 GiB before it is flushed.
MAX_POOL_MB = 3072


class _FieldPostings:
    """One field's postings in insertion order, chained per term."""

    __slots__ = ("last", "prevs", "docs", "weights", "values", "ends")

    def __init__(self) -> None:
        #: term bytes -> index of the term's last posting
        self.last: dict[bytes, int] = {}
        #: per posting: index of the same term's previous posting, -1 for its first
        self.prevs = array("i")
        self.docs = array("I")
        self.weights = array("d")
        self.values = bytearray()
        #: per posting + 1: where its value bytes end in `values` (posting i: ends[i]..ends[i+1])
        self.ends = array("I", [0])

    def nbytes(self) -> int:
        return len(self.docs) * _POSTING_BYTES + len(self.values) + len(self.last) * _TERM_BYTES


class MemoryPool:
    """Postings of one segment, in memory; the interface of Whoosh's `PostingPool` that the
    writers use (`add`, `iter_postings`, `fieldnames`, `cleanup`) plus `add_field`, which takes
    all of a document's postings in one field at once."""

    def __init__(self) -> None:
        self._fields: dict[str, _FieldPostings] = {}
        #: Set when a posting arrived with a lower document number than its term's last one
        #: (`add` from a merge can do that); the flush then sorts each term's postings.
        self._unordered = False

    @property
    def fieldnames(self) -> set[str]:
        return set(self._fields)

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
        `index()` yields them (each term once); returns the field length (0 unless `scorable`).
        `docnum` must be the highest document number the pool has seen: the writer's next one."""
        f = self._field(fieldname)
        last, prevs, docs, weights, values, ends = f.last, f.prevs, f.docs, f.weights, f.values, f.ends
        n = len(docs)
        length = 0
        for tbytes, freq, weight, vbytes in items:
            prevs.append(last.get(tbytes, -1))
            last[tbytes] = n
            n += 1
            docs.append(docnum)
            weights.append(weight * boost)
            if vbytes:
                values += vbytes
            ends.append(len(values))
            length += freq
        return length if scorable else 0

    def add_columns(self, fieldname: str, docnum: int, columns: Columns, boost: float, scorable: bool) -> int:
        """`add_field` for postings given as `Columns`: the arrays are extended in C, with no
        Python step per posting."""
        f = self._field(fieldname)
        terms, last = columns.terms, f.last
        n = len(f.docs)
        f.prevs.extend(map(last.get, terms, repeat(-1)))
        last.update(zip(terms, range(n, n + len(terms))))
        f.docs.extend(repeat(docnum, len(terms)))
        f.weights.extend(map(mul, columns.weights, repeat(boost)))
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
        prev = f.last.get(tbytes, -1)
        if prev >= 0 and f.docs[prev] >= docnum:
            self._unordered = True
        f.prevs.append(prev)
        f.last[tbytes] = len(f.docs)
        f.docs.append(docnum)
        f.weights.append(weight)
        if vbytes:
            f.values += vbytes
        f.ends.append(len(f.values))

    def nbytes(self) -> int:
        """The pool's size as counted against its budget."""
        return sum(f.nbytes() for f in self._fields.values())

    def __len__(self) -> int:
        return sum(len(f.docs) for f in self._fields.values())

    def iter_postings(self) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        """All postings sorted by (field, term bytes, document number), emptying the pool: a
        field's arrays are released once the field writer has its postings."""
        return chain.from_iterable(self._terms())

    def _terms(self) -> Iterator[Iterable[tuple]]:
        fields, self._fields = self._fields, {}
        for fieldname in sorted(fields):
            yield from self._field_items(fieldname, fields.pop(fieldname))

    def _field_items(self, fieldname: str, f: _FieldPostings) -> Iterator[Iterable[tuple]]:
        """Per term, its postings: built from C-level maps and zips, so that the postings
        themselves never pass through Python code here."""
        prevs, docs, weights, ends = f.prevs, f.docs, f.weights, f.ends
        vb = bytes(f.values)
        f.values = bytearray()
        last = f.last
        unordered = self._unordered
        for tbytes in sorted(last):
            i = last[tbytes]
            prev = prevs[i]
            if prev < 0:  # a term of one document: most of them
                yield ((fieldname, tbytes, docs[i], weights[i], vb[ends[i] : ends[i + 1]]),)
                continue
            chain_ = [i]
            while prev >= 0:
                chain_.append(prev)
                prev = prevs[prev]
            chain_.reverse()
            if unordered:
                chain_.sort(key=lambda j: (docs[j], weights[j], vb[ends[j] : ends[j + 1]]))
            n = len(chain_)
            values: Iterator[bytes]
            if vb:
                values = map(
                    vb.__getitem__,
                    map(slice, map(ends.__getitem__, chain_), map(ends.__getitem__, [j + 1 for j in chain_])),
                )
            else:
                values = repeat(b"", n)
            yield zip(
                repeat(fieldname, n),
                repeat(tbytes, n),
                map(docs.__getitem__, chain_),
                map(weights.__getitem__, chain_),
                values,
            )

    def cleanup(self) -> None:
        self._fields = {}
        self._unordered = False
