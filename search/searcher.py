"""Searching the index: ranked, filtered, faceted, paginated hits with highlighted snippets.

A `SearchIndex` is opened once per process (per gunicorn worker, after the fork) and refreshes
its Whoosh searcher before each request when a new commit has landed: opening the index per
request races with commits, while a commit becomes visible only once completely written. A rebuild switches
the index folder to a new generation (see `search.store`); the next request notices and opens it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from whoosh import sorting
from whoosh.index import TOC
from whoosh.query import And, DateRange, Query, Term
from whoosh.reading import MultiReader, SegmentReader
from whoosh.searching import Results, Searcher

from search import perdoc
from search.acronyms import SynonymTable
from search.budget import Budget
from search.cache import ResultCache
from search.evaluate import Evaluator, OutOfTime, Unsupported, top
from search.highlight import Highlighter
from search.query import WEIGHTING, ParsedQuery, QueryBuilder
from search.spelling import Speller
from search.store import live_dir, open_index

SORTS = ("relevance", "date")
MAX_PER_PAGE = 50
MAX_RESULT_WINDOW = 1000
SNIPPET_CHARS = 240


@dataclass(frozen=True)
class SearchRequest:
    """What the user asked for; validated by the caller (the API or the CLI)."""

    q: str
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    source: str | None = None


@dataclass
class Hit:
    id: str
    title: str
    date: str | None
    source: str | None
    author: str | None
    score: float | None
    title_html: str
    snippet_html: str


_HIT_FIELDS = tuple(f.name for f in dataclasses.fields(Hit))


@dataclass
class SearchResult:
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    #: "Did you mean": the query with marks restored or a misspelling corrected, else None.
    suggestion: str | None = None
    #: True when the time budget ran out: the hits and counts are what was found by then.
    partial: bool = False

    def to_json(self) -> dict[str, object]:
        """The fields as JSON types: new dicts and lists over the same (immutable) values, which
        is what `dataclasses.asdict` gives at a fifteenth of the cost (it deep-copies each one)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["hits"] = [{name: getattr(hit, name) for name in _HIT_FIELDS} for hit in self.hits]
        data["facets"] = {name: dict(counts) for name, counts in self.facets.items()}
        return data


@dataclass
class ArticleView:
    """A stored article, and its text highlighted when a query is given."""

    fields: dict[str, object]
    title_html: str | None = None
    body_html: str | None = None
    first_match: int | None = None

    def to_json(self) -> dict[str, object]:
        data = {k: self.fields.get(k) for k in ("id", "title", "date", "source", "author", "url", "topic", "body")}
        if self.body_html is not None:
            data.update(title_html=self.title_html, body_html=self.body_html, first_match=self.first_match)
        return data


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def date_bound(text: str, end: bool = False) -> dt.date:
    """Parse YYYY, YYYY-MM or YYYY-MM-DD for a date filter; a partial date stands for the
    first day of its period, or the last when it is the `end` of a range."""
    match = _DATE_RE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a date as YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    try:
        if day:
            return dt.date(year, month, day)
        if not end:
            return dt.date(year, month or 1, 1)
        if month:
            return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        return dt.date(year, 12, 31)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date") from None


def _filter(request: SearchRequest) -> Query | None:
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


def _deadline(budget: Budget) -> Callable[[], None] | None:
    """A check that raises `OutOfTime` once the budget is spent (None without a budget)."""
    if budget.deadline is None:
        return None

    def check() -> None:
        if budget.clock() >= budget.deadline:
            raise OutOfTime

    return check


def _evaluated_page(evaluator: Evaluator, parsed: ParsedQuery, request: SearchRequest,
                    filter_q: Query | None, check: Callable[[], None] | None = None) -> tuple[int, FacetCounts, Page]:
    """Total, facets and the requested window, from one evaluation of each tier: the facets
    and the total count the same documents the second tier ranks."""
    memo: dict = {}
    any_word = parsed.any_word()
    everything = evaluator.evaluate(any_word, memo, check)
    matching = everything.mask if filter_q is None else everything.mask & evaluator.docs(filter_q)
    if parsed.tiered:
        all_words = parsed.all_words()
        first = evaluator.evaluate(all_words, memo, check)
        first_mask = first.mask & matching
    else:
        first, first_mask = everything, matching
    if request.sort == "date":
        codes, _ = evaluator.column("date")
        first_keys = rest_keys = codes
    else:
        first_keys, rest_keys = first.scores, everything.scores
    start = (request.page - 1) * request.per_page
    end = start + request.per_page
    page = [(int(d), float(first.scores[d])) for d in top(first_mask, first_keys, end)[start:end]]
    if parsed.tiered and len(page) < end - start:
        skipped = int(first_mask.sum())
        rest = top(matching & ~first_mask, rest_keys, end - skipped)[max(0, start - skipped):]
        page.extend((int(d), float(everything.scores[d])) for d in rest)
    facets: FacetCounts = {}
    for name in ("source", "year"):
        codes, values = evaluator.column(name)
        counts = np.bincount(codes[matching], minlength=len(values))
        facets[name] = [(values[code], int(n)) for code, n in enumerate(counts) if n and values[code]]
    return int(matching.sum()), facets, page


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


