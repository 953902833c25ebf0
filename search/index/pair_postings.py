"""The pair field's postings in the writers' pool, keyed by pair code without a dict.

A pair field has millions of distinct terms per segment (most pairs of words are in one or two
articles). Numbering each document's pair codes through a dict of the segment's codes was a
lookup per posting in a table far larger than the CPU caches: the largest single cost of adding
a document. Here a posting keeps its code, and the codes are numbered once, at the flush, by a
sort (`numbered`): each term's number is the index of its first posting, as the dict gave it,
so the pool's flush is unchanged.

The pool's budget counts a term's dict entry (`search.index.pool`) whether or not there is a
dict, and the writer asks after every document whether the pool is over it: the number of
distinct codes is known exactly up to a point (`_known`, sorted) and bounded after it by the
postings added since (each could be a new code). The exact count is only worked out when that
bound could take the pool over its budget, so the segments are flushed where they were.
"""

from __future__ import annotations

from array import array
from itertools import repeat

import numpy as np

from search.index.weights import extended, new_weights


class PairPostings:
    """One pair field's postings in insertion order: code, document number and weight each."""

    __slots__ = ("codes", "docs", "weights", "_known", "_resolved")

    def __init__(self) -> None:
        self.codes = array("q")
        self.docs = array("I")
        self.weights = new_weights()
        #: The distinct codes of the postings before `_resolved`, sorted.
        self._known = np.empty(0, dtype=np.int64)
        self._resolved = 0

    def extend(self, codes: np.ndarray, docnum: int, weights: np.ndarray) -> None:
        """One document's postings: each distinct code once, with its weight."""
        self.codes.frombytes(codes.astype(np.int64).tobytes())
        self.docs.extend(repeat(docnum, len(codes)))
        self.weights = extended(self.weights, weights)

    def nbytes(self, besides_weights: int) -> int:
        """The postings' bytes, each counted as `besides_weights` plus its weight's."""
        return len(self.docs) * (besides_weights + self.weights.itemsize)

    def terms_at_most(self) -> int:
        """An upper bound of the distinct codes: the known ones and every posting after them."""
        return len(self._known) + len(self.codes) - self._resolved

    def terms(self) -> int:
        """The number of distinct codes."""
        if self._resolved < len(self.codes):
            # Sorted, then each once (numpy's `unique` of a large array without counts hashes,
            # several times slower here than a sort).
            fresh = np.sort(np.frombuffer(self.codes, dtype=np.int64)[self._resolved :])
            fresh = fresh[np.concatenate(([True], fresh[1:] != fresh[:-1]))]
            known = self._known
            at = np.searchsorted(known, fresh)
            seen = at < len(known)
            seen[seen] = known[at[seen]] == fresh[seen]
            self._known = np.insert(known, at[~seen], fresh[~seen])
            self._resolved = len(self.codes)
        return len(self._known)

    def numbered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(each distinct code, ascending; its term's number: the index of its first posting;
        each posting's term number, as int32)."""
        codes = np.frombuffer(self.codes, dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1]))) if len(codes) else order[:0]
        distinct = ordered[starts]
        del ordered
        firsts = order[starts]  # a stable sort: a code's first posting leads its group
        tids = np.empty(len(codes), dtype=np.int32)
        tids[order] = np.repeat(firsts.astype(np.int32), np.diff(np.append(starts, len(codes))))
        return distinct, firsts, tids
