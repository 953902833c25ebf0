"""Related coverage's cosine against re-rankings that use the neighbourhood, on the KTLAB pool.

`bench/related_variants.py` asks whether another term weighting finds more story mates; this
asks whether the structure around an article does: story mates are close to each other, so a
candidate that the article's neighbours also point to, or whose own neighbours include the
article, might be a mate more often than its cosine says. Every KTLAB article is compared
exactly with the whole pool (the KTLAB articles and the first VNTC articles, document
frequencies counted over the pool), and each method re-scores the pool:

- CSLS (cross-domain similarity local scaling): 2 cos(a, c) - the mean cosine of c with its k
  nearest articles, which lowers candidates that are close to everything;
- Rocchio feedback: the article's vector plus beta times the centroid of its k nearest;
- mutual nearest neighbours: candidates that have the article among their own k nearest first;
- shared nearest neighbours: by how many of the k nearest the two have in common;
- reciprocal rank fusion (1 / (k + rank), summed) of the cosine with a title-only cosine, or
  with BM25 over the article's 25 strongest terms;
- pivoted length normalisation: the cosine times |c| / ((1 - s) * mean |c| + s * |c|).

The list is made as the service makes it: the article's own story first (the stories of an
index built from the pool, as `vnsearch index` groups them), then by score. The figures are
R@5 of the story mates with its 5th-95th percentiles over resampled clusters, and MRR@10.

    python -m bench.related_neighbourhood [--data DIR] [--distractors 10000]
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from scipy import sparse

from bench.related_variants import Variant, pool_from_args, term_counts, unscaled, weights
from bench.stories import index_stories, ranking_scores
from search.corpus.article import Article
from search.index.indexer import build

#: Nearest articles kept for each pool article (the largest k asked for).
NEIGHBOURS = 50
#: Candidates each method re-orders: the best by its own score.
SHORTLIST = 60

#: A method: the r-th KTLAB article's scores of the whole pool.
Scorer = Callable[[int], np.ndarray]


def nearest(matrix: sparse.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` most similar other rows, best first, and their cosines."""
    n = matrix.shape[0]
    found, cosines = np.zeros((n, k), dtype=np.int64), np.zeros((n, k))
    columns = matrix.T.tocsc()
    for start in range(0, n, 256):
        block = (matrix[start : start + 256] @ columns).toarray()
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        part = np.argpartition(-block, k, axis=1)[:, :k]
        values = np.take_along_axis(block, part, 1)
        order = np.argsort(-values, axis=1, kind="stable")
        found[start : start + 256] = np.take_along_axis(part, order, 1)
        cosines[start : start + 256] = np.take_along_axis(values, order, 1)
    return found, cosines


def bm25(pool: list[Article], k1: float = 1.2, b: float = 0.75) -> sparse.csc_matrix:
    """Each article's BM25 weights of the service's terms (their counts, the title's twice)."""
    counts, _, _ = term_counts(pool, Variant("counts"))
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    n = counts.shape[0]
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    rows = np.repeat(np.arange(n), np.diff(counts.indptr))
    counts.data = counts.data * (k1 + 1) / (counts.data + k1 * (1 - b + b * lengths[rows] / lengths.mean()))
    counts.data *= np.log(1 + (n - df + 0.5) / (df + 0.5))[counts.indices]
    return counts.tocsc()


