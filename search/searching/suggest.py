"""Autocomplete: titles and frequent phrases that start with what the reader has typed.

Why titles: a news title is the text people remember and retype, and its word runs are the
phrases of the day ("bảo hiểm xã hội", "Quảng Ngãi"). Phrases are runs of two to four words
that stand together in titles, counted over all live titles; a run always followed by the same
next word ("hiểm xã" is always followed by "hội") is left out in favour of the longer one, and
a run may not start or end with a function word ("về", "của"), so what is offered reads as a
term and not as a fragment. Each phrase is shown in its most common written form, in lower case
unless it is a name or an acronym ("bảo hiểm xã hội", "Quảng Ngãi", "BHXH tỉnh"). In a large
archive a phrase must stand in two titles at least: one title's word runs are its own, and the
title itself is offered.

Why per segment: a commit adds a small segment (or merges small ones) and leaves the others as
they were, so each segment's tables (`suggest_tables`) are built once, when a worker first
meets it, and a new generation costs what the commit changed: a one-article commit, one
title's tables. A lookup merges the segments' tables as Whoosh merges postings. Titles: each
segment gives its newest few starting with the prefix, the newest of those win. Phrases: their
counts are sums over segments, less the phrases of deleted titles; the segments are walked in
descending count and the walk stops once the counts still unseen cannot reach the last kept
one, so the answer is exact. Whether a phrase is a fragment is decided per segment too: in
each segment where it occurs it must be followed everywhere by the same word. Counts, forms
and fragments being exact, a grown index and a fresh build of the same articles answer alike.

How a worker keeps the tables of the live index is `search.searching.suggest_live`.
`bench/suggest.py` measures the build and the lookups; `bench/live_commits.py` the service under
a stream of commits.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from search.searching.suggest_tables import PhraseTable, SegmentTables, key
from search.text.normalize import WORD_RE

__all__ = ["MAX_LIMIT", "Part", "Snapshot", "Suggester", "Suggestion", "key", "prefix_key"]

MAX_LIMIT = 10
#: From this many live titles on, a phrase must stand in two titles to be offered.
PHRASE_MIN_TITLES = 1000

Article = tuple[str, str, str | None]  # (id, title, date)


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # "phrase" or "title"
    id: str | None = None

    def to_json(self) -> dict[str, str]:
        data = {"text": self.text, "kind": self.kind}
        if self.id is not None:
            data["id"] = self.id
        return data


def prefix_key(typed: str) -> str:
    """The key of a typed prefix; a trailing space or mark means the last word is complete,
    so "bao " does not suggest "baobab"."""
    k = key(typed)
    if k and not typed[-1:].isalnum():
        k += " "
    return k


def _sentence_case(form: str) -> str:
    """ "Bảo hiểm xã hội" (a title's first words) as "bảo hiểm xã hội"; names ("Quảng Ngãi",
    "Nguyễn Thành") and acronyms ("BHXH tỉnh") keep their capitals."""
    first, *rest = WORD_RE.findall(form)
    if first[1:].islower() and first[0].isupper() and not any(word[0].isupper() for word in rest):
        return form[0].lower() + form[1:]
    return form


class Part:
    """One segment as a lookup sees it: its tables, the phrases of its deleted titles, and
    which of its documents are live (None: all)."""

    __slots__ = ("tables", "minus", "live", "live_count")

    def __init__(self, tables: SegmentTables, minus: Sequence[PhraseTable] = (), live: np.ndarray | None = None):
        self.tables, self.minus, self.live = tables, tuple(minus), live
        self.live_count = len(tables) if live is None else int(live.sum())

    def counts(self, i: int, k: bytes) -> tuple[int, int]:
        """Live (count, parented count) of phrase `i` (key `k`) of this segment."""
        table = self.tables.phrases
        count, parented = int(table.counts[i]), int(table.parented[i])
        for minus in self.minus:
            gone, gone_parented = minus.count(k)
            count, parented = count - gone, parented - gone_parented
        return count, parented

    def successor(self, i: int, k: bytes, live: int) -> bytes | None:
        """The phrase one word longer that follows every live occurrence of phrase `i`."""
        table = self.tables.phrases
        if live == table.counts[i]:  # none of its occurrences was deleted
            j = int(table.successor[i])
            return table.keys[j] if j >= 0 else None
        lo, hi = table.keys.range(k + b" ")
        for j in (lo + np.flatnonzero(table.parented[lo:hi] >= live)).tolist():
            longer = table.keys[j]
            if b" " not in longer[len(k) + 1 :] and self.counts(j, longer)[1] == live:
                return longer
        return None


class _Cursor:
    """A segment's phrases starting with a prefix, by descending count."""

    __slots__ = ("table", "lo", "hi", "order", "pos")

    def __init__(self, table: PhraseTable, lo: int, hi: int) -> None:
        self.table, self.lo, self.hi, self.pos = table, lo, hi, 0
        self.order = table.ranked(lo, hi, 16).tolist()

    def peek(self) -> int:
        """The count at the front; 0 when nothing is left."""
        if self.pos >= len(self.order):
            if len(self.order) >= self.hi - self.lo:
                return 0
            self.order = self.table.ranked(self.lo, self.hi, 4 * len(self.order)).tolist()
        return int(self.table.counts[self.order[self.pos]])

    def take(self) -> bytes:
        i = self.order[self.pos]
        self.pos += 1
        return self.table.keys[i]


