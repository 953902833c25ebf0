"""A worker's autocomplete, following the live index commit by commit.

The tables of each segment (`suggest_tables`) are kept by segment id for as long as the segment
is part of the index; a generation is answered by a `Snapshot` of its segments' tables. A
commit's small segment is read and counted in the request that first meets it: it holds the
commit's few articles, so that takes milliseconds, and its titles are suggested at once. Large
segments (a first build's, a rebuild's) are read and counted in a child process in the
background, while the previous snapshot keeps answering: counting peaks at several times the
memory of the tables it leaves, and a worker would keep that peak. Deletions are applied from
each segment's deletion set: the phrases of the deleted titles are counted (in batches, as
they arrive) and subtracted at lookup.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from whoosh.reading import IndexReader

from search.index.children import end_with_parent
from search.index.engine import readers
from search.index.store import open_index
from search.searching.suggest import Article, Part, Snapshot
from search.searching.suggest_tables import PhraseTable, SegmentTables

#: Segments of up to this many articles are read and counted in the request that meets them.
INLINE_DOCS = 2000
#: After a failed build, seconds before the next try: a broken index must not make every
#: keystroke start a process.
RETRY_SECONDS = 10.0


def read_segment(leaf: IndexReader) -> list[Article]:
    """(id, title, date) of every document of a segment, deleted ones included, in order."""
    rows = []
    for docnum in range(leaf.doc_count_all()):
        fields = leaf.stored_fields(docnum)
        rows.append((fields.get("id", ""), fields.get("title", ""), fields.get("date")))
    return rows


def build_in_child(index_dir: Path, segment_ids: Sequence[str]) -> dict[str, SegmentTables]:
    """The tables of the named segments of the live index, built in a short-lived child process
    ("spawn": the worker has threads, and a forked copy of a threaded process can inherit a
    lock held by another thread). A segment no longer in the index is left out."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_build_and_send, args=(index_dir, list(segment_ids), sender, os.getpid()), daemon=True
    )
    child.start()
    sender.close()
    built: dict[str, SegmentTables] = {}
    try:
        while (message := receiver.recv()) is not None:  # one segment a message: a smaller peak
            if isinstance(message, Exception):
                raise message
            built[message[0]] = message[1]
    except EOFError:
        raise RuntimeError(f"the suggestion builder exited with status {child.exitcode}") from None
    finally:
        receiver.close()
        child.join()
    return built


def _build_and_send(index_dir: Path, segment_ids: list[str], sender: Connection, parent: int) -> None:
    end_with_parent(parent)
    try:
        wanted = set(segment_ids)
        with open_index(index_dir).reader() as reader:
            for leaf, _, segid, _ in readers.leaves(reader):
                if segid in wanted:
                    sender.send((segid, SegmentTables(read_segment(leaf))))
        sender.send(None)
    except Exception as exc:  # sent to the parent, which raises it
        sender.send(RuntimeError(f"building suggestions from {index_dir} failed: {exc}"))
    finally:
        sender.close()


BuildLarge = Callable[[Path, Sequence[str]], dict[str, SegmentTables]]