def _whoosh_page(searcher: Searcher, parsed: ParsedQuery, request: SearchRequest,
                 filter_q: Query | None, budget: Budget) -> tuple[int, FacetCounts, Page]:
    """The same through Whoosh's own searches, for queries `Evaluator` does not handle: the
    page first and the count second, so a query past its time budget still shows its best hits."""
    start = (request.page - 1) * request.per_page
    end = start + request.per_page
    sortedby = None
    if request.sort == "date":
        sortedby = _Newest(perdoc.codes(perdoc.column(searcher.reader(), "date"))[0])
    first = budget.search(searcher, parsed.all_words(), limit=end, filter=filter_q, sortedby=sortedby)
    window = list(first[start:end])
    if parsed.tiered and len(window) < end - start and not budget.partial:
        skipped = len(first)
        rest = budget.search(searcher, parsed.any_word(), limit=end - skipped, filter=filter_q,
                             mask=parsed.all_words(), sortedby=sortedby)
        window.extend(rest[max(0, start - skipped):end - skipped])
    facets = sorting.Facets()
    facets.add_facet("source", _count_facet("source"))
    facets.add_facet("year", _count_facet("year"))
    everything = budget.search(searcher, parsed.any_word(), limit=1, filter=filter_q, groupedby=facets)
    counts = {name: _counts(everything, name) for name in ("source", "year")}
    return len(everything), counts, [(hit.docnum, hit.score) for hit in window]


def _footprint(result: SearchResult) -> int:
    """About how many bytes a result holds: its strings at two bytes a character (Vietnamese
    text is stored as UCS-2) plus the objects around them."""
    chars = sum(len(h.id) + len(h.title) + len(h.title_html) + len(h.snippet_html) + len(h.source or "")
                + len(h.author or "") + len(h.date or "") for h in result.hits)
    facets = sum(len(name) for counts in result.facets.values() for name in counts)
    objects = 8 * len(result.hits) + 2 * sum(len(counts) for counts in result.facets.values()) + 8
    return 2 * (chars + facets + len(result.suggestion or "")) + 64 * objects


