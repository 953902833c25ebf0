"""The index as a worker process holds it: opened on the first request it serves.

Opening lazily lets gunicorn workers each open their own index after the fork instead of
sharing descriptors from a preloaded parent. An index that is missing or was built by another
version raises the store's own errors, which `search.web.errors` answers with a 503.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from search.query.acronyms import load_synonyms
from search.searching.cache import ResultCache
from search.searching.opening import Following, Searchable
from search.searching.results import SearchResult
from search.searching.shard_set import ShardSet
from search.searching.suggest_live import LiveSuggester
from search.settings import Settings


def ray_shard_set(settings: Settings) -> Callable[[], ShardSet] | None:
    """With a Ray address (`vnsearch serve --ray`), the shards are the actors there."""
    if not settings.ray_address:
        return None
    address, replicas, index_dir = settings.ray_address, settings.ray_replicas, settings.index_dir

    def connect() -> ShardSet:
        from search.searching.ray_shards import RayShards  # imports Ray

        return RayShards(address, index_dir, replicas)

    return connect


class IndexHolder:
    """Opens the index on first use in this process and keeps it open."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._index: Following | None = None
        self._lock = threading.Lock()
        entries, mib = settings.result_cache_entries, settings.result_cache_mib
        #: The results this worker keeps for repeated requests (None: every search runs).
        self.cache: ResultCache[SearchResult] | None = ResultCache(entries, mib << 20) if entries and mib else None
        #: The autocomplete tables of this worker, kept per segment across commits.
        self.suggestions = LiveSuggester(settings.index_dir)

    def get(self) -> Searchable:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    settings = self.settings
                    self._index = Following(
                        settings.index_dir,
                        load_synonyms(settings.acronym_files),
                        time_budget=settings.search_budget_ms / 1000,
                        utc_offset=settings.utc_offset,
                        cache=self.cache,
                        shard_set=ray_shard_set(settings),
                        related_cache_bytes=settings.related_cache_mib << 20,
                        postings_cache_bytes=settings.postings_cache_mib << 20,
                        scored_cache_bytes=settings.scored_cache_mib << 20,
                    )
        return self._index.current()
