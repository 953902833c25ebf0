"""A document's postings in one field as columns (terms, frequencies, weights, value bytes),
the form in which our text fields hand them to the writers' pool.

Whoosh moves postings one tuple at a time: a generator step, a tuple and an append per term of
every document, and for positions a Python list per term and its encoding. Our fields know all
of a document's terms at once, so they give them as lists the pool extends its arrays with in
C, and positions are grouped by term and encoded as `CompactPositions` bytes with numpy, all
terms of a document together: the same bytes, term for term.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

import numpy as np

#: Which bytes of a little- or big-endian uint32 are its lowest one, two or four.
_LOW_FIRST = sys.byteorder == "little"


@dataclass(frozen=True)
class Columns:
    """Postings of one document in one field, each term once (in no particular order)."""

    terms: list[bytes]
    freqs: list[int]
    weights: list[float]
    #: The terms' value bytes, concatenated (b"" for a format without values).
    values: bytes
    #: Where each term's value ends in `values`; None when there are no values.
    ends: list[int] | None

    def items(self) -> Iterator[tuple[bytes, int, float, bytes]]:
        """(term bytes, frequency, weight, value bytes), as Whoosh's `Field.index` yields them."""
        if self.ends is None:
            yield from zip(self.terms, self.freqs, self.weights, [b""] * len(self.terms))
            return
        values = self.values
        yield from zip(
            self.terms, self.freqs, self.weights, map(values.__getitem__, map(slice, [0, *self.ends], self.ends))
        )


def position_columns(terms: list[bytes], boost: float) -> Columns:
    """The postings of a document whose words' terms are `terms` (in text order), each term's
    positions encoded as `CompactPositions.encode` encodes them: a width byte (1, 2 or 4, the
    narrowest for its largest delta), then the deltas between its positions (the first from 0)."""
    if not terms:
        return Columns([], [], [], b"", [])
    # Each word's code is the number of its term's first word: terms grouped in that order.
    first: dict[bytes, int] = {}
    codes = np.fromiter(map(first.setdefault, terms, count()), dtype=np.int64, count=len(terms))
    grouped = grouped_positions(codes)
    freqs = grouped.counts.tolist()
    return Columns(
        list(map(terms.__getitem__, grouped.codes.tolist())),
        freqs,
        list(map(float(boost).__mul__, freqs)),
        grouped.body,
        grouped.ends.tolist(),
    )


@dataclass(frozen=True)
class GroupedPositions:
    """A document's words grouped by their codes (one per term), ascending: each code once,
    how many words have it, and its positions as `CompactPositions` bytes, concatenated."""

    codes: np.ndarray
    counts: np.ndarray
    body: bytes
    #: Where each code's positions end in `body`.
    ends: np.ndarray


def grouped_positions(codes: np.ndarray) -> GroupedPositions:
    """The words of a document (not empty) whose terms' codes are `codes`, in text order, grouped
    by code with their positions encoded (see `position_columns`)."""
    order = np.argsort(codes, kind="stable")  # positions, grouped by term, ascending in each
    grouped = codes[order]
    starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
    counts = np.diff(np.append(starts, len(order)))
    previous = np.empty_like(order)
    previous[0] = 0
    previous[1:] = order[:-1]
    previous[starts] = 0
    deltas = order - previous
    top = np.maximum.reduceat(deltas, starts)
    if int(top.max()) < 0x100:
        widths = np.ones(len(starts), dtype=np.int64)
        body = np.insert(deltas.astype(np.uint8), starts, 1)
    else:
        widths = np.where(top < 0x100, 1, np.where(top < 0x10000, 2, 4))
        each = np.repeat(widths, counts)
        low = np.arange(4) < each[:, None] if _LOW_FIRST else np.arange(4) >= 4 - each[:, None]
        data = deltas.astype(np.uint32).view(np.uint8).reshape(-1, 4)[low]
        offsets = np.concatenate(([0], np.cumsum(each)))[starts]
        body = np.insert(data, offsets, widths.astype(np.uint8))
    return GroupedPositions(grouped[starts], counts, body.tobytes(), np.cumsum(1 + widths * counts))
