"""Grouping a whole set of articles at once (a fresh build, the benchmark), and the two tests
of a pair of articles that every way of grouping shares.

`copy_edge` and `event_edge` are symmetric functions of two articles' features: whichever
way candidates are found (for a whole set, `graph_of`: equal signature bands found by sorting
each band of every signature at once, and top terms met as sparse matrices, see `events`; for an update, a scan of the
index's own columns, see `search.index.stories.update`), the same pairs pass, so a grown index
and a rebuild agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

from search.corpus.article import Article
from search.index.stories.events import event_pairs
from search.index.stories.graph import COPY, StoryGraph
from search.index.stories.text import (
    DEFAULT,
    CountedStatistics,
    Signatures,
    StoryParams,
    TermStatistics,
    Vector,
    Vocabulary,
    day_of,
    split_column,
)


@dataclass(frozen=True)
class Features:
    """What grouping knows of an article."""

    id: str
    day: int | None
    key: bytes | None
    signature: np.ndarray | None  # the MinHash's hash values (16 bits each)
    vector: Vector | None = None  # only for dated articles: only they are compared by terms


@lru_cache(maxsize=8)
def bands(params: StoryParams) -> tuple[int, int]:
    """datasketch's (bands, rows) for the copy threshold: a pair is a copy candidate when one
    band of their signatures is equal."""
    from datasketch import MinHashLSH  # imports scipy: only where copies are looked for

    lsh = MinHashLSH(threshold=params.copy_jaccard, num_perm=params.num_perm)
    return lsh.b, lsh.r


def copy_edge(a: Features, b: Features, params: StoryParams = DEFAULT) -> bool:
    if a.key is not None and a.key == b.key:
        return True
    if a.signature is None or b.signature is None:
        return False
    n_bands, rows = bands(params)
    same = a.signature == b.signature
    if not same[: n_bands * rows].reshape(n_bands, rows).all(axis=1).any():
        return False
    return float(same.mean()) >= params.copy_jaccard


def event_edge(a: Features, b: Features, params: StoryParams = DEFAULT) -> float | None:
    """The cosine of two dated articles within the window whose top terms meet, when it passes
    the same-event threshold; None otherwise."""
    if a.day is None or b.day is None or abs(a.day - b.day) > params.window_days:
        return None
    if a.vector is None or b.vector is None or a.vector.top.isdisjoint(b.vector.top):
        return None
    score = a.vector.cosine(b.vector)
    return score if score >= params.same_event else None


def features(article: Article, signatures: Signatures, vocabulary: Vocabulary | None) -> Features:
    """An article's features, as the index keeps them (the copy column) and derives them."""
    key, signature = split_column(signatures.column_value(article.body))
    day = day_of(article.date)
    vector = vocabulary.vector(article.title, article.body) if vocabulary is not None and day is not None else None
    return Features(article.id, day, key, signature, vector)


def graph_of(entries: Iterable[Features], params: StoryParams = DEFAULT) -> StoryGraph:
    """The graph of a whole set of articles, as adding them one at a time with an LSH makes it
    (the same edges: tests/test_stories.py checks it), without an LSH lookup per article."""
    items = sorted(entries, key=lambda entry: entry.id)
    edges: list[dict[int, float]] = [{} for _ in items]
    for i, j in _copy_pairs(items, params):
        edges[j][i] = COPY
    dated = [(j, e.day, e.vector) for j, e in enumerate(items) if e.vector is not None and e.day is not None]
    if len(dated) > 1:
        positions = np.array([j for j, _, _ in dated])
        first, second, scores = event_pairs([day for _, day, _ in dated], [vector for _, _, vector in dated], params)
        for i, j, score in zip(positions[first].tolist(), positions[second].tolist(), scores.tolist()):
            if i not in edges[j]:  # a copy already
                edges[j][i] = score
    graph = StoryGraph(params.same_event)
    for j, entry in enumerate(items):
        if edges[j]:
            found = {items[i].id: weight for i, weight in edges[j].items()}
            graph.add(entry.id, entry.day, found, {items[i].id: items[i].day for i in edges[j]}, settle=False)
    graph.settle()
    return graph


def _copy_pairs(items: Sequence[Features], params: StoryParams) -> set[tuple[int, int]]:
    """Positions (i < j) of the pairs that `copy_edge` joins: equal keys, and among the pairs
    with an equal band of their signatures (an LSH's candidates, found here by sorting each
    band of all the signatures at once) those that overlap enough."""
    pairs: set[tuple[int, int]] = set()
    by_key: dict[bytes, list[int]] = {}
    for i, entry in enumerate(items):
        if entry.key is not None:
            by_key.setdefault(entry.key, []).append(i)
    for members in by_key.values():
        pairs.update(combinations(members, 2))
    signed = np.array([i for i, entry in enumerate(items) if entry.signature is not None], dtype=np.int64)
    if len(signed) < 2:
        return pairs
    n_bands, rows = bands(params)
    table = np.stack([items[i].signature for i in signed.tolist()])
    candidates: set[tuple[int, int]] = set()
    for band in range(n_bands):
        _, inverse, counts = np.unique(
            table[:, band * rows : (band + 1) * rows], axis=0, return_inverse=True, return_counts=True
        )
        inverse = inverse.reshape(-1)
        shared = np.flatnonzero(counts[inverse] > 1)
        if not len(shared):
            continue
        shared = shared[np.argsort(inverse[shared], kind="stable")]
        members = signed[shared].tolist()
        cuts = (np.flatnonzero(np.diff(inverse[shared])) + 1).tolist()
        for start, end in zip([0, *cuts], [*cuts, len(members)]):
            candidates.update(combinations(members[start:end], 2))
    pairs.update(pair for pair in candidates - pairs if copy_edge(items[pair[0]], items[pair[1]], params))
    return pairs


def group(
    articles: Iterable[Article], statistics: TermStatistics | None = None, params: StoryParams = DEFAULT
) -> dict[str, str]:
    """Story id of every article, as a rebuild computes it: statistics over all of them first
    (unless given), then the graph of them all."""
    items = list(articles)
    vocabulary = Vocabulary(statistics or CountedStatistics(items, params.title_weight), params)
    signatures = Signatures(params)
    grouped = graph_of((features(article, signatures, vocabulary) for article in items), params).stories()
    return {a.id: grouped.get(a.id, a.id) for a in items}