def ranks(scores: np.ndarray) -> np.ndarray:
    """Each article's place (0 the best) in a descending order of `scores`."""
    places = np.empty(len(scores))
    places[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return places


def fused(first: np.ndarray, second: np.ndarray, k: int) -> np.ndarray:
    """Reciprocal rank fusion of two scorings of the pool."""
    return 1 / (k + ranks(first)) + 1 / (k + ranks(second))


class Pool:
    """The pool's vectors, each article's nearest, and the KTLAB articles' exact cosines."""

    def __init__(self, pool: list[Article], queries: list[int]) -> None:
        raw = unscaled(pool, Variant("the service's cosine"))
        self.lengths = np.sqrt(np.asarray(raw.multiply(raw).sum(axis=1)).ravel())
        self.unit = sparse.csr_matrix(sparse.diags(1 / np.where(self.lengths > 0, self.lengths, 1)) @ raw)
        self.near, self.near_cosines = nearest(self.unit, NEIGHBOURS)
        self.queries = queries
        self.cosines = (self.unit[queries] @ self.unit.T).toarray()
        titles = weights([dataclasses.replace(a, body="") for a in pool], Variant("titles"))
        self.title_cosines = (titles[queries] @ titles.T).toarray()
        self.bm25 = bm25(pool)

    def rocchio(self, r: int, k: int, beta: float) -> np.ndarray:
        best = np.argsort(-self.cosines[r], kind="stable")
        best = best[best != self.queries[r]][:k]
        query = np.asarray(self.unit[self.queries[r]].todense()).ravel()
        query = query + beta * np.asarray(self.unit[best].mean(axis=0)).ravel()
        return np.asarray(self.unit @ (query / np.linalg.norm(query))).ravel()

    def mutual(self, r: int, k: int) -> np.ndarray:
        has_me = (self.near[:, :k] == self.queries[r]).any(axis=1)
        return self.cosines[r] + has_me

    def shared(self, r: int, k: int) -> np.ndarray:
        mine = np.zeros(len(self.near), dtype=bool)
        mine[self.near[self.queries[r], :k]] = True
        mine[self.queries[r]] = True
        return mine[self.near[:, :k]].sum(axis=1) + self.cosines[r]

    def strongest_bm25(self, r: int, terms: int = 25) -> np.ndarray:
        row = self.unit[self.queries[r]]
        top = row.indices[np.argsort(-row.data, kind="stable")[:terms]]
        return np.asarray(self.bm25[:, top].sum(axis=1)).ravel()

    def cosine(self, r: int) -> np.ndarray:
        return self.cosines[r]

    def csls(self, r: int, local: np.ndarray) -> np.ndarray:
        return 2 * self.cosines[r] - local

    def with_titles(self, r: int, k: int) -> np.ndarray:
        return fused(self.cosines[r], self.title_cosines[r], k)

    def with_bm25(self, r: int, k: int) -> np.ndarray:
        return fused(self.cosines[r], self.strongest_bm25(r), k)

    def pivoted(self, r: int, scale: np.ndarray) -> np.ndarray:
        return self.cosines[r] * scale

    def methods(self) -> list[tuple[str, Scorer]]:
        """(name, scorer of the pool for the r-th KTLAB article) of each method and parameter."""
        mean = self.lengths.mean()
        found: list[tuple[str, Scorer]] = [("cosine (the service)", self.cosine)]
        for k in (5, 10, 20, 30, 50):
            found.append((f"CSLS, k {k}", partial(self.csls, local=self.near_cosines[:, :k].mean(axis=1))))
        for k, beta in itertools.product((1, 3, 5), (0.25, 0.5, 1.0)):
            found.append((f"Rocchio, k {k}, beta {beta}", partial(self.rocchio, k=k, beta=beta)))
        for k in (5, 10, 20, 50):
            found.append((f"mutual nearest first, k {k}", partial(self.mutual, k=k)))
        for k in (10, 20):
            found.append((f"shared nearest, k {k}", partial(self.shared, k=k)))
        found.append(("BM25 over the 25 strongest terms, alone", self.strongest_bm25))
        for k in (10, 60):
            found.append((f"RRF with a title cosine, k {k}", partial(self.with_titles, k=k)))
            found.append((f"RRF with BM25 (25 terms), k {k}", partial(self.with_bm25, k=k)))
        for slope in (0.8, 0.9, 0.95, 1.05):
            scale = self.lengths / ((1 - slope) * mean + slope * self.lengths)
            found.append((f"pivoted length, slope {slope}", partial(self.pivoted, scale=scale)))
        return found


def ranked(scores: np.ndarray, me: int, story: list[str]) -> list[int]:
    """The ten best of the pool for article `me` by `scores`, its story's articles first."""
    scores = scores.copy()
    scores[me] = -np.inf
    shortlist = np.argsort(-scores, kind="stable")[:SHORTLIST].tolist()
    shortlist.sort(key=lambda c: story[c] != story[me])
    return shortlist[:10]


def main() -> None:
    ktlab, pool, gold = pool_from_args(__doc__)
    with tempfile.TemporaryDirectory(prefix="vnsearch-neighbourhood-") as tmp:
        build(Path(tmp) / "index", pool, procs=2)
        stories = index_stories(Path(tmp) / "index", [a.id for a in pool])
    story = [stories[a.id] for a in pool]
    ids = [a.id for a in pool]
    queries = list(range(len(ktlab)))
    found = Pool(pool, queries)
    print(f"{len(ktlab)} KTLAB articles + {len(pool) - len(ktlab)} VNTC distractors, each compared with all\n")
    print("| ranking | R@5 | R@5 5th-95th pct | MRR@10 |\n| --- | ---: | ---: | ---: |")
    for name, scorer in found.methods():
        lists = {ids[me]: [ids[c] for c in ranked(scorer(r), me, story)] for r, me in enumerate(queries)}
        s = ranking_scores(lists, gold)
        print(f"| {name} | {s['R@5']:.3f} | {s['R@5_p5']:.3f}-{s['R@5_p95']:.3f} | {s['MRR@10']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
