"""Commits that several Whoosh indexes make together: the shards of one set (`search.index.shards`).

Whoosh makes one index's commit atomic by writing a new table of contents and then deleting
every file the new one no longer names. A set of shards needs one step more: a run that changes
three shards commits each of them, and only then names the new generations in the set's
manifest; until that replace, readers must still find the generations the old manifest names.
So shard writers commit without deleting anything (`HeldPoolWriter`), the files of the
previous generation are deleted once the manifest names the new one (`keep_only`), and a run
killed between its shard commits and the manifest leaves tables of contents no manifest names,
which the next writer removes before it writes (`drop_newer`). Readers open the generation the
manifest names, not the newest one on disk (`readers.newest_searcher(..., generation=)`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from whoosh.index import TOC, FileIndex, clean_files

from search.index.engine.writers import PoolWriter
from search.index.schema import INDEX_NAME


class HeldPoolWriter(PoolWriter):
    """A `PoolWriter` whose commit keeps the files of the generation it replaces: readers of
    the set keep opening that one until the manifest names the new generation."""

    def _commit_toc(self, segments: list[Any]) -> None:
        TOC(self.schema, segments, self.generation).write(self.storage, self.indexname)


def generations(ix: FileIndex) -> list[int]:
    """The generations whose table of contents is on disk, oldest first."""
    pattern = TOC._pattern(ix.indexname)
    return sorted(int(m.group(1)) for name in ix.storage if (m := pattern.match(name)))


def latest_generation(folder: Path) -> int:
    """The newest generation of the index in `folder` (-1 for none), without opening it."""
    pattern = TOC._pattern(INDEX_NAME)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return -1
    return max((int(m.group(1)) for name in names if (m := pattern.match(name))), default=-1)


def drop_newer(ix: FileIndex, generation: int) -> list[int]:
    """Delete the tables of contents of generations after `generation` (committed by a run that
    died before its manifest switch), so that the next writer starts from `generation`; their
    segment files go with the next `keep_only`. Only a holder of the set's write lock may call
    this. Returns the generations dropped."""
    dropped = [g for g in generations(ix) if g > generation]
    for g in dropped:
        ix.storage.delete_file(TOC._filename(ix.indexname, g))
    return dropped


def keep_only(ix: FileIndex, generation: int) -> None:
    """Delete every table of contents but `generation`'s and every segment file it does not
    name. Readers that still have older files open keep reading them until they close."""
    toc = TOC.read(ix.storage, ix.indexname, gen=generation)
    clean_files(ix.storage, ix.indexname, generation, toc.segments)


def doc_counts(ix: FileIndex, generation: int) -> int:
    """Documents (deleted ones included) in `generation`, read from its table of contents."""
    toc = TOC.read(ix.storage, ix.indexname, gen=generation)
    return sum(segment.doc_count_all() for segment in toc.segments)
