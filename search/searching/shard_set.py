"""How the front of a sharded index reaches its shards (`ShardSet`), the shards of this
process (`LocalShards`), and "did you mean" with the counts of every shard (`SetSpelling`).

Why two ways to count words for the speller: it asks for the counts of a few dozen spellings
a query, one at a time, each answer deciding the next question. Shards in this process answer
such a question at the cost of one index's lookup, so the speller asks as it goes and, kept for
a commit, remembers (as `SearchIndex` keeps its speller for a generation). Remote shards cost a
round trip a question: there the speller is run in rounds, each answering its unknown counts
with 0 and noting them, which are then fetched from every shard at once; it is run again until
it asked for nothing new, which gives the suggestion of the complete counts.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from whoosh.reading import IndexReader

from search.index.engine.segments import POSTINGS_BYTES
from search.query.spelling import HitText, Speller
from search.searching.evaluate import SCORED_BYTES
from search.searching.searcher import VIETNAM
from search.searching.shard import ShardSearcher, Term, Version

#: Rounds of "did you mean" at most: each looks up the counts the previous one asked for.
SPELLER_ROUNDS = 6
#: Word counts kept per commit for "did you mean", shared by the requests of that commit.
_COUNTS_KEPT = 1 << 16


class ShardsUnavailable(RuntimeError):
    """No shard that holds what was asked for could answer (an article lookup), or not every
    shard could give counts that must be the whole set's."""


class ShardSet(Protocol):
    """How the front reaches the shards."""

    def call(
        self, method: str, args: Callable[[int], tuple], shards: Sequence[int], count: int, timeout: float | None = None
    ) -> tuple[dict[int, Any], list[int]]:
        """`ShardSearcher.<method>(*args(k))` on each shard k of `shards` (of a set of `count`),
        at once: the answers by shard, and the shards that could not answer (within `timeout`
        seconds)."""
        ...


class LocalShards:
    """Every shard searched in this process, one after the other (plain `vnsearch serve` on a
    sharded index: each gunicorn worker holds all of them). The postings cache is shared out
    among the shards, so a worker's memory does not grow with their number."""

    #: Calls cost no more than one index's: the front may ask as it goes.
    local = True

    def __init__(
        self,
        index_dir: Path,
        utc_offset: dt.timedelta = VIETNAM,
        postings_bytes: int = POSTINGS_BYTES,
        scored_bytes: int = SCORED_BYTES,
    ) -> None:
        self.index_dir, self.utc_offset = index_dir, utc_offset
        #: The process's memory for decoded and for scored postings, shared out among the shards.
        self.postings_bytes, self.scored_bytes = postings_bytes, scored_bytes
        self._searchers: dict[int, ShardSearcher] = {}
        self._count = 0

    def call(
        self, method: str, args: Callable[[int], tuple], shards: Sequence[int], count: int, timeout: float | None = None
    ) -> tuple[dict[int, Any], list[int]]:
        if count != self._count:  # another number of shards: a rebuilt set
            self._searchers = {k: s for k, s in self._searchers.items() if k < count}
            self._count = count
        answers = {}
        for k in shards:
            searcher = self._searchers.get(k)
            if searcher is None:
                searcher = self._searchers[k] = ShardSearcher(
                    self.index_dir, k, self.scored_bytes // count, self.utc_offset, self.postings_bytes // count
                )
            answers[k] = getattr(searcher, method)(*args(k))
        return answers, []


class _Consulted:
    """Word counts for the speller: known ones from the table, unknown ones noted (and 0
    for now) to be fetched for the next round."""

    def __init__(self, known: dict[Term, int]) -> None:
        self.known, self.missing = known, set[Term]()

    def doc_frequency(self, fieldname: str, text: str) -> int:
        found = self.known.get((fieldname, text))
        if found is None:
            self.missing.add((fieldname, text))
            return 0
        return found


class _AskingCounts:
    """Word counts (a speller's reader) asked of every shard as they are needed."""

    def __init__(self, shards: ShardSet, version: Version, count: int) -> None:
        self.shards, self.version, self.count = shards, version, count

    def doc_frequency(self, fieldname: str, text: str) -> int:
        answers, _ = self.shards.call(
            "frequencies", same((self.version, [(fieldname, text)])), range(self.count), self.count
        )
        return sum(found[1][0] for found in answers.values())


def same(args: tuple) -> Callable[[int], tuple]:
    """The same arguments for every shard."""
    return lambda shard: args


class SetSpelling:
    """The speller of a set's front, for one commit at a time."""

    def __init__(self, shards: ShardSet) -> None:
        self.shards = shards
        self._lock = threading.Lock()
        self._version: Version | None = None
        self._speller: Speller | None = None
        #: Counts fetched in rounds, for the commit `_version`.
        self._counts: dict[Term, int] = {}

    def suggester(self, version: Version, count: int) -> Callable[[str, Iterable[str | HitText]], str | None]:
        with self._lock:
            if version != self._version:
                self._version, self._speller, self._counts = version, None, {}
            if getattr(self.shards, "local", False):
                if self._speller is None:
                    self._speller = Speller(cast(IndexReader, _AskingCounts(self.shards, version, count)))
                return self._speller.suggest

        def suggest(q: str, texts: Iterable[str | HitText]) -> str | None:
            hit_texts = list(texts)
            suggestion = None
            for _ in range(SPELLER_ROUNDS):
                consulted = _Consulted(self._counts)
                suggestion = Speller(cast(IndexReader, consulted)).suggest(q, hit_texts)
                if not consulted.missing:
                    break
                asked = sorted(consulted.missing)
                answers, missing = self.shards.call("frequencies", same((version, asked)), range(count), count)
                if missing:
                    return None  # counts of part of the set would suggest wrongly
                if len(self._counts) > _COUNTS_KEPT:
                    self._counts.clear()
                for i, term in enumerate(asked):
                    self._counts[term] = sum(found[1][i] for found in answers.values())
            return suggestion

        return suggest
