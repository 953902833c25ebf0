"""Bringing articles into the index: adds new ones, replaces changed ones, skips unchanged ones,
and removes the ones whose source is gone.

Each article carries a content hash, so re-running on an unchanged corpus writes nothing. All
changes of a run go into one commit: readers keep seeing the previous complete state until it
lands, and a run killed at any point leaves that state as it was for the next run to complete.
A fresh index (the first build, or a rebuild) is built in a new generation beside the live one
and switched to only once complete (see `search.store`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.index import FileIndex
from whoosh.searching import Searcher

from search.corpus.article import Article
from search.corpus.errors import ParseError
from search.index.engine import readers as perdoc
from search.index.engine.codec import Codec
from search.index.engine.writers import PoolMpWriter, PoolWriter, abandon
from search.index.pool import DEFAULT_POOL_MB
from search.index.schema import other_versions, to_document
from search.index.shards import is_sharded
from search.index.store import (
    create_index,
    discard,
    index_exists,
    live_dir,
    new_generation,
    open_index,
    publish,
    remove_abandoned,
    write_lock,
)
from search.index.stories.update import Recorder, StoryRecorder, group_fresh

#: How long a second writer waits for the index lock before giving up with a clear message.
WRITE_LOCK_TIMEOUT = 60.0

#: Articles handed to a build process at a time (Whoosh's default): fewer costs more hand-overs,
#: more leaves the last process idle longer at the end of a build.
BUILD_BATCH = 100


class IndexIncomplete(RuntimeError):
    """A multi-process build lost a process; the fresh index is not published."""


class ShardedIndex(RuntimeError):
    """A sharded index given to the single-index writer, which would replace it."""


@dataclass
class IndexReport:
    """What one indexing run did, for the CLI summary."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: list[ParseError] = field(default_factory=list)
    failed: list[ParseError] = field(default_factory=list)
    #: Why articles that look missing were kept anyway (see `_removable`).
    kept: list[str] = field(default_factory=list)
    rebuilt: bool = False

    @property
    def written(self) -> int:
        """Changes committed; 0 means the run left the index exactly as it was."""
        return self.added + self.updated + len(self.removed)

    def to_json(self) -> dict[str, object]:
        def error(e: ParseError) -> dict[str, object]:
            return {"path": e.path, "line": e.line, "reason": e.reason}

        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": len(self.removed),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "written": self.written,
            "rebuilt": self.rebuilt,
            "removed_ids": self.removed,
            "skipped_items": [error(e) for e in self.skipped],
            "failures": [error(e) for e in self.failed],
            "kept": self.kept,
        }


def _stored(ix: FileIndex) -> dict[str, tuple[str, int]]:
    """Article id -> (content hash, document number), read from the columns."""
    with ix.reader() as reader:
        if reader.doc_count_all() == 0:
            return {}
        ids = perdoc.column(reader, "id")
        hashes = perdoc.column(reader, "hash")
        return {ids[n]: (hashes[n], n) for n in reader.all_doc_ids()}


def build(
    index_dir: Path,
    items: Iterable[Article | ParseError],
    rebuild: bool = False,
    on_item: Callable[[Article | ParseError], None] | None = None,
    keep_missing: bool = False,
    lock_timeout: float = WRITE_LOCK_TIMEOUT,
    procs: int = 1,
    pool_mb: int = DEFAULT_POOL_MB,
) -> IndexReport:
    """Index `items` into `index_dir`, creating the index when there is none (or on `rebuild`).

    Unless `keep_missing`, an indexed article that `items` no longer contains is removed: the
    index mirrors the corpus it is given. Articles that did not come from a corpus file (sent
    through the HTTP API: no `path`) are never removed this way.

    An index left by another schema version is not replaced silently: that takes `rebuild`.
    Waits up to `lock_timeout` seconds for another writer, then raises `IndexBusy`.
    A fresh build spreads the analysis and writing over `procs` processes. Each writer keeps
    its postings in memory up to `pool_mb` MiB (`Settings.pool_mb`; see `search.index.pool`),
    then writes a segment and goes on.
    """
    with write_lock(index_dir, lock_timeout):
        return build_locked(index_dir, items, rebuild, on_item, keep_missing, procs, pool_mb)


def build_locked(
    index_dir: Path,
    items: Iterable[Article | ParseError],
    rebuild: bool = False,
    on_item: Callable[[Article | ParseError], None] | None = None,
    keep_missing: bool = False,
    procs: int = 1,
    pool_mb: int = DEFAULT_POOL_MB,
) -> IndexReport:
    """`build` for a caller that holds the write lock (`search.index.sharding`, which must decide
    between one index and shards under the same lock)."""
    remove_abandoned(index_dir)
    if not rebuild and is_sharded(live_dir(index_dir)):
        raise ShardedIndex(f"the index in {index_dir} is sharded: write it through search.index.sharding")
    fresh = rebuild or not (index_exists(index_dir) or other_versions(live_dir(index_dir)))
    building = new_generation(index_dir) if fresh else None
    try:
        ix = create_index(building) if building else open_index(index_dir)
        report = write(ix, items, on_item, keep_missing or fresh, fresh, procs, pool_mb)
        if building:
            group_fresh(ix)
    except BaseException:
        if building:
            discard(building)
        raise
    if building:
        publish(index_dir, building)
        report.rebuilt = True
    return report


