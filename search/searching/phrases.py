"""Exact phrases over the folded field's positions: which articles have the words in order.

A phrase of common words ("ủy ban nhân dân") has candidates in most of the archive when its
words are intersected as sets, and reading every candidate's positions was most of such a
query's time. The rarest word goes first: its positions leave the articles where it stands
with the next word at the right distance, and each commoner word's positions are then read only
in the blocks holding the articles still left. The arrays stay sorted throughout, so they are
intersected by binary search rather than by sorting them together.
"""

from __future__ import annotations

import numpy as np
from whoosh.reading import IndexReader

from search.index.engine import readers
from search.index.engine.segments import PostingsCache, narrow_ids

#: Positions are below this in any document: (document, position) pairs as one int64 key.
_POSITION_STRIDE = 1 << 32
_NO_SCORES = np.zeros(0, np.float64)


def members(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which of `values` are in `sorted_set` (sorted, distinct): a binary search each, where
    `np.isin` would sort both."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_set, values)
    np.minimum(at, len(sorted_set) - 1, out=at)
    return sorted_set[at] == values


def intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values in both sorted, distinct arrays, sorted: the shorter one searched in the
    longer, where `np.intersect1d` would sort both together."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return small[members(small, large)]


def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array."""
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def matching(
    reader: IndexReader,
    fieldname: str,
    words: tuple[str, ...],
    term_ids: list[np.ndarray],
    cache: PostingsCache | None = None,
) -> np.ndarray:
    """The sorted document numbers where `words` stand in this order, given each word's sorted
    document numbers (`term_ids`, as the evaluator has them already). Where the phrase stands
    in a segment never changes (deleted documents are masked later), so with `cache` each
    segment's answer is kept across generations; the segments it does not hold are read
    together."""
    order = sorted(range(len(words)), key=lambda n: len(term_ids[n]))
    common = term_ids[order[0]]
    for n in order[1:]:
        common = intersect(common, term_ids[n])
    if not len(common):
        return common
    found: list[np.ndarray] = []
    missing: list[tuple[IndexReader, int, str | None]] = []
    within: list[np.ndarray] = []
    for leaf, offset, segid, _ in readers.leaves(reader):
        lo, hi = np.searchsorted(common, [offset, offset + leaf.doc_count_all()])
        if lo == hi:
            continue
        cached = cache.get((segid, "phrase", fieldname, words)) if cache is not None and segid is not None else None
        if cached is None:
            missing.append((leaf, offset, segid))
            within.append(common[lo:hi])
        elif len(cached[0]):
            found.append(cached[0].astype(np.int64) + offset)
    if missing:
        only = [(leaf, offset) for leaf, offset, _ in missing]
        standing = _standing(reader, fieldname, words, order, np.concatenate(within), only)
        bounds = np.searchsorted(standing, [*(offset for _, offset in only), only[-1][1] + only[-1][0].doc_count_all()])
        for k, (leaf, offset, segid) in enumerate(missing):
            local = narrow_ids(standing[bounds[k] : bounds[k + 1]] - offset, leaf.doc_count_all())
            if cache is not None and segid is not None:
                cache.put((segid, "phrase", fieldname, words), (local, _NO_SCORES))
        found.append(standing)
    if not found:
        return common[:0]
    return found[0] if len(found) == 1 else np.sort(np.concatenate(found))


def _standing(
    reader: IndexReader,
    fieldname: str,
    words: tuple[str, ...],
    order: list[int],
    common: np.ndarray,
    only: list[tuple[IndexReader, int]],
) -> np.ndarray:
    """The documents among `common` (sorted, in the segments `only`, holding every word) where
    the words stand in order, the words read in `order`."""
    fieldobj = reader.schema[fieldname]
    # Each occurrence as (document, position - its place in the phrase): a phrase starts where
    # every word has the same key.
    keys = None
    decoded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for shift in order:
        word = words[shift]
        if word not in decoded:  # a word twice in the phrase is read once
            ids, weights, positions = readers.postings(
                reader, fieldname, fieldobj.to_bytes(word), values=True, within=common, only=only
            )
            decoded[word] = (np.repeat(ids, weights.astype(np.int64)), positions)  # int64: room for keys
        docs, positions = decoded[word]
        keep = members(docs, common) & (positions >= shift)
        found = docs[keep] * _POSITION_STRIDE + (positions[keep] - shift)
        keys = found if keys is None else intersect(keys, found)
        if not len(keys):
            return common[:0]
        common = distinct_sorted(keys // _POSITION_STRIDE)
    return common
