"""Related coverage: the articles most like one article, its own story first.

Similarity is the same TF-IDF cosine over folded syllables and pairs that groups same-event
coverage (`search.index.stories.text`), weighed by the index's document frequencies. Candidates
come from the index's postings of the article's strongest terms, scored like a cosine on those
terms alone (length-normalised); the best of them are then scored exactly from their stored
text. Comparing every article exactly would read the whole archive for each request.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search.index.engine import readers
from search.index.stories.text import Vector, Vocabulary
from search.index.stories.update import IndexStatistics
from search.searching.evaluate import top
from search.searching.stories import StoryTable
from search.text.analysis import PAIR_JOINER

#: Most related articles one request may ask for.
MAX_RELATED = 50
#: Terms of the article that look up candidates.
QUERY_TERMS = 50
#: Candidates scored exactly, at least; more for a longer list.
CANDIDATES = 60


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


def related(searcher: Searcher, table: StoryTable, article_id: str, limit: int = 10) -> list[Related] | None:
    """Up to `limit` articles most like `article_id`, its story's articles first, then by
    cosine; None when there is no such article."""
    docnum = searcher.document_number(id=article_id)
    if docnum is None:
        return None
    reader = searcher.reader()
    # The commit's document frequencies are kept with its stories: looking them up is most of
    # a request's work, and the same terms come back request after request. A vocabulary (term
    # numbers) is per request: it is not safe to share between threads.
    vocabulary = Vocabulary(table.cached("statistics", lambda: IndexStatistics(reader)))
    fields = searcher.stored_fields(docnum)
    mine = vocabulary.vector(fields.get("title", ""), fields.get("body", ""))
    story = table.story_of(article_id)
    mates = [d for d in table.member_docs(story) if d != docnum]
    chosen = set(mates) | set(_candidates(reader, table, vocabulary, mine, docnum, max(CANDIDATES, 3 * limit)))
    found = []
    for other in chosen:
        stored = searcher.stored_fields(other)
        score = mine.cosine(vocabulary.vector(stored.get("title", ""), stored.get("body", "")))
        found.append(
            Related(
                stored["id"], stored.get("title", ""), stored.get("date"), stored.get("source"), score, other in mates
            )
        )
    found.sort(key=lambda r: (not r.same_story, -r.score, r.id))
    return found[:limit]


def _candidates(
    reader: IndexReader, table: StoryTable, vocabulary: Vocabulary, mine: Vector, docnum: int, count: int
) -> list[int]:
    strongest = np.argsort(-mine.weights, kind="stable")[:QUERY_TERMS]
    n = max(reader.doc_count(), 1)
    scores = np.zeros(reader.doc_count_all(), dtype=np.float64)
    for i in strongest.tolist():
        term = vocabulary.names[int(mine.terms[i])]
        field = "pairs" if PAIR_JOINER in term else "folded"
        ids, weights, _ = readers.postings(reader, field, term.encode("utf-8"), values=False)
        if len(ids):
            scores[ids] += mine.weights[i] * np.log(n / len(ids)) * (1 + np.log(np.maximum(weights, 1)))
    lengths = table.cached("lengths", lambda: readers.lengths(reader, "folded"))
    scores /= np.sqrt(np.maximum(lengths, 1))
    mask = (scores > 0) & table.cached("live", lambda: readers.live(reader))
    mask[docnum] = False
    return [int(d) for d in top(mask, scores, count)]
