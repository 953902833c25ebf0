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
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from search.index.engine import readers, segments
from search.index.engine.codec.arrays import Unsupported
from search.index.engine.segments import SegmentArrays
from search.index.fields import CompactPositions
from search.searching import recency
from search.searching.timeline import DateTable

__all__ = ["CACHE_POSTINGS", "Evaluator", "Match", "OutOfTime", "Unsupported", "top"]

#: Postings (terms and phrases, scored) kept per process between requests: 12 bytes each.
CACHE_POSTINGS = 4_000_000

#: Filter masks kept per generation.
_FILTERS_KEPT = 64


class OutOfTime(Exception):
    """The request's time budget ran out during an evaluation."""


class _Postings:
    """Sorted document numbers (over the whole index) with their scores: one term or phrase."""

    __slots__ = ("ids", "scores")

    def __init__(self, ids: np.ndarray, scores: np.ndarray) -> None:
        self.ids, self.scores = ids, scores


_EMPTY = _Postings(np.zeros(0, np.int64), np.zeros(0, np.float64))


class Match:
    """Dense: which documents match, and their scores (0 where they do not)."""

    __slots__ = ("mask", "scores")

    def __init__(self, mask: np.ndarray, scores: np.ndarray) -> None:
        self.mask, self.scores = mask, scores


class _Lru:
    """Least recently used entries, bounded by the total number of postings they hold."""

    def __init__(self, budget: int) -> None:
        self.budget, self.size = budget, 0
        self._items: OrderedDict[Hashable, _Postings] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], _Postings]) -> _Postings:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            return found
        value = make()
        self._items[key] = value
        self.size += len(value.ids)
        while self.size > self.budget and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self.size -= len(old.ids)
        return value


class Evaluator:
    """Evaluates queries against one searcher (one index generation)."""

    def __init__(
        self, searcher: Searcher, cache_postings: int = CACHE_POSTINGS, arrays: SegmentArrays | None = None
    ) -> None:
        """`arrays`: per-segment parts kept from earlier generations (a fresh set if None)."""
        if type(searcher.weighting) is not BM25F:
            raise Unsupported(f"weighting {type(searcher.weighting).__name__}")
        self.searcher = searcher
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.reader = reader
        self.arrays = SegmentArrays() if arrays is None else arrays
        self.live = self.arrays.live(reader)
        self.has_deletions = not self.live.all()
        self._lengths: dict[str, np.ndarray] = {}
        self._columns: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._cache = _Lru(cache_postings)
        self._filters: dict[str, np.ndarray] = {}
        self._sort_keys: dict[str, np.ndarray] = {}
        self._date_table: DateTable | None = None

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

    def _score(self, fieldname: str, btext: bytes, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """BM25F exactly as `whoosh.scoring.bm25`, with the searcher's idf and average length."""
        scorer = self.searcher.weighting.scorer(self.searcher, fieldname, btext)
        idf, avgfl, b, k1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        lengths = self.lengths(fieldname)[ids]
        return idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / avgfl)))

    def term(self, fieldname: str, text: str) -> _Postings:
        def make() -> _Postings:
            btext = self.searcher.schema[fieldname].to_bytes(text)
            ids, weights = segments.postings(self.reader, fieldname, btext, self.arrays.postings)
            if not len(ids):
                return _EMPTY
            return _Postings(ids, self._score(fieldname, btext, ids, weights))

        return self._cache.get(("term", fieldname, text), make)

    def doc_count(self) -> int:
        """Articles in the index, deleted ones left out."""
        return int(self.live.sum())

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """Articles that contain the term, deleted ones left out: Whoosh's own count keeps
        deleted articles until their segment is merged, so a word's share of the archive (see
        `ParsedQuery.mark_common`) would depend on the index's history, not on its articles."""
        ids = self.term(fieldname, text).ids
        return int(np.count_nonzero(self.live[ids])) if self.has_deletions else len(ids)

    def phrase(self, fieldname: str, words: tuple[str, ...]) -> _Postings:
        """Documents where the words stand next to each other in order; the score is the sum of
        the words' term scores, as Whoosh's phrase matcher (an intersection) gives it."""

        def make() -> _Postings:
            fieldobj = self.searcher.schema[fieldname]
            if not isinstance(fieldobj.format, CompactPositions) or fieldobj.format.field_boost != 1.0:
                raise Unsupported(f"positions of {fieldname!r}")  # weights must be the frequencies
            terms = [self.term(fieldname, word) for word in words]
            common = terms[0].ids
            for postings in terms[1:]:
                common = np.intersect1d(common, postings.ids, assume_unique=True)
            if not len(common):
                return _EMPTY
            # Where the phrase stands in a segment never changes (deleted documents are masked
            # later), so each segment's answer is kept across generations.
            found = []
            for leaf, offset, segid, _ in readers.leaves(self.reader):
                within = common[(common >= offset) & (common < offset + leaf.doc_count_all())] - offset
                if not len(within):
                    continue
                key = (segid, "phrase", fieldname, words)
                cached = self.arrays.postings.get(key) if segid is not None else None
                if cached is None:
                    cached = (_phrase_docs(leaf, fieldobj, fieldname, words, within).astype(np.int32), _NO_SCORES)
                    if segid is not None:
                        self.arrays.postings.put(key, cached)
                if len(cached[0]):
                    found.append(cached[0].astype(np.int64) + offset)
            if not found:
                return _EMPTY
            common = found[0] if len(found) == 1 else np.concatenate(found)
            ids = common
            scores = np.zeros(len(ids), dtype=np.float64)
            for postings in terms:
                scores += postings.scores[np.searchsorted(postings.ids, ids)]
            return _Postings(ids, scores)

        return self._cache.get(("phrase", fieldname, words), make)

    # -- queries --------------------------------------------------------------------------

    def _dense(self, postings: _Postings, boost: float) -> Match:
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
        if kind is wq.Or or kind is wq.And:
            if kind is wq.Or and (q.minmatch or q.scale):
                raise Unsupported("Or with minmatch or scale")
            subs = [self.evaluate(sub, memo, check) for sub in q.subqueries]
            if not subs:
                return Match(np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64))
            mask = subs[0].mask.copy()
            scores = subs[0].scores.copy()
            for sub in subs[1:]:
                if kind is wq.Or:
                    mask |= sub.mask
                else:
                    mask &= sub.mask
                scores += sub.scores
            return Match(mask, _boosted(np.where(mask, scores, 0.0), q.boost))
        if kind is wq.AndMaybe:
            a, b = self.evaluate(q.a, memo, check), self.evaluate(q.b, memo, check)
            return Match(a.mask.copy(), _boosted(np.where(a.mask, a.scores + b.scores, 0.0), q.boost))
        if kind is wq.AndNot:
            a, b = self.evaluate(q.a, memo, check), self.evaluate(q.b, memo, check)
            mask = a.mask & ~b.mask
            return Match(mask, _boosted(np.where(mask, a.scores, 0.0), q.boost))
        raise Unsupported(kind.__name__)


