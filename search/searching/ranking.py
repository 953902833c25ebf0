"""One page of ranked results with its total and facets, from a parsed query and a request.

The evaluator (`search.searching.evaluate`) does it in one pass over the posting lists; queries
it does not take go through Whoosh's own searches, which give the same answers more slowly.
Articles matching every word come first (the first tier), then the rest (see
`ParsedQuery.tiered`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh import sorting
from whoosh.query import And, DateRange, Query, Term
from whoosh.searching import Results, Searcher

from search.index.engine import readers
from search.query.parse import ParsedQuery
from search.searching import recency, sparse, stories
from search.searching.budget import Budget
from search.searching.evaluate import Evaluator, OutOfTime, best
from search.searching.phrases import members
from search.searching.results import SearchRequest
from search.searching.timeline import DateTable, Timeline, timeline


def filter_query(request: SearchRequest) -> Query | None:
    parts: list[Query] = []
    if request.date_from or request.date_to:
        start = dt.datetime.combine(request.date_from, dt.time.min) if request.date_from else None
        end = dt.datetime.combine(request.date_to, dt.time.max) if request.date_to else None
        parts.append(DateRange("day", start, end))
    if request.source:
        parts.append(Term("source", request.source))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


def _count_facet(name: str) -> sorting.FieldFacet:
    return sorting.FieldFacet(name, maptype=sorting.Count)


def _counts(results: Results, name: str) -> list[tuple[str, int]]:
    """Facet counts, leaving out the articles that lack the field."""
    return [(key, count) for key, count in results.groups(name).items() if key]


#: (document number, score) for each hit of a page, in order.
Page = list[tuple[int, float]]
#: Facet name -> (value, count) pairs, values the articles lack left out.
FacetCounts = dict[str, list[tuple[str, int]]]


@dataclass
class Counted:
    """One page of a search and what is counted over all its matches."""

    total: int
    facets: FacetCounts
    page: Page
    timeline: Timeline | None = None
    #: Matches of the first tier (the page's first entries up to that many are of it), and
    #: every match: what a shard of a set hands on to be merged with the other shards'.
    first: int = 0
    matching: np.ndarray | None = None
    #: How many stories the matches are in (None without a story table).
    stories: int | None = None
    #: Of a window collapsed by story, how many entries (the first ones) are of the first tier.
    shown_first: int | None = None


EMPTY = Counted(0, {"source": [], "year": []}, [])


def deadline(budget: Budget) -> Callable[[], None] | None:
    """A check that raises `OutOfTime` once the budget is spent (None without a budget)."""
    deadline = budget.deadline
    if deadline is None:
        return None

    def check() -> None:
        if budget.clock() >= deadline:
            raise OutOfTime

    return check


def evaluated_page(
    evaluator: Evaluator,
    parsed: ParsedQuery,
    request: SearchRequest,
    filter_q: Query | None,
    utc_offset: dt.timedelta,
    check: Callable[[], None] | None = None,
    story_codes: np.ndarray | None = None,
    count_stories: Callable[[np.ndarray], int] | None = None,
) -> Counted:
    """Total, facets, timeline and the requested window, from one evaluation of each tier: the
    facets, the timeline and the total count the same documents the second tier ranks. With
    `story_codes` and `request.collapse`, the window is one of stories (`search.searching.stories`);
    with `count_stories` (a story table's count), the matches' stories are counted.

    What every match needs (the total, the facets, which tier it is in) are masks; scores are
    computed for the documents a ranking needs them for: the first tier's (most pages are
    filled by it) and the second's only when the window reaches it, or just the window's
    documents when it is sorted by date."""
    evaluation = sparse.Evaluation(evaluator, check)
    any_word = parsed.any_word()
    everything = evaluation.mask(any_word)
    matching = everything if filter_q is None else everything & evaluator.docs(filter_q)
    matched = np.flatnonzero(matching)  # read by number: a boolean index is slower, twice over
    first_q = parsed.all_words() if parsed.tiered else any_word
    first_docs = matched
    if parsed.tiered:
        first_docs = evaluation.docs(first_q)
        first_docs = first_docs[matching[first_docs]]
    skipped = len(first_docs)
    start = (request.page - 1) * request.per_page
    end = start + request.per_page
    order = evaluator.id_order
    relevance = request.sort == "relevance"

    def rest_docs() -> np.ndarray:
        """The second tier: the matches less the first tier's (all of which are matches)."""
        kept = np.ones(len(matched), dtype=bool)
        kept[np.searchsorted(matched, first_docs)] = False
        return matched[kept]

    shown_first = None
    queries = (first_q, any_word) if parsed.tiered else (first_q,)
    tiers = _tiers(evaluation, queries, first_docs, rest_docs, request.sort, utc_offset)
    if story_codes is not None and request.collapse:  # the window walks both tiers itself
        window = stories.collapsed_window(tiers, story_codes, start, end, check, order)
        docs = np.asarray(window, dtype=np.int64)
        in_first = members(docs, first_docs)
        shown_first = int(in_first.sum())
        scores = np.zeros(len(docs), dtype=np.float64)
        for (tier_docs, tier_keys), q, part in zip(tiers, queries, (in_first, ~in_first)):
            if not part.any():
                continue
            at = docs[part]  # a relevance window's scores: its tiers' keys at its documents
            scores[part] = tier_keys()[np.searchsorted(tier_docs(), at)] if relevance else evaluation.scores_at(q, at)
    else:
        # Each tier ranked by its documents' keys; a page's scores are the first tier's keys
        # (or the second's) at its documents: the numbers `scores_at` gives them.
        # The second tier is made only when the first does not fill the window.
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for (tier_docs, tier_keys), q, before in zip(tiers, queries, (0, skipped)):
            if before and sum(len(d) for d, _ in parts) >= end - start:
                break
            tier, keys = tier_docs(), tier_keys()
            places = best(tier, keys, end - before, order)[max(0, start - before) :]
            docs = tier[places]
            parts.append((docs, keys[places] if relevance else evaluation.scores_at(q, docs)))
        docs = np.concatenate([d for d, _ in parts]) if len(parts) > 1 else parts[0][0]
        scores = np.concatenate([s for _, s in parts]) if len(parts) > 1 else parts[0][1]
        window = docs.tolist()
    page = [(int(d), float(s)) for d, s in zip(window, scores.tolist())]
    joint = evaluator.joint_codes("source", "year")
    (_, sources), (_, years) = evaluator.column("source"), evaluator.column("year")
    counts = np.bincount(joint[matched], minlength=len(sources) * len(years)).reshape(len(sources), len(years))
    facets: FacetCounts = {}
    for name, values, totals in (("source", sources, counts.sum(axis=1)), ("year", years, counts.sum(axis=0))):
        facets[name] = [(values[code], int(n)) for code, n in enumerate(totals.tolist()) if n and values[code]]
    found = None
    if request.histogram:
        found = timeline(
            evaluator.column("date")[0],
            evaluator.date_table(),
            matching,
            request.histogram,
            request.date_from,
            request.date_to,
        )
    told = None if count_stories is None else count_stories(matching)
    return Counted(len(matched), facets, page, found, skipped, matching, told, shown_first)


