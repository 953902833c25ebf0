"""Related coverage's similarity against its variants, on the KTLAB pool of `bench/stories.py`.

`/articles/{id}/related` ranks by a TF-IDF cosine over folded syllables and pairs
(`search.index.stories.text`). Whether another weighting would find more story mates is asked
here without an index: every KTLAB article is compared exactly with every article of the pool
(the KTLAB articles and the first VNTC articles as distractors, document frequencies counted
over that pool), for the cosine as the service weighs it and for each variant. The figures are
R@5 of the story mates and MRR@10 of the first, with R@5's 5th and 95th percentiles over
resampled clusters (`bench.stories.ranking_scores`): a variant is worth taking only well
beyond that spread, since the clusters it is checked on are not these.

    python -m bench.related_variants [--data DIR] [--distractors 10000]
"""

from __future__ import annotations

import argparse
import itertools
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from bench.stories import _articles, load_ktlab, ranking_scores
from search.corpus.article import Article
from search.index.stories.text import DEFAULT, day_of, story_terms
from search.text.analysis import _BREAK_RE, PAIR_JOINER, WORD_RE, exact_analyzer, pairs
from search.text.normalize import fold, normalize


@dataclass(frozen=True)
class Variant:
    name: str
    terms: Callable[[str], Counter[str]] = lambda text: story_terms("", text, 1)
    title_weight: int = DEFAULT.title_weight
    idf_power: float = 1.0
    pair_weight: float = 1.0
    tf: str = "log"  # "log": 1 + log tf, as the service; "raw"; "bm25": saturated with k = 1.2
    decay_days: float | None = None  # the cosine times exp(-days apart / this), both dated
    named: float = 0.0  # idf times 1 + this × the share of the term's occurrences written as names


def _exact_terms(text: str) -> Counter[str]:
    """Syllables with their diacritics (the `exact` field's terms) and the folded pairs."""
    analyzer = exact_analyzer()
    words = [t.text for segment in _BREAK_RE.split(normalize(text)) for t in analyzer(segment)]
    folded_pairs = (t for t in story_terms("", text, 1).elements() if PAIR_JOINER in t)
    return Counter(words) + Counter(folded_pairs)


def _exact_pairs(text: str) -> Counter[str]:
    """Syllables and pairs both with their diacritics."""
    analyzer = exact_analyzer()
    found: list[str] = []
    for segment in _BREAK_RE.split(normalize(text)):
        words = [t.text for t in analyzer(segment)]
        found += words
        found += pairs(words)
    return Counter(found)


def _named_shares(pool: list[Article]) -> Counter[str]:
    """Per folded term, the share of its occurrences in the pool written as a name or a figure:
    each word capitalised within its sentence or holding a digit (a pair: both of its words)."""
    named: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for article in pool:
        for segment in _BREAK_RE.split(normalize(f"{article.title}\n\n{article.body}")):
            words = WORD_RE.findall(segment)
            marks = [(i > 0 and w[:1].isupper()) or any(c.isdigit() for c in w) for i, w in enumerate(words)]
            folded = [fold(w) for w in words]
            for term, mark in zip(folded, marks):
                seen[term] += 1
                named[term] += mark
            for term, first, second in zip(pairs(folded), marks, marks[1:]):
                seen[term] += 1
                named[term] += first and second
    return Counter({term: named[term] / n for term, n in seen.items()})


VARIANTS = [
    Variant("the service's cosine"),
    *(Variant(f"title counted {n}x", title_weight=n) for n in (1, 3)),
    *(Variant(f"idf to the power {p}", idf_power=p) for p in (0.5, 1.5)),
    *(Variant(f"pairs weighed {w}x", pair_weight=w) for w in (0.5, 2.0)),
    Variant("raw tf", tf="raw"),
    Variant("BM25 tf (k 1.2)", tf="bm25"),
    *(Variant(f"date decay, {d} days", decay_days=d) for d in (3.0, 30.0)),
    Variant("syllables with diacritics, folded pairs", terms=_exact_terms),
    Variant("syllables and pairs with diacritics", terms=_exact_pairs),
    *(Variant(f"names and figures weighed up ({a}x their share)", named=a) for a in (0.5, 1.0, 2.0)),
]


def weights(pool: list[Article], variant: Variant) -> sparse.csr_matrix:
    """Each article's unit-length TF-IDF row over the pool's terms, as `variant` weighs them."""
    weighed = unscaled(pool, variant)
    norms = np.sqrt(np.asarray(weighed.multiply(weighed).sum(axis=1)).ravel())
    return sparse.csr_matrix(sparse.diags(1 / np.where(norms > 0, norms, 1)) @ weighed)


