"""Postings scored when first asked give the numbers scored at once, whole or in part."""

from __future__ import annotations

import numpy as np
import pytest

from search.searching.scored import (
    BITS_SHARE,
    EMPTY,
    ENTRY_POSTINGS,
    POSTING_BYTES,
    Lru,
    Postings,
    bit_places,
    packed,
    ranked,
    unpacked,
)


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


def test_bits_hold_the_documents_of_the_postings():
    """Over an index whose size is not a whole number of bytes or words: its first and last
    documents too, and several lists' bits ORed are the union of their documents."""
    size = 1_003
    rng = np.random.default_rng(16)
    ids = np.sort(np.concatenate([[0, size - 1], rng.choice(np.arange(1, size - 1), 200, replace=False)]))
    others = np.sort(rng.choice(size, 300, replace=False))
    bits = packed(ids, size)
    assert len(bits) == 8 * -(-size // 64) and np.array_equal(np.flatnonzero(unpacked(bits, size)), ids)
    union = unpacked(np.bitwise_or.reduce([bits, packed(others, size)]), size)
    assert np.array_equal(np.flatnonzero(union), np.union1d(ids, others))


@pytest.mark.parametrize("size", [1, 63, 64, 65, 1_003, 84_132])
def test_a_documents_place_from_the_bits_is_its_place_among_the_ids(size):
    """Places counted off the bits are those a binary search finds: documents in the first and
    the last word, at a word's first and last bit, and lists sparse, dense and full."""
    rng = np.random.default_rng(size)
    for share in (0.02, 0.5, 1.0):
        ids = np.sort(rng.choice(size, max(1, int(size * share)), replace=False)).astype(np.int64)
        edges = [doc for doc in (0, 63, 64, size - 1) if doc < size]
        ids = np.union1d(ids, edges)
        postings = Postings(ids, np.ones(len(ids)))
        postings.bits = packed(ids, size)
        postings.ranks = ranked(postings.bits)
        docs = np.sort(rng.choice(ids, min(len(ids), 500), replace=False))
        assert np.array_equal(bit_places(postings, docs), np.searchsorted(ids, docs))
        assert np.array_equal(bit_places(postings, ids), np.arange(len(ids)))


def test_a_long_list_kept_has_its_bits_counted_and_a_short_one_none():
    """From one posting in `BITS_SHARE` documents of the index on, an entry keeps its bits (and
    the counts that place a document in it) and counts their bytes against the budget; without
    the index's size, no entry has any."""
    documents = 160
    long, short = documents // BITS_SHARE, documents // BITS_SHARE - 1
    lru = Lru(budget=10_000, documents=documents)
    kept = lru.get("long", lambda: Postings(np.arange(long) * 3, np.ones(long)))
    assert kept.bits is not None and np.array_equal(np.flatnonzero(unpacked(kept.bits, documents)), kept.ids)
    assert np.array_equal(bit_places(kept, kept.ids), np.arange(long))
    assert kept.ranks is not None
    bits_postings = -(-(kept.bits.nbytes + kept.ranks.nbytes) // POSTING_BYTES)
    assert lru.size == long + ENTRY_POSTINGS + bits_postings
    assert lru.get("short", lambda: Postings(np.arange(short), np.ones(short))).bits is None
    assert lru.size == long + short + 2 * ENTRY_POSTINGS + bits_postings
    plain = Lru(budget=10_000)
    assert plain.get("long", lambda: Postings(np.arange(long), np.ones(long))).bits is None
    small = Lru(budget=long + ENTRY_POSTINGS + bits_postings, documents=documents)
    for name in ("a", "b", "c"):  # each new entry sends the last one out, bits and all
        small.get(name, lambda: Postings(np.arange(long), np.ones(long)))
        assert small.size == long + ENTRY_POSTINGS + bits_postings and len(small._items) == 1
