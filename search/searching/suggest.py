"""Autocomplete: titles and frequent phrases that start with what the reader has typed.

Why titles: a news title is the text people remember and retype, and its word runs are the
phrases of the day ("bảo hiểm xã hội", "Quảng Ngãi"). Phrases are runs of two to four words
that stand together in titles, counted over all titles; a run that never occurs without the
same next word ("hiểm xã" is always followed by "hội") is left out in favour of the longer one,
and a run may not start or end with a function word ("về", "của"), so what is offered reads as
a term and not as a fragment. Each phrase is shown in its most common written form, in
lower case unless it is a name or an acronym ("bảo hiểm xã hội", "Quảng Ngãi", "BHXH tỉnh").

Why no schema field: everything comes from the stored titles, read once per index generation
per worker (in a child process, see `build_in_child`) into two sorted arrays of folded keys.
A lookup is a binary search for the range of keys starting with the folded prefix, so
"bao hi" finds "bảo hiểm xã hội" whatever the marks, and the best few of that range are picked
by weight (phrases by count, titles by date); for prefixes of one to three characters, whose
ranges are large, the answers are precomputed.
`bench/suggest.py` measures the build and the lookups on the 84k-article VNTC corpus.
"""

from __future__ import annotations

import bisect
import heapq
import multiprocessing
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from search.index.children import end_with_parent
from search.index.shards import is_sharded, read_manifest, shard_searcher
from search.index.store import live_dir, open_index
from search.text.normalize import WORD_RE, fold, normalize

MAX_LIMIT = 10
#: Prefixes up to this many characters have their answers precomputed.
SHORT_PREFIX = 3
#: Phrases of two to this many words.
MAX_PHRASE_WORDS = 4
#: The most frequent phrases kept; bounds the memory a worker spends on a large index.
MAX_PHRASES = 100_000
#: After a failed build, seconds before the next try: a broken index must not make every
#: keystroke start a process.
RETRY_SECONDS = 10.0

#: Words that join others but mean little alone; a phrase neither starts nor ends with one.
#: Compared with diacritics: folded, "có" would also stop "cơ quan" and "từ" "tủ lạnh".
_FUNCTION_WORDS = frozenset(
    (
        "và",
        "của",
        "các",
        "những",
        "là",
        "với",
        "cho",
        "về",
        "tại",
        "trong",
        "ngoài",
        "theo",
        "từ",
        "đến",
        "được",
        "bị",
        "có",
        "không",
        "đã",
        "đang",
        "sẽ",
        "này",
        "đó",
        "khi",
        "thì",
        "mà",
        "để",
        "do",
        "vì",
        "nên",
        "như",
        "hay",
        "hoặc",
        "cũng",
        "vẫn",
        "còn",
        "rất",
        "một",
        "lên",
        "ra",
        "vào",
        "trên",
        "dưới",
        "sau",
        "trước",
        "qua",
        "ở",
        "nhưng",
        "nếu",
    )
)
#: What may stand between two words of one phrase: one space, or one in-token joiner, so
#: "96/NQ-BCS" is a phrase but "bảo hiểm xã hội, bảo hiểm y tế" is not one. In the folded copy
#: the joiners become spaces (one for one, keeping offsets) so a phrase's key is one slice.
_JOINERS = " -/&."
_AS_SPACES = str.maketrans("-/&.", "    ")


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


def key(text: str) -> str:
    """The folded words of `text` joined by single spaces: what prefixes are compared on."""
    return " ".join(WORD_RE.findall(fold(normalize(text))))


def prefix_key(typed: str) -> str:
    """The key of a typed prefix; a trailing space or mark means the last word is complete,
    so "bao " does not suggest "baobab"."""
    k = key(typed)
    if k and not typed[-1:].isalnum():
        k += " "
    return k


