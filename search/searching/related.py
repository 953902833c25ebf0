"""Related coverage: the articles most like one article, its own story first.

Similarity is the same TF-IDF cosine over folded syllables and pairs that groups same-event
coverage (`search.index.stories.text`), weighed by the index's document frequencies. Candidates
come from the index's postings of the article's strongest terms, scored like a cosine on those
terms alone (length-normalised); the best of them are then scored exactly, by their vectors
kept for the commit (`search.searching.vectors`) or made from their stored text. Comparing
every article exactly would read the whole archive for each request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search.index.engine import readers, segments
from search.index.engine.segments import PostingsCache
from search.index.stories.text import Vector, Vocabulary
from search.index.stories.update import IndexStatistics
from search.searching.evaluate import top
from search.searching.stories import StoryTable
from search.searching.vectors import VECTORS_MIB, ArticleVectors
from search.text.analysis import PAIR_JOINER

#: Most related articles one request may ask for.
MAX_RELATED = 50
#: Terms of the article that look up candidates.
QUERY_TERMS = 50
#: Candidates scored exactly, at least; more for a longer list.
CANDIDATES = 30


@dataclass(frozen=True)
class Related:
    id: str
    title: str
    date: str | None
    source: str | None
    score: float
    same_story: bool

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "date": self.date,
            "source": self.source,
            "score": round(self.score, 4),
            "same_story": self.same_story,
        }


def related(
    searcher: Searcher,
    table: StoryTable,
    postings: PostingsCache,
    article_id: str,
    limit: int = 10,
    cache_bytes: int = VECTORS_MIB << 20,
) -> list[Related] | None:
    """Up to `limit` articles most like `article_id`, its story's articles first, then by
    cosine; None when there is no such article. The commit's vectors are kept in about
    `cache_bytes` (`search.searching.vectors`), postings in `postings`."""
    docnum = searcher.document_number(id=article_id)
    if docnum is None:
        return None
    reader = searcher.reader()
    # The commit's document frequencies are kept with its stories: looking them up is much of
    # a request's work, and the same terms come back request after request; so are the
    # vectors made with them.
    statistics = table.cached("statistics", lambda: IndexStatistics(reader))
    session = table.cached("vectors", lambda: ArticleVectors(statistics, cache_bytes)).session()
    mine = session.get(article_id) or session.make(article_id, searcher.stored_fields(docnum))
    mates = table.member_set(table.story_of(article_id)) - {docnum}
    terms = strongest(session.vocabulary, mine)
    found = candidates(reader, table.cached, postings, terms, reader.doc_count(), None, docnum, candidate_count(limit))
    chosen = sorted(mates | {d for d, _ in found})
    stored = [searcher.stored_fields(other) for other in chosen]
    same_story = {fields["id"] for fields, d in zip(stored, chosen) if d in mates}
    vectors = [session.vector(fields["id"], fields) for fields in stored]
    return ranked(mine, stored, vectors, same_story, limit)


def candidate_count(limit: int) -> int:
    return max(CANDIDATES, 3 * limit)


def strongest(vocabulary: Vocabulary, mine: Vector) -> list[tuple[str, float]]:
    """The article's terms that look up candidates, with their weights in it: equal weights
    by the term itself, so that which terms these are does not depend on how they were numbered."""
    weights, names = mine.weights, vocabulary.names
    within = np.arange(len(weights))
    if len(weights) > QUERY_TERMS:
        within = np.flatnonzero(weights >= np.partition(weights, len(weights) - QUERY_TERMS)[-QUERY_TERMS])
    terms = [(names[int(mine.terms[i])], float(weights[i])) for i in within.tolist()]
    return sorted(terms, key=lambda t: (-t[1], t[0]))[:QUERY_TERMS]


def ranked(mine: Vector, stored: list[dict], vectors: list[Vector], mates: set[str], limit: int) -> list[Related]:
    """The candidates (their stored fields and vectors, of one vocabulary with `mine`) scored
    exactly: the story's first, then by cosine."""
    found = [
        Related(
            fields["id"],
            fields.get("title", ""),
            fields.get("date"),
            fields.get("source"),
            mine.cosine(vector),
            fields["id"] in mates,
        )
        for fields, vector in zip(stored, vectors)
    ]
    found.sort(key=lambda r: (not r.same_story, -r.score, r.id))
    return found[:limit]


def candidates(
    reader: IndexReader,
    cached: Callable[[str, Callable[[], Any]], Any],
    postings: PostingsCache,
    terms: list[tuple[str, float]],
    documents: int,
    frequencies: list[int] | None,
    leave_out: int | None,
    count: int,
) -> list[tuple[int, float]]:
    """The `count` best (document number, score) of `reader` for the weighted `terms`, each
    weighed by its idf over `documents` articles: with the reader's own document frequencies,
    or the set's (`frequencies`, for a shard). Equal scores (copies) by article id, as a set
    merges its shards' candidates. `cached` keeps per-document arrays of the commit; the
    terms' postings are the process's, kept segment by segment with the searches'."""
    n = max(documents, 1)
    scores = np.zeros(reader.doc_count_all(), dtype=np.float64)
    for t, (term, weight) in enumerate(terms):
        field = "pairs" if PAIR_JOINER in term else "folded"
        ids, weights = segments.postings(reader, field, term.encode("utf-8"), postings)
        if len(ids):
            df = len(ids) if frequencies is None else frequencies[t]
            scores[ids] += weight * np.log(n / df) * (1 + np.log(np.maximum(weights, 1)))
    lengths = cached("lengths", lambda: readers.lengths(reader, "folded"))
    scores /= np.sqrt(np.maximum(lengths, 1))
    mask = (scores > 0) & cached("live", lambda: readers.live(reader))
    if leave_out is not None:
        mask[leave_out] = False
    order = lambda: cached("id order", lambda: readers.codes(readers.column(reader, "id"))[0])  # noqa: E731
    return [(int(d), float(scores[d])) for d in top(mask, scores, count, order)]
