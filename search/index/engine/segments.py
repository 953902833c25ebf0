"""What a process computes from the index, kept segment by segment across commits.

A Whoosh segment never changes once written, except that it may gain deletions, and a commit
adds new segments or replaces merged ones. Everything derived from one segment alone can
therefore be kept under the segment's id (and its deleted count, where deletions matter) for
as long as the segment is part of the index: a new generation then costs the new segments'
share only, and an unchanged segment is never read again. Entries of segments that left the
index are dropped when a generation without them is seen (`retain`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from whoosh.reading import IndexReader

from search.index.engine import readers

#: Memory for the postings kept per process across generations (segment by segment), by
#: default (`Settings.postings_cache_mib`). Each is kept as narrow as it is exact: a document
#: number in two bytes where its segment has at most 65,536 documents, a weight in one byte
#: where it is a frequency below 256, so the same memory holds more than twice the postings it
#: would at four bytes each. Distinct queries keep asking for the same few thousand frequent
#: syllables: the budget is sized to hold those of a large archive, since a list decoded again
#: costs far more than the memory it takes (`bench/results` has the measurement).
POSTINGS_BYTES = 128 << 20
#: The positions of phrase words kept beside them take up to this many times that memory: a
#: phrase of common syllables reads hundreds of thousands of positions of each word, and
#: decoding them again was most of such a query's time. Distinct phrases keep meeting new
#: common words, so their positions need more room than the words' postings: with less, the
#: positions of words read a few queries apart push each other out.
POSITIONS_TIMES = 2

#: What a kept entry takes besides its arrays' buffers: the two array objects, the key (with
#: the term's bytes), the value tuple and the ordered dict's slot, as `tracemalloc` measures
#: them for a short term, rounded up. Distinct queries keep adding entries of rare terms and
#: pairs, of a few postings each or none. Counted by their buffers alone, they let a process's
#: memory grow past the budget while the count stayed within it.
ENTRY_BYTES = 512

_NARROW_IDS = 1 << 16


def narrow_ids(local: np.ndarray, documents: int) -> np.ndarray:
    """Document numbers within a segment of `documents` documents, in as few bytes as hold them."""
    return local.astype(np.uint16 if documents <= _NARROW_IDS else np.int32)


def narrow_weights(weights: np.ndarray) -> np.ndarray:
    """Weights in as few bytes as keep them exactly (frequencies are small whole numbers)."""
    for dtype in (np.uint8, np.float32):
        narrow = weights.astype(dtype)
        if (narrow == weights).all():  # of one shape: `np.array_equal`'s checks cost more here
            return narrow
    return weights.copy()


class PostingsCache:
    """Recently used term postings of single segments (document numbers within the segment
    and weights), bounded by the bytes they take: after a commit, the terms of the next
    searches are decoded again for the new segments only."""

    def __init__(self, budget: int = POSTINGS_BYTES) -> None:
        self.budget, self.size = budget, 0
        self._items: OrderedDict[Hashable, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def get_all(self, keys: list[tuple[str | None, str, bytes]]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """`get` of each key (None for a key whose segment id is None: such a segment is never
        kept), under one lock: a term's parts in every segment are asked for together."""
        items = self._items
        with self._lock:
            found = [None if key[0] is None else items.get(key) for key in keys]
            for key, value in zip(keys, found):
                if value is not None:
                    items.move_to_end(key)
        return found

    def put(self, key: Hashable, value: tuple[np.ndarray, np.ndarray]) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self.size += _footprint(value)
            while self.size > self.budget and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self.size -= _footprint(old)

    def retain(self, keep: set[str | None]) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] not in keep]:  # type: ignore[index]
                self.size -= _footprint(self._items.pop(key))

    def nbytes(self) -> int:
        """What the entries count against the budget (`_footprint`): their buffers and more."""
        with self._lock:
            return self.size


def _footprint(value: tuple[np.ndarray, np.ndarray]) -> int:
    """What an entry counts against the budget: its buffers and `ENTRY_BYTES`."""
    return ENTRY_BYTES + value[0].nbytes + value[1].nbytes


