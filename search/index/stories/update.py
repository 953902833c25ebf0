"""The indexer's side of story grouping: the graph of a fresh build, and the graph brought along
by an incremental run, both saved with the commit (`search.index.stories.saved`).

A fresh build groups after its segments are written, from the index itself: the copy column its
build processes filled in, the dates, and for dated articles their text weighed by the index's
own document frequencies (`IndexStatistics`, each term looked up once: `counts`). An
incremental run starts from the graph of the commit it started from, takes out the articles it
deletes or replaces, and adds each new one with its edges, found by scanning the live articles'
copy signatures and the dated articles within the window: the same tests of a pair as a fresh
build (`pool.copy_edge`, `pool.event_edge`), so the same pairs pass. What can differ is the
statistics: a same-event edge is weighed with the document frequencies of the commit it was
found in, a rebuild with today's (copies do not depend on them).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from pathlib import Path

import numpy as np
from whoosh.index import FileIndex
from whoosh.reading import IndexReader

from search.corpus.article import Article
from search.index.engine import readers
from search.index.stories import saved
from search.index.stories.counts import TermCounts
from search.index.stories.graph import COPY, StoryGraph
from search.index.stories.pool import Features, bands, copy_edge, event_edge, features, graph_of
from search.index.stories.text import (
    DEFAULT,
    Signatures,
    StoryParams,
    TermStatistics,
    Vocabulary,
    day_of,
    split_column,
)
from search.text.analysis import PAIR_JOINER

#: Document frequencies kept at most per commit (`IndexStatistics`, a set's `SetCounts`): a few
#: tens of MB of terms.
MAX_CACHED_TERMS = 1 << 18


class IndexStatistics:
    """Document frequencies from the index's `folded` (syllables) and `pairs` fields, the ones
    looked up kept for the commit: a worker's related requests keep asking for the same terms.
    At most `max_terms` are kept (emptied when full, as the topics asked about drift), since
    an archive's pairs run into the millions and a worker lives for many requests; a build's
    grouping, which ends with its run, keeps them all (None)."""

    def __init__(self, reader: IndexReader, max_terms: int | None = MAX_CACHED_TERMS) -> None:
        self.reader = reader
        self.max_terms = max_terms
        self._cache: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def document_count(self) -> int:
        return self.reader.doc_count()

    def document_frequencies(self, terms: Sequence[str]) -> np.ndarray:
        cache = self._cache
        out = np.fromiter(map(cache.get, terms, repeat(-1)), dtype=np.float64, count=len(terms))
        missing = np.flatnonzero(out < 0)
        bound = self.max_terms
        if bound is not None and len(cache) + len(missing) > bound:
            cache.clear()
        # Looked up together, each field's terms straight from the segments' term files.
        by_field: dict[str, list[int]] = {}
        for i in missing.tolist():
            by_field.setdefault("pairs" if PAIR_JOINER in terms[i] else "folded", []).append(i)
        for fieldname, wanted in by_field.items():
            found = readers.doc_frequencies(self.reader, fieldname, [terms[i].encode() for i in wanted])
            for i, df in zip(wanted, found.tolist()):
                out[i] = df
                if bound is None or len(cache) < bound:
                    cache[terms[i]] = df
        return out


def folder(ix: FileIndex) -> Path:
    return Path(ix.storage.folder)


def group_fresh(ix: FileIndex, params: StoryParams = DEFAULT) -> None:
    """Group a freshly built index and save the graph with its commit."""
    with ix.reader() as reader:
        saved.save(folder(ix), reader.generation(), grouped([reader], IndexStatistics(reader, None), params))


def grouped(readers_: Sequence[IndexReader], statistics: TermStatistics, params: StoryParams = DEFAULT) -> StoryGraph:
    """The graph of every article the readers hold (one index's, or each shard's of a set),
    texts weighed by `statistics`, every term looked up once: the same graph whichever way the
    articles are spread over readers."""
    entries: list[tuple[str, IndexReader, int, int | None, bytes | str]] = []
    for reader in readers_:
        if reader.doc_count():
            ids, dates, copies = (readers.column(reader, name) for name in ("id", "date", "copies"))
            entries.extend((ids[d], reader, d, day_of(dates[d] or None), copies[d]) for d in reader.all_doc_ids())
    entries.sort(key=lambda entry: entry[0])
    counts = TermCounts(params)
    for _, reader, docnum, day, _ in entries:
        if day is not None:
            stored = reader.stored_fields(docnum)
            counts.add(stored.get("title", ""), stored.get("body", ""))
    vectors = counts.vectors(statistics.document_frequencies(counts.names), statistics.document_count())
    weighed = iter(vectors)
    found = []
    for article_id, _, _, day, copy_value in entries:
        key, signature = split_column(copy_value or b"")  # type: ignore[arg-type]
        found.append(Features(article_id, day, key, signature, next(weighed) if day is not None else None))
    return graph_of(found, params)


class Recorder:
    """What a run changes (articles taken out, articles added or replaced), and the graph of
    the commit it started from brought along to the commit it writes."""

    def __init__(self, params: StoryParams = DEFAULT) -> None:
        self.params = params
        self._removed: set[str] = set()
        self._added: dict[str, Article] = {}

    def remove(self, article_id: str) -> None:
        self._removed.add(article_id)
        self._added.pop(article_id, None)

    def add(self, article: Article) -> None:
        """A new article, or a new version of one (the old one is taken out first)."""
        self._added[article.id] = article

    @property
    def adds(self) -> bool:
        return bool(self._added)

    def brought_along(
        self, graph: StoryGraph, readers_: Sequence[IndexReader], statistics: TermStatistics | None = None
    ) -> StoryGraph:
        """`graph` (the starting commit's, whose articles `readers_` hold) with the run's
        changes; `statistics` weigh the new texts (default: the one reader's)."""
        for article_id in sorted(self._removed | set(self._added)):
            graph.remove(article_id, settle=False)
        if self._added:
            weights = statistics or IndexStatistics(readers_[0], None)
            _Scan(readers_, weights, self.params, set(self._added) | self._removed).add_all(graph, self._added)
        graph.settle()
        return graph


class StoryRecorder(Recorder):
    """A `Recorder` for one index: the graph saved beside its next commit."""

    def __init__(self, ix: FileIndex, params: StoryParams = DEFAULT) -> None:
        super().__init__(params)
        self.ix = ix

    def prepare(self, generation: int) -> None:
        """Save the graph of the commit about to be written as `generation`."""
        with self.ix.reader() as reader:
            graph = saved.load(folder(self.ix), reader.generation(), self.params.same_event)
            graph = self.brought_along(graph, [reader])
        saved.save(folder(self.ix), generation, graph)

    def committed(self, generation: int) -> None:
        saved.prune(folder(self.ix), generation)


_NO_DAY = -(1 << 40)


class _Scan:
    """The live articles of the starting commit (less those the run takes out) as arrays, to
    test new articles against by brute force: a few milliseconds an article on a large index,
    where building an LSH over every signature would take seconds per run. New articles are
    tested against each other through their equal keys and bands, as an LSH would."""

    def __init__(
        self, readers_: Sequence[IndexReader], statistics: TermStatistics, params: StoryParams, gone: set[str]
    ) -> None:
        self.params = params
        self.vocabulary = Vocabulary(statistics, params)
        self.n_bands, self.rows = bands(params)
        width = self.n_bands * self.rows
        #: (reader, document number) of each live article, and its id, date and copy value.
        self.docs: list[tuple[IndexReader, int]] = []
        self.ids: list[str] = []
        found_dates: list[str] = []
        parts: list[tuple[bytes | None, np.ndarray | None]] = []
        for reader in readers_:
            if reader.doc_count():
                ids, dates, copies = (readers.column(reader, name) for name in ("id", "date", "copies"))
                docs = [d for d in reader.all_doc_ids() if ids[d] not in gone]
                self.docs.extend((reader, d) for d in docs)
                self.ids.extend(ids[d] for d in docs)
                found_dates.extend(dates[d] for d in docs)
                parts.extend(split_column(copies[d] or b"") for d in docs)
        self.row_keys = [key for key, _ in parts]
        self.signatures = [signature for _, signature in parts]
        self.by_key: dict[bytes, list[int]] = {}
        for i, key in enumerate(self.row_keys):
            if key is not None:
                self.by_key.setdefault(key, []).append(i)
        self.signed = np.asarray([i for i, s in enumerate(self.signatures) if s is not None], dtype=np.int64)
        self.bands = np.zeros((len(self.signed), self.n_bands, self.rows), dtype=np.uint16)
        for row, i in enumerate(self.signed.tolist()):
            self.bands[row] = self.signatures[i][:width].reshape(self.n_bands, self.rows)
        self.days = np.array([day_of(iso or None) or _NO_DAY for iso in found_dates], dtype=np.int64)
        self.dated = np.flatnonzero(self.days != _NO_DAY)
        self._features: dict[int, Features] = {}

    def existing(self, i: int) -> Features:
        """A live article's features, its vector made on first need (dated articles only)."""
        found = self._features.get(i)
        if found is None:
            day = _day(self.days[i])
            vector = None
            if day is not None:
                reader, docnum = self.docs[i]
                stored = reader.stored_fields(docnum)
                vector = self.vocabulary.vector(stored.get("title", ""), stored.get("body", ""))
            found = self._features[i] = Features(self.ids[i], day, self.row_keys[i], self.signatures[i], vector)
        return found

    def _band_keys(self, entry: Features) -> list[tuple[int, bytes]]:
        if entry.signature is None:
            return []
        rows = entry.signature.astype(np.uint16)[: self.n_bands * self.rows].reshape(self.n_bands, self.rows)
        return [(b, rows[b].tobytes()) for b in range(self.n_bands)]

    def edges(self, entry: Features) -> dict[str, tuple[float, int | None]]:
        """Edges of a new article to the live ones, with the day of each neighbour."""
        found: dict[str, tuple[float, int | None]] = {}
        candidates: set[int] = set(self.by_key.get(entry.key, ())) if entry.key is not None else set()
        if entry.signature is not None and len(self.signed):
            mine = entry.signature.astype(np.uint16)[: self.n_bands * self.rows].reshape(self.n_bands, self.rows)
            candidates.update(self.signed[(self.bands == mine).all(axis=2).any(axis=1)].tolist())
        for i in sorted(candidates):
            if copy_edge(entry, self._plain(i), self.params):
                found[self.ids[i]] = (COPY, _day(self.days[i]))
        if entry.vector is not None and entry.day is not None:
            near = self.dated[np.abs(self.days[self.dated] - entry.day) <= self.params.window_days]
            for i in near.tolist():
                if self.ids[i] not in found and (score := event_edge(entry, self.existing(i), self.params)) is not None:
                    found[self.ids[i]] = (score, _day(self.days[i]))
        return found

    def _plain(self, i: int) -> Features:
        return Features(self.ids[i], None, self.row_keys[i], self.signatures[i])

    def add_all(self, graph: StoryGraph, articles: dict[str, Article]) -> None:
        signatures = Signatures(self.params)
        by_key: dict[bytes, list[Features]] = {}
        by_band: dict[tuple[int, bytes], list[Features]] = {}
        dated: list[Features] = []
        for article_id in sorted(articles):
            entry = features(articles[article_id], signatures, self.vocabulary)
            edges = self.edges(entry)
            band_keys = self._band_keys(entry)
            copies = {e.id: e for e in by_key.get(entry.key, ())} if entry.key is not None else {}
            for band in band_keys:
                copies.update((e.id, e) for e in by_band.get(band, ()))
            for other in copies.values():
                if copy_edge(entry, other, self.params):
                    edges[other.id] = (COPY, other.day)
            for other in dated if entry.vector is not None else ():
                if other.id not in edges and (score := event_edge(entry, other, self.params)) is not None:
                    edges[other.id] = (score, other.day)
            weights = {a: w for a, (w, _) in edges.items()}
            graph.add(entry.id, entry.day, weights, {a: d for a, (_, d) in edges.items()}, settle=False)
            if entry.key is not None:
                by_key.setdefault(entry.key, []).append(entry)
            for band in band_keys:
                by_band.setdefault(band, []).append(entry)
            if entry.vector is not None:
                dated.append(entry)


def _day(value: np.int64) -> int | None:
    return None if value == _NO_DAY else int(value)
