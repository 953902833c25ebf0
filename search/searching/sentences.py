"""Where the sentences of a stored text end, near given offsets: what a snippet is cut from.

A sentence of news ends at a line break or at its final punctuation, but not at the period of
an abbreviation or an initial ("TP. HCM", "Nguyễn V. A"), nor where the text goes on in lower
case. A snippet only needs the sentences around its matches, so everything here starts from an
offset and scans forward to the next end, never over the whole text.
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


#: A sentence ends at a line break, or at ".", "!", "?" or "…" (with any closing quotes or
#: brackets) followed by white space, unless the next visible character is lower case ("…,
#: v.v. và ...", a quote followed by "ông nói"). The pattern starts with a character set so
#: that the regex engine skips to the candidates itself; the lower-case letters are those of
#: `str.islower`, so the pattern decides what a check in Python would, without a call per
#: candidate.
_SENTENCE_END = re.compile(r"[\n.!?…](?:(?<=\n)|[.!?…]*[\"'”’»)\]]*(?=\s)(?!\s*[" + _char_class(str.islower) + "]))")

#: Words written with a period that does not end the sentence ("TP. HCM", "PGS. TS. ...").
#: Single letters (initials such as "Nguyễn V. A") are treated the same way.
_ABBREVIATIONS = frozenset("tp tx tt q p h ths ts pgs gs bs ks ls cn nxb mr mrs ms dr st vs no v".split())
_LONGEST_ABBREVIATION = max(map(len, _ABBREVIATIONS))
#: The characters before a "." that say whether it follows an abbreviation: one more than the
#: longest, to tell a longer word apart.
_TAIL = _LONGEST_ABBREVIATION + 1


def boundaries(text: str, pos: int = 0) -> Iterator[tuple[int, int]]:
    """(end of the sentence, start of what follows) at each sentence end of `text` from `pos`.

    Whether a candidate ends a sentence depends on its own characters and its neighbours only,
    and a candidate never holds a word character or white space other than a lone line break,
    so a scan from the end of a word, or from where another scan resumed, finds the same ends
    as a scan of the whole text: a snippet looks only near its matches.
    """
    while (found := next_end(text, pos)) is not None:
        yield found
        pos = found[1]


def next_end(text: str, pos: int) -> tuple[int, int] | None:
    """The first of `boundaries(text, pos)`, or None: one call where a snippet needs only that."""
    search = _SENTENCE_END.search
    m = search(text, pos)
    while m is not None:
        start, end = m.span()
        if end - start == 1:
            char = text[start]
            if char == "\n":
                return start, end
            if char == "." and abbreviated(text[max(0, start - _TAIL) : start]):
                m = search(text, end)
                continue
        return end, end
    return None


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


def split(text: str, after: int | None = None, start: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, surrounding white space excluded.

    With `after`, the list stops at the first sentence starting at or after that offset: a
    snippet needs no sentence beyond the one following its last match. With `start` (0 or where
    `boundaries` resumed), the list begins there.
    """
    out: list[tuple[int, int]] = []
    for end, resume in boundaries(text, start):
        if after is not None and out and out[-1][0] >= after:
            return out
        _add_stripped(out, text, start, end)
        start = resume
    _add_stripped(out, text, start, len(text))
    return out


def groups(text: str, matches: Sequence[tuple[int, int, str]]) -> Iterator[tuple[int, int, int]]:
    """(lo, i, j) for each sentence holding matches: matches[i:j] are its matches, and `lo` is
    where the text after the previous such sentence starts (0 for the first). One search for a
    sentence end per sentence with matches, instead of splitting every sentence before them."""
    lo, i, size = 0, 0, len(matches)
    while i < size:
        _, resume = next_end(text, matches[i][1]) or (len(text), len(text))
        j = i + 1
        while j < size and matches[j][0] < resume:
            j += 1
        yield lo, i, j
        lo, i = resume, j


def _add_stripped(out: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    """Append text[start:end] without its surrounding white space, unless nothing is left."""
    piece = text[start:end]
    left = piece.lstrip()
    if left:
        start += len(piece) - len(left)
        out.append((start, start + len(left.rstrip())))
