"""The two Whoosh analyzers every article and query goes through.

An article is indexed twice. The exact field keeps diacritics, so a reader who types "năm" can
have articles with "năm" ranked above those with "nam"; the folded field drops them, so a
reader who types without marks still finds everything. Queries are built by zipping the two
token streams, which is why both analyzers share one tokenizer and only use filters that map
one token to one token (and no stop words).

Whoosh pickles analyzers into the index schema: these classes must stay importable from this
module under these names, or existing indexes no longer open.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from whoosh.analysis import CompositeAnalyzer, Filter, LowercaseFilter, Token, Tokenizer

from search.text.normalize import WORD_RE, canonical_tones, fold, normalize


class VietnameseTokenizer(Tokenizer):
    """Splits normalised text into words (`WORD_RE`), so NFD input, "Ð" and invisible
    characters tokenize like their clean forms and document numbers split into their parts.

    Follows `whoosh.analysis.RegexTokenizer`'s protocol; character offsets are into the
    normalised text, which is what the store keeps.
    """

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not a str")
        text = normalize(value)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = text
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(text)
            yield token
            return
        for pos, match in enumerate(WORD_RE.finditer(text)):
            token.text = match.group()
            token.boost = 1.0
            if keeporiginal:
                token.original = token.text
            token.stopped = False
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


class ToneFilter(Filter):
    """Puts tone marks where the old style does, so "hoà" and "hòa" are one term."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = canonical_tones(token.text)
            yield token


class FoldFilter(Filter):
    """Strips diacritics with `fold` ("đ" becomes "d"). Whoosh's accent filters would turn an
    unexpected combining mark into a letter and change the token."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = fold(token.text)
            yield token


#: Where a sentence or a clause ends: two words on either side are not a pair. Punctuation
#: inside a number ("252.199", "88,7%") or a document number ("96/NQ-BCS") is not a break.
_BREAK_RE = re.compile(r"[.,;:!?\u2026]+(?=\s|$)|[\n()\[\]{}\"\u201c\u201d\u2013\u2014]|\s-\s")
#: Joins the two words of a pair term; WORD_RE never matches it, so no word looks like a pair.
PAIR_JOINER = "_"


def pair(first: str, second: str) -> str:
    """The pair term for two adjacent folded words: "bao_hiem"."""
    return f"{first}{PAIR_JOINER}{second}"


def pairs(words: list[str]) -> Iterator[str]:
    """`pair` of each two adjacent words of `words`, joined in C: a text's pairs, by the
    hundred, without a Python call each."""
    return map(PAIR_JOINER.join, zip(words, words[1:]))


class PairTokenizer(Tokenizer):
    """Adjacent folded words within a sentence as one term each ("bảo hiểm xã hội" gives
    bao_hiem, hiem_xa, xa_hoi).

    Vietnamese words are mostly two syllables written apart, so a pair that stands together in
    an article is the closest cheap thing to a word: scoring pairs as terms ranks "bảo hiểm"
    above articles with "bảo" and "hiểm" far apart, at the cost of a term lookup instead of a
    phrase query over positions (slow on common syllables). Folded, so a query without
    diacritics scores the same pairs.
    """

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not a str")
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for segment in _BREAK_RE.split(normalize(value)):
            words = [fold(word) for word in WORD_RE.findall(segment)]
            for first, second in zip(words, words[1:]):
                token.text = pair(first, second)
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = token.text
                if positions:
                    token.pos = pos
                pos += 1
                yield token


def exact_analyzer() -> CompositeAnalyzer:
    """Lower case, diacritics kept, tone marks in one canonical place."""
    return VietnameseTokenizer() | LowercaseFilter() | ToneFilter()


def folded_analyzer() -> CompositeAnalyzer:
    """Lower case without diacritics: what a reader typing without marks means."""
    return VietnameseTokenizer() | LowercaseFilter() | FoldFilter()


def pair_analyzer() -> CompositeAnalyzer:
    """Adjacent word pairs, folded: see `PairTokenizer`."""
    return CompositeAnalyzer(PairTokenizer())
