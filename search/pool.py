"""The writers' posting pool: every posting of a segment kept compactly in memory, handed to the
field writer sorted when the segment is flushed.

Whoosh's `PostingPool` pickles each posting tuple into sorted runs on disk and merges them back
with a heap: on the news archive that was a third of the build (a 3,000-article build pickled
and unpickled 2.16M postings for 16 s) and several GB of temporary files. Here a field's postings
are parallel arrays (document number, weight, end of the value bytes in one buffer, and the
index of the same term's previous posting), and each term is a dict entry holding the index of
its last posting: about 20 bytes a posting and 130 a term, no object per posting. At flush each
term's chain is walked back, and the postings go to the field writer sorted by (field, term
bytes, document number), exactly the items Whoosh's pool would have given.

The pools of a build share a memory budget (`pool_mb`, or `VNSEARCH_POOL_MB`). When a document
takes a pool over its share, `PoolWriter` writes the segment out and starts a new one in the
same writer, which commits all of them together: nothing spills to disk, nothing is merged.
`PoolMpWriter` does the same in each process of a multi-process build (Whoosh's `MpWriter`,
whose sub-writers are fixed to `SegmentWriter`), each with the budget divided by the number of
processes, so that a build's memory does not grow with the CPUs it uses.
"""

from __future__ import annotations

import os
import queue
from array import array
from collections.abc import Iterable, Iterator
from itertools import chain, repeat
from typing import Any

from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.writing import SegmentWriter

from search.limits import positive_int

#: Pool memory of a build unless told otherwise, shared by its processes. The full news archive
#: (84,132 articles) with two processes of 512 MiB each peaked at 1,330-1,674 MiB for the process
#: tree: each process also holds its interpreter, analysis caches and what a flush fragments.
DEFAULT_POOL_MB = 1024
#: A term's share of the pool: its key (a bytes object), the int of its last posting and the
#: dict slot; tracemalloc measured 85 bytes for pair-sized keys in a full dict, a dict just
#: grown takes more. With it the count came within 11% of the traced memory on 3,000 articles.
_TERM_BYTES = 130
#: Bytes a posting takes in the arrays (document number 4, weight 8, previous posting 4, value
#: end 4), without its value bytes.
_POSTING_BYTES = 20
#: Array offsets are 32-bit: a pool never grows near 4 GiB before it is flushed.
_MAX_POOL_MB = 3072


def pool_budget_mb(value: int | None = None, environ: dict[str, str] | None = None) -> int:
    """The pool budget in MiB: `value`, else `VNSEARCH_POOL_MB`, else `DEFAULT_POOL_MB`."""
    if value is None:
        value = positive_int(os.environ if environ is None else environ, "VNSEARCH_POOL_MB", DEFAULT_POOL_MB)
    if not 1 <= value <= _MAX_POOL_MB:
        raise ValueError(f"the posting pool budget must be 1 to {_MAX_POOL_MB} MiB, got {value}")
    return value


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

    def add_field(self, fieldname: str, docnum: int, items: Iterable[tuple[bytes, int, float, bytes]],
                  boost: float, scorable: bool) -> int:
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
                yield ((fieldname, tbytes, docs[i], weights[i], vb[ends[i]:ends[i + 1]]),)
                continue
            chain_ = [i]
            while prev >= 0:
                chain_.append(prev)
                prev = prevs[prev]
            chain_.reverse()
            if unordered:
                chain_.sort(key=lambda j: (docs[j], weights[j], vb[ends[j]:ends[j + 1]]))
            n = len(chain_)
            if vb:
                values = map(vb.__getitem__, map(slice, map(ends.__getitem__, chain_),
                                                 map(ends.__getitem__, [j + 1 for j in chain_])))
            else:
                values = repeat(b"", n)
            yield zip(repeat(fieldname, n), repeat(tbytes, n), map(docs.__getitem__, chain_),
                      map(weights.__getitem__, chain_), values)

    def cleanup(self) -> None:
        self._fields = {}
        self._unordered = False


