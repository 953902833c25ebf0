"""Stories of a sharded set (`search.index.shards`): one graph for the whole set, so that copies
and same-event coverage held by different shards make one story, as in one index of the same
articles.

The set's writer groups, since it holds the one write lock and reaches every shard: a fresh set
once its shards are written (their copy columns, dates and texts, as `update.group_fresh` reads
one index), an incremental run by bringing the graph of the commit it started from along
(`update.Recorder`, testing new articles against the live articles of every shard). Texts are
weighed by the set's document frequencies, the shards' counts added up (`SetStatistics`, as the
front adds them up to score): the same weights one index of the same articles has, so the same
graph. The graph is saved as `stories_<commit>.json` in the generation folder, beside the
manifest, and before the manifest naming that commit replaces the old one: a reader reads the
manifest and then the file of its commit, so it sees the old set with its graph or the new one
with its own. A run killed in between leaves a file of a commit no manifest names, which the
next run writes again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from whoosh.index import FileIndex
from whoosh.reading import IndexReader

from search.index.stories import saved
from search.index.stories.text import DEFAULT, StoryParams
from search.index.stories.update import IndexStatistics, Recorder, grouped


class SetStatistics:
    """Document frequencies of the `folded` and `pairs` fields, added up over the shards, for
    one grouping run (each shard's all kept)."""

    def __init__(self, readers_: Sequence[IndexReader]) -> None:
        self.parts = [IndexStatistics(reader, None) for reader in readers_]

    def document_count(self) -> int:
        return sum(part.document_count() for part in self.parts)

    def document_frequencies(self, terms: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(terms), dtype=np.float64)
        for part in self.parts:
            out += part.document_frequencies(terms)
        return out


def group_set(live: Path, commit: int, shards: Sequence[FileIndex], params: StoryParams = DEFAULT) -> None:
    """Group a fresh set (its shards' newest commits) and save the graph as `commit`'s."""
    readers_ = [ix.reader() for ix in shards]
    try:
        graph = grouped(readers_, SetStatistics(readers_), params)
    finally:
        for reader in readers_:
            reader.close()
    saved.save(live, commit, graph)


def bring_along(live: Path, commit: int, recorder: Recorder, readers_: Sequence[IndexReader]) -> None:
    """Save, as `commit` + 1's, the graph of `commit` with the changes `recorder` noted;
    `readers_` are the shards at `commit` (needed only when the run adds articles)."""
    graph = saved.load(live, commit, recorder.params.same_event)
    saved.save(live, commit + 1, recorder.brought_along(graph, readers_, SetStatistics(readers_)))


def committed(live: Path, commit: int) -> None:
    """`commit` is the set's: the files of older commits go, as `saved.prune` keeps them."""
    saved.prune(live, commit)
