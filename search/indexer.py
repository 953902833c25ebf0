"""Bringing articles into the index: adds new ones, replaces changed ones, skips unchanged ones.

Each article carries a content hash, so re-running on an unchanged corpus writes nothing. All
changes go into one commit: readers keep seeing the previous complete state until it lands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.index import FileIndex
from whoosh.writing import IndexWriter

from search.article import Article
from search.corpus import ParseError
from search.schema import other_versions, to_document
from search.store import create_index, index_exists, open_index, remove_other_versions

#: How long a second writer waits for the index lock before giving up with a clear message.
WRITE_LOCK_TIMEOUT = 60.0
#: Memory for each writer's in-memory posting pool before it spills a sorted run to disk.
WRITER_LIMIT_MB = 256


@dataclass
class IndexReport:
    """What one indexing run did, for the CLI summary."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[ParseError] = field(default_factory=list)
    failed: list[ParseError] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.added + self.updated


def stored_hashes(ix: FileIndex) -> dict[str, str]:
    """Article id -> content hash for every article in the index, read from the columns."""
    with ix.reader() as reader:
        if reader.doc_count_all() == 0:
            return {}
        ids = reader.column_reader("id")
        hashes = reader.column_reader("hash")
        return {ids[n]: hashes[n] for n in reader.all_doc_ids()}


def build(
    index_dir: Path,
    items: Iterable[Article | ParseError],
    rebuild: bool = False,
    on_item: Callable[[Article | ParseError], None] | None = None,
    procs: int = 1,
) -> IndexReport:
    """Index `items` into `index_dir`, creating the index when there is none (or on `rebuild`).

    An index left by another schema version is not replaced silently: that takes `rebuild`.
    A fresh build spreads the analysis and writing over `procs` processes.
    """
    fresh = rebuild or not (index_exists(index_dir) or other_versions(index_dir))
    ix = create_index(index_dir) if fresh else open_index(index_dir)
    known = {} if fresh else stored_hashes(ix)
    report = IndexReport()
    seen: set[str] = set()
    writer = _writer(ix, procs if fresh else 1)
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
            seen.add(item.id)
            digest = known.get(item.id)
            if digest == item.content_hash:
                report.unchanged += 1
            elif digest is None:
                writer.add_document(**to_document(item))
                report.added += 1
            else:
                writer.update_document(**to_document(item))
                report.updated += 1
    except BaseException:
        writer.cancel()
        raise
    if report.written or fresh:
        writer.commit()
    else:
        writer.cancel()
    if fresh:
        remove_other_versions(index_dir)
    return report


def _writer(ix: FileIndex, procs: int) -> IndexWriter:
    """One writer, or with `procs` > 1 Whoosh's MpWriter: it hands batches of documents to
    `procs` processes that each analyse them and write a segment of their own. The segments are
    left unmerged: a merge re-reads and re-writes every posting in one process, which would take
    back most of the time won, while searching two segments costs no measurable time. Updates
    stay in one process, where replacing a document is a delete and an add in one writer."""
    if procs > 1:
        return ix.writer(procs=procs, multisegment=True, timeout=WRITE_LOCK_TIMEOUT, limitmb=WRITER_LIMIT_MB)
    return ix.writer(timeout=WRITE_LOCK_TIMEOUT, limitmb=WRITER_LIMIT_MB)
