"""Searching the index: ranked, filtered, faceted, paginated hits with highlighted snippets.

A `SearchIndex` is opened once per process (per gunicorn worker, after the fork) and refreshes
its Whoosh searcher before each request when a new commit has landed: opening the index per
request races with commits, while a commit becomes visible only once completely written. A rebuild switches
the index folder to a new generation (see `search.store`); the next request notices and opens it.

What a generation's evaluator and speller need from the index (per-document arrays, postings,
document frequencies) is kept segment by segment across generations (`engine.segments`), so
a commit costs the process the segments it added. Results are cached for one generation only:
every commit changes the statistics scores are made of, so none survives it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search.corpus import dates
from search.index.engine import readers
from search.index.engine.codec.arrays import Unsupported
from search.index.engine.codec.stored import stored_fields
from search.index.engine.segments import POSTINGS_BYTES, SegmentArrays, TermCounts
from search.index.store import Watch, live_dir, open_index
from search.query.acronyms import SynonymTable
from search.query.parse import WEIGHTING, KeptCounts, QueryBuilder
from search.query.spelling import HitText, Speller
from search.searching import ranking
from search.searching.budget import Budget
from search.searching.cache import ResultCache
from search.searching.evaluate import SCORED_BYTES, Evaluator, OutOfTime
from search.searching.explain import Explainer
from search.searching.highlight import Found, Highlighter
from search.searching.related import Related, related
from search.searching.results import (
    SNIPPET_CHARS,
    ArticleView,
    Hit,
    SearchRequest,
    SearchResult,
    footprint,
)
from search.searching.stories import ARTICLE_KEYS, StoryTable
from search.searching.timeline import Timeline
from search.searching.vectors import VECTORS_MIB

#: Vietnamese outlets publish in Indochina Time (`Settings.utc_offset` for other archives).
VIETNAM = dt.timedelta(hours=7)


class SearchIndex:
    """The index as one process sees it: one open index, a searcher refreshed per request."""

    def __init__(
        self,
        index_dir: Path,
        synonyms: SynonymTable,
        time_budget: float | None = None,
        cache: ResultCache[SearchResult] | None = None,
        utc_offset: dt.timedelta = VIETNAM,
        related_cache_bytes: int = VECTORS_MIB << 20,
        postings_cache_bytes: int = POSTINGS_BYTES,
        scored_cache_bytes: int = SCORED_BYTES,
    ) -> None:
        self.index_dir = index_dir
        self.time_budget = time_budget
        #: Memory for the vectors of related coverage, kept per commit (`searching.vectors`).
        self.related_cache_bytes = related_cache_bytes
        #: Memory for each commit's scored postings (`searching.evaluate`).
        self.scored_cache_bytes = scored_cache_bytes
        #: The time zone of the times articles give (their dates and times are local).
        self.utc_offset = utc_offset
        #: Results of recent searches; None (the default) searches every time.
        self.cache = cache
        self._lock = threading.Lock()
        #: Counts the searchers this process has opened: the cache's generation number.
        self._epoch = 0
        self._evaluated: Searcher | None = None
        self._eval: Evaluator | None = None
        self._counts: KeptCounts | None = None
        #: Per-segment arrays and term counts, kept across generations for unchanged segments.
        self.arrays = SegmentArrays(postings_cache_bytes)
        self.term_counts = TermCounts()
        self._watch = Watch(index_dir)
        self._open()
        self.queries = QueryBuilder(synonyms)
        self._speller: Speller | None = None
        self._stories: StoryTable | None = None

    def _open(self) -> None:
        """Open the live generation; the one replaced is left to the garbage collector, as
        `refresh()` does, because a request in another thread may still be reading it."""
        self._ix = open_index(self.index_dir)
        self._live = Path(self._ix.storage.folder)
        self._set_searcher(self._ix.searcher(weighting=WEIGHTING))

    def _set_searcher(self, searcher: Searcher) -> None:
        self._searcher: Searcher = searcher
        self._epoch += 1
        self.arrays.retain(searcher.reader())
        self.term_counts.retain(searcher.reader())

    def searcher(self) -> Searcher:
        """The searcher for the newest complete commit of the live generation."""
        return self._current()[0]

    def _current(self) -> tuple[Searcher, int]:
        """The newest searcher and its number, read together: a request's cached results are
        those of the searcher it searches."""
        with self._lock:
            if self._watch.unchanged(self._live):
                return self._searcher, self._epoch
            at, stamp = time.time(), self._watch.stamp(self._live)
            if live_dir(self.index_dir) != self._live:
                self._open()
                return self._searcher, self._epoch
            try:
                if self._ix.latest_generation() != self._searcher.reader().generation():
                    self._set_searcher(readers.newest_searcher(self._ix, self._searcher, WEIGHTING))
                self._watch.looked(stamp, at)
            except OSError:  # the generation was switched and removed since the check above
                self._open()
            return self._searcher, self._epoch

    def close(self) -> None:
        with self._lock:
            self._searcher.close()

    def stats(self) -> dict[str, object]:
        searcher = self.searcher()
        modified = self.last_modified()
        return {
            "articles": searcher.doc_count(),
            "generation": searcher.reader().generation(),
            "last_indexed": modified.isoformat(timespec="seconds"),
        }

    def doc_count(self) -> int:
        """Articles in the index, deleted ones left out."""
        return self.searcher().doc_count()

    def generation(self) -> int:
        """The live commit's number: with the live folder, what identifies the index's state."""
        return self.searcher().reader().generation()

    def reader(self) -> IndexReader:
        """A reader over the live commit's segments (autocomplete keeps its tables per segment)."""
        return self.searcher().reader()

    def last_modified(self) -> dt.datetime:
        """When the live index last changed (a commit or a switch to a rebuilt generation)."""
        self._current()
        return dt.datetime.fromtimestamp(self._ix.last_modified(), dt.timezone.utc).replace(microsecond=0)

    def scored_bytes(self) -> int:
        """What the scored postings of the commit last searched count against their budget."""
        evaluator = self._eval
        return 0 if evaluator is None else evaluator.cache.nbytes()

    def _evaluator(self, searcher: Searcher) -> Evaluator | None:
        """The evaluator for this searcher's generation, made on its first request."""
        return self._evaluation(searcher)[0]

    def _evaluation(self, searcher: Searcher) -> tuple[Evaluator | None, KeptCounts]:
        """The evaluator for this searcher's generation and the word counts parsing asks of it
        (kept for the generation), made on its first request."""
        with self._lock:
            if self._evaluated is not searcher or self._counts is None:
                self._evaluated = searcher
                try:
                    self._eval = Evaluator(searcher, self.scored_cache_bytes, arrays=self.arrays)
                except Unsupported:
                    self._eval = None
                self._counts = KeptCounts(self._eval or searcher.reader())
            return self._eval, self._counts

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
            self.cache.put(epoch, request, result, footprint(result))
        return result

    def _search(self, request: SearchRequest, searcher: Searcher, started: float) -> SearchResult:
        budget = Budget(self.time_budget)
        evaluator, counts = self._evaluation(searcher)
        parsed = self.queries.parse(request.q, counts)
        filter_q = ranking.filter_query(request)
        highlighter = Highlighter(parsed.highlight)
        check = ranking.deadline(budget)
        table = self.stories(searcher)
        explainer = None
        try:
            if evaluator is None:
                raise Unsupported("no evaluator for this index")
            counted = ranking.evaluated_page(
                evaluator, parsed, request, filter_q, self.utc_offset, check, table.codes, table.count
            )
            explainer = Explainer(evaluator, parsed, request.q) if request.explain else None
        except Unsupported:
            counted = ranking.whoosh_page(
                searcher, parsed, request, filter_q, budget, self.utc_offset, table.codes, table.count
            )
        except OutOfTime:  # nothing ranked yet: an empty page, marked partial
            budget.partial = True
            counted = ranking.EMPTY
        if request.histogram and counted.timeline is None:  # cut by the time budget
            counted = dataclasses.replace(counted, timeline=Timeline(request.histogram, [], 0, 0))
        reader = searcher.reader()
        stored = [stored_fields(reader, docnum) for docnum, _ in counted.page]
        suggest = self.speller(searcher).suggest if request.snippets else None
        result = assemble(request, counted, stored, highlighter, suggest, budget.partial, self.utc_offset, started)
        for found, fields in zip(result.hits, stored):
            found.story = table.summary(fields)
        if explainer is not None:
            for found, (docnum, _) in zip(result.hits, counted.page):
                found.explain = explainer.explain(docnum).to_json()
        result.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def stories(self, searcher: Searcher) -> StoryTable:
        """The stories of the searcher's commit, read once per commit."""
        with self._lock:
            if self._stories is None or self._stories.searcher is not searcher:
                self._stories = StoryTable(searcher, self._live)
            return self._stories

    def related(self, article_id: str, limit: int = 10) -> list[Related] | None:
        """The articles most like one, its story's first (None when there is no such id)."""
        searcher = self.searcher()
        table = self.stories(searcher)
        return related(searcher, table, self.arrays.postings, article_id, limit, self.related_cache_bytes)

    def story(self, story_id: str) -> dict[str, object] | None:
        """`{id, size, articles}` of a story, oldest first; None when no story has that id."""
        searcher = self.searcher()
        table = self.stories(searcher)
        if table.story_of(story_id) != story_id or searcher.document_number(id=story_id) is None:
            return None
        articles = table.articles(story_id) or [
            {name: searcher.stored_fields(searcher.document_number(id=story_id)).get(name) for name in ARTICLE_KEYS}
        ]
        return {"id": story_id, "size": len(articles), "articles": articles}

    def speller(self, searcher: Searcher) -> Speller:
        """The speller for the searcher's generation: its lexicon cache is only valid there."""
        with self._lock:
            if self._speller is None or self._speller.reader is not searcher.reader():
                self._speller = Speller(searcher.reader(), self.term_counts)
            return self._speller

    def article(self, article_id: str, q: str | None = None) -> ArticleView | None:
        """The stored article, highlighted for `q` when given; None when there is no such id."""
        searcher = self.searcher()
        fields = searcher.document(id=article_id)
        if fields is None:
            return None
        view = ArticleView(fields)
        table = self.stories(searcher)
        story = table.story_of(article_id)
        view.story = {
            "id": story,
            "size": max(1, len(table.member_set(story))),  # counted, not read: the list reads them
            "articles": table.articles(story, leave_out=article_id),
        }
        if q:
            highlighter = Highlighter(self.queries.parse(q).highlight)
            view.title_html = highlighter.mark(fields["title"])
            view.body_html = highlighter.mark(fields["body"])
            view.first_match = highlighter.first_match(fields["body"])
        return view


