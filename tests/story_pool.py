"""Grouping one article at a time through datasketch's LSH: the reference a fresh build's
whole-set grouping (`search.index.stories.pool.graph_of`) is checked against, since the way
candidates are found must not change which pairs join."""

from __future__ import annotations

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from search.index.stories.graph import COPY, StoryGraph
from search.index.stories.pool import Features, copy_edge, event_edge
from search.index.stories.text import DEFAULT, StoryParams


def lean(hashvalues: np.ndarray) -> LeanMinHash:
    """A datasketch MinHash of stored hash values, for its LSH."""
    return LeanMinHash(seed=1, hashvalues=hashvalues, scheme="affine32")


class StoryPool:
    """Features of many articles with their stories, candidates found through an LSH over the
    signatures, equal keys and the articles' top terms."""

    def __init__(self, params: StoryParams = DEFAULT) -> None:
        self.params = params
        self.graph = StoryGraph(params.same_event)
        self._entries: dict[str, Features] = {}
        self._by_key: dict[bytes, set[str]] = {}
        self._postings: dict[int, set[str]] = {}
        self._lsh = MinHashLSH(threshold=params.copy_jaccard, num_perm=params.num_perm)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry: Features, settle: bool = True) -> dict[str, str]:
        """Add an article (replacing one with its id); returns the articles whose story changed
        (with `settle=False`, nothing: `StoryGraph.settle` works the stories out later)."""
        changed = self.remove(entry.id, settle) if entry.id in self._entries else {}
        edges = {other: COPY for other in self._copies(entry)}
        if entry.vector is not None:
            for other in self._event_candidates(entry):
                if other not in edges and (score := event_edge(entry, self._entries[other], self.params)) is not None:
                    edges[other] = score
        self._insert(entry)
        days = {other: self._entries[other].day for other in edges}
        changed.update(self.graph.add(entry.id, entry.day, edges, days, settle))
        return changed

    def remove(self, article_id: str, settle: bool = True) -> dict[str, str]:
        entry = self._entries.pop(article_id)
        if entry.key is not None:
            self._by_key[entry.key].discard(article_id)
        if entry.signature is not None:
            self._lsh.remove(article_id)
        if entry.vector is not None:
            for term in entry.vector.top:
                self._postings[term].discard(article_id)
        return self.graph.remove(article_id, settle)

    def stories(self) -> dict[str, str]:
        """Every article id with its story id."""
        grouped = self.graph.stories()
        return {a: grouped.get(a, a) for a in self._entries}

    def _copies(self, entry: Features) -> set[str]:
        found = set(self._by_key.get(entry.key, ())) if entry.key is not None else set()
        if entry.signature is not None:
            for other in self._lsh.query(lean(entry.signature)):
                if other not in found and copy_edge(entry, self._entries[other], self.params):
                    found.add(other)
        return found

    def _event_candidates(self, entry: Features) -> set[str]:
        assert entry.vector is not None
        found: set[str] = set()
        for term in entry.vector.top:
            found |= self._postings.get(term, set())
        return found

    def _insert(self, entry: Features) -> None:
        self._entries[entry.id] = entry
        if entry.key is not None:
            self._by_key.setdefault(entry.key, set()).add(entry.id)
        if entry.signature is not None:
            self._lsh.insert(entry.id, lean(entry.signature))
        if entry.vector is not None:
            for term in entry.vector.top:
                self._postings.setdefault(term, set()).add(entry.id)