def write(
    ix: FileIndex,
    items: Iterable[Article | ParseError],
    on_item: Callable[[Article | ParseError], None] | None,
    keep_missing: bool,
    fresh: bool,
    procs: int = 1,
    pool_mb: int = DEFAULT_POOL_MB,
    stories: bool = True,
) -> IndexReport:
    """One writer, one commit (see `Changes`); `stories`: keep the story graph up to date (a
    fresh index is grouped once written, by the caller: see `build_locked`)."""
    report = IndexReport()
    seen: set[str] = set()
    changes = Changes.open(ix, _writer(ix, procs if fresh else 1, pool_mb), keep_missing, fresh, stories)
    try:
        for item in items:
            if on_item is not None:
                on_item(item)
            accepted = accept(item, seen, report)
            if accepted is not None:
                changes.offer(*accepted, report)
        if not keep_missing:
            changes.remove_missing(seen, report)
        changes.finish(report.written > 0 or fresh)
    except BaseException:
        changes.abandon()
        raise
    if procs > 1 and fresh and ix.doc_count_all() != report.added:
        # Whoosh's MpWriter commits whatever segments its processes handed back: one killed
        # (out of memory, say) would silently take its documents with it.
        raise IndexIncomplete(f"a build process died: {ix.doc_count_all()} of {report.added} articles written")
    return report


def accept(item: Article | ParseError, seen: set[str], report: IndexReport) -> tuple[Article, str] | None:
    """An article this run is to index and its content hash, or None when the item is an
    error or a duplicate (noted in `report`); `seen` collects the ids of the run."""
    if isinstance(item, ParseError):
        report.failed.append(item)
        return None
    if item.id in seen:
        report.skipped.append(ParseError(item.path or item.id, None, f"duplicate id {item.id!r} in this run"))
        return None
    try:
        content_hash = item.content_hash  # also proves every field can be written as UTF-8
    except UnicodeEncodeError:
        where = item.path or item.id.encode("utf-8", "backslashreplace").decode("utf-8")
        report.failed.append(ParseError(where, None, "a field is not Unicode text (lone surrogate)"))
        return None
    seen.add(item.id)
    return item, content_hash


