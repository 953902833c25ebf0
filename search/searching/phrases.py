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

#: Positions are below this in any document: (document, position) pairs as one int64 key.
_POSITION_STRIDE = 1 << 32


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


def matching(reader: IndexReader, fieldname: str, words: tuple[str, ...], term_ids: list[np.ndarray]) -> np.ndarray:
    """The sorted document numbers where `words` stand in this order, given each word's sorted
    document numbers (`term_ids`, as the evaluator has them already)."""
    fieldobj = reader.schema[fieldname]
    order = sorted(range(len(words)), key=lambda n: len(term_ids[n]))
    common = term_ids[order[0]]
    for n in order[1:]:
        common = intersect(common, term_ids[n])
    if not len(common):
        return common
    # Each occurrence as (document, position - its place in the phrase): a phrase starts where
    # every word has the same key.
    keys = None
    decoded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for shift in order:
        word = words[shift]
        if word not in decoded:  # a word twice in the phrase is read once
            ids, weights, positions = readers.postings(
                reader, fieldname, fieldobj.to_bytes(word), values=True, within=common
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
