"""Article vectors kept for related coverage, for one commit.

A related request compares its article with a few dozen others by their TF-IDF vectors, and
making a vector from stored text is most of the request's work; the same articles come back
request after request (the articles of one topic are each other's candidates, and a page is
viewed more than once). So the vectors are kept by article id, the most recently used ones,
for the commit whose document frequencies weighed them: each commit's story table (or, at the
front of a sharded set, each commit's counts) makes its own `ArticleVectors`, so no vector is
served with another commit's weights.

Memory is bounded by one budget (`Settings.related_cache_mib`): the vectors' arrays, the least
recently used making room, and the vocabulary numbering their terms, which only grows, so it
is started again (with no vectors) once it fills half the budget. A request uses one vocabulary throughout
(`session`): vectors are compared by term ids, and ids of two vocabularies do not meet.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter

from search.index.stories.text import DEFAULT, StoryParams, TermStatistics, Vector, Vocabulary, story_terms
from search.searching.cache import ResultCache

#: Default budget of each process's kept vectors (`VNSEARCH_RELATED_CACHE_MIB`).
VECTORS_MIB = 64
#: Estimated memory of one numbered term: its dictionary entry, id and list slot (the string is
#: the one the statistics keep with its count).
TERM_BYTES = 80
#: Estimated memory of one kept vector besides its arrays.
ENTRY_BYTES = 300


def footprint(vector: Vector) -> int:
    """About how much memory keeping `vector` takes."""
    return ENTRY_BYTES + vector.terms.nbytes + vector.weights.nbytes


class ArticleVectors:
    """The most recently used vectors of one commit's articles, weighed by `statistics`, in
    about `max_bytes` (0 keeps none). They are kept in a `ResultCache` whose generation is the
    number of the vocabulary that numbered them: a new vocabulary empties it, and a vector of
    an older one is not kept."""

    def __init__(self, statistics: TermStatistics, max_bytes: int, params: StoryParams = DEFAULT) -> None:
        if max_bytes < 0:
            raise ValueError("the vector cache's bound cannot be negative")
        self.statistics, self.max_bytes, self.params = statistics, max_bytes, params
        self._lock = threading.Lock()
        self._vocabulary = Vocabulary(statistics, params)
        self._number = 0
        self._kept: ResultCache[Vector] = ResultCache(sys.maxsize, max_bytes)

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def hits(self) -> int:
        return self._kept.hits

    @property
    def misses(self) -> int:
        return self._kept.misses

    @property
    def size(self) -> int:
        """Estimated bytes held: the kept vectors and the vocabulary."""
        return self._kept.size + TERM_BYTES * len(self._vocabulary.names)

    def session(self) -> VectorSession:
        """The vocabulary and vectors one request works with."""
        with self._lock:
            return VectorSession(self, self._vocabulary, self._number)

    def _get(self, number: int, article_id: str) -> Vector | None:
        return self._kept.get(number, article_id)

    def _put(self, number: int, article_id: str, vector: Vector) -> None:
        with self._lock:
            if number != self._number:
                return
            numbered = TERM_BYTES * len(self._vocabulary.names)
            if numbered > self.max_bytes // 2:
                self._number += 1
                self._vocabulary = Vocabulary(self.statistics, self.params)
                self._kept.advance(self._number)
                return
            self._kept.max_bytes = self.max_bytes - numbered  # the vocabulary's share taken out
            self._kept.put(number, article_id, vector, footprint(vector))


class VectorSession:
    """One request's view of the kept vectors: one vocabulary for all its vectors."""

    def __init__(self, vectors: ArticleVectors, vocabulary: Vocabulary, number: int) -> None:
        self._vectors, self._number = vectors, number
        self.vocabulary = vocabulary

    def get(self, article_id: str) -> Vector | None:
        """The kept vector of an article, if there is one."""
        return self._vectors._get(self._number, article_id)

    def weigh(self, article_id: str, counts: Counter[str]) -> Vector:
        """The vector of an article's `story_terms` (their counts known to the statistics),
        kept for the next request."""
        vector = self.vocabulary.weigh(counts, top=False)
        self._vectors._put(self._number, article_id, vector)
        return vector

    def make(self, article_id: str, fields: dict) -> Vector:
        """The vector of an article from its stored fields, kept for the next request."""
        title, body = fields.get("title", ""), fields.get("body", "")
        return self.weigh(article_id, story_terms(title, body, self.vocabulary.params.title_weight))

    def vector(self, article_id: str, fields: dict) -> Vector:
        """The vector of an article (its stored fields), kept or made."""
        return self.get(article_id) or self.make(article_id, fields)
