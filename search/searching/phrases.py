"""Exact phrases over the folded field's positions: which articles have the words in order.

A phrase of common words ("ủy ban nhân dân") has candidates in most of the archive when its
words are intersected as sets, and reading every candidate's positions was most of such a
query's time. The rarest word goes first: its positions leave the articles where it stands
with the next word at the right distance, and each commoner word's positions are then read only
in the blocks holding the articles still left. The arrays stay sorted throughout, so they are
intersected by binary search rather than by sorting them together.

Distinct phrases of common syllables ("có người", "của các") still read nearly every block of
their words, and the words of phrases are few: with a positions cache, a word whose candidates
would select most of a segment's blocks has that segment's positions decoded whole and kept,
and the next phrase with the word reads them from memory. They are kept as the phrase reads
them: each occurrence as one sorted key, its document within the segment above its position
(four bytes where both fit). The first word's keys in the candidates are where the phrase may
start; a later word's kept keys are searched or merged with those as they are, so a word read
back costs no pass over its occurrences to filter or rebuild them, and a decoded word's keys
are one running sum over its position deltas.
"""

from __future__ import annotations

import math

import numpy as np
from whoosh.reading import IndexReader

from search.index.engine import readers
from search.index.engine.segments import PostingsCache, narrow_ids

_NO_SCORES = np.zeros(0, np.float64)
_NO_KEYS = np.zeros(0, np.uint32)
#: Keys of four bytes (see `_keys`) serve phrases of at most this many words: their positions
#: are kept this far below the 16 bits they have, so that a place in the phrase added to one
#: never reaches the document's bits.
_NARROW_SHIFTS = 64
_NARROW_TOP = (1 << 16) - _NARROW_SHIFTS
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
    common = _common([term_ids[n] for n in order], reader.doc_count_all())
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
        standing = _standing(reader, fieldname, words, order, np.concatenate(within), missing, term_ids, positions)
        for (leaf, offset, segid), part in zip(missing, standing):
            if cache is not None and segid is not None:
                cache.put((segid, "phrase", fieldname, words), (narrow_ids(part, leaf.doc_count_all()), _NO_SCORES))
            if len(part):
                found.append(part + offset)
    if not found:
        return common[:0]
    return found[0] if len(found) == 1 else np.sort(np.concatenate(found))


def _common(term_ids: list[np.ndarray], size: int) -> np.ndarray:
    """The documents in every one of `term_ids` (sorted, distinct, the shortest first): the
    survivors searched in a short next array, else looked up in a mask of a long one (one
    scatter and one gather, where a merge would sort both)."""
    common = term_ids[0]
    for other in term_ids[1:]:
        if not len(common):
            break
        if len(common) * math.log2(len(other) + 1) <= len(other):
            common = common[members(common, other)]
        else:
            mask = np.zeros(size, dtype=bool)
            mask[other] = True
            common = common[mask[common]]
    return common


def _standing(
    reader: IndexReader,
    fieldname: str,
    words: tuple[str, ...],
    order: list[int],
    common: np.ndarray,
    only: list[tuple[IndexReader, int, str | None]],
    term_ids: list[np.ndarray],
    positions: PostingsCache | None,
) -> list[np.ndarray]:
    """Of the documents `common` (sorted, in the segments `only`, holding every word), those
    where the words stand in order, each segment's within it, the words read in `order`.

    The rarest word's occurrences in the candidates give the keys where the phrase may start
    (its position less its place in the phrase); each next word keeps the starts that, moved by
    its place, are among its own keys: its kept keys are searched or merged as they are, never
    filtered or rebuilt."""
    size = reader.doc_count_all()
    wide = len(words) > _NARROW_SHIFTS
    decoded: dict[str, list[np.ndarray]] = {}
    starts: list[np.ndarray] = []
    for step, shift in enumerate(order):
        word = words[shift]
        found = decoded.get(word)  # a word twice in the phrase is read once
        if found is None:
            btext = reader.schema[fieldname].to_bytes(word)
            kept = [_kept(positions, segid, fieldname, btext) for _, _, segid in only]
            if any(keys is None for keys in kept):  # decoded in the documents still standing
                candidates = _documents(starts, only) if step else common
                _decode(reader, fieldname, btext, term_ids[shift], candidates, only, kept, positions)
            found = [_NO_KEYS if keys is None else keys for keys in kept]  # `_decode` filled them
            found = decoded[word] = [_widen(keys) for keys in found] if wide else found
        if not step:
            mask = _mask(common, size)
            starts = [
                _first(keys, mask[offset : offset + leaf.doc_count_all()], shift)
                for keys, (leaf, offset, _) in zip(found, only)
            ]
        else:
            starts = [_next(start, keys, shift) if len(start) else start for start, keys in zip(starts, found)]
        if not any(len(start) for start in starts):
            break
    return [distinct_sorted(start >> _bits(start)).astype(np.int64) for start in starts]


def _documents(starts: list[np.ndarray], only: list[tuple[IndexReader, int, str | None]]) -> np.ndarray:
    """The documents (over the index) where the phrase may still start."""
    docs = [distinct_sorted(start >> _bits(start)).astype(np.int64) for start in starts]
    return np.concatenate([part + offset for part, (_, offset, _) in zip(docs, only)])


