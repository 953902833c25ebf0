"""The text field type of the index: Whoosh's TEXT with a faster way to index a document.

Whoosh indexes a value by running it through the analyzer one token at a time (a generator per
filter, a Token object per word) and then pickling each word's position list: that was half of
the build time on the news archive. Our analyzers are a tokenizer that finds `WORD_RE` words in
normalised text followed by filters that each map one token to one token, looking at nothing
but that token. So a word's term never depends on where it stands: the text is split once with
`WORD_RE`, each distinct word is run through the analyzer once and remembered, and positions are
the word numbers. The terms, frequencies and positions are exactly those of the analyzer (a
test compares them on awkward text); queries still go through the analyzer itself.

Whoosh pickles field objects into the index schema: this class must stay importable here.
"""

from __future__ import annotations

from collections.abc import Iterator

from whoosh.fields import TEXT

from search.text import WORD_RE, normalize

#: Distinct words remembered per field; Vietnamese news uses far fewer (syllables repeat).
_CACHE_LIMIT = 1 << 18


class VietnameseText(TEXT):
    """TEXT whose analyzer is a `VietnameseTokenizer` followed by one-token-to-one-token filters."""

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
