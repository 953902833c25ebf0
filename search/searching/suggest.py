"""Autocomplete: titles and frequent phrases that start with what the reader has typed.

Why titles: a news title is the text people remember and retype, and its word runs are the
phrases of the day ("bảo hiểm xã hội", "Quảng Ngãi"). Phrases are runs of two to four words
that stand together in titles, counted over all live titles; a run always followed by the same
next word ("hiểm xã" is always followed by "hội") is left out in favour of the longer one, and
a run may not start or end with a function word ("về", "của"), so what is offered reads as a
term and not as a fragment. Each phrase is shown in its most common written form, in lower case
unless it is a name or an acronym ("bảo hiểm xã hội", "Quảng Ngãi", "BHXH tỉnh"). In a large
archive a phrase must stand in two titles at least: one title's word runs are its own, and the
title itself is offered.

Why per segment: a commit adds a small segment (or merges small ones) and leaves the others as
they were, so each segment's tables (`suggest_tables`) are built once, when a worker first
meets it, and a new generation costs what the commit changed: a one-article commit, one
title's tables. A lookup merges the segments' tables as Whoosh merges postings. Titles: each
segment gives its newest few starting with the prefix, the newest of those win. Phrases: their
counts are sums over segments, less the phrases of deleted titles; the segments are walked in
descending count and the walk stops once the counts still unseen cannot reach the last kept
one, so the answer is exact. Whether a phrase is a fragment is decided per segment too: in
each segment where it occurs it must be followed everywhere by the same word. Counts, forms
and fragments being exact, a grown index and a fresh build of the same articles answer alike.

Large segments (a first build's) are read and counted in a child process: counting peaks at
several times the memory of the tables it leaves, and a worker would keep that peak.
`bench/suggest.py` measures the build and the lookups; `bench/live_commits.py` the service under
a stream of commits.
"""

from __future__ import annotations

import bisect
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from whoosh.reading import IndexReader

from search.index.children import end_with_parent
from search.index.engine import readers
from search.index.store import open_index
from search.searching.suggest_tables import PhraseTable, SegmentTables, key
from search.text.normalize import WORD_RE

__all__ = ["MAX_LIMIT", "LiveSuggester", "Suggester", "Suggestion", "key", "prefix_key", "read_segment"]

MAX_LIMIT = 10
#: Segments of up to this many articles are read and counted in the request that meets them.
INLINE_DOCS = 2000
#: From this many live titles on, a phrase must stand in two titles to be offered.
PHRASE_MIN_TITLES = 1000
#: After a failed build, seconds before the next try: a broken index must not make every
#: keystroke start a process.
RETRY_SECONDS = 10.0

Article = tuple[str, str, str | None]  # (id, title, date)


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # "phrase" or "title"
    id: str | None = None

    def to_json(self) -> dict[str, str]:
        data = {"text": self.text, "kind": self.kind}
        if self.id is not None:
            data["id"] = self.id
        return data


def prefix_key(typed: str) -> str:
    """The key of a typed prefix; a trailing space or mark means the last word is complete,
    so "bao " does not suggest "baobab"."""
    k = key(typed)
    if k and not typed[-1:].isalnum():
        k += " "
    return k


def _sentence_case(form: str) -> str:
    """ "Bảo hiểm xã hội" (a title's first words) as "bảo hiểm xã hội"; names ("Quảng Ngãi",
    "Nguyễn Thành") and acronyms ("BHXH tỉnh") keep their capitals."""
    first, *rest = WORD_RE.findall(form)
    if first[1:].islower() and first[0].isupper() and not any(word[0].isupper() for word in rest):
        return form[0].lower() + form[1:]
    return form


class Part:
    """One segment as a lookup sees it: its tables, the phrases of its deleted titles, and
    which of its documents are live (None: all)."""

    __slots__ = ("tables", "minus", "live", "live_count")

    def __init__(self, tables: SegmentTables, minus: Sequence[PhraseTable] = (), live: np.ndarray | None = None):
        self.tables, self.minus, self.live = tables, tuple(minus), live
        self.live_count = len(tables) if live is None else int(live.sum())

    def counts(self, i: int, k: bytes) -> tuple[int, int]:
        """Live (count, parented count) of phrase `i` (key `k`) of this segment."""
        table = self.tables.phrases
        count, parented = int(table.counts[i]), int(table.parented[i])
        for minus in self.minus:
            gone, gone_parented = minus.count(k)
            count, parented = count - gone, parented - gone_parented
        return count, parented

    def successor(self, i: int, k: bytes, live: int) -> bytes | None:
        """The phrase one word longer that follows every live occurrence of phrase `i`."""
        table = self.tables.phrases
        if live == table.counts[i]:  # none of its occurrences was deleted
            j = int(table.successor[i])
            return table.keys[j] if j >= 0 else None
        lo, hi = table.keys.range(k + b" ")
        for j in (lo + np.flatnonzero(table.parented[lo:hi] >= live)).tolist():
            longer = table.keys[j]
            if b" " not in longer[len(k) + 1 :] and self.counts(j, longer)[1] == live:
                return longer
        return None