class _Table:
    """Sorted keys with a display text, an id and a weight each; top-k by weight per prefix."""

    def __init__(self, rows: Iterable[tuple[str, str, str | None, Any]]) -> None:
        """`rows`: (key, display text, article id, weight); weights of one table compare."""
        ordered = sorted(rows, key=lambda r: r[0])
        self.keys = [r[0] for r in ordered]
        self.rows = [(r[1], r[2]) for r in ordered]
        self.weights = [r[3] for r in ordered]
        self._short: dict[str, list[int]] = defaultdict(list)
        for i in sorted(range(len(ordered)), key=lambda i: self.weights[i], reverse=True):
            k = self.keys[i]
            for n in range(1, min(SHORT_PREFIX, len(k)) + 1):
                bucket = self._short[k[:n]]
                if len(bucket) < MAX_LIMIT:
                    bucket.append(i)
        self._short = dict(self._short)

    def __len__(self) -> int:
        return len(self.keys)

    def top(self, prefix: str, limit: int) -> list[tuple[str, str | None]]:
        if len(prefix) <= SHORT_PREFIX:
            best = self._short.get(prefix, [])[:limit]
        else:
            lo = bisect.bisect_left(self.keys, prefix)
            hi = bisect.bisect_left(self.keys, prefix + "\U0010ffff", lo)
            best = heapq.nlargest(limit, range(lo, hi), key=lambda i: self.weights[i])
        return [self.rows[i] for i in best]


def _count_phrases(title: str, stats: dict[str, list]) -> None:
    """Count every run of 2..MAX_PHRASE_WORDS words of `title` in `stats` ({key: [count,
    written form, votes]}). The hot loop of the build: one dictionary look-up per run.

    The written form shown is the most common one, found by a majority vote (Boyer-Moore) over
    the forms met, which needs no count per form."""
    folded = fold(title)  # length-preserving: offsets found here hold in `title`
    spaced = folded.translate(_AS_SPACES)
    words = [
        (m.start(), m.end(), title[m.start() : m.end()].lower() in _FUNCTION_WORDS) for m in WORD_RE.finditer(folded)
    ]
    n = len(words)
    for i in range(n - 1):
        start, _, function_word = words[i]
        if function_word:
            continue
        for j in range(i + 1, min(i + MAX_PHRASE_WORDS, n)):
            gap_start, end = words[j - 1][1], words[j][0]
            if end - gap_start != 1 or title[gap_start] not in _JOINERS:
                break
            end = words[j][1]
            if words[j][2]:
                continue
            k = spaced[start:end]
            form = title[start:end]
            entry = stats.get(k)
            if entry is None:
                stats[k] = [1, form, 1]
                continue
            entry[0] += 1
            if entry[1] == form:
                entry[2] += 1
            elif entry[2]:
                entry[2] -= 1
            else:
                entry[1], entry[2] = form, 1


def _sentence_case(form: str) -> str:
    """ "Bảo hiểm xã hội" (a title's first words) as "bảo hiểm xã hội"; names ("Quảng Ngãi",
    "Nguyễn Thành") and acronyms ("BHXH tỉnh") keep their capitals."""
    first, *rest = WORD_RE.findall(form)
    if first[1:].islower() and first[0].isupper() and not any(word[0].isupper() for word in rest):
        return form[0].lower() + form[1:]
    return form


class Suggester:
    """Answers prefixes from a fixed set of titles; immutable once built, shared by threads."""

    def __init__(self, articles: Iterable[tuple[str, str, str | None]]) -> None:
        """`articles` are (id, title, date) triples; titles should be normalised (stored ones are)."""
        stats: dict[str, list] = {}
        title_rows = []
        for article_id, title, date in articles:
            title = normalize(title)
            _count_phrases(title, stats)
            title_key = key(title)
            if title_key:
                title_rows.append((title_key, title, article_id, (date or "", article_id)))
        # A run always followed by the same word is a fragment of the longer run.
        fragments = set()
        for k, (n, _, _) in stats.items():
            shorter = k.rsplit(" ", 1)[0]
            if " " in shorter and (entry := stats.get(shorter)) is not None and entry[0] == n:
                fragments.add(shorter)
        kept = heapq.nlargest(
            MAX_PHRASES, (item for item in stats.items() if item[0] not in fragments), key=lambda item: item[1][0]
        )
        self.phrases = _Table((k, _sentence_case(form), None, n) for k, (n, form, _) in kept)
        self.titles = _Table(title_rows)

    def suggest(self, typed: str, limit: int = 5) -> list[Suggestion]:
        """Up to `limit` phrases, then up to `limit` titles, starting with `typed`."""
        prefix = prefix_key(typed)
        if not prefix.strip():
            return []
        phrases = [Suggestion(text, "phrase") for text, _ in self.phrases.top(prefix, limit)]
        titles = [Suggestion(text, "title", article_id) for text, article_id in self.titles.top(prefix, limit)]
        return phrases + titles