class Snapshot:
    """Suggestions from a fixed set of segments; immutable, shared by threads."""

    def __init__(self, parts: Sequence[Part], version: object = None) -> None:
        self.parts = list(parts)
        self.version = version
        live = sum(part.live_count for part in self.parts)
        self.min_count = 2 if live >= PHRASE_MIN_TITLES else 1

    def suggest(self, typed: str, limit: int = 5) -> list[Suggestion]:
        """Up to `limit` phrases, then up to `limit` titles, starting with `typed`."""
        prefix = prefix_key(typed)
        if not prefix.strip():
            return []
        probe = prefix.encode("utf-8")
        phrases = [Suggestion(text, "phrase") for text in self.phrases(probe, limit)]
        titles = [Suggestion(text, "title", article_id) for text, article_id in self.titles(probe, limit)]
        return phrases + titles

    def titles(self, probe: bytes, limit: int) -> list[tuple[str, str]]:
        found = []
        for part in self.parts:
            found += part.tables.titles.newest(probe, limit, part.live)
        found.sort(key=lambda item: item[0], reverse=True)
        return [(title, article_id) for _, title, article_id in found[:limit]]

    def phrases(self, probe: bytes, limit: int) -> list[str]:
        """The `limit` most frequent phrases starting with `probe`, in their written form."""
        cursors, spans = [], []
        for part in self.parts:
            lo, hi = part.tables.phrases.keys.range(probe)
            if lo < hi:
                cursors.append(_Cursor(part.tables.phrases, lo, hi))
                spans.append((part, lo, hi))
        best: list[tuple[int, bytes]] = []  # (-count, key), kept sorted
        places: dict[bytes, list[tuple[Part, int, int]]] = {}
        seen: set[bytes] = set()
        while cursors:
            fronts = [cursor.peek() for cursor in cursors]
            bound = sum(fronts)
            if bound < self.min_count or (len(best) >= limit and -best[-1][0] > bound):
                break  # nothing unseen can reach the kept ones
            cursor = cursors[max(range(len(cursors)), key=fronts.__getitem__)]
            k = cursor.take()
            cursors = [c for c in cursors if c.peek()]
            if k in seen:
                continue
            seen.add(k)
            total, where = self._count(k, spans)
            if total < self.min_count or (len(best) >= limit and (-total, k) > best[-1]) or self._fragment(k, where):
                continue
            bisect.insort(best, (-total, k))
            places[k] = where
            del best[limit:]
        return [_sentence_case(self._form(k, places[k])) for _, k in best]

    @staticmethod
    def _count(k: bytes, spans: list[tuple[Part, int, int]]) -> tuple[int, list[tuple[Part, int, int]]]:
        """The live count of a phrase over all segments, and where it stands: (part, index in
        its table, live count there). Only the segments holding the prefix can hold the
        phrase, within the prefix's range."""
        total, where = 0, []
        for part, lo, hi in spans:
            keys = part.tables.phrases.keys
            i = keys.lower(k, lo, hi)
            if i < hi and keys[i] == k:
                count = part.counts(i, k)[0]
                total += count
                where.append((part, i, count))
        return total, where

    @staticmethod
    def _fragment(k: bytes, where: list[tuple[Part, int, int]]) -> bool:
        """Whether one longer phrase follows every live occurrence of `k`, in every segment."""
        longer = None
        for part, i, count in where:
            if count <= 0:
                continue
            found = part.successor(i, k, count)
            if found is None or (longer is not None and found != longer):
                return False
            longer = found
        return longer is not None

    @staticmethod
    def _form(k: bytes, where: list[tuple[Part, int, int]]) -> str:
        """The most common written form of a live phrase (the first in code point order among
        equally common ones, so the choice never depends on the order of the titles)."""
        forms: dict[str, int] = {}
        for part, i, _ in where:
            for form, n in part.tables.phrases.written(i):
                forms[form] = forms.get(form, 0) + n
            for minus in part.minus:
                j = minus.keys.find(k)
                if j >= 0:
                    for form, n in minus.written(j):
                        forms[form] -= n
        return min(forms.items(), key=lambda item: (-item[1], item[0]))[0]

    def nbytes(self) -> int:
        return sum(part.tables.nbytes() + sum(m.nbytes() for m in part.minus) for part in self.parts)


class Suggester(Snapshot):
    """Suggestions from a fixed set of (id, title, date) articles, as one segment."""

    def __init__(self, articles: Sequence[Article]) -> None:
        super().__init__([Part(SegmentTables(list(articles)))])
