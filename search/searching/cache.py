"""Recent search results kept per process, for one index generation at a time.

Readers repeat searches (the same headline words, the next page and back, a shared link), and a
page of results is far cheaper to keep than to make again: the evaluation, the stored articles,
the snippets and the "did you mean". An entry is only ever served for the generation it was
made from: each lookup and each insertion names the generation of the searcher the request
uses, a newer one empties the cache, and an entry made from an older one is not kept. The
cache is bounded both in entries and in (estimated) bytes, so memory stays flat under load.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

#: Defaults for the service (`VNSEARCH_RESULT_CACHE_ENTRIES`, `VNSEARCH_RESULT_CACHE_MIB`).
DEFAULT_ENTRIES = 1000
DEFAULT_MIB = 32


class ResultCache(Generic[V]):
    """Least recently used values, all from one generation (a number that only grows)."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES, max_bytes: int = DEFAULT_MIB << 20) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("cache bounds cannot be negative")
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.generation = -1
        self.size = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def _advance(self, generation: int) -> bool:
        """Move to `generation` if it is newer (dropping everything); False if it is older."""
        if generation > self.generation:
            self._items.clear()
            self.size = 0
            self.generation = generation
        return generation == self.generation

    def advance(self, generation: int) -> None:
        """Drop everything now for a newer `generation`, as its first lookup would."""
        with self._lock:
            self._advance(generation)

    def get(self, generation: int, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key) if self._advance(generation) else None
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, generation: int, key: Hashable, value: V, size: int) -> None:
        """Keep `value` (about `size` bytes) unless it is from an older generation or alone
        larger than the whole budget; the least recently used entries make room."""
        with self._lock:
            if not self._advance(generation) or size > self.max_bytes or not self.max_entries:
                return
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._items[key] = (value, size)
            self.size += size
            while len(self._items) > self.max_entries or self.size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped
