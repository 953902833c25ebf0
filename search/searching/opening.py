"""Which searcher a process opens for an index folder: one index (`SearchIndex`, today's
layout), the front of a sharded one with its shards in this process, or the front of shards
that Ray actors hold (`search.searching.ray_shards`, when a Ray address is given).

A rebuild may change the layout under a running service (`vnsearch index --rebuild --shards
4` on one index, or back): `Following` looks at the live folder before each request, as
`SearchIndex` does for its generation, and opens the other kind when it changed.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from whoosh.reading import IndexReader

from search.index.engine.segments import POSTINGS_BYTES
from search.index.shards import is_sharded
from search.index.store import IndexMissing, Watch, live_dir
from search.query.acronyms import SynonymTable
from search.searching.cache import ResultCache
from search.searching.evaluate import SCORED_BYTES
from search.searching.related import Related
from search.searching.results import ArticleView, SearchRequest, SearchResult
from search.searching.searcher import VIETNAM, SearchIndex
from search.searching.shard_set import LocalShards, ShardSet
from search.searching.sharded import ShardedIndex
from search.searching.vectors import VECTORS_MIB


class Searchable(Protocol):
    """What the web layer and the CLI ask of an index, whatever its layout."""

    index_dir: Path
    cache: ResultCache[SearchResult] | None

    def search(self, request: SearchRequest) -> SearchResult: ...

    def article(self, article_id: str, q: str | None = None) -> ArticleView | None: ...

    def story(self, story_id: str) -> dict[str, object] | None: ...

    def related(self, article_id: str, limit: int = 10) -> list[Related] | None: ...

    def stats(self) -> dict[str, object]: ...

    def doc_count(self) -> int: ...

    def generation(self) -> int: ...

    def last_modified(self) -> dt.datetime: ...

    def reader(self) -> IndexReader: ...


class Following:
    """The searcher for the live layout of `index_dir`, made by `make(sharded)` and made again
    when a rebuild switched the layout. With `shard_set` (Ray's actors), always the front of a
    set: a set of one is read as such."""

    def __init__(
        self,
        index_dir: Path,
        synonyms: SynonymTable,
        time_budget: float | None = None,
        cache: ResultCache[SearchResult] | None = None,
        utc_offset: dt.timedelta = VIETNAM,
        shard_set: Callable[[], ShardSet] | None = None,
        related_cache_bytes: int = VECTORS_MIB << 20,
        postings_cache_bytes: int = POSTINGS_BYTES,
        scored_cache_bytes: int = SCORED_BYTES,
    ) -> None:
        self.index_dir = index_dir

        def make(sharded: bool) -> Searchable:
            """The searcher for one layout, with this process's caches and memory budgets."""
            if not sharded:
                return SearchIndex(
                    index_dir,
                    synonyms,
                    time_budget,
                    cache,
                    utc_offset,
                    related_cache_bytes,
                    postings_cache_bytes,
                    scored_cache_bytes,
                )
            shards = (
                shard_set()
                if shard_set
                else LocalShards(index_dir, utc_offset, postings_cache_bytes, scored_cache_bytes)
            )
            return ShardedIndex(index_dir, synonyms, shards, time_budget, cache, utc_offset, related_cache_bytes)

        self._make = make
        self._shard_set = shard_set
        self._lock = threading.Lock()
        self._sharded: bool | None = None
        self._index: Searchable | None = None
        self._watch = Watch(index_dir)

    def current(self) -> Searchable:
        """The searcher for the live layout. Which layout is live changes only with `CURRENT`
        (a rebuild switches it), so while neither it nor the index folder changed (`Watch`, a
        `stat` of each) the searcher is the one found last, without reading the pointer again."""
        if self._shard_set is not None:
            sharded = True
        else:
            with self._lock:
                if self._index is not None and self._watch.unchanged(self.index_dir):
                    return self._index
            at, stamp = time.time(), self._watch.stamp(self.index_dir)
            try:
                sharded = is_sharded(live_dir(self.index_dir))
            except IndexMissing:
                sharded = False  # opening says what is wrong
        with self._lock:
            if self._index is None or sharded != self._sharded:
                index = self._make(sharded)
                if self._index is not None and hasattr(self._index, "close"):
                    self._index.close()
                self._index, self._sharded = index, sharded
            if self._shard_set is None:
                self._watch.looked(stamp, at)
            return self._index


def open_searchable(index_dir: Path, synonyms: SynonymTable, utc_offset: dt.timedelta = VIETNAM) -> Searchable:
    """The searcher for the index as it is now (the CLI's one search)."""
    return Following(index_dir, synonyms, utc_offset=utc_offset).current()