def postings(
    reader: IndexReader, fieldname: str, btext: bytes, cache: PostingsCache, narrow: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """As `readers.postings(..., values=False)`, each segment's part taken from `cache` when
    it holds it; the segments it does not hold are decoded together (one pass of numpy over
    all their blocks) and then kept one by one. `narrow`: as `joined` gives them."""
    leaves = readers.leaves(reader)
    parts = cache.get_all([(segid, fieldname, btext) for _, _, segid, _ in leaves])
    missing = [n for n, found in enumerate(parts) if found is None]
    offsets = [offset for _, offset, _, _ in leaves]
    if not missing:
        return joined(parts, offsets, narrow)  # type: ignore[arg-type]
    only = [(leaves[n][0], leaves[n][1]) for n in missing]
    new_ids, new_weights = readers.term_postings(reader, fieldname, btext, only)
    # Narrowed once for all the segments when every weight fits a byte (each segment's would
    # then too); else segment by segment, each as narrow as its own weights allow.
    new_narrow = new_weights if new_weights.dtype == np.uint8 else narrow_weights(new_weights)
    by_segment = new_narrow.dtype != np.uint8
    starts = [offset for _, offset in only]
    bounds = np.searchsorted(new_ids, starts[1:]).tolist() if len(starts) > 1 else []
    for k, n, lo, hi in zip(range(len(missing)), missing, [0, *bounds], [*bounds, len(new_ids)]):
        found = (
            narrow_ids(new_ids[lo:hi] - starts[k], leaves[n][0].doc_count_all()),
            narrow_weights(new_weights[lo:hi]) if by_segment else new_narrow[lo:hi].copy(),
        )
        segid = leaves[n][2]
        if segid is not None:
            cache.put((segid, fieldname, btext), found)
        parts[n] = found
    if len(missing) == len(leaves) and len(new_ids) and not by_segment:  # already over the whole index
        return new_ids, new_narrow if narrow else new_weights.astype(np.float64, copy=False)
    return joined(parts, offsets, narrow)  # type: ignore[arg-type]


def joined(
    parts: list[tuple[np.ndarray, np.ndarray]], offsets: list[int], narrow: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Segments' (narrow local ids, weights) as ids over the whole index (int64) and float64
    weights, written straight into one array each. Ids are widened before the offset is
    added: a two-byte id plus a later segment's offset does not fit in two bytes. `narrow`:
    weights in the narrowest type that holds every part's exactly (the evaluator widens those
    it scores), which saves writing eight bytes per posting."""
    total = sum(len(part[0]) for part in parts)
    ids = np.empty(total, dtype=np.int64)
    kinds = [part[1].dtype for part in parts if len(part[1])]
    weights = np.empty(total, dtype=np.result_type(*kinds) if narrow and kinds else np.float64)
    at = 0
    for (part_ids, part_weights), offset in zip(parts, offsets):
        size = len(part_ids)
        if size:
            end = at + size
            ids[at:end] = part_ids  # widened, then added: a plain copy and an add in place
            if offset:
                np.add(ids[at:end], offset, out=ids[at:end])
            weights[at:end] = part_weights
            at = end
    return ids, weights


class SegmentArrays:
    """Per-document arrays over the whole index, assembled from per-segment parts, and the
    segments' recently used postings and positions (`postings_bytes`, and a
    `POSITIONS_TIMES` times as much for positions)."""

    def __init__(self, postings_bytes: int = POSTINGS_BYTES) -> None:
        self._parts: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self.postings = PostingsCache(postings_bytes)
        self.positions = PostingsCache(postings_bytes * POSITIONS_TIMES)

    def _part(self, key: Hashable | None, make: Any) -> Any:
        if key is None:  # not a Whoosh segment: nothing to key it by
            return make()
        with self._lock:
            found = self._parts.get(key)
        if found is None:
            found = make()
            with self._lock:
                self._parts[key] = found
        return found

    def _assemble(
        self,
        reader: IndexReader,
        name: str,
        values: readers.SegmentValues,
        empty: Any,
        dtype: Any,
        by_deletions: bool = False,
    ) -> np.ndarray:
        parts = []
        for leaf, _, segid, deleted_count in readers.leaves(reader):
            key = None if segid is None else (segid, name, deleted_count if by_deletions else None)
            count = leaf.doc_count_all()

            def make(leaf: IndexReader = leaf, count: int = count) -> np.ndarray:
                part = values(leaf, count)
                if part is None:
                    return np.full(count, empty, dtype=dtype)
                part = np.asarray(part, dtype=dtype)
                if len(part) != count:
                    raise readers.SegmentMismatch(f"{len(part)} values for a segment of {count} documents")
                return part

            parts.append(self._part(key, make))
        if not parts:
            return np.full(0, empty, dtype=dtype)
        return parts[0].copy() if len(parts) == 1 else np.concatenate(parts)

    def live(self, reader: IndexReader) -> np.ndarray:
        """As `readers.live`; a segment's part is remade only when its deleted count changes."""
        return self._assemble(reader, "live", readers.live_values, True, bool, by_deletions=True)

    def lengths(self, reader: IndexReader, fieldname: str) -> np.ndarray:
        """As `readers.lengths`."""
        return self._assemble(reader, f"lengths:{fieldname}", readers.length_values(fieldname), 0.0, np.float64)

    def codes(self, reader: IndexReader, fieldname: str, empty: str = "") -> tuple[np.ndarray, list[str]]:
        """As `readers.codes(readers.column(...))`: codes into the sorted distinct values of the
        whole index. Each segment keeps its own codes and values; a generation only merges the
        distinct values (few: outlets, years, days) and maps each segment's codes onto them."""
        column = readers.column_values(fieldname, empty)
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for leaf, _, segid, _ in readers.leaves(reader):
            count = leaf.doc_count_all()

            def make(leaf: IndexReader = leaf, count: int = count) -> tuple[np.ndarray, np.ndarray]:
                values = column(leaf, count)
                if values is None:
                    return np.zeros(count, dtype=np.int64), np.array([empty], dtype=str)
                if len(values) != count:
                    raise readers.SegmentMismatch(f"{len(values)} values for a segment of {count} documents")
                codes, distinct = readers.codes(np.asarray(values, dtype=object))
                return codes, np.array(distinct, dtype=str)

            parts.append(self._part(None if segid is None else (segid, f"column:{fieldname}", None), make))
        if not parts:
            return np.zeros(0, dtype=np.int64), []
        distinct = np.unique(np.concatenate([values for _, values in parts]))
        mapped = [np.searchsorted(distinct, values)[codes] for codes, values in parts]
        return np.concatenate(mapped).astype(np.int64), [str(v) for v in distinct]

    def retain(self, reader: IndexReader) -> None:
        """Forget the segments `reader` no longer has (merged away, or a rebuilt generation)."""
        keep = {segid for _, _, segid, _ in readers.leaves(reader)}
        self.postings.retain(keep)
        self.positions.retain(keep)
        with self._lock:
            for key in [k for k in self._parts if k[0] not in keep]:  # type: ignore[index]
                del self._parts[key]
            # A segment's live mask for an older deleted count is never asked for again.
            newest = {segid: count for _, _, segid, count in readers.leaves(reader)}
            for key in [k for k in self._parts if k[1] == "live" and k[2] != newest.get(k[0])]:  # type: ignore[index]
                del self._parts[key]

    def nbytes(self) -> int:
        """Memory the kept parts take (their numpy buffers), and the postings and positions
        kept, as their caches count them against their budgets."""
        with self._lock:
            parts = list(self._parts.values())
        total = self.postings.nbytes() + self.positions.nbytes()
        for part in parts:
            for array in part if isinstance(part, tuple) else (part,):
                total += array.nbytes
        return total


