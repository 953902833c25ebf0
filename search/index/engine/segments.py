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
from collections.abc import Hashable
from typing import Any

import numpy as np
from whoosh.reading import IndexReader

from search.index.engine import readers

#: Postings kept per process across generations (segment by segment): 8 bytes each (12 where
#: a weight is not a float32).
POSTINGS_KEPT = 4_000_000


class PostingsCache:
    """Recently used term postings of single segments (document numbers within the segment
    and weights), bounded by the number of postings held: after a commit, the terms of the
    next searches are decoded again for the new segments only."""

    def __init__(self, budget: int = POSTINGS_KEPT) -> None:
        self.budget, self.size = budget, 0
        self._items: OrderedDict[Hashable, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: tuple[np.ndarray, np.ndarray]) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self.size += max(1, len(value[0]))
            while self.size > self.budget and len(self._items) > 1:
                _, (ids, _) = self._items.popitem(last=False)
                self.size -= max(1, len(ids))

    def retain(self, keep: set[str | None]) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] not in keep]:  # type: ignore[index]
                ids, _ = self._items.pop(key)
                self.size -= max(1, len(ids))

    def nbytes(self) -> int:
        with self._lock:
            return sum(ids.nbytes + weights.nbytes for ids, weights in self._items.values())


def postings(reader: IndexReader, fieldname: str, btext: bytes, cache: PostingsCache) -> tuple[np.ndarray, np.ndarray]:
    """As `readers.postings(..., values=False)`, each segment's part taken from `cache` when
    it holds it; the segments it does not hold are decoded together (one pass of numpy over
    all their blocks) and then kept one by one."""
    leaves = readers.leaves(reader)
    parts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    missing: list[int] = []
    for n, (_, _, segid, _) in enumerate(leaves):
        found = cache.get((segid, fieldname, btext)) if segid is not None else None
        if found is None:
            missing.append(n)
        else:
            parts[n] = found
    if missing:
        only = [(leaves[n][0], leaves[n][1]) for n in missing]
        new_ids, new_weights, _ = readers.postings(reader, fieldname, btext, values=False, only=only)
        starts = [offset for _, offset in only]
        bounds = np.searchsorted(new_ids, [*starts, starts[-1] + only[-1][0].doc_count_all()])
        for k, n in enumerate(missing):
            lo, hi = bounds[k], bounds[k + 1]
            local_weights = new_weights[lo:hi]
            narrow = local_weights.astype(np.float32)  # frequencies: exact in four bytes
            found = (
                (new_ids[lo:hi] - starts[k]).astype(np.int32),
                narrow if np.array_equal(narrow, local_weights) else local_weights.copy(),
            )
            segid = leaves[n][2]
            if segid is not None:
                cache.put((segid, fieldname, btext), found)
            parts[n] = found
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for n, (_, offset, _, _) in enumerate(leaves):
        part = parts[n]
        if len(part[0]):
            ids.append(part[0].astype(np.int64) + offset)
            weights.append(part[1].astype(np.float64))
    if not ids:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    if len(ids) == 1:
        return ids[0], weights[0]
    return np.concatenate(ids), np.concatenate(weights)


class SegmentArrays:
    """Per-document arrays over the whole index, assembled from per-segment parts, and the
    segments' recently used postings."""

    def __init__(self, postings_kept: int = POSTINGS_KEPT) -> None:
        self._parts: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self.postings = PostingsCache(postings_kept)

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
        with self._lock:
            for key in [k for k in self._parts if k[0] not in keep]:  # type: ignore[index]
                del self._parts[key]
            # A segment's live mask for an older deleted count is never asked for again.
            newest = {segid: count for _, _, segid, count in readers.leaves(reader)}
            for key in [k for k in self._parts if k[1] == "live" and k[2] != newest.get(k[0])]:  # type: ignore[index]
                del self._parts[key]

    def nbytes(self) -> int:
        """Memory the kept parts and postings take (numpy buffers)."""
        with self._lock:
            parts = list(self._parts.values())
        total = self.postings.nbytes()
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
        total = 0
        term = (fieldname, text)
        for leaf, _, segid, _ in readers.leaves(reader):
            if segid is None:
                total += leaf.doc_frequency(fieldname, text)
                continue
            with self._lock:
                counts = self._counts.setdefault(segid, {})
                found = counts.get(term)
            if found is None:
                found = leaf.doc_frequency(fieldname, text)
                with self._lock:
                    if len(counts) >= self.per_segment:
                        counts.clear()
                    counts[term] = found
            total += found
        return total

    def retain(self, reader: IndexReader) -> None:
        keep = {segid for _, _, segid, _ in readers.leaves(reader)}
        with self._lock:
            for segid in [s for s in self._counts if s not in keep]:
                del self._counts[segid]

    def entries(self) -> int:
        with self._lock:
            return sum(len(c) for c in self._counts.values())