def assemble(
    request: SearchRequest,
    counted: ranking.Counted,
    stored: list[dict],
    highlighter: Highlighter,
    suggest: Callable[[str, Iterable[str | HitText]], str | None] | None,
    partial: bool,
    utc_offset: dt.timedelta,
    started: float,
) -> SearchResult:
    """The answer to `request` from what was counted and the stored fields of the page's hits
    (one index's, or those a set's front merged); `suggest` gives "did you mean" from the hits.
    Each stored text is folded and scanned for the query's words once, for its marks, its
    snippet and the speller."""
    hits, pairs = [], []
    names = ("title", "body") if request.snippets else ("title",)
    found = iter(highlighter.find_all([fields[name] for fields in stored for name in names]))
    for fields, (_, score) in zip(stored, counted.page):
        title = next(found)
        body = next(found) if request.snippets else None
        hits.append(hit(fields, score, request, highlighter, utc_offset, title, body))
        if body is not None:
            pairs.append((title, body))
    # Joined only when the speller reads the hits (a query typed without marks).
    texts = (_hit_text(title, body, highlighter.terms) for title, body in pairs)
    suggestion = suggest(request.q, texts) if suggest is not None else None
    facets = counted.facets
    return SearchResult(
        total=max(counted.total, (request.page - 1) * request.per_page + len(hits)),
        page=request.page,
        per_page=request.per_page,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        hits=hits,
        facets={
            "source": dict(sorted(facets["source"], key=lambda kv: (-kv[1], kv[0]))),
            "year": dict(sorted(facets["year"], reverse=True)),
        },
        suggestion=suggestion,
        partial=partial,
        timeline=counted.timeline,
        total_stories=counted.stories,
    )


