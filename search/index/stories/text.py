"""The text side of story grouping: what two articles are compared by.

- Copies by their bodies as folded words: an equal body (`body_key`), or a MinHash of the
  word shingles (`signature`) whose estimated overlap passes a threshold. The signature is kept
  per article in the index (a column), 16 bits a permutation: the collisions that adds are
  far below the overlap threshold, and it halves what the column costs.
- Same-event coverage by TF-IDF over folded syllables and pairs, the index's own `folded` and
  `pairs` terms, so that the document frequencies the index keeps for ranking serve here too
  (`TermStatistics`; `CountedStatistics` counts them over a list, for a pool without an index).
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain, repeat
from typing import Protocol

import numpy as np

from search.corpus.article import Article
from search.text.analysis import _BREAK_RE, pairs
from search.text.normalize import WORD_RE, fold, fold_keeps_words, normalize

#: Length of the equal-body key at the start of a copy column value.
KEY_BYTES = 16


@dataclass(frozen=True)
class StoryParams:
    """The thresholds. bench/stories.py sweeps the same-event threshold and window over real
    story clusters and resamples the clusters: the defaults are where a resample most often
    keeps precision at its target and F1 at its own, since a wrong merge costs more than a miss."""

    #: Complete-linkage cosine for same-event coverage.
    same_event: float = 0.14
    #: Largest gap between the day dates of two articles of one event.
    window_days: int = 3
    #: Estimated Jaccard overlap of body shingles above which two articles are copies.
    copy_jaccard: float = 0.5
    shingle_words: int = 5
    #: Bodies shorter than this (in words) are copies only when equal: a few shared phrases
    #: of a short notice are not a copy.
    min_copy_words: int = 20
    #: Permutations of the MinHash: copies overlap far above the threshold, so a coarse
    #: estimate does.
    num_perm: int = 64
    #: Terms per article that find candidates: a pair is compared when their top terms meet.
    candidate_terms: int = 50
    #: How many times a title's terms count (the headline names the event).
    title_weight: int = 2


DEFAULT = StoryParams()


class TermStatistics(Protocol):
    """Document frequencies of folded syllables and pair terms ("bao", "bao_hiem")."""

    def document_count(self) -> int: ...

    def document_frequencies(self, terms: Sequence[str]) -> np.ndarray: ...


def story_terms(title: str, body: str, title_weight: int = DEFAULT.title_weight) -> Counter[str]:
    """Folded syllables and pair terms of title and body, as the index's `folded` and `pairs`
    fields analyse them (tests/test_stories.py checks it), the title counted `title_weight` times."""
    counts = _terms(f"{title}\n\n{body}")
    if title_weight > 1 and title:
        heading = _terms(title)
        for _ in range(title_weight - 1):
            counts.update(heading)
    return counts


def _terms(text: str) -> Counter[str]:
    # As the fields take them: sentences and words found in the unfolded text, each word then
    # folded, since folding can make a letter of a sign ("₤5000" would give "l5000", a term
    # the index does not hold). Where it moves no word's bounds (`fold_keeps_words`), the
    # whole text is folded at once and its words read between the unfolded text's breaks.
    # A break holds no word character, so the segments' words are the whole text's words.
    normalized = normalize(text)
    folded = fold(normalized) if fold_keeps_words(normalized) else None
    terms: list[str] = []
    start = 0
    for end, after in chain(((m.start(), m.end()) for m in _BREAK_RE.finditer(normalized)), [(len(normalized), 0)]):
        if folded is not None:
            words = WORD_RE.findall(folded, start, end)
        else:
            words = [fold(word) for word in WORD_RE.findall(normalized, start, end)]
        terms += words
        terms += pairs(words)
        start = after
    return Counter(terms)


class CountedStatistics:
    """Document frequencies counted over the articles given, for a pool without an index."""

    def __init__(self, articles: Iterable[Article] = (), title_weight: int = DEFAULT.title_weight) -> None:
        self._df: Counter[str] = Counter()
        self._n = 0
        self._title_weight = title_weight
        for article in articles:
            self.add(article)

    def add(self, article: Article) -> None:
        self._df.update(story_terms(article.title, article.body, self._title_weight).keys())
        self._n += 1

    def document_count(self) -> int:
        return self._n

    def document_frequencies(self, terms: Sequence[str]) -> np.ndarray:
        return np.fromiter(map(self._df.get, terms, repeat(0)), dtype=np.float64, count=len(terms))


@dataclass(frozen=True)
class Vector:
    """An article's unit-length TF-IDF vector over term ids of one `Vocabulary`, and its top
    terms (the candidates' meeting points)."""

    terms: np.ndarray  # sorted term ids
    weights: np.ndarray  # aligned with terms
    top: frozenset[int]

    def cosine(self, other: Vector) -> float:
        _, i, j = np.intersect1d(self.terms, other.terms, assume_unique=True, return_indices=True)
        return float(np.dot(self.weights[i], other.weights[j]))


class Vocabulary:
    """Term ids for vectors, and the weighting by the statistics it was made with. Threads may
    share one: a term is numbered once, under a lock, and ids are never taken back."""

    def __init__(self, statistics: TermStatistics, params: StoryParams = DEFAULT) -> None:
        self.statistics = statistics
        self.params = params
        self.ids: dict[str, int] = {}
        #: The term of each id.
        self.names: list[str] = []
        self._lock = threading.Lock()

    def vector(self, title: str, body: str) -> Vector:
        return self.weigh(story_terms(title, body, self.params.title_weight))

    def weigh(self, counts: Counter[str], top: bool = True) -> Vector:
        """The vector of an article's `story_terms`; without its `top` terms (left empty)
        unless asked for, as for related coverage, which compares whole vectors."""
        return self._weighed(counts, self.statistics.document_frequencies(list(counts)), top)

    def _weighed(self, counts: Counter[str], frequencies: np.ndarray, top: bool = True) -> Vector:
        terms = list(counts)
        n = max(self.statistics.document_count(), 1)
        df = np.clip(frequencies, 1, n)
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(terms))
        weights = (1 + np.log(tf)) * np.log(n / df)
        kept = [t for t, w in zip(terms, weights.tolist()) if w > 0]
        weights = weights[weights > 0]
        ids = self.ids
        term_ids = np.fromiter(map(ids.get, kept, repeat(-1)), dtype=np.int64, count=len(kept))
        new = np.flatnonzero(term_ids < 0).tolist()
        if new:
            with self._lock:
                for i in new:
                    term = kept[i]
                    if term not in ids:
                        ids[term] = len(ids)
                        self.names.append(term)
                    term_ids[i] = ids[term]
        return unit_vector(term_ids, weights, kept.__getitem__, self.params.candidate_terms if top else 0)


