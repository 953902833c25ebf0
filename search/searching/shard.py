"""One shard of a set as a searching process holds it: in the front's own process (`vnsearch
serve` on a sharded index) or in a Ray actor (`search.searching.ray_shards`).

It answers the phases of a search the front (`search.searching.sharded`) drives, the way
Elasticsearch's `dfs_query_then_fetch` does, for every search: the counts BM25 and the
common-word rule need (`statistics`), then the query scored with the whole set's counts
(`query`: its best candidates of each tier, the total, facets and dates over every match),
then the stored fields of the hits on the page (`fetch`). Every answer names the set's commit
it was made from (`Version`): the front merges answers of one commit only.

Before each call it follows the live set as `SearchIndex` follows one index: a new commit in
the manifest (any shard's) or a rebuilt set is opened on the next call, reusing the readers of
this shard's unchanged segments. Arguments and answers are plain values, so that they travel
through Ray as they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh.index import FileIndex
from whoosh.searching import Searcher

from search.index.engine import readers
from search.index.engine.codec.stored import stored_fields
from search.index.engine.segments import POSTINGS_BYTES, SegmentArrays
from search.index.shards import live_set, open_shard, shard_searcher
from search.index.store import IndexMissing
from search.index.stories.update import IndexStatistics
from search.query.parse import WEIGHTING, ParsedQuery
from search.searching import ranking
from search.searching.budget import Budget
from search.searching.evaluate import SCORED_BYTES, Evaluator, OutOfTime, Unsupported
from search.searching.explain import Explainer
from search.searching.related import candidates
from search.searching.results import SearchRequest
from search.searching.set_stories import ShardStories

#: (field name, text) of a term.
Term = tuple[str, str]
#: A hit a shard offers: (sort key, article id, document number, score). Keys compare across
#: shards: (score,) by relevance, (date, time) by date, (minutes,) by last update.
Candidate = tuple[tuple, str, int, float]
#: Attempts to open the set the manifest names while writers keep switching it.
_OPEN_ATTEMPTS = 5


class ShardGone(RuntimeError):
    """The live set no longer has this shard (it was rebuilt with fewer)."""


@dataclass(frozen=True)
class Version:
    """A commit of the set: its generation folder and the manifest's commit number."""

    folder: str
    commit: int


@dataclass
class ShardStatistics:
    version: Version
    #: Documents, deleted ones included, and the total length of each field asked about, as
    #: Whoosh's BM25 counts them.
    documents: int
    lengths: dict[str, int]
    #: Documents holding each term asked about (Whoosh's count, deleted ones included).
    frequencies: list[int]
    #: Live documents, and those holding each word asked about: the common-word rule's counts.
    live: int
    live_frequencies: list[int]


@dataclass(frozen=True)
class Collection:
    """The counts of the whole set for one search, which every shard scores with."""

    version: Version
    documents: int
    lengths: dict[str, int]
    frequencies: dict[Term, int]


#: The stories of no match.
_NO_STORIES = (0, np.zeros(0, dtype=np.int64))


@dataclass
class ShardPage:
    version: Version
    total: int = 0
    #: Matches of the first tier, and the best of each tier (at most the request's last
    #: position of each).
    first: int = 0
    first_hits: list[Candidate] = field(default_factory=list)
    rest_hits: list[Candidate] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: Matches per date value ("" for undated), when a timeline was asked for.
    dates: dict[str, int] | None = None
    partial: bool = False
    #: The matches' stories (`ShardStories.count`): those of one article, the others' numbers.
    stories: tuple[int, np.ndarray] = _NO_STORIES


class _SetStatistics:
    """The set's counts as the searches of one commit bring them (the same for every search of
    that commit), turned into BM25's idf and average field length exactly as Whoosh's `BM25F`
    computes them from one index's counts."""

    def __init__(self) -> None:
        self.documents = 0
        self.lengths: dict[str, int] = {}
        self.frequencies: dict[tuple[str, bytes], int] = {}

    def learn(self, collection: Collection, searcher: Searcher) -> None:
        self.documents = collection.documents
        self.lengths.update(collection.lengths)
        schema = searcher.schema
        for (fieldname, text), n in collection.frequencies.items():
            self.frequencies[(fieldname, schema[fieldname].to_bytes(text))] = n

    def idf(self, fieldname: str, btext: bytes) -> float:
        n = self.frequencies[(fieldname, btext)]
        return math.log(self.documents / (n + 1)) + 1

    def avg_field_length(self, fieldname: str) -> float:
        return (self.lengths[fieldname] / (self.documents or 1)) or 1


@dataclass
class _State:
    live: Path
    ix: FileIndex
    version: Version
    generation: int
    searcher: Searcher
    statistics: _SetStatistics
    evaluator: Evaluator | None = None
    stories: ShardStories | None = None