def _tiers(
    evaluation: sparse.Evaluation,
    queries: tuple[wq.Query, ...],
    first_docs: np.ndarray,
    rest_docs: Callable[[], np.ndarray],
    sort: str,
    utc_offset: dt.timedelta,
) -> list[stories.Tier]:
    """The tiers as their documents with the ranking keys at them, each computed when first
    asked for (a window the first tier fills never makes the second): keys at a tier's
    documents alone, with no array over the index, for both kinds of window."""
    evaluator = evaluation.evaluator

    def keys(q: wq.Query, docs: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
        @functools.cache
        def get() -> np.ndarray:
            if sort != "relevance":
                return evaluator.sort_keys(sort, utc_offset)[docs()]
            return evaluation.scores_at(q, docs())

        return get

    rest = functools.cache(rest_docs)
    found: list[stories.Tier] = [(lambda: first_docs, keys(queries[0], lambda: first_docs))]
    if len(queries) > 1:
        found.append((rest, keys(queries[1], rest)))
    return found


class _Newest(sorting.FacetType):
    """Newest first, undated last, by the per-document date codes (see `search.perdoc`).
    Whoosh's own reversed `FieldFacet` takes its values from the whole index's column, which
    leaves out segments without one: it fails on the first undated article of such a segment."""

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = codes

    def categorizer(self, global_searcher: Searcher) -> sorting.Categorizer:
        return _CodeOrder(self.codes)


class _CodeOrder(sorting.Categorizer):
    def __init__(self, codes: np.ndarray) -> None:
        self.codes, self.offset = codes, 0

    def set_searcher(self, segment_searcher: Searcher, docoffset: int) -> None:
        self.offset = docoffset

    def key_for(self, matcher: object, segment_docnum: int) -> int:
        return -int(self.codes[self.offset + segment_docnum])


def whoosh_page(
    searcher: Searcher,
    parsed: ParsedQuery,
    request: SearchRequest,
    filter_q: Query | None,
    budget: Budget,
    utc_offset: dt.timedelta,
    story_codes: np.ndarray | None = None,
    count_stories: Callable[[np.ndarray], int] | None = None,
) -> Counted:
    """The same through Whoosh's own searches, for queries `Evaluator` does not handle: the
    page first and the count second, so a query past its time budget still shows its best hits.
    Collapsing reads four windows' worth of articles and keeps the first of each story."""
    start = (request.page - 1) * request.per_page
    end = start + request.per_page
    collapse = story_codes is not None and request.collapse
    if collapse:
        start, end, shown = 0, max(4 * end, 64), (start, end)
    reader = searcher.reader()
    dates = readers.codes(readers.column(reader, "date"))
    sortedby = None
    if request.sort != "relevance":
        times = readers.codes(readers.column(reader, "time"))
        if request.sort == "date":
            keys = recency.by_date(dates, times)
        else:
            indexed = readers.codes(readers.column(reader, "indexed"))
            keys = recency.updated(dates, DateTable.of(dates[1]), times, indexed, utc_offset)
        sortedby = _Newest(keys)
    first = budget.search(searcher, parsed.all_words(), limit=end, filter=filter_q, sortedby=sortedby)
    window = list(first[start:end])
    if parsed.tiered and len(window) < end - start and not budget.partial:
        skipped = len(first)
        rest = budget.search(
            searcher,
            parsed.any_word(),
            limit=end - skipped,
            filter=filter_q,
            mask=parsed.all_words(),
            sortedby=sortedby,
        )
        window.extend(rest[max(0, start - skipped) : end - skipped])
    if collapse and story_codes is not None:
        kept = set(stories.first_of_each([hit.docnum for hit in window], story_codes)[shown[0] : shown[1]])
        window = [hit for hit in window if hit.docnum in kept]
    facets = sorting.Facets()
    facets.add_facet("source", _count_facet("source"))
    facets.add_facet("year", _count_facet("year"))
    everything = budget.search(searcher, parsed.any_word(), limit=1, filter=filter_q, groupedby=facets)
    counts = {name: _counts(everything, name) for name in ("source", "year")}
    found = None
    if request.histogram and not budget.partial:
        matching = np.zeros(reader.doc_count_all(), dtype=bool)
        q = parsed.any_word() if filter_q is None else And([parsed.any_word(), filter_q])
        matching[list(searcher.docs_for_query(q))] = True
        found = timeline(
            dates[0], DateTable.of(dates[1]), matching, request.histogram, request.date_from, request.date_to
        )
    told = None
    if count_stories is not None and not budget.partial:
        matching = np.zeros(reader.doc_count_all(), dtype=bool)
        q = parsed.any_word() if filter_q is None else And([parsed.any_word(), filter_q])
        matching[list(searcher.docs_for_query(q))] = True
        told = count_stories(matching)
    return Counted(len(everything), counts, [(hit.docnum, hit.score) for hit in window], found, stories=told)
