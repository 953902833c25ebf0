"""Scoring a parsed query over whole posting lists at once, for the searcher's hot path.

Whoosh walks a tree of matcher objects one posting at a time, and a page of our results took
three such walks (facets over every match, then the two tiers), so an
OR of common syllables cost seconds on the news archive. Here each term's postings are read a
block at a time, scored with the searcher's own BM25F statistics in numpy, and combined as
dense arrays over the document numbers: Or adds, And intersects and adds, AndMaybe adds the
optional part where the required part matched, AndNot removes. That is exactly how Whoosh's
matchers combine scores, so the scores are Whoosh's (a test compares them query by query);
`Unsupported` is raised for any other query or weighting, and the caller then asks Whoosh.

One `Evaluator` serves one searcher generation: the recently used terms and phrases (scored)
are kept until the index changes. The per-document arrays (deletions, lengths, facet columns)
come from a `SegmentArrays` the searcher keeps across generations, so a new generation only
computes the parts of the segments it added and concatenates the rest.

Postings, lengths and per-document columns come from `search.index.engine.readers`, which
decodes our codec's blocks with numpy (segments another codec wrote go through Whoosh's
matchers there).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Protocol

import numpy as np
from whoosh import query as wq
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from search.index.engine import readers, segments
from search.index.engine.codec.arrays import Unsupported
from search.index.engine.segments import SegmentArrays
from search.index.fields import CompactPositions
from search.searching import phrases, recency
from search.searching.scored import EMPTY, POSTING_BYTES, Lru, Postings, Scoring
from search.searching.timeline import DateTable

__all__ = ["CollectionStatistics", "Evaluator", "Match", "OutOfTime", "SCORED_BYTES", "Unsupported", "boosted", "top"]

#: Memory for the scored postings of terms and phrases kept per process between requests of
#: one commit (`Settings.scored_cache_mib`), counted at `POSTING_BYTES` a posting (less while a
#: term's weights wait in their stored width). Distinct queries keep meeting the same frequent
#: syllables and pairs: a list let go is joined from its segments and scored again, which costs
#: more than the memory it takes (`bench/results` has the measurement).
SCORED_BYTES = 256 << 20

#: Filter masks kept per generation.
_FILTERS_KEPT = 64


class OutOfTime(Exception):
    """The request's time budget ran out during an evaluation."""


class Match:
    """Dense: which documents match, and their scores (0 where they do not)."""

    __slots__ = ("mask", "scores")

    def __init__(self, mask: np.ndarray, scores: np.ndarray) -> None:
        self.mask, self.scores = mask, scores


class CollectionStatistics(Protocol):
    """What BM25 takes from the whole collection, for an evaluator over part of it (one shard
    of a set): the idf of a term and the average length of a field, as Whoosh's `BM25F`
    computes them from the counts of every shard. They must stay the same for the evaluator's
    lifetime: it caches scored postings."""

    def idf(self, fieldname: str, btext: bytes) -> float: ...

    def avg_field_length(self, fieldname: str) -> float: ...