class _Cursor:
    """A segment's phrases starting with a prefix, by descending count."""

    __slots__ = ("table", "lo", "hi", "order", "pos")

    def __init__(self, table: PhraseTable, lo: int, hi: int) -> None:
        self.table, self.lo, self.hi, self.pos = table, lo, hi, 0
        self.order = table.ranked(lo, hi, 16).tolist()

    def peek(self) -> int:
        """The count at the front; 0 when nothing is left."""
        if self.pos >= len(self.order):
            if len(self.order) >= self.hi - self.lo:
                return 0
            self.order = self.table.ranked(self.lo, self.hi, 4 * len(self.order)).tolist()
        return int(self.table.counts[self.order[self.pos]])

    def take(self) -> bytes:
        i = self.order[self.pos]
        self.pos += 1
        return self.table.keys[i]


class Snapshot:
    """Suggestions from a fixed set of segments; immutable, shared by threads."""

    def __init__(self, parts: Sequence[Part], version: object = None) -> None:
        self.parts = list(parts)
        self.version = version
        live = sum(part.live_count for part in self.parts)
        self.min_count = 2 if live >= PHRASE_MIN_TITLES else 1

    def suggest(self, typed: str, limit: int = 5) -> list[Suggestion]:
        """Up to `limit` phrases, then up to `limit` titles, starting with `typed`."""
        prefix = prefix_key(typed)
        if not prefix.strip():
            return []
        probe = prefix.encode("utf-8")
        phrases = [Suggestion(text, "phrase") for text in self.phrases(probe, limit)]
        titles = [Suggestion(text, "title", article_id) for text, article_id in self.titles(probe, limit)]
        return phrases + titles

    def titles(self, probe: bytes, limit: int) -> list[tuple[str, str]]:
        found = []
        for part in self.parts:
            found += part.tables.titles.newest(probe, limit, part.live)
        found.sort(key=lambda item: item[0], reverse=True)
        return [(title, article_id) for _, title, article_id in found[:limit]]

    def phrases(self, probe: bytes, limit: int) -> list[str]:
        """The `limit` most frequent phrases starting with `probe`, in their written form."""
        cursors = []
        for part in self.parts:
            lo, hi = part.tables.phrases.keys.range(probe)
            if lo < hi:
                cursors.append(_Cursor(part.tables.phrases, lo, hi))
        best: list[tuple[int, bytes]] = []  # (-count, key), kept sorted
        places: dict[bytes, list[tuple[Part, int, int]]] = {}
        seen: set[bytes] = set()
        while cursors:
            fronts = [cursor.peek() for cursor in cursors]
            bound = sum(fronts)
            if bound < self.min_count or (len(best) >= limit and -best[-1][0] > bound):
                break  # nothing unseen can reach the kept ones
            cursor = cursors[max(range(len(cursors)), key=fronts.__getitem__)]
            k = cursor.take()
            cursors = [c for c in cursors if c.peek()]
            if k in seen:
                continue
            seen.add(k)
            total, where = self._count(k)
            if total < self.min_count or (len(best) >= limit and (-total, k) > best[-1]) or self._fragment(k, where):
                continue
            bisect.insort(best, (-total, k))
            places[k] = where
            del best[limit:]
        return [_sentence_case(self._form(k, places[k])) for _, k in best]

    def _count(self, k: bytes) -> tuple[int, list[tuple[Part, int, int]]]:
        """The live count of a phrase over all segments, and where it stands: (part, index in
        its table, live count there)."""
        total, where = 0, []
        for part in self.parts:
            i = part.tables.phrases.keys.find(k)
            if i >= 0:
                count = part.counts(i, k)[0]
                total += count
                where.append((part, i, count))
        return total, where

    @staticmethod
    def _fragment(k: bytes, where: list[tuple[Part, int, int]]) -> bool:
        """Whether one longer phrase follows every live occurrence of `k`, in every segment."""
        longer = None
        for part, i, count in where:
            if count <= 0:
                continue
            found = part.successor(i, k, count)
            if found is None or (longer is not None and found != longer):
                return False
            longer = found
        return longer is not None

    @staticmethod
    def _form(k: bytes, where: list[tuple[Part, int, int]]) -> str:
        """The most common written form of a live phrase (the first in code point order among
        equally common ones, so the choice never depends on the order of the titles)."""
        forms: dict[str, int] = {}
        for part, i, _ in where:
            for form, n in part.tables.phrases.written(i):
                forms[form] = forms.get(form, 0) + n
            for minus in part.minus:
                j = minus.keys.find(k)
                if j >= 0:
                    for form, n in minus.written(j):
                        forms[form] -= n
        return min(forms.items(), key=lambda item: (-item[1], item[0]))[0]

    def nbytes(self) -> int:
        return sum(part.tables.nbytes() + sum(m.nbytes() for m in part.minus) for part in self.parts)


class Suggester(Snapshot):
    """Suggestions from a fixed set of (id, title, date) articles, as one segment."""

    def __init__(self, articles: Sequence[Article]) -> None:
        super().__init__([Part(SegmentTables(list(articles)))])


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
    """A worker's suggestions, following the index commit by commit.

    The tables of each segment are kept by segment id; a generation is answered by a
    `Snapshot` of the tables of its segments, with the phrases of each segment's deleted titles
    (counted in batches as deletions arrive, merged as the batches grow) and its live mask.
    Segments of up to `inline_docs` articles are built in the request that meets them; larger
    ones in a background thread, while the previous snapshot keeps answering. Before the first
    snapshot is ready a call waits up to `wait` seconds, then gets None.
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
