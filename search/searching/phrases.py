"""Exact phrases over the folded field's positions: which articles have the words in order.

A phrase of common words ("ủy ban nhân dân") has candidates in most of the archive when its
words are intersected as sets, and reading every candidate's positions was most of such a
query's time. The rarest word goes first: its positions leave the articles where it stands
with the next word at the right distance, and each commoner word's positions are then read only
in the blocks holding the articles still left. The arrays stay sorted throughout, so they are
intersected by binary search rather than by sorting them together.

Distinct phrases of common syllables ("có người", "của các") still read nearly every block of
their words, and the words of phrases are few: with a positions cache, a word whose candidates
would select most of a segment's blocks has that segment's positions decoded whole and kept
(as narrow arrays, a document and a position per occurrence), and the next phrase with the word
reads them from memory.
"""

from __future__ import annotations

import math

import numpy as np
from whoosh.reading import IndexReader

from search.index.engine import readers
from search.index.engine.segments import PostingsCache, narrow_ids

#: Positions are below this in any document: (document, position) pairs as one int64 key.
_POSITION_STRIDE = 1 << 32
_NO_SCORES = np.zeros(0, np.float64)
#: A merge of two sorted arrays costs about this many binary-search steps per value.
_MERGE_COST = 2

#: A segment's positions of a word are decoded whole (and kept) when there is at least one
#: candidate for so many of the word's documents there: the candidates then fall in nearly
#: every block anyway.
WHOLE_SHARE = 64


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
    longer, or, when they are of like lengths, the two merged (a stable sort of two sorted runs
    is one merge) and the values kept that come twice; `np.intersect1d` would sort both."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) * math.log2(len(large) + 1) <= _MERGE_COST * (len(small) + len(large)):
        return small[members(small, large)]
    merged = np.concatenate((small, large))
    merged.sort(kind="stable")
    return merged[:-1][merged[1:] == merged[:-1]].astype(small.dtype, copy=False)


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
    positions: PostingsCache | None = None,
) -> np.ndarray:
    """The sorted document numbers where `words` stand in this order, given each word's sorted
    document numbers (`term_ids`, as the evaluator has them already). Where the phrase stands
    in a segment never changes (deleted documents are masked later), so with `cache` each
    segment's answer is kept across generations; the segments it does not hold are read
    together. With `positions`, the positions of words read whole are kept too (see above)."""
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
        standing = _standing(reader, fieldname, words, order, np.concatenate(within), missing, term_ids, positions)
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
    only: list[tuple[IndexReader, int, str | None]],
    term_ids: list[np.ndarray],
    positions: PostingsCache | None,
) -> np.ndarray:
    """The documents among `common` (sorted, in the segments `only`, holding every word) where
    the words stand in order, the words read in `order`."""
    size = reader.doc_count_all()
    # Each occurrence as (document, position - its place in the phrase): a phrase starts where
    # every word has the same key.
    keys = None
    decoded: dict[str, np.ndarray] = {}
    for shift in order:
        word = words[shift]
        candidates = _mask(common, size)
        if word in decoded:  # a word twice in the phrase is read once
            found = decoded[word]
            found = found[candidates[found // _POSITION_STRIDE]]
        else:
            found = _occurrences(reader, fieldname, word, term_ids[shift], common, candidates, only, positions)
            decoded[word] = found
        if shift:
            found = found[found % _POSITION_STRIDE >= shift] - shift
        keys = found if keys is None else intersect(keys, found)
        if not len(keys):
            return common[:0]
        common = distinct_sorted(keys // _POSITION_STRIDE)
    return common


def _mask(docs: np.ndarray, size: int) -> np.ndarray:
    """`docs` as a mask over the index: membership by one gather, not a binary search each."""
    mask = np.zeros(size, dtype=bool)
    mask[docs] = True
    return mask


def _occurrences(
    reader: IndexReader,
    fieldname: str,
    word: str,
    ids: np.ndarray,
    common: np.ndarray,
    candidates: np.ndarray,
    only: list[tuple[IndexReader, int, str | None]],
    positions: PostingsCache | None,
) -> np.ndarray:
    """Each occurrence of `word` in the documents `common` (`candidates` as a mask) of the
    segments `only` as one key, its document times `_POSITION_STRIDE` plus its position, in
    order. A segment's positions kept in `positions` are read from there; those of segments
    where the candidates select most of the word's blocks (`WHOLE_SHARE`) are decoded whole
    and kept; the rest are decoded in the candidates' blocks alone."""
    btext = reader.schema[fieldname].to_bytes(word)
    parts: list[np.ndarray | None] = [None] * len(only)
    whole: list[int] = []
    narrow: list[int] = []
    for k, (leaf, offset, segid) in enumerate(only):
        if positions is None or segid is None:
            narrow.append(k)
            continue
        kept = positions.get((segid, fieldname, btext))
        if kept is not None:
            parts[k] = _keys(kept[0], kept[1], offset, candidates)
            continue
        end = offset + leaf.doc_count_all()
        lo, hi = np.searchsorted(common, [offset, end])
        frequency = np.searchsorted(ids, end) - np.searchsorted(ids, offset)
        (whole if (hi - lo) * WHOLE_SHARE >= frequency else narrow).append(k)
    for group, within in ((whole, None), (narrow, common)):
        if not group:
            continue
        segments = [only[k] for k in group]
        ids, weights, places = readers.postings(
            reader, fieldname, btext, values=True, within=within, only=[(leaf, offset) for leaf, offset, _ in segments]
        )
        docs = np.repeat(ids, weights.astype(np.int64))
        last, end = segments[-1][0], segments[-1][1]
        bounds = np.searchsorted(docs, [*(offset for _, offset, _ in segments), end + last.doc_count_all()])
        for k, (leaf, offset, segid), lo, hi in zip(group, segments, bounds[:-1], bounds[1:]):
            if within is not None or positions is None or segid is None:  # not kept: not narrowed
                parts[k] = _keys(docs[lo:hi], places[lo:hi], 0, candidates)
                continue
            local = narrow_ids(docs[lo:hi] - offset, leaf.doc_count_all())
            local_places = _narrow_positions(places[lo:hi])
            positions.put((segid, fieldname, btext), (local, local_places))
            parts[k] = _keys(local, local_places, offset, candidates)
    found = [part for part in parts if part is not None and len(part)]
    if not found:
        return np.zeros(0, np.int64)
    return found[0] if len(found) == 1 else np.concatenate(found)


def _keys(local: np.ndarray, places: np.ndarray, offset: int, candidates: np.ndarray) -> np.ndarray:
    """One segment's occurrences (documents within it and positions) in the candidates, as keys;
    with `offset` 0, occurrences given by their documents over the index."""
    keep = candidates[offset:][local]
    keys = local[keep].astype(np.int64, copy=False)  # a new array already: `keep` selects
    keys += offset
    keys *= _POSITION_STRIDE
    keys += places[keep]
    return keys


def _narrow_positions(places: np.ndarray) -> np.ndarray:
    """Positions in as few bytes as hold them."""
    return places.astype(np.uint16 if not len(places) or places.max() < 1 << 16 else np.uint32)