class SearchIndex:
    """The index as one process sees it: one open index, a searcher refreshed per request."""

    def __init__(self, index_dir: Path, synonyms: SynonymTable, time_budget: float | None = None,
                 cache: ResultCache[SearchResult] | None = None) -> None:
        self.index_dir = index_dir
        self.time_budget = time_budget
        #: Results of recent searches; None (the default) searches every time.
        self.cache = cache
        self._lock = threading.Lock()
        #: Counts the searchers this process has opened: the cache's generation number.
        self._epoch = 0
        self._evaluated: Searcher | None = None
        self._eval: Evaluator | None = None
        self._open()
        self.queries = QueryBuilder(synonyms)
        self._speller: Speller | None = None

    def _open(self) -> None:
        """Open the live generation; the one replaced is left to the garbage collector, as
        `refresh()` does, because a request in another thread may still be reading it."""
        self._ix = open_index(self.index_dir)
        self._live = Path(self._ix.storage.folder)
        self._set_searcher(self._ix.searcher(weighting=WEIGHTING))

    def _set_searcher(self, searcher: Searcher) -> None:
        self._searcher: Searcher = searcher
        self._epoch += 1

    def searcher(self) -> Searcher:
        """The searcher for the newest complete commit of the live generation."""
        return self._current()[0]

    def _current(self) -> tuple[Searcher, int]:
        """The newest searcher and its number, read together: a request's cached results are
        those of the searcher it searches."""
        with self._lock:
            if live_dir(self.index_dir) != self._live:
                self._open()
                return self._searcher, self._epoch
            try:
                if self._ix.latest_generation() != self._searcher.reader().generation():
                    self._set_searcher(self._newest_searcher())
            except OSError:  # the generation was switched and removed since the check above
                self._open()
            return self._searcher, self._epoch

    def _newest_searcher(self) -> Searcher:
        """A searcher on the newest commit, reusing the open readers of segments it left as
        they were: opening a large segment copies its term index (about a second for 80,000
        articles). Not `Searcher.refresh()`: it reuses a segment's reader even when the segment
        gained deletions (a replaced or deleted article would still be found), and keeps
        segments a merge removed (their articles twice)."""
        toc = TOC.read(self._ix.storage, self._ix.indexname)
        old = {r.segment().segment_id(): r for r, _ in self._searcher.reader().leaf_readers()
               if r.segment() is not None}
        readers = []
        for segment in toc.segments:
            reader = old.get(segment.segment_id())
            if reader is None or reader.segment().deleted_count() != segment.deleted_count():
                reader = SegmentReader(self._ix.storage, toc.schema, segment, generation=toc.generation)
            readers.append(reader)
        if not readers:
            return self._ix.searcher(weighting=WEIGHTING)
        if len(readers) == 1 and readers[0].generation() == toc.generation:
            return Searcher(readers[0], weighting=WEIGHTING, fromindex=self._ix)
        return Searcher(MultiReader(readers, generation=toc.generation), weighting=WEIGHTING, fromindex=self._ix)

    def close(self) -> None:
        with self._lock:
            self._searcher.close()

    def stats(self) -> dict[str, object]:
        searcher = self.searcher()
        modified = dt.datetime.fromtimestamp(self._ix.last_modified(), dt.timezone.utc)
        return {
            "articles": searcher.doc_count(),
            "generation": searcher.reader().generation(),
            "last_indexed": modified.isoformat(timespec="seconds"),
        }

    def _evaluator(self, searcher: Searcher) -> Evaluator | None:
        """The evaluator for this searcher's generation, made on its first request."""
        with self._lock:
            if self._evaluated is not searcher:
                self._evaluated = searcher
                try:
                    self._eval = Evaluator(searcher)
                except Unsupported:
                    self._eval = None
            return self._eval

    def search(self, request: SearchRequest) -> SearchResult:
        """One page of hits; articles matching every clause come before partial matches.

        The evaluator ranks and counts in one pass over the posting lists, checking the time
        budget between query nodes; past it the answer is empty and marked partial. Queries it
        does not handle go through Whoosh within the budget: the page is found first and counted
        second, so a slow query still shows its best hits; past it, the result is marked partial.
        With a cache, a request made before on the same searcher is answered from it.
        """
        started = time.perf_counter()
        searcher, epoch = self._current()
        if self.cache is not None:
            found = self.cache.get(epoch, request)
            if found is not None:
                return dataclasses.replace(found, took_ms=round((time.perf_counter() - started) * 1000, 2))
        result = self._search(request, searcher, started)
        if self.cache is not None and not result.partial:  # a partial page depends on the moment
            self.cache.put(epoch, request, result, _footprint(result))
        return result

    def _search(self, request: SearchRequest, searcher: Searcher, started: float) -> SearchResult:
        budget = Budget(self.time_budget)
        evaluator = self._evaluator(searcher)
        parsed = self.queries.parse(request.q, evaluator or searcher.reader())
        filter_q = _filter(request)
        highlighter = Highlighter(parsed.highlight)
        check = _deadline(budget)
        try:
            if evaluator is None:
                raise Unsupported("no evaluator for this index")
            total, facets, page = _evaluated_page(evaluator, parsed, request, filter_q, check)
        except Unsupported:
            total, facets, page = _whoosh_page(searcher, parsed, request, filter_q, budget)
        except OutOfTime:  # nothing ranked yet: an empty page, marked partial
            budget.partial = True
            total, facets, page = 0, {"source": [], "year": []}, []
        stored = [searcher.stored_fields(docnum) for docnum, _ in page]
        hits = [self._hit(fields, score, request, highlighter) for fields, (_, score) in zip(stored, page)]
        texts = (f"{fields['title']}\n\n{fields['body']}" for fields in stored)
        suggestion = self.speller(searcher).suggest(request.q, texts)
        return SearchResult(
            total=max(total, (request.page - 1) * request.per_page + len(hits)),
            page=request.page,
            per_page=request.per_page,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            hits=hits,
            facets={
                "source": dict(sorted(facets["source"], key=lambda kv: (-kv[1], kv[0]))),
                "year": dict(sorted(facets["year"], reverse=True)),
            },
            suggestion=suggestion,
            partial=budget.partial,
        )

    def speller(self, searcher: Searcher) -> Speller:
        """The speller for the searcher's generation: its lexicon cache is only valid there."""
        with self._lock:
            if self._speller is None or self._speller.reader is not searcher.reader():
                self._speller = Speller(searcher.reader())
            return self._speller

    @staticmethod
    def _hit(fields: dict, score: float, request: SearchRequest, highlighter: Highlighter) -> Hit:
        return Hit(
            id=fields["id"],
            title=fields["title"],
            date=fields.get("date"),
            source=fields.get("source"),
            author=fields.get("author"),
            score=round(score, 4) if request.sort == "relevance" else None,
            title_html=highlighter.mark(fields["title"]),
            snippet_html=highlighter.snippet(fields["body"], SNIPPET_CHARS),
        )

    def article(self, article_id: str, q: str | None = None) -> ArticleView | None:
        """The stored article, highlighted for `q` when given; None when there is no such id."""
        fields = self.searcher().document(id=article_id)
        if fields is None:
            return None
        view = ArticleView(fields)
        if q:
            highlighter = Highlighter(self.queries.parse(q).highlight)
            view.title_html = highlighter.mark(fields["title"])
            view.body_html = highlighter.mark(fields["body"])
            view.first_match = highlighter.first_match(fields["body"])
        return view
