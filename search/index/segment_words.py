"""The words of one segment numbered, so that the pool adds a document's text-field postings
with numpy instead of one dict lookup per term per document.

The pool keyed each posting by its term's bytes: for every document, every distinct term of
each text field was a lookup in a dict of all the segment's terms, and each pair term was first
joined and encoded as a new string. Here each word of a segment gets a number the first time it
comes (one lookup per word, where the field's term cache took one before), and each field keeps,
per word number, its term's number in the pool: a document's terms are an array taken from that
table, grouped and counted with numpy. A pair term is the two words' fold numbers in one
integer, turned into its bytes once per segment, when the pool is flushed (a merge's pair
postings, added as bytes, join them there). The segment's
postings are the same, term for term, as the terms' bytes would have given.
"""

from __future__ import annotations

import numpy as np

from search.index.fields import folded_word, split_words
from search.text.analysis import PAIR_JOINER

#: Where the first word's fold number sits in a pair's code (the second's is below it).
_PAIR_SHIFT = 32
_PAIR_LOW = (1 << _PAIR_SHIFT) - 1
_JOINER = PAIR_JOINER.encode("utf-8")


class _Numbers(dict[str, int]):
    """Each word's number, given on first lookup, and the words in that order."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []

    def __missing__(self, word: str) -> int:
        number = self[word] = len(self.words)
        self.words.append(word)
        return number


def grown(table: np.ndarray | None, size: int) -> np.ndarray:
    """`table` (int64, -1 where unset) with room for `size` entries."""
    if table is None:
        table = np.full(max(1024, size), -1, dtype=np.int64)
    elif len(table) < size:
        table = np.concatenate((table, np.full(max(size, 2 * len(table)) - len(table), -1, dtype=np.int64)))
    return table


class SegmentWords:
    """One segment's words by number, the last text's numbers (the three text fields of a
    document are one string), and the words' folds by number for the pair field."""

    def __init__(self) -> None:
        self._numbers = _Numbers()
        self._value: str | None = None
        self._segments: list[list[str]] = []
        self._wids = np.empty(0, dtype=np.int64)
        self._fold_of: np.ndarray | None = None
        self._folds: dict[str, int] = {}
        self._fold_texts: list[bytes] = []

    @property
    def words(self) -> list[str]:
        return self._numbers.words

    def numbers(self, value: str) -> tuple[list[list[str]], np.ndarray]:
        """The text's `_BREAK_RE` segments of words and each word's number, in text order."""
        if value is not self._value:
            self._segments, words = split_words(value)
            self._wids = np.fromiter(map(self._numbers.__getitem__, words), dtype=np.int64, count=len(words))
            self._value = value
        return self._segments, self._wids

    def pair_codes(self, value: str) -> np.ndarray:
        """Each pair of adjacent words within a segment of the text as one code (see
        `pair_term`), in text order."""
        segments, wids = self.numbers(value)
        if len(wids) < 2:
            return np.empty(0, dtype=np.int64)
        table = self._fold_of = grown(self._fold_of, len(self.words))
        folds = table[wids]
        unknown = folds < 0
        if unknown.any():
            words = self.words
            for w in np.unique(wids[unknown]).tolist():
                text = folded_word(words[w])
                number = self._folds.get(text)
                if number is None:
                    number = self._folds[text] = len(self._fold_texts)
                    self._fold_texts.append(text.encode("utf-8"))
                table[w] = number
            folds = table[wids]
        ends = np.cumsum(np.fromiter(map(len, segments), dtype=np.int64, count=len(segments)))
        within = np.ones(len(wids) - 1, dtype=bool)
        within[ends[(ends > 0) & (ends < len(wids))] - 1] = False
        return ((folds[:-1] << _PAIR_SHIFT) | folds[1:])[within]

    def pair_term(self, code: int) -> bytes:
        """The pair term's bytes ("bao_hiem") of a code from `pair_codes`: one code a term,
        since no word character folds to the joiner (tests/test_fields.py checks it)."""
        texts = self._fold_texts
        return texts[code >> _PAIR_SHIFT] + _JOINER + texts[code & _PAIR_LOW]