def unit_vector(term_ids: np.ndarray, weights: np.ndarray, name_of: Callable[[int], str], top: int) -> Vector:
    """The vector of positive `weights` of `term_ids` scaled to unit length, with its `top` best
    terms; `name_of(i)` is the term at position i, which breaks ties among the best."""
    norm = np.linalg.norm(weights)
    if norm:
        weights = weights / norm
    order = np.argsort(term_ids)
    if not top:
        return Vector(term_ids[order], weights[order], frozenset())
    # Ties broken by the term itself, so the top terms depend neither on the order terms were
    # met in nor on which run numbered them: only the terms weighing at least the k-th weight
    # can be among them, and only those are sorted.
    within = np.arange(len(term_ids))
    if len(term_ids) > top:
        within = np.flatnonzero(weights >= np.partition(weights, len(term_ids) - top)[len(term_ids) - top])
    names = np.array([name_of(i) for i in within.tolist()], dtype=str)
    best = within[np.lexsort((names, -weights[within]))[:top]] if len(term_ids) else term_ids
    return Vector(term_ids[order], weights[order], frozenset(term_ids[best].tolist()))


class Signatures:
    """MinHash signatures of bodies' word shingles, with datasketch's permutations. Each word is
    hashed once (CRC-32, cached) and a shingle's hash combines its words' with odd multipliers,
    mixed again by the MinHash permutations."""

    def __init__(self, params: StoryParams = DEFAULT) -> None:
        from datasketch import MinHash  # imports scipy: only where signatures are made

        self.params = params
        # datasketch's affine permutations, applied here to all shingles at once (`_minhash`).
        a, b = MinHash(num_perm=params.num_perm, hashfunc=int).permutations
        self._a, self._b = a.astype(np.uint32), b.astype(np.uint32)
        self._word_hashes = _WordHashes()
        rng = np.random.RandomState(7)
        mix = rng.randint(1, 1 << 32, size=params.shingle_words, dtype=np.uint64) | 1
        # A shingle's hash is h0 * m0 * M^(k-1) + ... + h(k-1) * m(k-1), modulo 2^64: each word's
        # hash times its place's coefficient, summed over a sliding window in two numpy steps.
        k = params.shingle_words
        self._coefficients = np.array(
            [int(m) * pow(0x9E3779B1, k - 1 - i, 1 << 64) % (1 << 64) for i, m in enumerate(mix.tolist())],
            dtype=np.uint64,
        )

    def column_value(self, body: str, words: list[str] | None = None) -> bytes:
        """What the index keeps per article: the equal-body key (empty for an empty body) and,
        for a body long enough to be a copy, the signature at 16 bits a permutation. `words`:
        the body's folded words, when the caller has them (`fields.folded_body_words`)."""
        if words is None:
            words = WORD_RE.findall(fold(normalize(body)))
        if not words:
            return b""
        key = hashlib.blake2b(" ".join(words).encode(), digest_size=KEY_BYTES).digest()
        hashes = self._signature(words)
        return key if hashes is None else key + (hashes & 0xFFFF).astype("<u2").tobytes()

    def _signature(self, words: list[str]) -> np.ndarray | None:
        k = self.params.shingle_words
        if len(words) < max(self.params.min_copy_words, k):
            return None
        cache = self._word_hashes
        if len(cache) > 1 << 20:
            cache.clear()
        hashes = np.fromiter(map(cache.__getitem__, words), dtype=np.uint64, count=len(words))
        # The window's sum a word place at a time (k array steps), not a window's row at a time.
        count = len(words) - k + 1
        shingles = hashes[:count] * self._coefficients[0]
        for i, coefficient in enumerate(self._coefficients[1:].tolist(), 1):
            shingles += hashes[i : i + count] * np.uint64(coefficient)
        return self._minhash((shingles >> np.uint64(16)).astype(np.uint32))

    def _minhash(self, values: np.ndarray) -> np.ndarray:
        """datasketch's `MinHash(hashfunc=int).update_batch(values)` hash values (its default
        "affine32" scheme: the MurmurHash3 finalizer, then h -> a * h + b mod 2^32, the minimum
        per permutation), without a Python int per shingle on the way in."""
        h = values ^ (values >> np.uint32(16))
        h = h * np.uint32(0x85EBCA6B)
        h = h ^ (h >> np.uint32(13))
        h = h * np.uint32(0xC2B2AE35)
        h = h ^ (h >> np.uint32(16))
        permuted = np.multiply.outer(self._a, h)
        permuted += self._b[:, None]
        return permuted.min(axis=1).astype(np.uint64)


class _WordHashes(dict[str, int]):
    """CRC-32 of each word, computed on first lookup."""

    def __missing__(self, word: str) -> int:
        value = self[word] = zlib.crc32(word.encode())
        return value


def split_column(value: bytes) -> tuple[bytes | None, np.ndarray | None]:
    """(equal-body key, signature as uint64 hash values) of a copy column value."""
    if not value:
        return None, None
    key, rest = value[:KEY_BYTES], value[KEY_BYTES:]
    return key, (np.frombuffer(rest, dtype="<u2").astype(np.uint64) if rest else None)


def day_of(iso: str | None) -> int | None:
    """The day number of a full ISO date; None for a partial or missing one, which cannot
    place an article within days of another."""
    if not iso or len(iso) != 10:
        return None
    try:
        return date.fromisoformat(iso).toordinal()
    except ValueError:
        return None
