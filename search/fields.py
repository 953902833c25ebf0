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

Whoosh pickles field objects into the index schema: these classes must stay importable here.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from itertools import accumulate

from whoosh.fields import TEXT
from whoosh.formats import Positions

from search.text import WORD_RE, normalize

#: Distinct words remembered per field; Vietnamese news uses far fewer (syllables repeat).
_CACHE_LIMIT = 1 << 18


class CompactPositions(Positions):
    """Positions as their deltas in the narrowest of 1, 2 or 4 bytes, after a byte that says
    which. The frequency is the number of deltas, so it needs no bytes of its own."""

    def encode(self, poslist: list[int]) -> bytes:
        deltas = [b - a for a, b in zip([0, *poslist], poslist)]
        top = max(deltas)
        if top < 0x100:
            return b"\x01" + bytes(deltas)
        typecode = "H" if top < 0x10000 else "I"
        packed = array(typecode, deltas)
        return bytes([packed.itemsize]) + packed.tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return list(accumulate(self._deltas(valuestring)))

    @staticmethod
    def _deltas(valuestring: bytes) -> bytes | array:
        width = valuestring[0]
        if width == 1:
            return valuestring[1:]
        return array("H" if width == 2 else "I", valuestring[1:])

    def decode_frequency(self, valuestring: bytes) -> int:
        return (len(valuestring) - 1) // valuestring[0]

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost


class VietnameseText(TEXT):
    """TEXT whose analyzer is a `VietnameseTokenizer` followed by one-token-to-one-token filters,
    with positions stored as `CompactPositions`."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.format = CompactPositions(field_boost=self.format.field_boost)

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