class LiveSuggester:
    """The snapshot for the index state a reader shows, kept up to date segment by segment.

    Segments of up to `inline_docs` articles are built in the request that meets them; larger
    ones in a background thread. Before the first snapshot is ready a call waits up to `wait`
    seconds, then gets None.
    """

    def __init__(
        self, index_dir: Path, build_large: BuildLarge = build_in_child, inline_docs: int = INLINE_DOCS
    ) -> None:
        self.index_dir = index_dir
        self.inline_docs = inline_docs
        self._build_large = build_large
        self._lock = threading.Lock()
        self._tables: dict[str, SegmentTables] = {}
        #: Per segment: the deleted documents counted so far, in batches with their phrases.
        self._minus: dict[str, list[tuple[frozenset[int], PhraseTable]]] = {}
        self._current: Snapshot | None = None
        self._building: threading.Thread | None = None
        self._retry_at = 0.0
        self.built_inline = self.built_large = 0

    def get(self, reader: IndexReader, wait: float = 2.0) -> Snapshot | None:
        leaves = readers.leaves(reader)
        version = tuple((segid, deleted) for _, _, segid, deleted in leaves)
        with self._lock:
            current = self._current
            if current is not None and current.version == version:
                return current
            large = [
                segid
                for leaf, _, segid, _ in leaves
                if segid is not None and segid not in self._tables and leaf.doc_count_all() > self.inline_docs
            ]
            if large and self._building is None and time.monotonic() >= self._retry_at:
                self._building = threading.Thread(target=self._build, args=(large,), daemon=True)
                self._building.start()
            building = self._building
        if not large:
            return self._assemble(leaves, version)
        if current is None and building is not None:
            building.join(wait)
            with self._lock:
                ready = all(segid in self._tables for segid in large)
            if ready:
                return self._assemble(leaves, version)
        return current

    def _build(self, segment_ids: list[str]) -> None:
        try:
            built = self._build_large(self.index_dir, segment_ids)
            with self._lock:
                self._tables.update(built)
                self.built_large += len(built)
        except Exception:
            with self._lock:
                self._retry_at = time.monotonic() + RETRY_SECONDS
            raise  # to the thread's excepthook: the worker's log shows why
        finally:
            with self._lock:
                self._building = None

    def _assemble(self, leaves: list, version: tuple) -> Snapshot:
        """The snapshot of a generation whose large segments are all built: its small new
        segments are built now, and deletions new since the last snapshot counted."""
        parts = []
        for leaf, _, segid, deleted_count in leaves:
            with self._lock:
                tables = self._tables.get(segid) if segid is not None else None
            if tables is None:
                tables = SegmentTables(read_segment(leaf))
                with self._lock:
                    self.built_inline += 1
                    if segid is not None:
                        self._tables[segid] = tables
            if not deleted_count:
                parts.append(Part(tables))
                continue
            gone = readers.deleted(leaf)
            batches = self._deleted_batches(segid, tables, gone)
            live = np.ones(len(tables), dtype=bool)
            live[np.fromiter(gone, dtype=np.int64, count=len(gone))] = False
            parts.append(Part(tables, [table for _, table in batches], live))
        snapshot = Snapshot(parts, version)
        keep = {segid for _, _, segid, _ in leaves}
        with self._lock:
            self._current = snapshot
            for segid in [s for s in self._tables if s not in keep]:
                del self._tables[segid]
            for segid in [s for s in self._minus if s not in keep]:
                del self._minus[segid]
        return snapshot

    def _deleted_batches(
        self, segid: str | None, tables: SegmentTables, gone: frozenset[int]
    ) -> list[tuple[frozenset[int], PhraseTable]]:
        """The phrases of a segment's deleted titles, in batches: a new batch for the deletions
        since the last generation, and two batches merged whenever the newer is at least half
        the older, so each deletion is counted a logarithmic number of times."""
        with self._lock:
            batches = list(self._minus.get(segid, [])) if segid is not None else []
        counted = frozenset().union(*(docs for docs, _ in batches))
        if not counted <= gone:  # cannot happen to a segment; start again rather than be wrong
            batches, counted = [], frozenset()
        new = gone - counted
        if new:
            batches.append((new, tables.deleted_phrases(new)))
        while len(batches) > 1 and 2 * len(batches[-1][0]) >= len(batches[-2][0]):
            newer, older = batches.pop(), batches.pop()
            docs = older[0] | newer[0]
            batches.append((docs, tables.deleted_phrases(docs)))
        if segid is not None:
            with self._lock:
                self._minus[segid] = batches
        return batches

    def stats(self) -> dict[str, int]:
        """What the kept tables hold and take, for `/stats`."""
        with self._lock:
            tables = list(self._tables.values())
            minus = [table for batches in self._minus.values() for _, table in batches]
            building = self._building is not None
        return {
            "segments": len(tables),
            "titles": sum(len(t) for t in tables),
            "phrases": sum(len(t.phrases) for t in tables),
            "bytes": sum(t.nbytes() for t in tables) + sum(m.nbytes() for m in minus),
            "built_inline": self.built_inline,
            "built_large": self.built_large,
            "building": int(building),
        }