#: Positions are below this in any document: (document, position) pairs as one int64 key.
_POSITION_STRIDE = 1 << 32
_NO_SCORES = np.zeros(0, np.float64)


def _phrase_docs(
    reader: IndexReader, fieldobj: Any, fieldname: str, words: tuple[str, ...], common: np.ndarray
) -> np.ndarray:
    """The documents among `common` (sorted, holding every word) where the words stand next to
    each other in order. Each occurrence is keyed (document, position - its place in the
    phrase): a phrase starts where every word has the same key."""
    keys = None
    for shift, word in enumerate(words):
        ids, weights, positions = readers.postings(
            reader, fieldname, fieldobj.to_bytes(word), values=True, within=common
        )
        docs = np.repeat(ids, weights.astype(np.int64))
        keep = np.isin(docs, common) & (positions >= shift)
        found = docs[keep] * _POSITION_STRIDE + (positions[keep] - shift)
        keys = found if keys is None else np.intersect1d(keys, found, assume_unique=True)
        if not len(keys):
            return keys
        common = np.unique(keys // _POSITION_STRIDE)
    return common


def _boosted(scores: np.ndarray, boost: float) -> np.ndarray:
    return scores * boost if boost != 1.0 else scores


def top(mask: np.ndarray, keys: np.ndarray, count: int) -> np.ndarray:
    """Up to `count` document numbers where `mask` is set, by descending key and then by
    ascending document number (so equal keys always come in the same order)."""
    docs = np.flatnonzero(mask)
    if count <= 0 or not len(docs):
        return docs[:0]
    values = keys[docs]
    if len(docs) > count:
        threshold = np.partition(values, len(docs) - count)[len(docs) - count]
        chosen = values >= threshold
        docs, values = docs[chosen], values[chosen]
    order = np.lexsort((docs, -values))
    return docs[order[:count]]
