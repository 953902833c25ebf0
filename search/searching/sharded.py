"""The front of a sharded index: one search over every shard, answered as one index holding the
same articles answers it (the same hits in the same order with the same scores, totals, facets,
timeline and "did you mean").

Why the statistics go round first, for every search (Elasticsearch's `dfs_query_then_fetch`,
always): BM25 scores with the collection's document frequencies, article count and average
field length, and whether a word is common (`ParsedQuery.mark_common`) is judged on the live
articles of the whole archive. A shard's own counts differ from the set's, so the front asks
each shard for the counts of the query's terms, adds them up, and has every shard score with
the sums; then it merges the shards' best candidates of each tier (by key, then article id, as
`evaluate.top` orders one index), adds up totals, facets and dates, fetches the page's stored
fields from the shards holding them and builds the hits as `SearchIndex` does. "Did you mean"
counts words in every shard (`shard_set.SetSpelling`).

The shards are reached through a `ShardSet`: in this process (`LocalShards`), or Ray actors
(`search.searching.ray_shards`), whose missing shards make the answer partial, never an error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.reading import IndexReader, MultiReader
from whoosh.searching import Searcher

from search.index.shards import changed_at, live_set, shard_of, shard_searcher
from search.index.store import IndexMissing
from search.query.acronyms import SynonymTable
from search.query.parse import ParsedQuery, QueryBuilder
from search.searching import ranking
from search.searching.budget import Budget
from search.searching.cache import ResultCache
from search.searching.highlight import Highlighter
from search.searching.related import Related
from search.searching.results import ArticleView, SearchRequest, SearchResult, footprint
from search.searching.searcher import VIETNAM, assemble
from search.searching.set_coverage import Coverage
from search.searching.set_stories import SetStories, total_stories
from search.searching.shard import (
    Candidate,
    Collection,
    ShardPage,
    ShardStatistics,
    Term,
    Version,
    all_terms,
)
from search.searching.shard_set import LocalShards, SetSpelling, ShardSet, ShardsUnavailable, same
from search.searching.timeline import DateTable, Timeline, timeline
from search.searching.vectors import VECTORS_MIB


class _LiveCounts:
    """The common-word rule's counts (`parse.Statistics`) of the whole set."""

    def __init__(self, live: int, frequencies: dict[str, int]) -> None:
        self.live, self.frequencies = live, frequencies

    def doc_count(self) -> int:
        return self.live

    def doc_frequency(self, fieldname: str, text: str) -> int:
        return self.frequencies[text]


class _Moved(Exception):
    """The shards answered from different commits (a writer switched the set meanwhile)."""


