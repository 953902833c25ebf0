"""The autocomplete tables of one segment: its titles, and the phrases of its titles counted.

Why per segment: a segment's titles never change (deletions are applied at lookup, from the
segment's deletion set), so its tables are built once, when a process first meets the segment,
and serve every later generation it is part of. Lookups merge the tables of all segments the way
Whoosh merges postings (see `search.searching.suggest`), so counts are exact whatever the
segments' sizes: a grown index and a fresh build of the same articles answer alike.

Why this layout: an archive has many times more distinct title phrases than titles, most seen
once, and every one must be counted for the sums over segments to be exact. As Python objects
each would cost a dictionary entry, a string and a list per worker; here each table is a few
flat buffers (UTF-8 keys in one sorted blob with their offsets, counts, written forms), a
fraction of that, and a prefix is found by binary search in the blob.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from search.text.normalize import WORD_RE, fold, normalize

#: Phrases of two to this many words.
MAX_PHRASE_WORDS = 4
#: Above this many keys in a prefix's range, the range's ranking is kept for the next lookup.
_RANK_CACHED_FROM = 64
#: A kept ranking holds this many entries at first, enough for nearly every lookup.
_RANK_DEPTH = 256
_RANKINGS_KEPT = 256

#: Words that join others but mean little alone; a phrase neither starts nor ends with one.
#: Compared with diacritics: folded, "có" would also stop "cơ quan" and "từ" "tủ lạnh".
FUNCTION_WORDS = frozenset(
    "và của các những là với cho về tại trong ngoài theo từ đến được bị có không đã đang sẽ này đó "
    "khi thì mà để do vì nên như hay hoặc cũng vẫn còn rất một lên ra vào trên dưới sau trước qua ở "
    "nhưng nếu".split()
)
#: What may stand between two words of one phrase: one space, or one in-token joiner, so
#: "96/NQ-BCS" is a phrase but "bảo hiểm xã hội, bảo hiểm y tế" is not one. In the folded copy
#: the joiners become spaces (one for one, keeping offsets) so a phrase's key is one slice.
_JOINERS = " -/&."
_AS_SPACES = str.maketrans("-/&.", "    ")


def key(text: str) -> str:
    """The folded words of `text` joined by single spaces: what prefixes are compared on."""
    return " ".join(WORD_RE.findall(fold(normalize(text))))


def runs(title: str) -> Iterator[tuple[str, str, bool]]:
    """(key, written form, parented) of every run of 2..MAX_PHRASE_WORDS words of a normalised
    title that neither starts nor ends with a function word and crosses no punctuation;
    `parented` when the run one word shorter, from the same start, is one too (it is not when
    that run ends with a function word: "giá có" in "giá có tăng")."""
    folded = fold(title)  # length-preserving: offsets found here hold in `title`
    spaced = folded.translate(_AS_SPACES)
    words = [
        (m.start(), m.end(), title[m.start() : m.end()].lower() in FUNCTION_WORDS) for m in WORD_RE.finditer(folded)
    ]
    n = len(words)
    for i in range(n - 1):
        start, _, function_word = words[i]
        if function_word:
            continue
        parented = False
        for j in range(i + 1, min(i + MAX_PHRASE_WORDS, n)):
            gap_start, end = words[j - 1][1], words[j][0]
            if end - gap_start != 1 or title[gap_start] not in _JOINERS:
                break
            end = words[j][1]
            counted = not words[j][2]
            if counted:
                yield spaced[start:end], title[start:end], parented
            parented = counted


class Blob:
    """Byte strings in one buffer with their offsets; sorted ones can be searched."""

    __slots__ = ("data", "starts")

    def __init__(self, items: Iterable[bytes]) -> None:
        items = list(items)
        self.data = b"".join(items)
        # Four-byte offsets unless the blob is too large for them.
        self.starts = array("i" if len(self.data) < 1 << 31 else "q", [0])
        position = 0
        for item in items:
            position += len(item)
            self.starts.append(position)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.data[self.starts[i] : self.starts[i + 1]]

    def text(self, i: int) -> str:
        return self[i].decode("utf-8")

    def lower(self, probe: bytes, lo: int = 0, hi: int | None = None) -> int:
        """The first index whose item is not below `probe` (the items being sorted)."""
        hi = len(self) if hi is None else hi
        data, starts = self.data, self.starts
        while lo < hi:
            mid = (lo + hi) // 2
            if data[starts[mid] : starts[mid + 1]] < probe:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def range(self, prefix: bytes) -> tuple[int, int]:
        """The indices of the items starting with `prefix` (UTF-8 never holds a 0xff byte)."""
        lo = self.lower(prefix)
        return lo, self.lower(prefix + b"\xff", lo)

    def find(self, item: bytes) -> int:
        i = self.lower(item)
        return i if i < len(self) and self[i] == item else -1

    def nbytes(self) -> int:
        return len(self.data) + self.starts.itemsize * len(self.starts)


class PhraseTable:
    """The phrases of some titles: sorted keys, how many titles hold each (a title holding a
    phrase twice counts twice, as everywhere in the counts), the written forms with their
    counts, and for each phrase the one-word-longer phrase that follows every occurrence of
    it, if any ("hiểm xã" always followed by "hội"), which marks it as a fragment.

    `parented` counts a phrase's occurrences where the phrase one word shorter was counted too:
    only those say that the shorter one was followed by it. With them, at most one longer
    phrase can follow all of a phrase's occurrences, in a segment as in the whole index, which
    lets the rule be decided segment by segment (see `search.searching.suggest`)."""

    def __init__(self, titles: Iterable[str]) -> None:
        counts: dict[str, int] = {}
        parented: dict[str, int] = {}
        forms: dict[tuple[str, str], int] = {}
        self.titles = 0
        for title in titles:
            self.titles += 1
            for k, form, has_parent in runs(title):
                counts[k] = counts.get(k, 0) + 1
                if has_parent:
                    parented[k] = parented.get(k, 0) + 1
                pair = (k, form)
                forms[pair] = forms.get(pair, 0) + 1
        ordered = sorted(counts)  # code point order: the order of the UTF-8 bytes too
        self.keys = Blob(k.encode("utf-8") for k in ordered)
        self.counts = np.fromiter((counts[k] for k in ordered), dtype=np.int32, count=len(ordered))
        self.parented = np.fromiter((parented.get(k, 0) for k in ordered), dtype=np.int32, count=len(ordered))
        position = {k: i for i, k in enumerate(ordered)}
        self.successor = np.full(len(ordered), -1, dtype=np.int32)
        for k, n in parented.items():
            shorter = k.rsplit(" ", 1)[0]
            if counts.get(shorter) == n:
                self.successor[position[shorter]] = position[k]
        del position
        pairs = sorted(forms)
        self.forms = Blob(form.encode("utf-8") for _, form in pairs)
        self.form_counts = np.fromiter((forms[p] for p in pairs), dtype=np.int32, count=len(pairs))
        self.form_starts = array("i", [0])
        n = 0
        for k in ordered:  # the pairs are grouped by key, in key order
            while n < len(pairs) and pairs[n][0] == k:
                n += 1
            self.form_starts.append(n)
        self._rankings: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self.keys)

    def __getstate__(self) -> dict:
        state = {
            name: getattr(self, name)
            for name in ("titles", "keys", "counts", "parented", "successor", "forms", "form_counts", "form_starts")
        }
        return state

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._rankings = OrderedDict()

    def count(self, k: bytes) -> tuple[int, int]:
        """(count, parented count) of a phrase; zeros when these titles do not hold it."""
        i = self.keys.find(k)
        return (int(self.counts[i]), int(self.parented[i])) if i >= 0 else (0, 0)

    def written(self, i: int) -> list[tuple[str, int]]:
        """The written forms of phrase `i` with their counts."""
        return [
            (self.forms.text(n), int(self.form_counts[n])) for n in range(self.form_starts[i], self.form_starts[i + 1])
        ]

    def ranked(self, lo: int, hi: int, depth: int) -> np.ndarray:
        """Indices in [lo, hi) by descending count, at least `depth` of them (or all): among
        equal counts in any order, which is all a merge by upper bounds needs."""
        span = hi - lo
        if span <= _RANK_CACHED_FROM or depth >= span:
            return lo + np.argsort(-self.counts[lo:hi], kind="stable")
        found = self._rankings.get((lo, hi))
        if found is None or len(found) < depth:
            depth = max(depth, _RANK_DEPTH)
            part = self.counts[lo:hi]
            if depth >= span:
                found = lo + np.argsort(-part, kind="stable")
            else:
                top = np.argpartition(-part, depth)[:depth]
                found = lo + top[np.argsort(-part[top], kind="stable")]
            self._rankings[(lo, hi)] = found
            if len(self._rankings) > _RANKINGS_KEPT:
                self._rankings.popitem(last=False)
        else:
            self._rankings.move_to_end((lo, hi))
        return found

    def nbytes(self) -> int:
        rankings = sum(r.nbytes for r in list(self._rankings.values()))
        return (
            self.keys.nbytes()
            + self.counts.nbytes
            + self.parented.nbytes
            + self.successor.nbytes
            + self.forms.nbytes()
            + self.form_counts.nbytes
            + self.form_starts.itemsize * len(self.form_starts)
            + rankings
        )


class TitleTable:
    """The titles of one segment, by document number within it: sorted folded keys, and each
    document's title, id and date for showing and ordering (newest first)."""

    def __init__(self, articles: Sequence[tuple[str, str, str | None]]) -> None:
        """`articles`: (id, normalised title, date) of every document of the segment, in order,
        deleted ones included (deletions are applied at lookup)."""
        self.titles = Blob(title.encode("utf-8") for _, title, _ in articles)
        self.ids = Blob(article_id.encode("utf-8") for article_id, _, _ in articles)
        self.dates = Blob((date or "").encode("utf-8") for _, _, date in articles)
        entries = sorted(
            (k.encode("utf-8"), docnum) for docnum, (_, title, _) in enumerate(articles) if (k := key(title))
        )
        self.keys = Blob(k for k, _ in entries)
        self.docs = np.fromiter((d for _, d in entries), dtype=np.int32, count=len(entries))
        # Each document's place in (date, id) order: comparing ranks is comparing weights.
        order = sorted(range(len(articles)), key=lambda d: (articles[d][2] or "", articles[d][0]))
        rank = np.empty(len(articles), dtype=np.int32)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(len(articles), dtype=np.int32)
        self.rank = rank[self.docs] if len(self.docs) else np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.titles)

    def newest(self, prefix: bytes, limit: int, live: np.ndarray | None) -> list[tuple[tuple[str, str], str, str]]:
        """Up to `limit` live titles starting with `prefix`, newest first: ((date, id), title, id)."""
        lo, hi = self.keys.range(prefix)
        if lo >= hi:
            return []
        docs, ranks = self.docs[lo:hi], self.rank[lo:hi]
        if live is not None:
            keep = live[docs]
            docs, ranks = docs[keep], ranks[keep]
        if len(docs) > limit:
            chosen = np.argpartition(-ranks, limit)[:limit]
            docs, ranks = docs[chosen], ranks[chosen]
        found = []
        for d in docs[np.argsort(-ranks)].tolist():
            article_id = self.ids.text(d)
            found.append(((self.dates.text(d), article_id), self.titles.text(d), article_id))
        return found

    def nbytes(self) -> int:
        return (
            self.titles.nbytes()
            + self.ids.nbytes()
            + self.dates.nbytes()
            + self.keys.nbytes()
            + self.docs.nbytes
            + self.rank.nbytes
        )


class SegmentTables:
    """Both tables of one segment."""

    def __init__(self, articles: Sequence[tuple[str, str, str | None]]) -> None:
        articles = [(article_id, normalize(title), date) for article_id, title, date in articles]
        self.titles = TitleTable(articles)
        self.phrases = PhraseTable(title for _, title, _ in articles)

    def __len__(self) -> int:
        return len(self.titles)

    def deleted_phrases(self, docnums: Iterable[int]) -> PhraseTable:
        """The phrases of some of this segment's documents: what their deletion takes away."""
        return PhraseTable(self.titles.titles.text(d) for d in sorted(docnums))

    def nbytes(self) -> int:
        return self.titles.nbytes() + self.phrases.nbytes()
