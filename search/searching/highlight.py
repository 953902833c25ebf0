"""Marking query words in stored text: `<mark>` around matches, everything else HTML-escaped.

Why no re-analysis: the index tokenizes normalised text with `WORD_RE` and matches folded words,
so the highlighter does the same thing directly instead of running text back through Whoosh's
analyzers. `fold` is length-preserving (one output character per input character), so the text
is folded once, a scan of the folded copy for each query word finds the words (in the `WORD_RE`
sense) equal to one, and every match offset is also an offset in the original: the original
characters (with their diacritics and case) are the ones that get marked. A word of the text
matches when its folded form is one of the query's folded words, which makes highlighting
diacritic-insensitive exactly like the search ("bao hiem" marks "Bảo hiểm", "dang" marks
"Đảng"). One fold plus a `str.find` scan per query word keeps it under a millisecond for an article.

Callers pass text that is already normalised (`search.text.normalize`; stored text is). It is
not renormalised here because NFC composition may change the length, and the offsets returned
by `spans` and `first_match` must be offsets into the string the caller holds.

Escaping: raw text is cut first (windows, spans) and `html.escape(..., quote=True)` is applied to
each cut piece afterwards, so no entity is ever split and the only tags in the output are ours.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from search.searching.sentences import ends, groups, next_end, stripped
from search.text.normalize import WORD_RE, fold

__all__ = ["ELLIPSIS", "Found", "Highlighter"]

ELLIPSIS = "…"
MARK_OPEN = "<mark>"
MARK_CLOSE = "</mark>"

#: Horizontal white space: every white-space character except the line breaks of `str.splitlines`.
_H = r"[^\S\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"

#: What may separate two matching words that are marked as one: white space on the same line,
#: one "-", "/" or "&" with or without spaces around it ("96/NQ-BCS", "BHXH - BHYT"), or one
#: "." or "," inside a token ("252.199", "19,55"). A "." or "," followed by a space ends a
#: sentence or a clause, so "bảo hiểm xã hội, bảo hiểm y tế" keeps two marks; ";", ":", "(" and
#: line breaks never join.
_JOINER = re.compile(rf"{_H}+|{_H}*[-/&]{_H}*|[.,]")


#: Characters (besides white space) not worth keeping next to an ellipsis at a cut.
_TRIM_LEFT = ",;:.)]}»”’-–—"
_TRIM_RIGHT = ",;:([{«“‘-–—"

_escape = html.escape

#: (start, end, folded word) of a matching word of a text.
Match = tuple[int, int, str]


@dataclass(frozen=True)
class Found:
    """A text, its folded copy and its matching words, in order: what marking it, its snippet
    and "did you mean" all start from, so that a hit's stored text is folded and scanned once."""

    text: str
    folded: str
    matches: list[Match]


