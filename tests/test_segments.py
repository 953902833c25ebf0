"""Kept segment postings joined over the whole index, as wide as the scorer of related
articles takes them or as narrow as they are kept for the evaluator, and kept within the memory
their budget allows."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np

from search.index.engine import segments
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex


def _parts() -> list[tuple[np.ndarray, np.ndarray]]:
    """Segments past 65,536 documents: two-byte ids that overflow with their offsets."""
    return [
        (np.array([5, 65_535], dtype=np.uint16), np.array([1, 2], dtype=np.uint8)),
        (np.zeros(0, dtype=np.uint16), np.zeros(0, dtype=np.float64)),
        (np.array([0, 60_000], dtype=np.uint16), np.array([3, 4], dtype=np.uint8)),
        (np.array([7], dtype=np.int32), np.array([9], dtype=np.uint8)),
    ]


def test_narrow_weights_keep_their_width_and_ids_are_the_indexs():
    """Frequencies stay a byte each (an empty part's type does not widen them); a part with
    float32 weights makes them all float32, exactly; ids are int64 either way."""
    offsets = [0, 65_536, 65_536, 200_000]
    ids, weights = segments.joined(_parts(), offsets, narrow=True)
    assert ids.tolist() == [5, 65_535, 65_536, 125_536, 200_007] and ids.dtype == np.int64
    assert weights.tolist() == [1, 2, 3, 4, 9] and weights.dtype == np.uint8
    boosted = _parts()
    boosted[2] = (boosted[2][0], np.array([3.5, 4], dtype=np.float32))
    ids, weights = segments.joined(boosted, offsets, narrow=True)
    assert weights.tolist() == [1, 2, 3.5, 4, 9] and weights.dtype == np.float32
    wide_ids, wide = segments.joined(boosted, offsets)
    assert np.array_equal(wide_ids, ids) and wide.dtype == np.float64 and np.array_equal(wide, weights)


def test_nothing_joined_is_empty():
    ids, weights = segments.joined([(np.zeros(0, np.uint16), np.zeros(0, np.uint8))], [0], narrow=True)
    assert len(ids) == 0 and len(weights) == 0


def test_many_small_entries_keep_the_cache_within_its_memory():
    """Entries of a few postings or none (the rare terms and pairs of distinct queries) count
    what they take in memory, not only their buffers: a budget then bounds the memory the
    entries really take, measured with `tracemalloc`."""
    budget = 1 << 20
    cache = segments.PostingsCache(budget)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(20_000):
            ids = segments.narrow_ids(np.arange(n % 3, dtype=np.int64), 40_000)
            cache.put(("segment", "folded", f"tu {n:06d}".encode()), (ids, np.ones(n % 3, dtype=np.uint8)))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.size <= budget
    assert len(cache._items) <= budget // segments.ENTRY_BYTES
    assert held <= budget * 1.25


def test_the_memory_reported_is_what_the_budgets_count(seed_index_dir: Path):
    """`SegmentArrays.nbytes` (a worker's `/stats`) counts the positions kept too, and each
    kept entry as its cache counts it against the budget, not its buffers alone."""
    index = SearchIndex(seed_index_dir, load_synonyms())
    index.search(SearchRequest(q='"bảo hiểm xã hội"'))
    arrays = index.arrays
    entries = list(arrays.postings._items.values()) + list(arrays.positions._items.values())
    buffers = sum(ids.nbytes + weights.nbytes for ids, weights in entries)
    assert arrays.positions.size > 0 and entries
    assert arrays.postings.nbytes() == arrays.postings.size
    kept = [part if isinstance(part, tuple) else (part,) for part in arrays._parts.values()]
    parts = sum(array.nbytes for part in kept for array in part)
    assert parts > 0
    assert arrays.nbytes() == parts + buffers + segments.ENTRY_BYTES * len(entries)