class Changes:
    """One index's share of a run: its writer, and what it needs to tell new, changed and
    unchanged articles apart. Replaced and removed articles are deleted by document number,
    looked up in the commit the writer started from (the write lock keeps it the newest): Whoosh's
    `update_document` and `delete_by_term` open a new searcher for every call, which costs
    seconds per article on a large index."""

    def __init__(
        self, ix: FileIndex, writer: PoolWriter, keep_missing: bool, fresh: bool, stories: bool | Recorder = True
    ) -> None:
        self.ix, self.writer = ix, writer
        # The story graph follows each change and is written beside the commit; a fresh index
        # is grouped once written instead. A shard of a set tells the set's recorder, which
        # its writer saves for the whole set (`search.index.stories.sets`).
        self.own_stories = StoryRecorder(ix) if stories is True and not fresh else None
        self.stories: Recorder | None = stories if isinstance(stories, Recorder) else self.own_stories
        self.indexed = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        #: Changes made through this writer: whether it has anything to commit.
        self.written = 0
        # Removing missing articles needs every stored id; otherwise each article is looked up
        # alone, which keeps a one-article write (the HTTP API) fast on a large index.
        self.known = {} if fresh or keep_missing else _stored(ix)
        self.searcher = None if fresh or not keep_missing else ix.searcher()

    @classmethod
    def open(
        cls, ix: FileIndex, writer: PoolWriter, keep_missing: bool, fresh: bool, stories: bool | Recorder = True
    ) -> Changes:
        """`Changes` for `writer`, which is abandoned if they cannot be made."""
        try:
            return cls(ix, writer, keep_missing, fresh, stories)
        except BaseException:
            abandon(writer)
            raise

    def offer(self, item: Article, content_hash: str, report: IndexReport) -> None:
        """Add the article, replace its older version, or count it unchanged."""
        found = _stored_hash(self.searcher, item.id) if self.searcher else self.known.get(item.id, (None, None))
        digest, docnum = found
        if digest == content_hash:
            report.unchanged += 1
            return
        if docnum is not None:
            self.writer.delete_document(docnum)
            report.updated += 1
        else:
            report.added += 1
        self.writer.add_document(**to_document(item, self.indexed))
        self.written += 1
        if self.stories:
            self.stories.add(item)

    def remove_missing(self, seen: set[str], report: IndexReport) -> None:
        for article_id in _removable(self.ix, self.known, seen, report):
            self.writer.delete_document(self.known[article_id][1])
            report.removed.append(article_id)
            self.written += 1
            if self.stories:
                self.stories.remove(article_id)

    def finish(self, commit: bool) -> None:
        """Commit (or, with nothing to commit, let go of the writer)."""
        try:
            if commit:
                if self.own_stories:
                    self.own_stories.prepare(self.writer.generation)
                self.writer.commit()
                if self.own_stories:
                    self.own_stories.committed(self.writer.generation)
            else:
                self.writer.cancel()
        finally:
            self.close()

    def abandon(self) -> None:
        try:
            abandon(self.writer)
        finally:
            self.close()

    def close(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
            self.searcher = None


def _writer(ix: FileIndex, procs: int, pool_mb: int) -> PoolWriter:
    """One writer, or with `procs` > 1 Whoosh's MpWriter: it hands batches of documents to
    `procs` processes that each analyse them and write segments of their own (one, plus one per
    time its posting pool filled up). The segments are left unmerged: a merge re-reads and
    re-writes every posting in one process, which would take back most of the time won, while
    searching a few segments costs no measurable time. Updates stay in one process, where
    replacing a document is a delete and an add in one writer. Both keep their postings in
    memory (`search.pool`) rather than in Whoosh's pickled runs on disk."""
    if procs > 1:
        return PoolMpWriter(
            ix, procs=procs, pool_mb=pool_mb, batchsize=BUILD_BATCH, timeout=WRITE_LOCK_TIMEOUT, codec=Codec()
        )
    return PoolWriter(ix, pool_mb=pool_mb, timeout=WRITE_LOCK_TIMEOUT, codec=Codec())


def _stored_hash(searcher: Searcher, article_id: str) -> tuple[str | None, int | None]:
    """(content hash, document number) of an indexed article, (None, None) if there is none."""
    docnum = searcher.document_number(id=article_id)
    return (None, None) if docnum is None else (perdoc.value(searcher.reader(), "hash", docnum), docnum)


def delete(index_dir: Path, article_id: str, lock_timeout: float = WRITE_LOCK_TIMEOUT) -> bool:
    """Remove one article (a takedown); False when the index does not hold it."""
    with write_lock(index_dir, lock_timeout):
        return delete_locked(index_dir, article_id)


def delete_locked(index_dir: Path, article_id: str) -> bool:
    """`delete` for a caller that holds the write lock."""
    if is_sharded(live_dir(index_dir)):
        raise ShardedIndex(f"the index in {index_dir} is sharded: write it through search.index.sharding")
    ix = open_index(index_dir)
    return delete_one(ix, article_id, PoolWriter(ix, timeout=WRITE_LOCK_TIMEOUT, codec=Codec()), stories=True)


def delete_one(ix: FileIndex, article_id: str, writer: PoolWriter, stories: bool = False) -> bool:
    """Delete `article_id` through `writer` and commit; False (nothing written) without it.
    `stories`: take the article out of the story graph in the same commit."""
    try:
        with ix.searcher() as searcher:
            docnum = searcher.document_number(id=article_id)
        if docnum is None:
            writer.cancel()
            return False
        writer.delete_document(docnum)
        recorder = StoryRecorder(ix) if stories else None
        if recorder:
            recorder.remove(article_id)
            recorder.prepare(writer.generation)
        writer.commit()
        if recorder:
            recorder.committed(writer.generation)
    except BaseException:
        abandon(writer)
        raise
    return True


def nothing_read(count: int) -> str:
    """The note for indexed articles kept because a run read no article at all."""
    return f"{count} indexed articles were kept: this run read no article at all"


def _removable(ix: FileIndex, known: dict[str, tuple[str, int]], seen: set[str], report: IndexReport) -> list[str]:
    """Indexed articles this run did not see, except where their absence may be our failure to
    read rather than a removal: a file that failed (wholly or on some line) keeps its articles,
    and a run that read no article at all removes nothing (an unmounted or mistyped folder)."""
    missing = sorted(article_id for article_id in known if article_id not in seen)
    if not missing:
        return []
    if not seen:
        report.kept.append(nothing_read(len(missing)))
        return []
    failed_paths = {error.path for error in report.failed}
    removable = []
    with ix.reader() as reader:
        for article_id in missing:
            path = reader.stored_fields(known[article_id][1]).get("path")
            if path is None:
                continue
            if path in failed_paths:
                report.kept.append(f"{article_id}: kept, its file {path} could not be read completely")
                continue
            removable.append(article_id)
    return removable