class Highlighter:
    """Marks the words of a text whose folded form is one of the query's folded words.

    Immutable once built, so one instance can serve a whole request (or several threads).

    `terms` are folded query words such as {"bao", "hiem", "xa", "hoi", "bhxh"}. They are folded
    again and split with `WORD_RE` defensively, so "nq-bcs" or "Bảo" also work as terms.
    Every method takes normalised (NFC) text and returns offsets into that same string.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms: frozenset[str] = frozenset(word for term in terms for word in WORD_RE.findall(fold(term)))
        self._sorted = tuple(sorted(self.terms))

    # -- matching -------------------------------------------------------------------------

    def find(self, text: str) -> Found:
        """`text` folded, with its matching words: give it to `mark` and `snippet` (and the
        speller) instead of the text, and the text is folded and scanned once for them all.

        Matches are whole words: every occurrence of a term in `folded` between non-word
        characters, so those of a subset of the terms are these matches restricted to it."""
        folded = fold(text)
        return Found(text, folded, self._matches(folded))

    def find_all(self, texts: Sequence[str]) -> list[Found]:
        """`find` of each of `texts`, all folded in one call: a page's titles and bodies are a
        few dozen short texts, and folding one long text costs little more than one of them."""
        folded = fold("\n".join(texts))  # `fold` maps each character on its own
        found, at = [], 0
        for text in texts:
            part = folded[at : at + len(text)]
            found.append(Found(text, part, self._matches(part)))
            at += len(text) + 1
        return found

    def _matches(self, folded: str) -> list[Match]:
        """(start, end, folded word) of every matching word of `folded`, in order, not merged.

        Each term is looked for on its own with `str.find` and the occurrences between word
        ends are kept: faster than one regex scan for all the terms, and no pattern to compile
        per query (a query's set of words is seldom seen twice). Terms are all word characters,
        so a word cannot start inside an occurrence: the next one is looked for after it, and
        matches of different terms never overlap."""
        found: list[Match] = []
        size = len(folded)
        find = folded.find
        for term in self._sorted:
            length = len(term)
            start = find(term)
            while start >= 0:
                end = start + length
                if (not start or not folded[start - 1].isalnum()) and (end == size or not folded[end].isalnum()):
                    found.append((start, end, term))
                start = find(term, end)
        if len(self._sorted) > 1:
            found.sort()
        return found

    @staticmethod
    def _merge(text: str, matches: list[Match]) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        joiner = _JOINER.fullmatch
        for start, end, _ in matches:
            if spans and joiner(text, spans[-1][1], start):
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Sorted, non-overlapping (start, end) character spans of the matches in `text`.

        Matching words separated only by spaces on the same line or by in-word punctuation are
        one span: "bảo hiểm xã hội" and "96/NQ-BCS" are each marked once.
        """
        return self._merge(text, self._matches(fold(text)))

    def first_match(self, text: str) -> int | None:
        """Offset of the first matching word in `text`, or None when nothing matches."""
        matches = self._matches(fold(text)) if self.terms else []
        return matches[0][0] if matches else None

    # -- rendering --------------------------------------------------------------------------

    @staticmethod
    def _render(text: str, spans: list[tuple[int, int]], lo: int, hi: int) -> str:
        """text[lo:hi] escaped, with the parts of `spans` inside it wrapped in <mark>."""
        out: list[str] = []
        pos = lo
        for start, end in spans:
            if end <= lo:
                continue
            if start >= hi:
                break
            start, end = max(start, lo), min(end, hi)
            if start > pos:
                out.append(_escape(text[pos:start]))
            out.append(MARK_OPEN + _escape(text[start:end]) + MARK_CLOSE)
            pos = end
        if pos < hi:
            out.append(_escape(text[pos:hi]))
        return "".join(out)

    def mark(self, text: str | Found) -> str:
        """The whole of `text`, HTML-escaped, with every match span wrapped in <mark>."""
        if isinstance(text, Found):
            return self._render(text.text, self._merge(text.text, text.matches), 0, len(text.text))
        if not self.terms:
            return _escape(text)
        return self._render(text, self.spans(text), 0, len(text))

    def snippet(self, text: str | Found, max_chars: int = 240) -> str:
        """The best passage of `text` for the query, escaped and marked, about `max_chars` long.

        The text is split into sentences; the one with the most distinct query words (then the
        most matches, then the earliest) is chosen and followed by the next sentence when both
        fit in `max_chars` and no line break separates them. A passage longer than `max_chars`
        is cut to a window around its densest cluster of matches, at word boundaries, with "…"
        on each cut side. Without any match the passage is the beginning of the text. The
        visible text, ellipses included, is at most `max_chars` characters (for `max_chars` >= 3).
        """
        if max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        found = text if isinstance(text, Found) else self.find(text)
        text, folded, matches = found.text, found.folded, found.matches
        if not matches:
            start = _skip_space(text, 0, len(text))
            end = _rstrip(text, start, len(text))
            if end - start <= max_chars:
                return _escape(text[start:end])
            budget = max(1, max_chars - 1)
            first = WORD_RE.search(folded, start, end)
            keep = first.end() if first and first.end() - start <= budget else start + budget
            return self._window(text, folded, start, end, start, keep, budget, [])
        best_lo, best_score, best_i, best_j, best_end = 0, (-1, -1), 0, 1, len(text)
        for lo, i, j, sentence_end in groups(text, matches):
            score = (len({m[2] for m in matches[i:j]}), j - i) if j - i > 1 else (1, 1)
            if score > best_score:
                best_lo, best_score, best_i, best_j, best_end = lo, score, i, j, sentence_end
        # The chosen sentence starts at the last sentence end before its first match, after the
        # previous group's sentence (at `best_lo`); it holds matches, so it is not empty.
        before = ends(text, best_lo, matches[best_i][0])
        start, end = stripped(text, before[-1] if before else best_lo, best_end) or (0, 0)
        # It is followed by the next sentence (the next piece not empty) when both fit and no
        # line break separates them.
        pos = best_end
        while pos < len(text):
            piece_end = next_end(text, pos) or len(text)
            following = stripped(text, pos, piece_end)
            if following is not None:
                if following[1] - start <= max_chars and "\n" not in text[end : following[0]]:
                    end = following[1]
                break
            pos = piece_end
        # The passage's matches: the sentence's, and those of the next one when it is shown.
        last = best_j
        while last < len(matches) and matches[last][1] <= end:
            last += 1
        inside = matches[best_i:last]
        if end - start <= max_chars:
            return self._render(text, self._merge(text, inside), start, end)
        budget = max(1, max_chars - 2)
        a, b = _densest(matches[best_i:best_j], budget)
        return self._window(text, folded, start, end, a, min(b, a + budget), budget, inside)

    def _window(
        self, text: str, folded: str, lo: int, hi: int, a: int, b: int, budget: int, inside: list[Match]
    ) -> str:
        """At most `budget` characters of text[lo:hi] (longer than that) keeping text[a:b] in
        view, cut at token or word boundaries, escaped and marked, with "…" on the cut sides;
        `inside` are the matches within text[lo:hi]."""
        slack = budget - (b - a)
        # About a third of the spare room goes before the matches, or up to half of it when that
        # reaches back to the start of the passage (no "…" on the left then).
        ws = lo if a - lo <= slack // 2 else min(a - slack // 3, hi - budget)
        we = ws + budget
        if ws > lo:
            ws = _snap_start(text, folded, ws, a)
            while ws < a and (text[ws] in _TRIM_LEFT or text[ws].isspace()):
                ws += 1
        if we < hi:
            we = _snap_end(text, folded, we, b)
            while we > b and (text[we - 1] in _TRIM_RIGHT or text[we - 1].isspace()):
                we -= 1
        body = self._render(text, self._merge(text, inside), ws, we)
        return (ELLIPSIS if ws > lo else "") + body + (ELLIPSIS if we < hi else "")


# -- helpers ------------------------------------------------------------------------------


def _skip_space(text: str, pos: int, hi: int) -> int:
    while pos < hi and text[pos].isspace():
        pos += 1
    return pos


def _rstrip(text: str, lo: int, pos: int) -> int:
    while pos > lo and text[pos - 1].isspace():
        pos -= 1
    return pos


def _densest(matches: list[Match], budget: int) -> tuple[int, int]:
    """The (start, end) of the run of matches fitting in `budget` characters with the most
    distinct words, then the most matches, then the earliest."""
    counts: dict[str, int] = {}
    best = (-1, -1)
    best_range = (matches[0][0], matches[0][1])
    j = 0
    for i, (start, _, _) in enumerate(matches):
        while j < len(matches) and (j == i or matches[j][1] - start <= budget):
            counts[matches[j][2]] = counts.get(matches[j][2], 0) + 1
            j += 1
        score = (len(counts), j - i)
        if score > best:
            best, best_range = score, (start, matches[j - 1][1])
        word = matches[i][2]
        counts[word] -= 1
        if not counts[word]:
            del counts[word]
    return best_range


def _snap_start(text: str, folded: str, pos: int, limit: int) -> int:
    """Move a window start forward to the start of a white-space-separated token, or failing
    that to the start of a word, never past `limit` (a word start that must stay visible)."""
    if pos >= limit:
        return limit
    if text[pos - 1].isspace():
        return _skip_space(text, pos, limit)
    for k in range(pos, limit):
        if text[k].isspace():
            return _skip_space(text, k, limit)
    word = WORD_RE.match(folded, pos) if _in_word(folded, pos) else None
    if word is not None:
        pos = word.end()
    word = WORD_RE.search(folded, pos)
    return min(word.start(), limit) if word else limit


def _snap_end(text: str, folded: str, pos: int, limit: int) -> int:
    """Move a window end back to the end of a white-space-separated token, or failing that to
    the end of a word, never before `limit` (a word end that must stay visible)."""
    if pos <= limit:
        return limit
    if text[pos].isspace():
        return _rstrip(text, limit, pos)
    for k in range(pos - 1, limit - 1, -1):
        if text[k].isspace():
            return _rstrip(text, limit, k)
    for k in range(pos, limit, -1):
        if not _in_word(folded, k):
            return k
    return limit


def _in_word(folded: str, pos: int) -> bool:
    """True when `pos` falls strictly inside a word (a word character on both sides)."""
    return 0 < pos < len(folded) and folded[pos - 1].isalnum() and folded[pos].isalnum()