def read_titles(index_dir: Path) -> list[tuple[str, str, str | None]]:
    """(id, title, date) of every live article, from a reader of its own (this runs beside
    the request threads, which share the worker's searcher); every shard's, for a set."""
    live = live_dir(index_dir)
    if not is_sharded(live):
        with open_index(index_dir).reader() as reader:
            return [(f["id"], f.get("title", ""), f.get("date")) for f in reader.all_stored_fields()]
    manifest = read_manifest(live)
    titles: list[tuple[str, str, str | None]] = []
    for shard in range(manifest.shards):
        with shard_searcher(live, manifest, shard) as searcher:
            titles.extend((f["id"], f.get("title", ""), f.get("date")) for f in searcher.reader().all_stored_fields())
    return titles


def build_suggester(index_dir: Path) -> Suggester:
    return Suggester(read_titles(index_dir))


def build_in_child(index_dir: Path) -> Suggester:
    """`build_suggester` in a short-lived child process, which hands back the result.

    Why: counting the phrases of every title peaks at several times the memory of the result,
    and a worker would keep that peak (Python seldom returns freed memory to the system).
    "spawn" rather than fork: the worker has threads, and a forked copy of a threaded process
    can inherit a lock held by another thread.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_build_and_send, args=(index_dir, sender, os.getpid()), daemon=True)
    child.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:
        raise RuntimeError(f"the suggestion builder exited with status {child.exitcode}") from None
    finally:
        receiver.close()
        child.join()
    if isinstance(result, Exception):
        raise result
    return result


def _build_and_send(index_dir: Path, sender: Connection, parent: int) -> None:
    end_with_parent(parent)
    try:
        sender.send(build_suggester(index_dir))
    except Exception as exc:  # sent to the parent, which raises it
        sender.send(RuntimeError(f"building suggestions from {index_dir} failed: {exc}"))
    finally:
        sender.close()


class GenerationalSuggester:
    """The suggester for the index state a worker saw last.

    Built in a background thread: on the 84k-article corpus a build takes seconds, which no
    keystroke should wait for and no request should spend under gunicorn's timeout. After a
    commit or a switch to a rebuilt generation the previous suggester keeps answering until
    the next one is ready; before the first one is ready a call waits up to `wait` seconds
    (enough for a small index), then gets None.
    """

    def __init__(self, index_dir: Path, build: Callable[[Path], Suggester] = build_in_child) -> None:
        self.index_dir = index_dir
        self._build_one = build
        self._lock = threading.Lock()
        self._current: tuple[Hashable, Suggester] | None = None
        self._building: threading.Thread | None = None
        self._retry_at = 0.0

    def get(self, version: Hashable, wait: float = 2.0) -> Suggester | None:
        """The suggester, rebuilt in the background when `version` (what identifies the
        index's state, e.g. its live folder and Whoosh generation) has changed."""
        with self._lock:
            current = self._current
            if (
                (current is None or current[0] != version)
                and self._building is None
                and time.monotonic() >= self._retry_at
            ):
                self._building = threading.Thread(target=self._build, args=(version,), daemon=True)
                self._building.start()
            building = self._building
        if current is None and building is not None:
            building.join(wait)
            with self._lock:
                current = self._current
        return current[1] if current is not None else None

    def _build(self, version: Hashable) -> None:
        try:
            suggester = self._build_one(self.index_dir)
            with self._lock:
                self._current = (version, suggester)
        except Exception:
            with self._lock:
                self._retry_at = time.monotonic() + RETRY_SECONDS
            raise  # to the thread's excepthook: the worker's log shows why
        finally:
            with self._lock:
                self._building = None