def unscaled(pool: list[Article], variant: Variant) -> sparse.csr_matrix:
    """Each article's TF-IDF row as `variant` weighs it, before it is scaled to unit length."""
    matrix, vocabulary, pair_column = term_counts(pool, variant)
    df = np.asarray((matrix > 0).sum(axis=0)).ravel()
    idf = np.log(len(pool) / np.maximum(df, 1)) ** variant.idf_power
    idf *= np.where(pair_column, variant.pair_weight, 1.0)
    if variant.named:
        shares = _named_shares(pool)
        by_column = sorted(vocabulary, key=vocabulary.__getitem__)
        idf *= 1 + variant.named * np.array([shares[term] for term in by_column])
    if variant.tf == "log":
        matrix.data = 1 + np.log(matrix.data)
    elif variant.tf == "bm25":
        matrix.data = matrix.data * 2.2 / (matrix.data + 1.2)
    return sparse.csr_matrix(matrix @ sparse.diags(idf))


def term_counts(pool: list[Article], variant: Variant) -> tuple[sparse.csr_matrix, dict[str, int], list[bool]]:
    """Each article's term counts over the pool's terms (the title's counted as `variant` says),
    the terms' columns, and which columns are pairs."""
    rows, columns, counts = [], [], []
    vocabulary: dict[str, int] = {}
    pair_column: list[bool] = []
    for row, article in enumerate(pool):
        found = variant.terms(f"{article.title}\n\n{article.body}")
        if article.title:
            for term, n in variant.terms(article.title).items():
                found[term] += (variant.title_weight - 1) * n
        for term, n in found.items():
            if n <= 0:
                continue
            if term not in vocabulary:
                vocabulary[term] = len(vocabulary)
                pair_column.append(PAIR_JOINER in term)
            rows.append(row)
            columns.append(vocabulary[term])
            counts.append(n)
    matrix = sparse.csr_matrix((np.array(counts, float), (rows, columns)), shape=(len(pool), len(vocabulary)))
    return matrix, vocabulary, pair_column


def rankings(pool: list[Article], queries: list[str], variant: Variant) -> dict[str, list[str]]:
    """The ten most similar other articles of each query article."""
    ids = [a.id for a in pool]
    at = {a: i for i, a in enumerate(ids)}
    days = np.array([day_of(a.date) or 0 for a in pool], dtype=np.float64)
    dated = np.array([day_of(a.date) is not None for a in pool])
    matrix = weights(pool, variant)
    out = {}
    for start in range(0, len(queries), 64):
        chunk = queries[start : start + 64]
        similar = (matrix[[at[q] for q in chunk]] @ matrix.T).toarray()
        for row, query in zip(similar, chunk):
            if variant.decay_days is not None and dated[at[query]]:
                apart = np.abs(days - days[at[query]])
                row *= np.where(dated, np.exp(-apart / variant.decay_days), 1.0)
            row[at[query]] = -np.inf
            out[query] = [ids[i] for i in np.argsort(-row, kind="stable")[:10]]
    return out


def pool_from_args(doc: str | None) -> tuple[list[Article], list[Article], dict]:
    """The KTLAB articles, the pool (them and the first `--distractors` VNTC articles) and the
    gold clusters, from the command line a related-coverage benchmark takes."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data")))
    parser.add_argument("--distractors", type=int, default=10_000)
    args = parser.parse_args()
    ktlab, gold = load_ktlab(args.data)
    pool = ktlab + list(itertools.islice(_articles(args.data / "vntc.jsonl.gz"), args.distractors))
    return ktlab, pool, gold


def main() -> None:
    ktlab, pool, gold = pool_from_args(__doc__)
    queries = [a.id for a in ktlab]
    print(f"{len(ktlab)} KTLAB articles + {len(pool) - len(ktlab)} VNTC distractors, each compared with all\n")
    print("| similarity | R@5 | R@5 5th-95th pct | MRR@10 |\n| --- | ---: | ---: | ---: |")
    for variant in VARIANTS:
        s = ranking_scores(rankings(pool, queries, variant), gold)
        spread = f"{s['R@5_p5']:.3f}-{s['R@5_p95']:.3f}"
        print(f"| {variant.name} | {s['R@5']:.3f} | {spread} | {s['MRR@10']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