def _first(keys: np.ndarray, candidates: np.ndarray, shift: int) -> np.ndarray:
    """Where the phrase may start, from the first word's keys in one segment: those in the
    candidates (`candidates`, a mask over the segment), less the word's place `shift`."""
    keys = keys[candidates[keys >> _bits(keys)]]
    if shift:
        keys = keys[(keys & _place_mask(keys)) >= shift]
        keys -= shift
    return keys


def _next(starts: np.ndarray, keys: np.ndarray, shift: int) -> np.ndarray:
    """The `starts` where the word of `keys` (both of one segment) stands at place `shift`."""
    if starts.dtype != keys.dtype:
        starts, keys = _widen(starts), _widen(keys)
    found = intersect(starts + starts.dtype.type(shift), keys)
    return found - found.dtype.type(shift)


def _mask(docs: np.ndarray, size: int) -> np.ndarray:
    """`docs` as a mask over the index: membership by one gather, not a binary search each."""
    mask = np.zeros(size, dtype=bool)
    mask[docs] = True
    return mask


def _kept(positions: PostingsCache | None, segid: str | None, fieldname: str, btext: bytes) -> np.ndarray | None:
    """A word's keys in a segment, kept by an earlier phrase."""
    if positions is None or segid is None:
        return None
    kept = positions.get((segid, fieldname, btext))
    return None if kept is None else kept[0]


def _decode(
    reader: IndexReader,
    fieldname: str,
    btext: bytes,
    ids: np.ndarray,
    common: np.ndarray,
    only: list[tuple[IndexReader, int, str | None]],
    parts: list[np.ndarray | None],
    positions: PostingsCache | None,
) -> None:
    """The keys of a word's occurrences (`_keys`) in each of the segments `only` not in
    `parts` yet, at least those in the documents `common` (sorted, over the index): those of
    segments where the candidates select most of the word's blocks (`WHOLE_SHARE`) are decoded
    whole and kept in `positions`; the rest are decoded in the candidates' blocks alone (none
    in a segment without candidates)."""
    whole: list[int] = []
    narrow: list[int] = []
    for k, (leaf, offset, segid) in enumerate(only):
        if parts[k] is not None:
            continue
        end = offset + leaf.doc_count_all()
        lo, hi = np.searchsorted(common, [offset, end])
        if lo == hi:
            parts[k] = _NO_KEYS
        elif positions is None or segid is None:
            narrow.append(k)
        else:
            frequency = np.searchsorted(ids, end) - np.searchsorted(ids, offset)
            (whole if (hi - lo) * WHOLE_SHARE >= frequency else narrow).append(k)
    for group, within in ((whole, None), (narrow, common)):
        if not group:
            continue
        segments = [only[k] for k in group]
        found, weights, deltas = readers.postings(
            reader, fieldname, btext, values=True, within=within, only=[(leaf, offset) for leaf, offset, _ in segments]
        )
        freqs = weights.astype(np.int64)
        last, end = segments[-1][0], segments[-1][1]
        bounds = np.searchsorted(found, [*(offset for _, offset, _ in segments), end + last.doc_count_all()])
        at = np.concatenate(([0], np.cumsum(freqs)))[bounds]  # where each segment's deltas start
        for n, (k, (leaf, offset, segid)) in enumerate(zip(group, segments)):
            lo, hi = bounds[n], bounds[n + 1]
            keys = _keys(found[lo:hi] - offset, freqs[lo:hi], deltas[at[n] : at[n + 1]], leaf.doc_count_all())
            parts[k] = keys
            if within is None and positions is not None and segid is not None:
                positions.put((segid, fieldname, btext), (keys, _NO_KEYS))


def _keys(local: np.ndarray, freqs: np.ndarray, deltas: np.ndarray, documents: int) -> np.ndarray:
    """One segment's occurrences (documents within it, their frequencies and the position
    deltas of each) as one sorted key each, the document above the position: 16 bits each in
    four bytes where both fit (a segment of at most 65,536 documents, positions far enough below
    65,536 that a phrase's places added to them cannot reach the document's bits), else 32 bits
    each in eight. The keys are one running sum of the deltas, each posting's first delta moved
    by the step from the previous posting's last key to its own document's first."""
    if not len(deltas):
        return _NO_KEYS
    if not freqs.all():
        local, freqs = local[freqs > 0], freqs[freqs > 0]
    starts = np.cumsum(freqs) - freqs
    ends = np.add.reduceat(deltas, starts)  # each posting's last position
    narrow = documents <= 1 << 16 and int(ends.max()) < _NARROW_TOP
    firsts = local.astype(np.int64) << (16 if narrow else 32)
    steps = np.array(deltas, dtype=np.int64)  # a copy: the running sum is made in place
    steps[starts[1:]] += firsts[1:] - firsts[:-1] - ends[:-1]
    steps[0] += firsts[0]
    return np.cumsum(steps, dtype=np.uint32) if narrow else np.cumsum(steps, out=steps)


def _widen(keys: np.ndarray) -> np.ndarray:
    """Keys of four bytes as keys of eight (see `_keys`)."""
    if keys.dtype == np.int64:
        return keys
    wide = (keys >> 16).astype(np.int64)
    wide <<= 32
    wide |= keys & 0xFFFF
    return wide


def _bits(keys: np.ndarray) -> int:
    """How many bits a key keeps for its position (see `_keys`)."""
    return 16 if keys.dtype == np.uint32 else 32


def _place_mask(keys: np.ndarray) -> int:
    return (1 << _bits(keys)) - 1