class PoolWriter(SegmentWriter):
    """Whoosh's `SegmentWriter` with a `MemoryPool` and a leaner `add_document`; it writes the
    segment out and starts another whenever the pool passes `pool_mb` MiB (see the module's
    docstring). Segments written that way are committed with the last one, never alone: until
    `commit` readers see none of them, and a cancelled or killed writer leaves only files that
    no table of contents names (Whoosh's next commit deletes them)."""

    def __init__(self, ix: Any, pool_mb: int | None = None, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        self._use_pool(pool_mb)

    def _use_pool(self, budget_mb: int | None) -> None:
        self.pool = MemoryPool()
        self.pool_limit = pool_budget_mb(budget_mb) * 2**20
        #: Segments this writer has written out so far, committed with the last one.
        self.flushed: list[Any] = []

    def add_document(self, **fields: Any) -> None:
        """Whoosh's `add_document` (same postings, stored values, lengths and columns) with a
        document's postings handed to the pool a field at a time instead of one call and one
        size estimate per posting."""
        self._check_state()
        schema = self.schema
        docnum = self.docnum
        pool = self.pool
        perdocwriter = self.perdocwriter
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    boost = self._field_boost(fields, fieldname, docboost)
                    length = pool.add_field(fieldname, docnum, field.index(value), boost, field.scorable)
                if field.separate_spelling():
                    spellfield = field.spelling_fieldname(fieldname)
                    for word in field.spellable_words(value):
                        pool.add((spellfield, word.encode("utf-8"), 0, 1, b""))
                if field.vector:
                    vitems = field.vector.word_values(value, field.analyzer, mode="index")
                    perdocwriter.add_vector_items(fieldname, field,
                                                  sorted((text, weight, vbytes) for text, _, weight, vbytes in vitems))
                stored = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    perdocwriter.add_column_value(fieldname, field.column_type, field.to_column_value(stored))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1
        if pool.nbytes() > self.pool_limit:
            self.flush_segment()

    def flush_segment(self) -> None:
        """Write the documents added so far as a segment of their own and go on in a new one."""
        self.flushed.append(self._finalize_segment())
        codec = self.codec
        self.newsegment = codec.new_segment(self.storage, self.indexname)
        self.perdocwriter = codec.per_document_writer(self.storage, self.newsegment)
        self.fieldwriter = codec.field_writer(self.storage, self.newsegment)
        self.pool = MemoryPool()
        self.docnum = self.docbase
        self._added = False

    def _merge_segments(self, mergetype: Any, optimize: Any, merge: Any) -> list[Any]:
        """The segments to commit besides the one being written: the merge policy's choice
        among the existing ones (it never sees ours), then the ones this writer flushed."""
        return super()._merge_segments(mergetype, optimize, merge) + self.flushed


class _PoolTask(SubWriterTask):
    """A build process of `PoolMpWriter`: Whoosh's sub-writer loop with a `PoolWriter`, handing
    back every segment it wrote (one per pool flush, and the last)."""

    def run(self) -> None:
        ix = self.storage.open_index(self.indexname)
        writer = self.writer = PoolWriter(ix, _lk=False, **self.kwargs)
        while self.running:
            jobinfo = self.jobqueue.get()
            if jobinfo is None:
                break
            self._process_file(*jobinfo)
        if not self.running:
            writer.cancel()
            return
        segments = writer.flushed + ([writer._finalize_segment()] if writer._added else [])
        self.resultqueue.put(segments, timeout=5)


class PoolMpWriter(MpWriter, PoolWriter):
    """Whoosh's `MpWriter` (documents handed in batches to `procs` processes, each writing
    segments of its own, left unmerged) whose processes use `PoolWriter`."""

    def __init__(self, ix: Any, procs: int, pool_mb: int | None = None, batchsize: int = 100, **kwargs: Any) -> None:
        share = max(1, pool_budget_mb(pool_mb) // procs)
        MpWriter.__init__(self, ix, procs=procs, batchsize=batchsize, multisegment=True, pool_mb=share, **kwargs)
        self._use_pool(share)

    def _new_task(self) -> _PoolTask:
        task = _PoolTask(self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs, True)
        self.tasks.append(task)
        task.start()
        return task

    def cancel(self) -> None:
        """Stop the build processes and drop what they wrote. Whoosh's `MpWriter.cancel` only
        flags its own copies of the process objects: the processes kept waiting for work, and
        the parent waited for them at exit."""
        try:
            for task in self.tasks:
                task.terminate()
            for task in self.tasks:
                task.join()
        finally:
            SegmentWriter.cancel(self)

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        if self.docbuffer:
            self._enqueue()
        for _ in self.tasks:
            self.jobqueue.put(None)
        finalsegments = self._merge_segments(mergetype, optimize, merge)
        for segments in self._results():
            finalsegments += segments
        for task in self.tasks:
            task.join()
        if self._added:
            finalsegments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(finalsegments)
        self._finish()

    def _results(self) -> list[list[Any]]:
        """Each process's segments, waiting as long as a process still runs: a process that
        died (killed, out of memory) hands back nothing, and the caller sees documents missing."""
        results: list[list[Any]] = []
        while len(results) < len(self.tasks):
            try:
                results.append(self.resultqueue.get(timeout=1))
            except queue.Empty:
                if not any(task.is_alive() for task in self.tasks):
                    try:
                        results.append(self.resultqueue.get(timeout=1))
                    except queue.Empty:
                        break
        return results
