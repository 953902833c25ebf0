"""The text field type of the index: Whoosh's TEXT with a faster way to index a document.

Whoosh indexes a value by running it through the analyzer one token at a time (a generator per
filter, a Token object per word) and then pickling each word's position list: that was half of
the build time on the news archive. Our analyzers are a tokenizer that finds `WORD_RE` words in
normalised text followed by filters that each map one token to one token, looking at nothing
but that token. So a word's term never depends on where it stands: the text is split once with
`WORD_RE`, each distinct word is run through the analyzer once and remembered, and positions are
the word numbers. The terms, frequencies and positions are exactly those of the analyzer (a
test compares them on awkward text); queries still go through the analyzer itself.

Positions are stored as packed deltas (`CompactPositions`) instead of Whoosh's pickled lists,
which made them most of the index: four to nine times smaller before compression.

The pair field (`PairText`) gets the same treatment: its terms are counted straight from the
text, split at the same sentence breaks as `PairTokenizer`, and its postings carry only a weight.

Whoosh pickles field objects into the index schema: these classes must stay importable here.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from itertools import accumulate

from whoosh.fields import ID, TEXT
from whoosh.formats import Format, Frequency, Positions

from search.text.analysis import _BREAK_RE, pair
from search.text.normalize import WORD_RE, fold, normalize

#: Distinct words remembered per field; Vietnamese news uses far fewer (syllables repeat).
_CACHE_LIMIT = 1 << 18


class CompactPositions(Positions):
    """Positions as their deltas in the narrowest of 1, 2 or 4 bytes, after a byte that says
    which. The frequency is the number of deltas, so it needs no bytes of its own."""

    def encode(self, poslist: list[int]) -> bytes:
        if len(poslist) == 1 and poslist[0] < 0x100:  # most terms of an article: skip the deltas
            return bytes((1, poslist[0]))
        deltas = [b - a for a, b in zip([0, *poslist], poslist)]
        top = max(deltas)
        if top < 0x100:
            return b"\x01" + bytes(deltas)
        typecode = "H" if top < 0x10000 else "I"
        packed = array(typecode, deltas)
        return bytes([packed.itemsize]) + packed.tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return list(accumulate(self.deltas(valuestring)))

    @staticmethod
    def deltas(valuestring: bytes) -> bytes | array:
        width = valuestring[0]
        if width == 1:
            return valuestring[1:]
        return array("H" if width == 2 else "I", valuestring[1:])

    def decode_frequency(self, valuestring: bytes) -> int:
        return (len(valuestring) - 1) // valuestring[0]

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost


class VietnameseText(TEXT):
    format: Format

    """TEXT whose analyzer is a `VietnameseTokenizer` followed by one-token-to-one-token filters,
    with positions stored as `CompactPositions`, or with `phrase=False` only the frequencies
    (`Counts`)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        kind = CompactPositions if self.format.supports("positions") else Counts
        self.format = kind(field_boost=self.format.field_boost)

    def _term(self, word: str) -> str:
        cache = self.__dict__.setdefault("_terms", {})
        term = cache.get(word)
        if term is None:
            texts = [token.text for token in self.analyzer(word)]
            if len(texts) != 1:  # cannot happen for a WORD_RE word; never index it differently
                raise ValueError(f"the analyzer split the word {word!r} into {texts!r}")
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            term = cache[word] = texts[0]
        return term

    def index(self, value: object, **kwargs: object) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str) or kwargs.get("mode", "index") != "index":
            yield from super().index(value, **kwargs)
            return
        positions: dict[str, list[int]] = {}
        cache = self.__dict__.setdefault("_terms", {})
        for pos, word in enumerate(WORD_RE.findall(normalize(value))):
            term = cache.get(word) or self._term(word)
            found = positions.get(term)
            if found is None:
                positions[term] = [pos]
            else:
                found.append(pos)
        encode = self.format.encode
        boost = self.format.field_boost
        for term, poses in positions.items():
            yield term.encode("utf-8"), len(poses), len(poses) * boost, encode(poses)

    def __getstate__(self) -> dict[str, object]:
        """The term cache is not part of the schema pickled into the index."""
        state = self.__dict__.copy()
        state.pop("_terms", None)
        return state


class Counts(Format):
    """A term's frequency in the document as the posting's weight, and nothing else.

    BM25 reads only the weight, and Whoosh's `Frequency` stored the same number a second time
    as four value bytes per posting; with a block per term, most pair terms being in one or two
    articles, those bytes were a large share of the pair field. Without them the postings of a
    term are its document numbers and weights, as Whoosh's `Existence` format stores them for
    ID fields, but with the real frequencies as weights.
    """

    posting_size = 0

    def word_values(self, value: object, analyzer: object, **kwargs: object) -> Iterator[tuple[str, int, float, bytes]]:
        for term, freq, weight, _ in Frequency(self.field_boost).word_values(value, analyzer, **kwargs):
            yield term, freq, weight, b""

    def encode(self, value: object) -> bytes:
        return b""


class PairText(TEXT):
    format: Format

    """TEXT for `pair_analyzer`: adjacent folded words within a sentence as terms, counted in
    one pass over the text with a cache of folded words, stored as `Counts` (no positions: pair
    terms are never searched as phrases)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(phrase=False, **kwargs)
        self.format = Counts(field_boost=self.format.field_boost)

    def index(self, value: object, **kwargs: object) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str) or kwargs.get("mode", "index") != "index":
            yield from super().index(value, **kwargs)
            return
        cache = self.__dict__.setdefault("_folded", {})
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        counts: dict[str, int] = {}
        for segment in _BREAK_RE.split(normalize(value)):
            words = []
            for word in WORD_RE.findall(segment):
                folded = cache.get(word)
                if folded is None:
                    folded = cache[word] = fold(word)
                words.append(folded)
            for first, second in zip(words, words[1:]):
                term = pair(first, second)
                counts[term] = counts.get(term, 0) + 1
        boost = self.format.field_boost
        for term, freq in counts.items():
            yield term.encode("utf-8"), freq, freq * boost, b""

    def __getstate__(self) -> dict[str, object]:
        """The word cache is not part of the schema pickled into the index."""
        state = self.__dict__.copy()
        state.pop("_folded", None)
        return state


class ColumnOnly(ID):
    """An ID kept in a sortable column and nowhere else: not a term of the index.

    The content hash is only ever read back by document (to skip unchanged articles), and as an
    indexed ID it cost every article a term of its own, with its own posting list: a large
    share of a short article's index."""

    indexed = False

    def __init__(self, stored: bool = False) -> None:
        super().__init__(stored=stored, sortable=True)