class TermCounts:
    """Document frequencies of terms, kept per segment: Whoosh's count for a segment includes
    its deleted documents, so it is fixed for the segment's life. Bounded per segment; a
    segment's table is emptied when full (the words asked for recur, and refill it)."""

    def __init__(self, per_segment: int = 1 << 16) -> None:
        self.per_segment = per_segment
        self._counts: dict[str, dict[tuple[str, str], int]] = {}
        self._lock = threading.Lock()

    def doc_frequency(self, reader: IndexReader, fieldname: str, text: str) -> int:
        return self.doc_frequencies(reader, fieldname, (text,))[0]

    def doc_frequencies(self, reader: IndexReader, fieldname: str, texts: Sequence[str]) -> list[int]:
        """`doc_frequency` of each of `texts`, the ones not kept asked of each segment together
        (`readers.term_doc_frequencies`)."""
        totals = [0] * len(texts)
        for leaf, _, segid, _ in readers.leaves(reader):
            if segid is None:
                found = readers.term_doc_frequencies(leaf, fieldname, texts)
            else:
                with self._lock:
                    counts = self._counts.setdefault(segid, {})
                    found = [counts.get((fieldname, text), -1) for text in texts]  # -1: not kept
                missing = [i for i, n in enumerate(found) if n < 0]
                if missing:
                    asked = readers.term_doc_frequencies(leaf, fieldname, [texts[i] for i in missing])
                    with self._lock:
                        for i, n in zip(missing, asked):
                            if len(counts) >= self.per_segment:
                                counts.clear()
                            counts[fieldname, texts[i]] = found[i] = n
            totals = [total + n for total, n in zip(totals, found)]
        return totals

    def retain(self, reader: IndexReader) -> None:
        keep = {segid for _, _, segid, _ in readers.leaves(reader)}
        with self._lock:
            for segid in [s for s in self._counts if s not in keep]:
                del self._counts[segid]

    def entries(self) -> int:
        with self._lock:
            return sum(len(c) for c in self._counts.values())