class ShardedIndex:
    """The sharded index in `index_dir`, searched through `shards`; the same interface as
    `SearchIndex` for the web layer and the CLI."""

    def __init__(
        self,
        index_dir: Path,
        synonyms: SynonymTable,
        shards: ShardSet,
        time_budget: float | None = None,
        cache: ResultCache[SearchResult] | None = None,
        utc_offset: dt.timedelta = VIETNAM,
        related_cache_bytes: int = VECTORS_MIB << 20,
    ) -> None:
        self.index_dir, self.shards = index_dir, shards
        self.time_budget, self.cache, self.utc_offset = time_budget, cache, utc_offset
        self.queries = QueryBuilder(synonyms)
        self._version: Version | None = None
        self._epoch = 0
        self.spelling = SetSpelling(shards)
        self._lock = threading.Lock()
        self._readers: tuple[Version, list[Searcher], MultiReader] | None = None
        self.coverage = Coverage(index_dir, shards, related_cache_bytes)

    def _live(self) -> tuple[Version, int]:
        """The live set's commit and number of shards, read from its manifest."""
        live, manifest = live_set(self.index_dir)
        version = Version(live.name, manifest.commit)
        if version != self._version:
            self._version, self._epoch = version, self._epoch + 1
        return version, manifest.shards

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        version, count = self._live()
        epoch = self._epoch
        if self.cache is not None:
            found = self.cache.get(epoch, request)
            if found is not None:
                return dataclasses.replace(found, took_ms=round((time.perf_counter() - started) * 1000, 2))
        budget = Budget(self.time_budget)
        try:
            result = self._search(request, version, count, budget, started, settle=True)
        except _Moved:  # once more, from the commit the shards have now
            version, count = self._live()
            result = self._search(request, version, count, budget, started, settle=False)
        if self.cache is not None and not result.partial:
            self.cache.put(epoch, request, result, footprint(result))
        return result

    def _remaining(self, budget: Budget) -> float | None:
        return None if budget.deadline is None else max(0.0, budget.deadline - budget.clock())

    def _search(
        self, request: SearchRequest, version: Version, count: int, budget: Budget, started: float, settle: bool
    ) -> SearchResult:
        parsed = self.queries.parse(request.q)
        terms, words = all_terms(parsed)
        everyone = range(count)
        stats, missing = self.shards.call(
            "statistics", same((version, terms, words)), everyone, count, self._remaining(budget)
        )
        collection = self._collection(stats, terms, settle)
        live = sum(s.live for s in stats.values())
        parsed.mark_common(
            _LiveCounts(live, {w: sum(s.live_frequencies[i] for s in stats.values()) for i, w in enumerate(words)})
        )
        pages, lost = self.shards.call(
            "query",
            lambda k: (parsed, request, collection, self._remaining(budget)),
            sorted(stats),
            count,
            self._remaining(budget),
        )
        missing += lost
        if any(page.version != collection.version for page in pages.values()):
            if settle:
                raise _Moved
            budget.partial = True
        counted, window = self._merge(parsed, request, pages, self.coverage.stories(collection.version))
        stored, lost = self._fetch(window, collection.version, count)
        missing += lost
        explained = self._explain(window, collection, parsed, request.q, count) if request.explain else None
        kept = [i for i, fields in enumerate(stored) if fields is not None]
        counted.page = [counted.page[i] for i in kept]
        found = [fields for fields in stored if fields is not None]
        partial = budget.partial or bool(missing) or any(page.partial for page in pages.values())
        suggest = self.spelling.suggester(version, count) if request.snippets else None
        result = assemble(
            request, counted, found, Highlighter(parsed.highlight), suggest, partial, self.utc_offset, started
        )
        for hit, story in zip(result.hits, self.coverage.summaries(collection.version, count, found)):
            hit.story = story
        if explained is not None:
            for hit, i in zip(result.hits, kept):
                hit.explain = explained[i]
        if missing:
            result.missing_shards = sorted(set(missing))
        return result

    def _collection(self, stats: dict[int, ShardStatistics], terms: list[Term], settle: bool) -> Collection:
        versions = {s.version for s in stats.values()}
        if len(versions) > 1 and settle:
            raise _Moved
        version = min(versions, key=lambda v: v.commit) if versions else Version("", 0)
        lengths: Counter[str] = Counter()
        for s in stats.values():
            lengths.update(s.lengths)
        return Collection(
            version,
            sum(s.documents for s in stats.values()),
            dict(lengths),
            {term: sum(s.frequencies[i] for s in stats.values()) for i, term in enumerate(terms)},
        )

    def _merge(
        self, parsed: ParsedQuery, request: SearchRequest, pages: dict[int, ShardPage], table: SetStories
    ) -> tuple[ranking.Counted, list[tuple[int, Candidate]]]:
        """What `ranking.evaluated_page` counts over one index, from the shards' parts, and
        the page's hits with the shard of each (collapsed: see `search.searching.set_stories`)."""
        start = (request.page - 1) * request.per_page
        end = start + request.per_page
        first = _ranked((k, c) for k, page in pages.items() for c in page.first_hits)
        if request.collapse:
            rest = _ranked((k, c) for k, page in pages.items() for c in page.rest_hits)
            window = table.first_of_each(first + rest, end)[start:end]
        else:
            window = first[:end][start:end]
        skipped = sum(page.first for page in pages.values())
        if not request.collapse and parsed.tiered and len(window) < end - start:
            rest = _ranked((k, c) for k, page in pages.items() for c in page.rest_hits)
            window.extend(rest[: max(0, end - skipped)][max(0, start - skipped) :])
        facets: dict[str, list[tuple[str, int]]] = {}
        for name in ("source", "year"):
            summed: Counter[str] = Counter()
            for page in pages.values():
                summed.update(dict(page.facets.get(name, [])))
            facets[name] = list(summed.items())
        found = None
        if request.histogram:
            found = self._timeline(request, pages)
        hits = [(candidate[2], candidate[3]) for _, candidate in window]
        told = total_stories(page.stories for page in pages.values())
        counted = ranking.Counted(sum(p.total for p in pages.values()), facets, hits, found, stories=told)
        return counted, window

    def _timeline(self, request: SearchRequest, pages: dict[int, ShardPage]) -> Timeline:
        assert request.histogram is not None
        summed: Counter[str] = Counter()
        for page in pages.values():
            summed.update(page.dates or {})
        if not summed and any(page.dates is None for page in pages.values()):
            return Timeline(request.histogram, [], 0, 0)  # cut by the time budget
        values = sorted(summed)
        counts = np.array([summed[v] for v in values], dtype=np.int64)
        return timeline(
            np.arange(len(values)),
            DateTable.of(values),
            counts > 0,
            request.histogram,
            request.date_from,
            request.date_to,
            weights=counts,
        )

    def _fetch(
        self, window: list[tuple[int, Candidate]], version: Version, count: int
    ) -> tuple[list[dict | None], list[int]]:
        """The stored fields of the page's hits, asked of the shards holding them (None for a
        hit whose shard could not answer)."""
        held: defaultdict[int, list[tuple[int, int, str]]] = defaultdict(list)
        for position, (shard, (_, article_id, docnum, _)) in enumerate(window):
            held[shard].append((position, docnum, article_id))
        answers, missing = self.shards.call(
            "fetch", lambda k: (version, [d for _, d, _ in held[k]], [i for _, _, i in held[k]]), sorted(held), count
        )
        stored: list[dict | None] = [None] * len(window)
        for shard, found in answers.items():
            for (position, _, _), fields in zip(held[shard], found):
                stored[position] = fields
        return stored, missing

    def _explain(
        self, window: list[tuple[int, Candidate]], collection: Collection, parsed: ParsedQuery, q: str, count: int
    ) -> list[dict | None]:
        """Each page hit's explanation, from the shard that scored it (None where it could not
        answer: the hit is shown without one)."""
        held: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
        for position, (shard, (_, _, docnum, _)) in enumerate(window):
            held[shard].append((position, docnum))
        answers, _ = self.shards.call(
            "explain", lambda k: (collection, parsed, q, [d for _, d in held[k]]), sorted(held), count
        )
        explained: list[dict | None] = [None] * len(window)
        for shard, found in answers.items():
            for (position, _), explanation in zip(held[shard], found):
                explained[position] = explanation
        return explained

    def article(self, article_id: str, q: str | None = None) -> ArticleView | None:
        """The stored article (from its shard), highlighted for `q` when given."""
        version, count = self._live()
        fields = self._article(version, count, article_id)
        if fields is None:
            return None
        view = ArticleView(fields)
        view.story = self.coverage.of_article(version, count, article_id)
        if q:
            highlighter = Highlighter(self.queries.parse(q).highlight)
            view.title_html = highlighter.mark(fields["title"])
            view.body_html = highlighter.mark(fields["body"])
            view.first_match = highlighter.first_match(fields["body"])
        return view

    def _article(self, version: Version, count: int, article_id: str) -> dict | None:
        """The stored fields of an article, from its shard (`ShardsUnavailable` when it cannot answer)."""
        shard = shard_of(article_id, count)
        answers, missing = self.shards.call("article", same((version, article_id)), [shard], count)
        if missing:
            raise ShardsUnavailable(f"shard {shard} cannot answer")
        return answers[shard]

    def story(self, story_id: str) -> dict[str, object] | None:
        """`{id, size, articles}` of a story, oldest first; None when no story has that id."""
        return self.coverage.story(*self._live(), story_id)

    def related(self, article_id: str, limit: int = 10) -> list[Related] | None:
        """The articles most like one, its story's first (None when there is no such id)."""
        version, count = self._live()
        fields = self._article(version, count, article_id)
        if fields is None:
            return None
        return self.coverage.related(version, count, fields, limit)

    def stats(self) -> dict[str, object]:
        version, count = self._live()
        answers, missing = self.shards.call("counts", same((version,)), range(count), count)
        found: dict[str, object] = {
            "articles": sum(n for _, n in answers.values()),
            "generation": version.commit,
            "shards": count,
            "last_indexed": self.last_modified().isoformat(timespec="seconds"),
        }
        if missing:
            found["missing_shards"] = sorted(missing)
        return found

    def doc_count(self) -> int:
        """Live articles in the shards that answered."""
        version, count = self._live()
        answers, _ = self.shards.call("counts", same((version,)), range(count), count)
        return sum(n for _, n in answers.values())

    def generation(self) -> int:
        """The set's commit: with the live folder, what identifies its state."""
        return self._live()[0].commit

    def reader(self) -> IndexReader:
        """Every shard's segments of the live commit as one reader, for what is kept per
        segment (autocomplete's tables); opened once per commit, unchanged segments reused."""
        with self._lock:
            for _ in range(3):
                live, manifest = live_set(self.index_dir)
                version = Version(live.name, manifest.commit)
                kept = self._readers
                if kept is not None and kept[0] == version:
                    return kept[2]
                previous = kept[1] if kept is not None and kept[0].folder == version.folder else None
                try:
                    searchers = [
                        shard_searcher(live, manifest, k, current=previous[k] if previous else None)
                        for k in range(manifest.shards)
                    ]
                except OSError:  # switched and cleaned since the manifest was read
                    continue
                leaves = [leaf for searcher in searchers for leaf, _ in searcher.reader().leaf_readers()]
                self._readers = (version, searchers, MultiReader(leaves))
                return self._readers[2]
        raise IndexMissing(f"the index in {self.index_dir} kept changing while being opened")

    def last_modified(self) -> dt.datetime:
        """When the set last changed: its manifest is replaced by every commit."""
        for _ in range(3):  # the files are replaced by each commit
            try:
                stamp = changed_at(*live_set(self.index_dir))
                break
            except FileNotFoundError:
                continue
        else:
            raise IndexMissing(f"no index in {self.index_dir}")
        return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).replace(microsecond=0)


def _ranked(candidates: Iterable[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """(shard, candidate) pairs by descending key, then ascending article id."""
    ordered = sorted(candidates, key=lambda pair: pair[1][1])
    ordered.sort(key=lambda pair: pair[1][0], reverse=True)
    return ordered


__all__ = ["LocalShards", "ShardSet", "ShardedIndex", "ShardsUnavailable"]
