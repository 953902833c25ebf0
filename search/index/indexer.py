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
from search.index.stories.update import StoryRecorder, group_fresh
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

#: How long a second writer waits for the index lock before giving up with a clear message.
WRITE_LOCK_TIMEOUT = 60.0

#: Articles handed to a build process at a time (Whoosh's default): fewer costs more hand-overs,
#: more leaves the last process idle longer at the end of a build.
BUILD_BATCH = 100


class IndexIncomplete(RuntimeError):
    """A multi-process build lost a process; the fresh index is not published."""


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
        remove_abandoned(index_dir)
        fresh = rebuild or not (index_exists(index_dir) or other_versions(live_dir(index_dir)))
        building = new_generation(index_dir) if fresh else None
        try:
            ix = create_index(building) if building else open_index(index_dir)
            report = _write(ix, items, on_item, keep_missing or fresh, fresh, procs, pool_mb)
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


def _write(ix: FileIndex, items: Iterable[Article | ParseError],
           on_item: Callable[[Article | ParseError], None] | None, keep_missing: bool, fresh: bool,
           procs: int = 1, pool_mb: int = DEFAULT_POOL_MB) -> IndexReport:
    """One writer, one commit. Replaced and removed articles are deleted by document number,
    looked up in the commit the writer started from (the write lock keeps it the newest): Whoosh's
    `update_document` and `delete_by_term` open a new searcher for every call, which costs
    seconds per article on a large index."""
    report = IndexReport()
    seen: set[str] = set()
    indexed = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    writer = _writer(ix, procs if fresh else 1, pool_mb)
    stories = None if fresh else StoryRecorder(ix)  # a fresh build is grouped once written
    # Removing missing articles needs every stored id; otherwise each article is looked up
    # alone, which keeps a one-article write (the HTTP API) fast on a large index.
    known = {} if fresh or keep_missing else _stored(ix)
    searcher = None if fresh or not keep_missing else ix.searcher()
    try:
        for item in items:
            if on_item is not None:
                on_item(item)
            if isinstance(item, ParseError):
                report.failed.append(item)
                continue
            if item.id in seen:
                report.skipped.append(ParseError(item.path or item.id, None, f"duplicate id {item.id!r} in this run"))
                continue
            try:
                content_hash = item.content_hash  # also proves every field can be written as UTF-8
            except UnicodeEncodeError:
                where = item.path or item.id.encode("utf-8", "backslashreplace").decode("utf-8")
                report.failed.append(ParseError(where, None, "a field is not Unicode text (lone surrogate)"))
                continue
            seen.add(item.id)
            digest, docnum = _stored_hash(searcher, item.id) if searcher else known.get(item.id, (None, None))
            if digest == content_hash:
                report.unchanged += 1
                continue
            if docnum is not None:
                writer.delete_document(docnum)
                report.updated += 1
            else:
                report.added += 1
            writer.add_document(**to_document(item, indexed))
            if stories:
                stories.add(item)
        if not keep_missing:
            for article_id in _removable(ix, known, seen, report):
                writer.delete_document(known[article_id][1])
                report.removed.append(article_id)
                if stories:
                    stories.remove(article_id)
        if report.written or fresh:
            if stories:
                stories.prepare(writer.generation)
            writer.commit()
            if stories:
                stories.committed(writer.generation)
        else:
            writer.cancel()
    except BaseException:
        abandon(writer)
        raise
    finally:
        if searcher is not None:
            searcher.close()
    if procs > 1 and fresh and ix.doc_count_all() != report.added:
        # Whoosh's MpWriter commits whatever segments its processes handed back: one killed
        # (out of memory, say) would silently take its documents with it.
        raise IndexIncomplete(f"a build process died: {ix.doc_count_all()} of {report.added} articles written")
    return report


def _writer(ix: FileIndex, procs: int, pool_mb: int) -> PoolWriter:
    """One writer, or with `procs` > 1 Whoosh's MpWriter: it hands batches of documents to
    `procs` processes that each analyse them and write segments of their own (one, plus one per
    time its posting pool filled up). The segments are left unmerged: a merge re-reads and
    re-writes every posting in one process, which would take back most of the time won, while
    searching a few segments costs no measurable time. Updates stay in one process, where
    replacing a document is a delete and an add in one writer. Both keep their postings in
    memory (`search.pool`) rather than in Whoosh's pickled runs on disk."""
    if procs > 1:
        return PoolMpWriter(ix, procs=procs, pool_mb=pool_mb, batchsize=BUILD_BATCH, timeout=WRITE_LOCK_TIMEOUT, codec=Codec())
    return PoolWriter(ix, pool_mb=pool_mb, timeout=WRITE_LOCK_TIMEOUT, codec=Codec())


def _stored_hash(searcher: Searcher, article_id: str) -> tuple[str | None, int | None]:
    """(content hash, document number) of an indexed article, (None, None) if there is none."""
    docnum = searcher.document_number(id=article_id)
    return (None, None) if docnum is None else (perdoc.value(searcher.reader(), "hash", docnum), docnum)


def delete(index_dir: Path, article_id: str, lock_timeout: float = WRITE_LOCK_TIMEOUT) -> bool:
    """Remove one article (a takedown); False when the index does not hold it."""
    with write_lock(index_dir, lock_timeout):
        ix = open_index(index_dir)
        writer = PoolWriter(ix, timeout=WRITE_LOCK_TIMEOUT, codec=Codec())
        try:
            with ix.searcher() as searcher:
                docnum = searcher.document_number(id=article_id)
            if docnum is None:
                writer.cancel()
                return False
            writer.delete_document(docnum)
            stories = StoryRecorder(ix)
            stories.remove(article_id)
            stories.prepare(writer.generation)
            writer.commit()
            stories.committed(writer.generation)
        except BaseException:
            abandon(writer)
            raise
        return True


def _removable(ix: FileIndex, known: dict[str, tuple[str, int]], seen: set[str], report: IndexReport) -> list[str]:
    """Indexed articles this run did not see, except where their absence may be our failure to
    read rather than a removal: a file that failed (wholly or on some line) keeps its articles,
    and a run that read no article at all removes nothing (an unmounted or mistyped folder)."""
    missing = sorted(article_id for article_id in known if article_id not in seen)
    if not missing:
        return []
    if not seen:
        report.kept.append(f"{len(missing)} indexed articles were kept: this run read no article at all")
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
