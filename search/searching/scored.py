"""A term's or phrase's postings over the whole index, scored when first asked, and the
least recently used of them kept for an evaluator.

A request reads many more postings than it scores: a union's mask needs ids only, and the
first tier's ranking needs the scores of its own documents, which are few for most queries of
several words. So a term's BM25 scores are not computed when its postings are read: its
weights are kept instead, and the scores are computed whole when an array over the index needs
them, or at the chosen postings alone. Both compute each score by the same operations, so they
are the same numbers.

A long list that is kept also keeps which documents it holds as bits (`BITS_SHARE`): a union's
mask and the test of which candidates hold a common word are what every query of that word
makes again, and one write per posting (tens of thousands for a common syllable) costs more
than an OR of the bits and one unpacking.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

from search.index.engine.segments import ENTRY_BYTES

#: idf, `k1 + 1` and BM25's length normalisation per document (see `Evaluator._norm`).
Scoring = tuple[float, float, np.ndarray]


class Postings:
    """Sorted document numbers (over the whole index, int64: numpy converts an index of any
    other type first, at every look-up) with their scores: one term or phrase. Given `weights`
    and `scoring` rather than `scores`, the scores are computed when first asked for (and the
    weights then let go)."""

    __slots__ = ("ids", "_scores", "_weights", "_scoring", "bits", "ranks")

    def __init__(
        self,
        ids: np.ndarray,
        scores: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        scoring: Scoring | None = None,
    ) -> None:
        if scores is None and (weights is None or scoring is None):
            raise ValueError("postings need their scores, or their weights and how to score them")
        self.ids, self._scores, self._weights, self._scoring = ids, scores, weights, scoring
        #: Which documents of the index the postings hold, packed (`packed`), for a kept long list,
        #: and how many of them come before each 64 documents (`ranked`).
        self.bits: np.ndarray | None = None
        self.ranks: np.ndarray | None = None

    @property
    def scores(self) -> np.ndarray:
        """Every posting's score, in order."""
        weights, scoring = self._weights, self._scoring  # read before the scores: see below
        found = self._scores
        if found is None:
            assert weights is not None and scoring is not None
            found = self._scores = _bm25(scoring, self.ids, weights)
            # Another thread may be reading the weights: it read them before it found no scores.
            self._weights = None
        return found

    def scores_at(self, at: np.ndarray) -> np.ndarray:
        """The scores of the postings at places `at`: `scores[at]`, computed at those alone
        while the whole list is not scored."""
        weights, scoring = self._weights, self._scoring
        found = self._scores
        if found is not None:
            return found[at]
        assert weights is not None and scoring is not None
        return _bm25(scoring, self.ids[at], weights[at])


def _bm25(scoring: Scoring, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """BM25 exactly as `whoosh.scoring.bm25` computes it, `idf * ((w * (k1 + 1)) / (w + norm))`:
    the same operations in the same order (a sum or a product of two numbers is the same
    either way round), into one array."""
    idf, k1_plus_1, norm = scoring
    weights = weights.astype(np.float64, copy=False)  # kept narrow: a byte for a frequency
    out = weights * k1_plus_1
    below = norm.take(ids)
    below += weights
    out /= below
    out *= idf
    return out


EMPTY = Postings(np.zeros(0, np.int64), np.zeros(0, np.float64))


#: The memory a scored posting takes: an eight-byte document number and score.
POSTING_BYTES = 16

#: A kept list of at least one posting in so many documents of the index keeps its bits too:
#: at the threshold they take an eighth of the memory of its ids and scores, less above it.
BITS_SHARE = 16


def packed(ids: np.ndarray, size: int) -> np.ndarray:
    """The documents `ids` of an index of `size` as bits, eight documents a byte, the first in
    the lowest bit (`unpacked` reads them back), in whole words of 64 (`bit_places` reads them so)."""
    mask = np.zeros(-(-size // 64) * 64, dtype=bool)
    mask[ids] = True
    return np.packbits(mask, bitorder="little")


def ranked(bits: np.ndarray) -> np.ndarray:
    """How many documents `packed` bits hold before each word of 64."""
    counts = np.bitwise_count(bits.view("<u8"))
    out = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=out[1:])
    return out


#: The bits of a word below each of its 64 places.
_BELOW = (np.uint64(1) << np.arange(64, dtype=np.uint64)) - np.uint64(1)


def bit_places(postings: Postings, docs: np.ndarray) -> np.ndarray:
    """Where documents the postings hold are among their ids, `np.searchsorted(ids, docs)`, from
    a kept long list's bits: a document's place is the count of documents before it, those
    before its word and those of its word below it. A binary search per document reads far
    apart places of a long list; these are two reads close to the document's bit."""
    assert postings.bits is not None and postings.ranks is not None
    word = docs >> 6
    return postings.ranks[word] + np.bitwise_count(postings.bits.view("<u8")[word] & _BELOW[docs & 63])


def unpacked(bits: np.ndarray, size: int) -> np.ndarray:
    """A new mask over the index's `size` documents from `packed` bits (or several ORed)."""
    return np.unpackbits(bits, count=size, bitorder="little").view(np.bool_)


#: What an entry counts besides its postings: the memory its objects take (the postings
#: object, its arrays, the key, the ordered dict's slot; `segments.ENTRY_BYTES`), in postings.
#: Distinct queries keep adding terms and phrases of a few postings or none.
ENTRY_POSTINGS = ENTRY_BYTES // POSTING_BYTES


class Lru:
    """Least recently used entries, bounded by the total number of postings they hold (and
    `ENTRY_POSTINGS` more each, and their bits and ranks in postings' worth of bytes)."""

    def __init__(self, budget: int, documents: int = 0) -> None:
        """`documents`: the index's, over which the long lists kept get their bits (none: 0)."""
        self.budget, self.size = budget, 0
        self.documents = documents
        self._items: OrderedDict[Hashable, Postings] = OrderedDict()

    def nbytes(self) -> int:
        """The memory the entries count against the budget."""
        return self.size * POSTING_BYTES

    def peek(self, key: Hashable) -> Postings | None:
        """The entry under `key` if kept, left where it is in the order."""
        return self._items.get(key)

    def get(self, key: Hashable, make: Callable[[], Postings]) -> Postings:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            return found
        value = make()
        if self.documents and len(value.ids) * BITS_SHARE >= self.documents:
            value.bits = packed(value.ids, self.documents)
            value.ranks = ranked(value.bits)
        self._items[key] = value
        self.size += _counted(value)
        while self.size > self.budget and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self.size -= _counted(old)
        return value


def _counted(value: Postings) -> int:
    """What an entry counts against an `Lru`'s budget, in postings."""
    extra = 0
    if value.bits is not None:
        assert value.ranks is not None  # made with the bits
        extra = value.bits.nbytes + value.ranks.nbytes
    return len(value.ids) + ENTRY_POSTINGS + -(-extra // POSTING_BYTES)