class ShardSearcher:
    """Shard `shard` of the set in `index_dir`, following the live set."""

    def __init__(
        self,
        index_dir: Path,
        shard: int,
        scored_bytes: int = SCORED_BYTES,
        utc_offset: dt.timedelta = dt.timedelta(hours=7),
        postings_bytes: int = POSTINGS_BYTES,
    ) -> None:
        """`scored_bytes` and `postings_bytes`: the shard's share of the process's memory for
        scored postings (per commit) and decoded ones (across commits)."""
        self.index_dir, self.shard = index_dir, shard
        self.scored_bytes = scored_bytes
        self.utc_offset = utc_offset
        self._lock = threading.Lock()
        self._state: _State | None = None
        #: Per-segment arrays and postings, kept across commits for the segments they leave unchanged.
        self.arrays = SegmentArrays(postings_bytes)
        self._current()

    def _current(self, version: Version | None = None) -> _State:
        """The state to answer from: the one open when it is the commit the front read (most
        calls: no look at the disk), else the live set's, opened if new."""
        state = self._state
        if version is not None and state is not None and state.version == version:
            return state
        with self._lock:
            for _ in range(_OPEN_ATTEMPTS):
                live, manifest = live_set(self.index_dir)
                if self.shard >= manifest.shards:
                    raise ShardGone(f"the index in {self.index_dir} has {manifest.shards} shards now")
                version = Version(live.name, manifest.commit)
                state = self._state
                if state is not None and state.version == version:
                    return state
                generation = manifest.generations[self.shard]
                kept = state if state is not None and state.live == live else None
                try:
                    ix = kept.ix if kept else open_shard(live, self.shard)
                    if kept and kept.generation == generation:
                        searcher = kept.searcher
                    else:
                        searcher = shard_searcher(live, manifest, self.shard, WEIGHTING, kept and kept.searcher, ix)
                except OSError:  # switched and cleaned since the manifest was read
                    continue
                self.arrays.retain(searcher.reader())
                self._state = _State(live, ix, version, generation, searcher, _SetStatistics())
                return self._state
        raise IndexMissing(f"shard {self.shard} of {self.index_dir} kept changing while being opened")

    def _evaluator(self, state: _State) -> Evaluator:
        """The evaluator of a commit, scoring with the set's counts: a new commit of any shard
        changes them, so each commit has its own."""
        with self._lock:
            if state.evaluator is None:
                state.evaluator = Evaluator(
                    state.searcher, self.scored_bytes, arrays=self.arrays, collection=state.statistics
                )
            return state.evaluator

    def _stories(self, state: _State) -> ShardStories:
        """The set's stories over this shard, read once per commit."""
        with self._lock:
            if state.stories is None:
                state.stories = ShardStories(state.live, state.version.commit, state.searcher.reader())
            return state.stories

    def version(self) -> Version:
        return self._current().version

    def statistics(self, version: Version, terms: list[Term], words: list[str]) -> ShardStatistics:
        """The counts of `terms` (every term the query may score) and of `words` (its plain
        words, in the folded field, for the common-word rule)."""
        state = self._current(version)
        reader = state.searcher.reader()
        evaluator = self._evaluator(state)
        lengths = {name: reader.field_length(name) for name in sorted({name for name, _ in terms})}
        frequencies = [reader.doc_frequency(name, text) for name, text in terms]
        if evaluator.has_deletions:  # Whoosh still counts deleted documents: read the postings
            schema = state.searcher.schema
            live_frequencies = []
            for word in words:
                ids, _, _ = readers.postings(reader, "folded", schema["folded"].to_bytes(word), values=False)
                live_frequencies.append(int(np.count_nonzero(evaluator.live[ids])))
        else:
            live_frequencies = [reader.doc_frequency("folded", word) for word in words]
        return ShardStatistics(
            state.version, reader.doc_count_all(), lengths, frequencies, evaluator.doc_count(), live_frequencies
        )

    def query(
        self, parsed: ParsedQuery, request: SearchRequest, collection: Collection, budget: float | None
    ) -> ShardPage:
        """This shard's part of one page: `ranking.evaluated_page` for a window from the
        first hit to the last the page needs, scored with `collection`'s counts. A collection
        of another commit than this shard's is not used (it would be cached with the wrong
        scores): the answer then only names this shard's commit, and the front asks again."""
        state = self._current(collection.version)
        if collection.version != state.version:
            return ShardPage(state.version)
        evaluator = self._evaluator(state)
        state.statistics.learn(collection, state.searcher)
        end = request.page * request.per_page
        window = dataclasses.replace(request, page=1, per_page=end, histogram=None)
        clock = Budget(budget)
        stories = self._stories(state)
        try:
            counted = ranking.evaluated_page(
                evaluator,
                parsed,
                window,
                ranking.filter_query(request),
                self.utc_offset,
                ranking.deadline(clock),
                stories.codes if request.collapse else None,
            )
        except OutOfTime:
            return ShardPage(state.version, partial=True)
        candidates = self._candidates(evaluator, counted.page, request.sort)
        first = min(counted.first if counted.shown_first is None else counted.shown_first, len(candidates))
        dates = None
        if request.histogram and counted.matching is not None:
            codes, values = evaluator.column("date")
            per_code = np.bincount(codes[counted.matching], minlength=len(values))
            dates = {values[code]: int(n) for code, n in enumerate(per_code) if n}
        return ShardPage(
            state.version,
            counted.total,
            counted.first,
            candidates[:first],
            candidates[first:],
            counted.facets,
            dates,
            clock.partial,
            stories.count(counted.matching) if counted.matching is not None else _NO_STORIES,
        )

    def _candidates(self, evaluator: Evaluator, page: ranking.Page, sort: str) -> list[Candidate]:
        id_codes, ids = evaluator.column("id")
        key: Callable[[int, float], tuple]
        if sort == "date":
            (date_codes, dates), (time_codes, times) = evaluator.column("date"), evaluator.column("time")
            key = lambda d, score: (dates[date_codes[d]], times[time_codes[d]])  # noqa: E731
        elif sort == "relevance":
            key = lambda d, score: (score,)  # noqa: E731
        else:
            minutes = evaluator.sort_keys(sort, self.utc_offset)
            key = lambda d, score: (int(minutes[d]),)  # noqa: E731
        return [(key(d, score), ids[id_codes[d]], d, score) for d, score in page]

    def fetch(self, version: Version, docnums: list[int], ids: list[str]) -> list[dict | None]:
        """The stored fields of hits, by document number when the commit is still `version`,
        else by id (None for an article gone since)."""
        state = self._current(version)
        searcher = state.searcher
        if state.version == version:
            reader = searcher.reader()
            return [stored_fields(reader, d) for d in docnums]
        return [searcher.document(id=article_id) for article_id in ids]

    def explain(self, collection: Collection, parsed: ParsedQuery, q: str, docnums: list[int]) -> list[dict | None]:
        """Why each of the page's hits held here scored what it did (`explain=1`), with the
        set's counts the page was scored with (given again: another replica may have scored
        it); None for all when the commit is no longer the collection's (the front then
        leaves them out)."""
        state = self._current(collection.version)
        if state.version != collection.version:
            return [None] * len(docnums)
        evaluator = self._evaluator(state)
        state.statistics.learn(collection, state.searcher)
        explainer = Explainer(evaluator, parsed, q)
        return [explainer.explain(d).to_json() for d in docnums]

    def frequencies(self, version: Version, terms: list[Term]) -> tuple[Version, list[int]]:
        """Documents holding each term (for "did you mean", which counts as Whoosh does)."""
        state = self._current(version)
        reader = state.searcher.reader()
        return state.version, [reader.doc_frequency(name, text) for name, text in terms]

    def article(self, version: Version, article_id: str) -> dict | None:
        return self._current(version).searcher.document(id=article_id)

    def story_counts(self, version: Version, terms: list[str]) -> tuple[int, list[int]]:
        """Live articles, and the documents holding each story term (`IndexStatistics`)."""
        state = self._current(version)
        reader = state.searcher.reader()
        counts = self._stories(state).cached("statistics", lambda: IndexStatistics(reader))
        return counts.document_count(), [int(n) for n in counts.document_frequencies(terms)]

    def related_candidates(
        self,
        version: Version,
        article_id: str,
        terms: list[tuple[str, float]],
        documents: int,
        frequencies: list[int],
        count: int,
    ) -> list[tuple[str, float]]:
        """This shard's best (id, score) candidates of related coverage for the weighted terms
        of `article_id`, with the set's counts (`related.candidates`)."""
        state = self._current(version)
        searcher, stories = state.searcher, self._stories(state)
        reader = searcher.reader()
        leave_out = searcher.document_number(id=article_id)
        postings = self.arrays.postings
        found = candidates(reader, stories.cached, postings, terms, documents, frequencies, leave_out, count)
        ids = stories.cached("ids", lambda: readers.column(reader, "id"))
        return [(str(ids[d]), score) for d, score in found]

    def described(self, version: Version, ids: list[str], keys: tuple[str, ...] | None = None) -> list[dict | None]:
        """The stored fields (those of `keys`, or all) of articles by id, None for one not here."""
        searcher = self._current(version).searcher
        found = [searcher.document(id=article_id) for article_id in ids]
        if keys is None:
            return found
        return [None if fields is None else {k: fields.get(k) for k in keys} for fields in found]

    def counts(self, version: Version) -> tuple[Version, int]:
        """The commit and this shard's live articles."""
        state = self._current(version)
        return state.version, self._evaluator(state).doc_count()


def all_terms(parsed: ParsedQuery) -> tuple[list[Term], list[str]]:
    """Every term an evaluation of `parsed` may score (whatever words turn out common), and
    its plain words: what `ShardSearcher.statistics` is asked for."""
    common, parsed.common = parsed.common, set()
    try:
        queries = [parsed.any_word(), parsed.all_words()]
    finally:
        parsed.common = common
    terms: dict[Term, None] = {}
    for q in queries:
        for leaf in q.leaves():
            fieldname = getattr(leaf, "fieldname", None)
            if fieldname is None:
                continue
            for text in getattr(leaf, "words", None) or [leaf.text]:  # a phrase, or a term
                terms[(fieldname, text)] = None
    return list(terms), sorted(set(parsed.words.values()))


__all__ = ["Collection", "ShardGone", "ShardPage", "ShardSearcher", "ShardStatistics", "Unsupported", "Version"]
