"""Where the sentences of a stored text end: what a snippet is cut from.

A sentence of news ends at a line break or at its final punctuation, but not at the period of
an abbreviation or an initial ("TP. HCM", "Nguyễn V. A"), nor where the text goes on in lower
case. A snippet only needs the sentences around its matches, so everything here starts from an
offset and scans forward (`split` alone reads the whole text). The scan is one compiled pattern that
settles every candidate end itself but the few a Python check must (a "." after a word of one to
three letters, which may be an abbreviation): no Python step per candidate end.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterator, Sequence

from search.text.normalize import fold


def _char_class(predicate: Callable[[str], bool]) -> str:
    """A regex character class body for every code point `predicate` holds for, as ranges."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if predicate(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges)


#: Not followed by white space and then a lower-case letter (those of `str.islower`): "…, v.v.
#: và ..." or a quote followed by "ông nói" goes on.
_GOES_ON = r"(?!\s*[" + _char_class(str.islower) + "])"

#: A sentence ends at a line break, or at ".", "!", "?" or "…" (with any closing quotes or
#: brackets) followed by white space, unless `_GOES_ON`. A lone "." right after one to three
#: letters or digits (`[^\W_]` is `str.isalnum`, a word character of `WORD_RE`) that follow no
#: other sets the empty group `short`: it ends the sentence unless the word is an abbreviation
#: or an initial (`abbreviated`). Every other candidate is settled by the pattern, which starts
#: with a character set so that the regex engine skips to the candidates itself.
_SENTENCE_END = re.compile(
    r"[\n.!?…](?:(?<=\n)"
    r"|(?<=[^\W_]\.)(?<![^\W_]{4}\.)(?=\s)" + _GOES_ON + "(?P<short>)"
    r"|[.!?…]*[\"'”’»)\]]*(?=\s)" + _GOES_ON + ")"
)

#: Words written with a period that does not end the sentence ("TP. HCM", "PGS. TS. ...").
#: Single letters (initials such as "Nguyễn V. A") are treated the same way.
_ABBREVIATIONS = frozenset("tp tx tt q p h ths ts pgs gs bs ks ls cn nxb mr mrs ms dr st vs no v".split())
_LONGEST_ABBREVIATION = max(map(len, _ABBREVIATIONS))
#: The characters before a "." that say whether it follows an abbreviation: one more than the
#: longest, to tell a longer word apart.
_TAIL = _LONGEST_ABBREVIATION + 1


def next_end(text: str, pos: int) -> int | None:
    """The first sentence end of `text` after `pos` (the end of a word, or a sentence end), or
    None: a Python step only for a "." that may follow an abbreviation."""
    search = _SENTENCE_END.search
    m = search(text, pos)
    while m is not None and not _ends_sentence(text, m):
        m = search(text, m.end())
    return None if m is None else m.end()


def _ends_sentence(text: str, m: re.Match[str]) -> bool:
    """Whether a match of `_SENTENCE_END` ends a sentence: all do but a `short` one after an
    abbreviation or an initial."""
    return m.lastgroup is None or not abbreviated(text[max(0, m.start() - _TAIL) : m.start()])


def ends(text: str, pos: int = 0, word: int | None = None) -> list[int]:
    """The sentence ends of `text` from `pos` (0, the end of a word, or a sentence end), in
    order, in one scan: those before the word starting at `word` when given, the whole text's
    otherwise. Each ends a sentence (after its closing punctuation or its line break) and
    starts what follows, white space included.

    The scan stops after the word's first character: whether a candidate before it ends a
    sentence depends on the white space after it and the character that follows (the word's
    first, a word character), never on anything further."""
    found = _SENTENCE_END.finditer(text, pos) if word is None else _SENTENCE_END.finditer(text, pos, word + 1)
    return [m.end() for m in found if _ends_sentence(text, m)]


@functools.lru_cache(maxsize=1 << 14)
def abbreviated(tail: str) -> bool:
    """Whether the word before a "." is an initial or an abbreviation, from the `_TAIL` (or
    fewer, at the start of the text) characters before it, the word's end: a word longer than
    every abbreviation needs no folding to be told apart (`fold` keeps the length). These few
    characters recur across texts, most sentences ending with one of a few thousand syllables."""
    size = 0
    while size < len(tail) and tail[-size - 1].isalnum():
        size += 1
    return size == 1 or (1 < size <= _LONGEST_ABBREVIATION and fold(tail[-size:]) in _ABBREVIATIONS)


def stripped(text: str, start: int, end: int) -> tuple[int, int] | None:
    """(start, end) of text[start:end] without its surrounding white space, or None when
    nothing else is left (a piece between two line breaks)."""
    piece = text[start:end]
    left = piece.lstrip()
    if not left:
        return None
    start += len(piece) - len(left)
    return start, start + len(left.rstrip())


def split(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, surrounding white space excluded: the pieces
    between its ends. The whole text's sentences, which snippets never need: what the scans
    from an offset must agree with (the tests hold them to it)."""
    cuts = [0, *ends(text), len(text)]
    return [found for k in range(len(cuts) - 1) if (found := stripped(text, cuts[k], cuts[k + 1])) is not None]


def groups(text: str, matches: Sequence[tuple[int, int, str]]) -> Iterator[tuple[int, int, int, int]]:
    """(lo, i, j, end) for each sentence holding matches: matches[i:j] are its matches, `end`
    is where it ends (`next_end`, or the end of the text) and `lo` where the text after the
    previous such sentence starts (0 for the first). One search for a sentence end per
    sentence with matches, instead of splitting every sentence before them."""
    lo, i, size = 0, 0, len(matches)
    while i < size:
        end = next_end(text, matches[i][1])
        if end is None:
            end = len(text)
        j = i + 1
        while j < size and matches[j][0] < end:
            j += 1
        yield lo, i, j, end
        lo, i = end, j
