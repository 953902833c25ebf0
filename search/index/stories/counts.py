"""The story terms of a whole set of articles as arrays over one numbering of the terms, and
their vectors weighed together: what a fresh build's grouping weighs its dated articles with.

Weighing needs each term's document frequency: with every article's terms counted first, each
distinct term of the set is looked up once, in one pass over each segment's term file, where
weighing by batches of articles looked up a common term once per batch and walked the term
files again each time.
"""

from __future__ import annotations

from functools import partial
from itertools import repeat

import numpy as np

from search.index.stories.text import DEFAULT, StoryParams, Vector, story_terms, unit_vector

#: Articles weighed together: large enough to spread numpy's cost per call, small enough that
#: their weights stay a few MB beside the vectors already made.
_CHUNK = 1000


class TermCounts:
    """Each article's term ids and counts, kept as two small arrays, not a Counter of strings."""

    def __init__(self, params: StoryParams = DEFAULT) -> None:
        self.params = params
        self.ids: dict[str, int] = {}
        #: The term of each id.
        self.names: list[str] = []
        self._terms: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []

    def add(self, title: str, body: str) -> None:
        counts = story_terms(title, body, self.params.title_weight)
        ids, names = self.ids, self.names
        found = np.fromiter(map(ids.get, counts, repeat(-1)), dtype=np.int64, count=len(counts))
        new = np.flatnonzero(found < 0).tolist()
        if new:
            terms = list(counts)
            for i in new:  # an article holds each of its terms once
                found[i] = ids[terms[i]] = len(names)
                names.append(terms[i])
        self._terms.append(found)
        self._counts.append(np.fromiter(counts.values(), dtype=np.int32, count=len(counts)))

    def vectors(self, frequencies: np.ndarray, documents: int) -> list[Vector]:
        """Each article's vector, as `Vocabulary.weigh` makes it from the same counts, weighed by
        `frequencies` (by id) among `documents`; the counts are given up as they are weighed."""
        n = max(documents, 1)
        top = self.params.candidate_terms
        names = self.names
        out: list[Vector] = []
        while self._terms:
            terms, self._terms = self._terms[:_CHUNK], self._terms[_CHUNK:]
            counts, self._counts = self._counts[:_CHUNK], self._counts[_CHUNK:]
            tf = np.concatenate(counts).astype(np.float64)
            df = np.clip(frequencies[np.concatenate(terms)], 1, n)
            weights = (1 + np.log(tf)) * np.log(n / df)
            ends = np.cumsum([len(t) for t in terms]).tolist()
            for ids, begin, end in zip(terms, [0, *ends[:-1]], ends):
                w = weights[begin:end]
                kept = ids[w > 0]
                out.append(unit_vector(kept, w[w > 0], partial(_name, names, kept), top))
        return out


def _name(names: list[str], term_ids: np.ndarray, i: int) -> str:
    return names[term_ids[i]]