def _hit_text(title: Found, body: Found, searched: frozenset[str]) -> HitText:
    """What the speller reads of a hit: its title and body as one text."""
    pieces = ((0, title.matches), (len(title.text) + 2, body.matches))
    return HitText(f"{title.text}\n\n{body.text}", f"{title.folded}\n\n{body.folded}", pieces, searched)


def hit(
    fields: dict,
    score: float,
    request: SearchRequest,
    highlighter: Highlighter,
    utc_offset: dt.timedelta,
    title: Found,
    body: Found | None,
) -> Hit:
    """A hit of the page from its stored fields, their title and body (None without snippets) found."""
    return Hit(
        id=fields["id"],
        title=fields["title"],
        date=fields.get("date"),
        time=fields.get("time"),
        source=fields.get("source"),
        author=fields.get("author"),
        score=round(score, 4) if request.sort == "relevance" else None,
        title_html=highlighter.mark(title),
        snippet_html=highlighter.snippet(body, SNIPPET_CHARS) if body is not None else "",
        updated=updated_at(fields, utc_offset),
        url=fields.get("url"),
    )


def updated_at(fields: dict, utc_offset: dt.timedelta) -> str | None:
    """When a stored article was last updated, as a feed states it: its date and time in the
    archive's time zone (the start of its day, month or year when that is all it has), or
    without a date, when it was indexed."""
    if fields.get("date"):
        return _updated(fields["date"], fields.get("time") or "", utc_offset)
    if fields.get("indexed"):
        return _updated("", fields["indexed"], utc_offset)
    return None


@functools.lru_cache(maxsize=1 << 12)
def _updated(date: str, clock: str, utc_offset: dt.timedelta) -> str:
    """`updated_at` of a date and a time of day, or of an indexing stamp (no date): a page's
    hits share their days, and whole batches of articles their indexing stamp."""
    zone = dt.timezone(utc_offset)
    if not date:
        return dt.datetime.fromisoformat(clock).astimezone(zone).isoformat()
    time_of_day = dt.time.fromisoformat(clock) if clock else dt.time.min
    return dt.datetime.combine(dates.first_day(date), time_of_day, zone).isoformat()