class Evaluator:
    """Evaluates queries against one searcher (one index generation)."""

    def __init__(
        self,
        searcher: Searcher,
        cache_bytes: int = SCORED_BYTES,
        arrays: SegmentArrays | None = None,
        collection: CollectionStatistics | None = None,
    ) -> None:
        """`cache_bytes`: the memory for scored postings (0: one list at a time).
        `arrays`: per-segment parts kept from earlier generations (a fresh set if None).
        `collection`: the statistics to score with, when the searcher holds one shard of the
        collection; without it, the searcher's own."""
        if type(searcher.weighting) is not BM25F:
            raise Unsupported(f"weighting {type(searcher.weighting).__name__}")
        self.searcher = searcher
        self.collection = collection
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.reader = reader
        self.arrays = SegmentArrays() if arrays is None else arrays
        self.live = self.arrays.live(reader)
        self.has_deletions = not self.live.all()
        self._lengths: dict[str, np.ndarray] = {}
        self._norms: dict[str, tuple[float, np.ndarray]] = {}
        self._columns: dict[str, tuple[np.ndarray, list[str]]] = {}
        #: Scored postings of terms and phrases, the most recently used.
        self.cache = Lru(cache_bytes // POSTING_BYTES, self.size)
        self._filters: dict[str, np.ndarray] = {}
        self._sort_keys: dict[str, np.ndarray] = {}
        self._date_table: DateTable | None = None
        self._joint: dict[tuple[str, str], np.ndarray] = {}
        self._live_count: int | None = None

    # -- per-generation data ------------------------------------------------------------

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in `fieldname`, as Whoosh's scorer sees it (one byte)."""
        found = self._lengths.get(fieldname)
        if found is None:
            found = self._lengths[fieldname] = self.arrays.lengths(self.reader, fieldname)
        return found

    def column(self, fieldname: str) -> tuple[np.ndarray, list[str]]:
        """A sortable column as codes per document and the sorted distinct values they index,
        so that ordering by code is ordering by value."""
        found = self._columns.get(fieldname)
        if found is None:
            found = self._columns[fieldname] = self.arrays.codes(self.reader, fieldname)
        return found

    def sort_keys(self, sort: str, utc_offset: dt.timedelta) -> np.ndarray:
        """Per document, larger is newer: by "date" (then time; undated last) or by "updated"
        (see `search.searching.recency`)."""
        found = self._sort_keys.get(sort)
        if found is None:
            dates, times = self.column("date"), self.column("time")
            if sort == "date":
                found = recency.by_date(dates, times)
            else:
                found = recency.updated(dates, self.date_table(), times, self.column("indexed"), utc_offset)
            self._sort_keys[sort] = found
        return found

    def joint_codes(self, first: str, second: str) -> np.ndarray:
        """Per document, its codes in two columns as one number (`first`'s code times the
        count of `second`'s values, plus `second`'s code): both columns' counts over a set of
        documents from one gather and one count instead of two of each."""
        found = self._joint.get((first, second))
        if found is None:
            (a, _), (b, values) = self.column(first), self.column(second)
            found = self._joint[(first, second)] = a * len(values) + b
        return found

    def id_order(self) -> np.ndarray:
        """Per document, the place of its article id among the ids: equal keys are ranked by
        id, which orders them the same in one index and across the shards of a set (document
        numbers depend on how the index was built)."""
        return self.column("id")[0]

    def date_table(self) -> DateTable:
        """The first day and precision of each distinct date, for timelines."""
        if self._date_table is None:
            self._date_table = DateTable.of(self.column("date")[1])
        return self._date_table

    def docs(self, q: wq.Query) -> np.ndarray:
        """A mask of the documents a filter query matches (Whoosh evaluates filters; the last
        few are kept, since readers filter by the same outlets and periods again and again)."""
        key = repr(q)
        mask = self._filters.get(key)
        if mask is None:
            mask = np.zeros(self.size, dtype=bool)
            mask[list(self.searcher.docs_for_query(q))] = True
            mask &= self.live
            if len(self._filters) >= _FILTERS_KEPT:
                self._filters.clear()
            self._filters[key] = mask
        return mask

    # -- postings -------------------------------------------------------------------------

    def _norm(self, fieldname: str) -> tuple[float, np.ndarray]:
        """BM25's length normalisation per document, `k1 * ((1 - b) + b * length / avgfl)`, and
        `k1 + 1`: the part of every term's score that depends on the document alone, computed
        once per field instead of once per term."""
        found = self._norms.get(fieldname)
        if found is None:
            weighting = self.searcher.weighting
            b = readers.bm25_b(weighting, fieldname)
            k1 = weighting.K1
            if self.collection is not None:
                avgfl = self.collection.avg_field_length(fieldname)
            else:
                avgfl = self.searcher.avg_field_length(fieldname) or 1
            found = self._norms[fieldname] = (k1 + 1, k1 * ((1 - b) + b * self.lengths(fieldname) / avgfl))
        return found

    def _scoring(self, fieldname: str, btext: bytes, frequency: int) -> Scoring:
        """What BM25F takes for one term (see `scored.Postings`), with Whoosh's idf
        (`WeightingModel.idf`: over every document, deleted ones included: the count of the
        postings, which hold them) and the searcher's average length, or the collection's for
        one shard of a set."""
        if self.collection is not None:
            idf = self.collection.idf(fieldname, btext)
        else:
            idf = math.log(self.size / (frequency + 1)) + 1
        k1_plus_1, norm = self._norm(fieldname)
        return idf, k1_plus_1, norm

    def term(self, fieldname: str, text: str) -> Postings:
        def make() -> Postings:
            btext = self.searcher.schema[fieldname].to_bytes(text)
            ids, weights = segments.postings(self.reader, fieldname, btext, self.arrays.postings, narrow=True)
            if not len(ids):
                return EMPTY
            return Postings(ids, weights=weights, scoring=self._scoring(fieldname, btext, len(ids)))

        return self.cache.get(("term", fieldname, text), make)

    def doc_count(self) -> int:
        """Articles in the index, deleted ones left out (counted once: every query asks)."""
        if self._live_count is None:
            self._live_count = int(self.live.sum())
        return self._live_count

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """Articles that contain the term, deleted ones left out: Whoosh's own count keeps
        deleted articles until their segment is merged, so a word's share of the archive (see
        `ParsedQuery.mark_common`) would depend on the index's history, not on its articles.
        Without deletions the count is that of the term's postings when the evaluator keeps
        them (one per article), else the term file's: a word's postings are not read for it (a
        common word of a long query is never scored, and is the longest to read)."""
        if not self.has_deletions:
            kept = self.cache.peek(("term", fieldname, text))  # a term's postings: one per article
            if kept is not None:
                return len(kept.ids)
            fieldobj = self.searcher.schema[fieldname]
            return self.reader.doc_frequency(fieldname, fieldobj.to_bytes(text))
        ids = self.term(fieldname, text).ids
        return int(np.count_nonzero(self.live[ids]))

    def phrase(self, fieldname: str, words: tuple[str, ...]) -> Postings:
        """Documents where the words stand next to each other in order; the score is the sum of
        the words' term scores, as Whoosh's phrase matcher (an intersection) gives it."""

        def make() -> Postings:
            fieldobj = self.searcher.schema[fieldname]
            if not isinstance(fieldobj.format, CompactPositions) or fieldobj.format.field_boost != 1.0:
                raise Unsupported(f"positions of {fieldname!r}")  # weights must be the frequencies
            terms = [self.term(fieldname, word) for word in words]
            ids = phrases.matching(
                self.reader, fieldname, words, [p.ids for p in terms], self.arrays.postings, self.arrays.positions
            )
            if not len(ids):
                return EMPTY
            scores = np.zeros(len(ids), dtype=np.float64)
            for postings in terms:
                scores += postings.scores_at(np.searchsorted(postings.ids, ids))
            return Postings(ids.astype(np.int64, copy=False), scores)

        return self.cache.get(("phrase", fieldname, words), make)

    # -- queries --------------------------------------------------------------------------

    def _dense(self, postings: Postings, boost: float) -> Match:
        mask = np.zeros(self.size, dtype=bool)
        mask[postings.ids] = True
        scores = np.zeros(self.size, dtype=np.float64)
        scores[postings.ids] = postings.scores * boost if boost != 1.0 else postings.scores
        return Match(mask, scores)

    def evaluate(
        self, q: wq.Query, memo: dict[int, Match] | None = None, check: Callable[[], None] | None = None
    ) -> Match:
        """The documents `q` matches and their scores; deleted documents never match.

        `memo` (by query object identity) lets the tiers of one request share sub-results;
        `check` is called before each node and may raise `OutOfTime`.
        """
        memo = {} if memo is None else memo
        found = memo.get(id(q))
        if found is None:
            if check is not None:
                check()
            found = self._evaluate(q, memo, check)
            if self.has_deletions:
                found.mask &= self.live
            memo[id(q)] = found
        return found

    def _evaluate(self, q: wq.Query, memo: dict[int, Match], check: Callable[[], None] | None) -> Match:
        kind = type(q)
        if kind is wq.Term:
            return self._dense(self.term(q.fieldname, q.text), q.boost)
        if kind is wq.Phrase:
            if q.slop != 1 or q.char_ranges:
                raise Unsupported("phrase with slop")
            if len(q.words) == 1:
                return self._dense(self.term(q.fieldname, q.words[0]), q.boost)
            return self._dense(self.phrase(q.fieldname, tuple(q.words)), q.boost)
        if kind is wq.Or:
            if q.minmatch or q.scale:
                raise Unsupported("Or with minmatch or scale")
            mask = np.zeros(self.size, dtype=bool)
            scores = np.zeros(self.size, dtype=np.float64)
            self._add(q, 1.0, mask, scores, memo, check)
            return Match(mask, boosted(scores, q.boost))
        if kind is wq.And:
            subs = [self.evaluate(sub, memo, check) for sub in q.subqueries]
            if not subs:
                return Match(np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64))
            mask = subs[0].mask.copy()
            scores = subs[0].scores.copy()
            for sub in subs[1:]:
                mask &= sub.mask
                scores += sub.scores
            return Match(mask, boosted(np.where(mask, scores, 0.0), q.boost))
        if kind is wq.AndMaybe:
            a, b = self.evaluate(q.a, memo, check), self.evaluate(q.b, memo, check)
            return Match(a.mask.copy(), boosted(np.where(a.mask, a.scores + b.scores, 0.0), q.boost))
        if kind is wq.AndNot:
            a, b = self.evaluate(q.a, memo, check), self.evaluate(q.b, memo, check)
            mask = a.mask & ~b.mask
            return Match(mask, boosted(np.where(mask, a.scores, 0.0), q.boost))
        raise Unsupported(kind.__name__)

    def leaf(self, q: wq.Query) -> Postings | None:
        """The postings of a term or an exact phrase (None for any other query)."""
        kind = type(q)
        if kind is wq.Term:
            return self.term(q.fieldname, q.text)
        if kind is wq.Phrase:
            if q.slop != 1 or q.char_ranges:
                raise Unsupported("phrase with slop")
            if len(q.words) == 1:
                return self.term(q.fieldname, q.words[0])
            return self.phrase(q.fieldname, tuple(q.words))
        return None

    def _add(
        self,
        q: wq.Or,
        factor: float,
        mask: np.ndarray,
        scores: np.ndarray,
        memo: dict[int, Match],
        check: Callable[[], None] | None,
    ) -> None:
        """Adds an Or's matches and scores (times `factor`) into dense arrays: an Or's score is
        the sum of its matching parts' scores, so the postings of its terms, phrases and nested
        Ors go straight into one pair of arrays, and only other parts are evaluated whole."""
        for sub in q.subqueries:
            if check is not None:
                check()
            weight = factor * sub.boost
            if type(sub) is wq.Or and not (sub.minmatch or sub.scale):
                self._add(sub, weight, mask, scores, memo, check)
                continue
            postings = self.leaf(sub)
            if postings is not None:
                mask[postings.ids] = True
                np.add.at(scores, postings.ids, postings.scores * weight if weight != 1.0 else postings.scores)
                continue
            found = self.evaluate(sub, memo, check)
            mask |= found.mask
            scores += found.scores * factor if factor != 1.0 else found.scores


