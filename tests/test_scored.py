"""Postings scored when first asked give the numbers scored at once, whole or in part."""

from __future__ import annotations

import numpy as np
import pytest

from search.searching.scored import EMPTY, ENTRY_POSTINGS, Lru, Postings


def _scoring(size: int, rng: np.random.Generator) -> tuple[float, float, np.ndarray]:
    lengths = rng.integers(1, 400, size).astype(np.float64)
    return 2.7, 2.2, 1.2 * ((1 - 0.75) + 0.75 * lengths / lengths.mean())


def _eager(scoring: tuple[float, float, np.ndarray], ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    idf, k1_plus_1, norm = scoring
    return idf * ((weights * k1_plus_1) / (weights + norm[ids]))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_lazy_scores_whole_and_in_part_are_the_eager_ones(dtype):
    """Over an index of more than 65,536 documents, with weights kept in their stored width
    (a byte for frequencies, float32 for boosted ones): the same numbers as float64 weights
    scored at once, whole, at chosen places before the whole list is scored, and after."""
    rng = np.random.default_rng(15)
    size = 84_132
    scoring = _scoring(size, rng)
    ids = np.sort(rng.choice(size, 20_000, replace=False)).astype(np.int64)
    weights = rng.integers(1, 40, len(ids)).astype(dtype)
    if dtype is np.float32:
        weights = weights * np.float32(1.25)
    expected = _eager(scoring, ids, weights.astype(np.float64))
    postings = Postings(ids, weights=weights, scoring=scoring)
    at = np.sort(rng.choice(len(ids), 300, replace=False))
    assert np.array_equal(postings.scores_at(at), expected[at])
    assert np.array_equal(postings.scores, expected)
    assert np.array_equal(postings.scores_at(at), expected[at])


def test_scores_given_are_kept_and_postings_need_scores_or_weights():
    scores = np.array([1.5, 0.25])
    postings = Postings(np.array([3, 70_000]), scores)
    assert postings.scores is scores and postings.scores_at(np.array([1])).tolist() == [0.25]
    assert len(EMPTY.ids) == 0 and len(EMPTY.scores) == 0
    with pytest.raises(ValueError, match="weights"):
        Postings(np.array([1]), weights=np.array([1.0]))


def test_the_least_recently_used_leave_first_within_the_budget():
    lru = Lru(budget=2 * (2 + ENTRY_POSTINGS) + 1)  # two entries of two postings
    made: list[str] = []

    def make(name: str, size: int):
        return lambda: made.append(name) or Postings(np.arange(size), np.zeros(size))

    lru.get("a", make("a", 2))
    lru.get("b", make("b", 2))
    lru.get("a", make("a", 2))  # kept, and now the most recent
    lru.get("c", make("c", 2))  # over budget: b leaves
    lru.get("a", make("a", 2))
    lru.get("b", make("b", 2))
    assert made == ["a", "b", "c", "b"] and lru.size <= lru.budget


def test_entries_without_postings_count_too():
    """The terms and phrases of distinct queries that match nothing take memory all the same."""
    lru = Lru(budget=100 * ENTRY_POSTINGS)
    for n in range(1_000):
        lru.get(("term", "folded", f"tu {n}"), lambda: EMPTY)
    assert len(lru._items) == 100 and lru.size == 100 * ENTRY_POSTINGS
