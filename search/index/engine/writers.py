"""Whoosh's writers with the posting pool (`search.index.pool`), and how a failed write is
abandoned. These subclasses reach into `SegmentWriter` and `MpWriter` state (the segment being
written, the per-document writer, the sub-writer tasks): that is why they live in the engine,
the one place that knows Whoosh's internals.

`PoolWriter` writes the segment out and starts another whenever its pool passes its budget;
`PoolMpWriter` does the same in each process of a multi-process build (Whoosh's `MpWriter`,
whose sub-writers are fixed to `SegmentWriter`), each with the budget divided by the number of
processes, so that a build's memory does not grow with the CPUs it uses.
"""

from __future__ import annotations

import os
import queue
from typing import Any

from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.writing import SegmentWriter

from search.index.children import end_with_parent
from search.index.pool import DEFAULT_POOL_MB, MemoryPool


class PoolWriter(SegmentWriter):
    """Whoosh's `SegmentWriter` with a `MemoryPool` and a leaner `add_document`; it writes the
    segment out and starts another whenever the pool passes `pool_mb` MiB (see the module's
    docstring). Segments written that way are committed with the last one, never alone: until
    `commit` readers see none of them, and a cancelled or killed writer leaves only files that
    no table of contents names (Whoosh's next commit deletes them)."""

    def __init__(self, ix: Any, pool_mb: int = DEFAULT_POOL_MB, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        self._use_pool(pool_mb)

    def _use_pool(self, budget_mb: int) -> None:
        self.pool = MemoryPool()
        self.pool_limit = budget_mb * 2**20
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
                    if isinstance(value, str) and hasattr(field, "posting_columns"):
                        length = pool.add_text(fieldname, docnum, field, value, boost)
                    else:
                        length = pool.add_field(fieldname, docnum, field.index(value), boost, field.scorable)
                if field.separate_spelling():
                    spellfield = field.spelling_fieldname(fieldname)
                    for word in field.spellable_words(value):
                        pool.add((spellfield, word.encode("utf-8"), 0, 1, b""))
                if field.vector:
                    vitems = field.vector.word_values(value, field.analyzer, mode="index")
                    perdocwriter.add_vector_items(
                        fieldname, field, sorted((text, weight, vbytes) for text, _, weight, vbytes in vitems)
                    )
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
        if pool.over(self.pool_limit):
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

    def _flush_segment(self) -> None:
        """Whoosh's flush, with the pool's postings handed to the field writer (our codec's) a
        run of terms at a time instead of a tuple per posting."""
        self.perdocwriter.close()
        lengths = self.per_document_reader() if self.codec.length_stats else None
        self.fieldwriter.add_runs(self.schema, lengths, self.pool.term_runs())
        self.fieldwriter.close()
        if lengths:
            lengths.close()

    def _merge_segments(self, mergetype: Any, optimize: Any, merge: Any) -> list[Any]:
        """The segments to commit besides the one being written: the merge policy's choice
        among the existing ones (it never sees ours), then the ones this writer flushed."""
        return super()._merge_segments(mergetype, optimize, merge) + self.flushed


class _PoolTask(SubWriterTask):
    """A build process of `PoolMpWriter`: Whoosh's sub-writer loop with a `PoolWriter`, handing
    back every segment it wrote (one per pool flush, and the last)."""

    #: The pid of the process that started this one, set before it starts.
    parent: int

    def run(self) -> None:
        end_with_parent(self.parent)
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

    def __init__(
        self, ix: Any, procs: int, pool_mb: int = DEFAULT_POOL_MB, batchsize: int = 100, **kwargs: Any
    ) -> None:
        share = max(1, pool_mb // procs)
        MpWriter.__init__(self, ix, procs=procs, batchsize=batchsize, multisegment=True, pool_mb=share, **kwargs)
        self._use_pool(share)

    def _new_task(self) -> _PoolTask:
        task = _PoolTask(self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs, True)
        task.parent = os.getpid()
        self.tasks.append(task)
        task.start()
        return task

    def cancel(self) -> None:
        """Stop the build processes and drop what they wrote. Whoosh's `MpWriter.cancel` only
        flags its own copies of the process objects: the processes kept waiting for work, and
        the parent waited for them at exit. Their queues are dropped too: batches still buffered
        for a process that is gone would make the parent's exit wait on the queue's feeder
        thread for ever."""
        try:
            for task in self.tasks:
                task.terminate()
            for task in self.tasks:
                task.join()
            for q in (self.jobqueue, self.resultqueue):
                q.cancel_join_thread()
                q.close()
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


def abandon(writer: SegmentWriter) -> None:
    """Give up a failed write, keeping the last commit as the index.

    Whoosh's cancel() flushes the new segment first, which fails again when the disk is full,
    and a failed commit() never releases the lock: either way the lock would stay held until
    the process exits. `_finish` (whoosh-reloaded 2.7.5, pinned) releases it and removes the
    writer's temporary files; the segment files a failed run leaves are not in any table of
    contents, so readers never see them and the next successful commit deletes them.
    """
    if writer.is_closed:
        return
    try:
        writer.cancel()
    except OSError:
        writer._finish()