def boosted(scores: np.ndarray, boost: float) -> np.ndarray:
    return scores * boost if boost != 1.0 else scores


def top(mask: np.ndarray, keys: np.ndarray, count: int, order: Callable[[], np.ndarray] | None = None) -> np.ndarray:
    """Up to `count` document numbers where `mask` is set, by descending key and then by
    ascending `order()` (a rank per document, asked for only when keys tie; without it, the
    document number), so equal keys always come in the same order."""
    docs = np.flatnonzero(mask)
    if count <= 0 or not len(docs):
        return docs[:0]
    return docs[best(docs, keys[docs], count, order)]


def best(docs: np.ndarray, values: np.ndarray, count: int, order: Callable[[], np.ndarray] | None = None) -> np.ndarray:
    """Where in `docs` (sorted, distinct document numbers) the `top` `count` of them stand, by
    descending `values` (their keys, in the same order) and then as `top` breaks ties: a tier
    ranked from its documents' keys alone, without an array over the index."""
    if count <= 0 or not len(docs):
        return np.zeros(0, dtype=np.int64)
    places = None
    if len(docs) > count:
        threshold = np.partition(values, len(docs) - count)[len(docs) - count]
        places = np.flatnonzero(values >= threshold)
        docs, values = docs[places], values[places]
    ranked = np.lexsort((docs, -values))
    if order is not None:
        first = values[ranked[: count + 1]]
        if np.any(first[1:] == first[:-1]):
            ranked = np.lexsort((order()[docs], -values))
    chosen = ranked[:count]
    return chosen if places is None else places[chosen]
