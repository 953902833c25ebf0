"""Scoring a parsed query over whole posting lists at once, for the searcher's hot path.

Whoosh walks a tree of matcher objects one posting at a time (about 3 µs a posting), and a
page of our results took three such walks (facets over every match, then the two tiers), so an
OR of common syllables cost seconds on the news archive. Here each term's postings are read a
block at a time, scored with the searcher's own BM25F statistics in numpy, and combined as
dense arrays over the document numbers: Or adds, And intersects and adds, AndMaybe adds the
optional part where the required part matched, AndNot removes. That is exactly how Whoosh's
matchers combine scores, so the scores are Whoosh's (a test compares them query by query);
`Unsupported` is raised for any other query or weighting, and the caller then asks Whoosh.

One `Evaluator` serves one searcher generation: the document lengths, the facet columns and
the recently used terms and phrases (scored) are kept until the index changes.

Postings are read straight from the blocks of our codec (`search.codec`: arrays numpy takes
as they are); segments written by another codec go through Whoosh's matchers. The length
columns are read through private attributes of Whoosh's W3 per-document reader: the
Whoosh version is pinned in pyproject.toml and constraints.txt, and `check_whoosh_version`
refuses any other version rather than risk wrong results.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
import whoosh
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from search.codec import (COMPRESSED, ID_WIDTH, VALUE_MODE, VALUES_COUNTED, VALUES_PACKED, WEIGHT_MODE, WIDTHS, TermInfo, TermsReader,
                          decode_body, iter_blocks, weights_size)
from search import perdoc
from search.fields import CompactPositions

#: The Whoosh release whose internals this module reads.
WHOOSH_VERSION = (2, 7, 5)

#: Postings (terms and phrases, scored) kept per process between requests: 12 bytes each.
CACHE_POSTINGS = 4_000_000

#: Filter masks kept per generation.
_FILTERS_KEPT = 64

_LENGTH_TABLE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


class Unsupported(Exception):
    """A query node or weighting this module does not evaluate; use Whoosh's own search."""


class OutOfTime(Exception):
    """The request's time budget ran out during an evaluation."""


def check_whoosh_version() -> None:
    if tuple(whoosh.__version__[:3]) != WHOOSH_VERSION:
        raise Unsupported(f"written for Whoosh {WHOOSH_VERSION}, found {whoosh.__version__}")


class _Postings:
    """Sorted document numbers (over the whole index) with their scores: one term or phrase."""

    __slots__ = ("ids", "scores")

    def __init__(self, ids: np.ndarray, scores: np.ndarray) -> None:
        self.ids, self.scores = ids, scores


_EMPTY = _Postings(np.zeros(0, np.int64), np.zeros(0, np.float64))


class Match:
    """Dense: which documents match, and their scores (0 where they do not)."""

    __slots__ = ("mask", "scores")

    def __init__(self, mask: np.ndarray, scores: np.ndarray) -> None:
        self.mask, self.scores = mask, scores


class _Lru:
    """Least recently used entries, bounded by the total number of postings they hold."""

    def __init__(self, budget: int) -> None:
        self.budget, self.size = budget, 0
        self._items: OrderedDict[Hashable, _Postings] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], _Postings]) -> _Postings:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            return found
        value = make()
        self._items[key] = value
        self.size += len(value.ids)
        while self.size > self.budget and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self.size -= len(old.ids)
        return value


class Evaluator:
    """Evaluates queries against one searcher (one index generation)."""

    def __init__(self, searcher: Searcher, cache_postings: int = CACHE_POSTINGS) -> None:
        check_whoosh_version()
        if type(searcher.weighting) is not BM25F:
            raise Unsupported(f"weighting {type(searcher.weighting).__name__}")
        self.searcher = searcher
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.leaves = perdoc.segments(reader)
        self.live = perdoc.live(reader)
        self.has_deletions = not self.live.all()
        self._lengths: dict[str, np.ndarray] = {}
        self._columns: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._cache = _Lru(cache_postings)
        self._filters: dict[str, np.ndarray] = {}

    # -- per-generation data ------------------------------------------------------------

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in `fieldname`, as Whoosh's scorer sees it (one byte)."""
        found = self._lengths.get(fieldname)
        if found is None:
            def segment(leaf: object, count: int) -> np.ndarray | None:
                column = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
                return None if column is None else _LENGTH_TABLE[_length_codes(column, count)]

            found = perdoc.per_document(self.searcher.reader(), segment, 0.0, np.float64)
            self._lengths[fieldname] = found
        return found

    def column(self, fieldname: str) -> tuple[np.ndarray, list[str]]:
        """A sortable column as codes per document and the sorted distinct values they index,
        so that ordering by code is ordering by value."""
        found = self._columns.get(fieldname)
        if found is None:
            found = perdoc.codes(perdoc.column(self.searcher.reader(), fieldname))
            self._columns[fieldname] = found
        return found

    def docs(self, q: wq.Query) -> np.ndarray:
        """A mask of the documents a filter query matches (Whoosh evaluates filters; the last
        few are kept, since readers filter by the same outlets and periods again and again)."""
        key = repr(q)
        mask = self._filters.get(key)
        if mask is None:
            mask = np.zeros(self.size, dtype=bool)
            mask[list(self.searcher.docs_for_query(q))] = True
            mask &= self.live
            if len(self._filters) >= _FILTERS_KEPT:
                self._filters.clear()
            self._filters[key] = mask
        return mask

    # -- postings -------------------------------------------------------------------------

    def _raw(self, fieldname: str, btext: bytes, values: bool,
             within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Document numbers and weights of one term and, when asked, every position of it as
        one flat array in posting order (a posting has as many positions as its weight): our
        codec's blocks decoded with numpy; segments another codec wrote go through Whoosh's
        matcher. With `within` (sorted document numbers), blocks holding none of them may be
        left out: a phrase of common words decodes the positions of its few candidates only."""
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        deltas: list[np.ndarray] = []
        fieldobj = self.searcher.schema[fieldname]
        for leaf, offset in self.leaves:
            terms = leaf._terms
            if not isinstance(terms, TermsReader):
                if (fieldname, btext) in leaf:
                    vals: list[bytes] = []
                    _matcher_postings(terms.matcher(fieldname, btext, fieldobj.format), offset, values,
                                      ids, weights, vals)
                    if values:
                        deltas.append(_value_deltas(vals))
                continue
            entry = terms.entry(fieldname, btext)
            if entry is None:
                continue
            info = TermInfo.from_bytes(entry)
            if info.is_inlined():
                block_ids, block_weights, block_values = info.inlined_postings()
                ids.append(np.asarray(block_ids, dtype=np.int64) + offset)
                weights.append(np.asarray(block_weights, dtype=np.float64))
                if values:
                    deltas.append(_value_deltas(block_values or []))
                continue
            blocks = list(iter_blocks(terms.postings_bytes(info)))
            if within is not None:
                blocks = _blocks_within(blocks, within - offset)
                if not blocks:
                    continue
            list_ids, list_weights = _list_arrays(blocks)
            ids.append(list_ids + offset if offset else list_ids)
            weights.append(list_weights)
            if values:
                deltas.append(_block_deltas(blocks, list_weights))
        if not ids:
            return _EMPTY.ids, _EMPTY.scores, (np.zeros(0, np.int64) if values else None)
        all_ids, all_weights = (ids[0], weights[0]) if len(ids) == 1 else (np.concatenate(ids), np.concatenate(weights))
        if not values:
            return all_ids, all_weights, None
        flat = deltas[0] if len(deltas) == 1 else np.concatenate(deltas)
        # Running sums of the deltas, restarted at each posting: the positions.
        freqs = all_weights.astype(np.int64)
        sums = np.cumsum(flat)
        starts = np.cumsum(freqs) - freqs
        nonempty = freqs > 0
        base = np.zeros(len(freqs), dtype=np.int64)
        base[nonempty] = sums[starts[nonempty]] - flat[starts[nonempty]]
        return all_ids, all_weights, sums - np.repeat(base, freqs)

    def _score(self, fieldname: str, btext: bytes, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """BM25F exactly as `whoosh.scoring.bm25`, with the searcher's idf and average length."""
        scorer = self.searcher.weighting.scorer(self.searcher, fieldname, btext)
        idf, avgfl, b, k1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        lengths = self.lengths(fieldname)[ids]
        return idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / avgfl)))

    def term(self, fieldname: str, text: str) -> _Postings:
        def make() -> _Postings:
            btext = self.searcher.schema[fieldname].to_bytes(text)
            ids, weights, _ = self._raw(fieldname, btext, values=False)
            if not len(ids):
                return _EMPTY
            return _Postings(ids, self._score(fieldname, btext, ids, weights))

        return self._cache.get(("term", fieldname, text), make)

    def doc_count(self) -> int:
        """Articles in the index, deleted ones left out."""
        return int(self.live.sum())

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """Articles that contain the term, deleted ones left out: Whoosh's own count keeps
        deleted articles until their segment is merged, so a word's share of the archive (see
        `ParsedQuery.mark_common`) would depend on the index's history, not on its articles."""
        ids = self.term(fieldname, text).ids
        return int(np.count_nonzero(self.live[ids])) if self.has_deletions else len(ids)

    def phrase(self, fieldname: str, words: tuple[str, ...]) -> _Postings:
        """Documents where the words stand next to each other in order; the score is the sum of
        the words' term scores, as Whoosh's phrase matcher (an intersection) gives it."""

        def make() -> _Postings:
            fieldobj = self.searcher.schema[fieldname]
            if not isinstance(fieldobj.format, CompactPositions) or fieldobj.format.field_boost != 1.0:
                raise Unsupported(f"positions of {fieldname!r}")  # weights must be the frequencies
            terms = [self.term(fieldname, word) for word in words]
            common = terms[0].ids
            for postings in terms[1:]:
                common = np.intersect1d(common, postings.ids, assume_unique=True)
            if not len(common):
                return _EMPTY
            # Each occurrence as (document, position - its place in the phrase): a phrase starts
            # where every word has the same key.
            keys = None
            for shift, word in enumerate(words):
                ids, weights, positions = self._raw(fieldname, fieldobj.to_bytes(word), values=True, within=common)
                docs = np.repeat(ids, weights.astype(np.int64))
                keep = np.isin(docs, common) & (positions >= shift)
                found = docs[keep] * _POSITION_STRIDE + (positions[keep] - shift)
                keys = found if keys is None else np.intersect1d(keys, found, assume_unique=True)
                if not len(keys):
                    return _EMPTY
                common = np.unique(keys // _POSITION_STRIDE)
            ids = common
            scores = np.zeros(len(ids), dtype=np.float64)
            for postings in terms:
                scores += postings.scores[np.searchsorted(postings.ids, ids)]
            return _Postings(ids, scores)

        return self._cache.get(("phrase", fieldname, words), make)

    # -- queries --------------------------------------------------------------------------

    def _dense(self, postings: _Postings, boost: float) -> Match:
        mask = np.zeros(self.size, dtype=bool)
        mask[postings.ids] = True
        scores = np.zeros(self.size, dtype=np.float64)
        scores[postings.ids] = postings.scores * boost if boost != 1.0 else postings.scores
        return Match(mask, scores)

    def evaluate(self, q: wq.Query, memo: dict[int, Match] | None = None,
                 check: Callable[[], None] | None = None) -> Match:
        """The documents `q` matches and their scores; deleted documents never match.

        `memo` (by query object identity) lets the tiers of one request share sub-results;
        `check` is called before each node and may raise `OutOfTime`.
        """
        memo = {} if memo is None else memo
        found = memo.get(id(q))
        if found is None:
            if check is not None:
                check()
            found = self._evaluate(q, memo, check)
            found.mask &= self.live
            memo[id(q)] = found
        return found

    def _evaluate(self, q: wq.Query, memo: dict[int, Match], check: Callable[[], None] | None) -> Match:
        kind = type(q)
        if kind is wq.Term:
            return self._dense(self.term(q.fieldname, q.text), q.boost)
        if kind is wq.Phrase:
            if q.slop != 1 or q.char_ranges:
                raise Unsupported("phrase with slop")
            if len(q.words) == 1:
                return self._dense(self.term(q.fieldname, q.words[0]), q.boost)
            return self._dense(self.phrase(q.fieldname, tuple(q.words)), q.boost)
        if kind is wq.Or or kind is wq.And:
            if kind is wq.Or and (q.minmatch or q.scale):
                raise Unsupported("Or with minmatch or scale")
            subs = [self.evaluate(sub, memo, check) for sub in q.subqueries]
            if not subs:
                return Match(np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64))
            mask = subs[0].mask.copy()
            scores = subs[0].scores.copy()
            for sub in subs[1:]:
                if kind is wq.Or:
                    mask |= sub.mask
                else:
                    mask &= sub.mask
                scores += sub.scores
            return Match(mask, _boosted(np.where(mask, scores, 0.0), q.boost))
        if kind is wq.AndMaybe:
            a, b = self.evaluate(q.a, memo, check), self.evaluate(q.b, memo, check)
            return Match(a.mask.copy(), _boosted(np.where(a.mask, a.scores + b.scores, 0.0), q.boost))
        if kind is wq.AndNot:
            a, b = self.evaluate(q.a, memo, check), self.evaluate(q.b, memo, check)
            mask = a.mask & ~b.mask
            return Match(mask, _boosted(np.where(mask, a.scores, 0.0), q.boost))
        raise Unsupported(kind.__name__)


_GAP_DTYPES = tuple(np.dtype(f"<u{w}") for w in WIDTHS)
_WEIGHT_DTYPES = (None, np.dtype("<u1"), None, np.dtype("<f4"))


def _list_arrays(blocks: list[tuple[int, int, int, int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """Ids and weights of a posting list of `search.codec` from its blocks (see `encode_body`),
    with a few numpy operations for the whole list rather than a few per block.

    Each block stores its first and last ids and the gaps (less one) between the ids in between.
    The gaps of all blocks become one array of steps, zero at every block's first and last
    posting; its running sum, shifted per block so that the block starts at its first id, gives
    the ids, and each block's last id is set where it belongs."""
    counts = np.fromiter((b[1] for b in blocks), dtype=np.int64, count=len(blocks))
    ends = np.cumsum(counts) - 1
    starts = ends - counts + 1
    gap_parts, weight_parts = [], []
    widths, modes = set(), set()
    for flags, count, _, _, body in blocks:
        inner = max(count - 2, 0) * WIDTHS[flags & ID_WIDTH]
        mode = (flags & WEIGHT_MODE) >> 2
        gap_parts.append(body[:inner])
        weight_parts.append(body[inner:inner + weights_size(mode, count)])
        widths.add(flags & ID_WIDTH)
        modes.add(mode)
    if len(widths) == 1:
        gaps = np.frombuffer(b"".join(gap_parts), dtype=_GAP_DTYPES[widths.pop()])
    else:
        gaps = np.concatenate([np.frombuffer(part, dtype=_GAP_DTYPES[flags & ID_WIDTH]).astype(np.int64)
                               for part, (flags, *_) in zip(gap_parts, blocks)])
    steps = np.ones(int(ends[-1]) + 1, dtype=np.int64)
    steps[starts] = 0
    steps[ends] = 0
    steps[steps.astype(bool)] += gaps
    ids = np.cumsum(steps)
    firsts = np.fromiter((b[2] for b in blocks), dtype=np.int64, count=len(blocks))
    ids += np.repeat(firsts - ids[starts], counts)
    ids[ends] = np.fromiter((b[3] for b in blocks), dtype=np.int64, count=len(blocks))
    if modes == {0}:
        return ids, np.ones(len(ids), dtype=np.float64)
    if modes == {1} or modes == {3}:
        return ids, np.frombuffer(b"".join(weight_parts), dtype=_WEIGHT_DTYPES[modes.pop()]).astype(np.float64)
    if modes == {2}:
        return ids, _halves(b"".join(weight_parts), counts)
    pieces = []
    for n, (part, (flags, count, *_)) in enumerate(zip(weight_parts, blocks)):
        mode = (flags & WEIGHT_MODE) >> 2
        if mode == 0:
            pieces.append(np.ones(count))
        elif mode == 2:
            pieces.append(_halves(part, counts[n:n + 1]))
        else:
            pieces.append(np.frombuffer(part, dtype=_WEIGHT_DTYPES[mode]).astype(np.float64))
    return ids, np.concatenate(pieces)


def _halves(packed: bytes, counts: np.ndarray) -> np.ndarray:
    """Weights stored two to a byte (weight - 1 in each 4 bits), for blocks of `counts`
    postings: a block of an odd count ends in an unused half."""
    raw = np.frombuffer(packed, dtype=np.uint8)
    out = np.empty(2 * len(raw), dtype=np.float64)
    out[0::2] = raw >> 4
    out[1::2] = raw & 0x0F
    odd = counts & 1
    if odd.any():
        keep = np.ones(len(out), dtype=bool)
        keep[(np.cumsum(counts + odd) - 1)[odd.astype(bool)]] = False
        out = out[keep]
    return out + 1.0


#: Positions are below this in any document: (document, position) pairs as one int64 key.
_POSITION_STRIDE = 1 << 32


def _value_deltas(values: list[bytes]) -> np.ndarray:
    """The position deltas of postings given one `CompactPositions` value each, in order."""
    out: list[int] = []
    for value in values:
        out.extend(CompactPositions._deltas(value))
    return np.asarray(out, dtype=np.int64)


def _blocks_within(blocks: list[tuple[int, int, int, int, bytes]], docs: np.ndarray) -> list[tuple[int, int, int, int, bytes]]:
    """The blocks whose id range holds one of the sorted `docs`."""
    firsts = np.fromiter((b[2] for b in blocks), dtype=np.int64, count=len(blocks))
    lasts = np.fromiter((b[3] for b in blocks), dtype=np.int64, count=len(blocks))
    hit = np.searchsorted(docs, firsts, side="left") < np.searchsorted(docs, lasts, side="right")
    return [block for block, keep in zip(blocks, hit) if keep]


def _block_deltas(blocks: list[tuple[int, int, int, int, bytes]], weights: np.ndarray) -> np.ndarray:
    """The position deltas of a posting list's blocks, in posting order, with a few numpy
    operations for the whole list. Every posting's deltas have one width (1, 2 or 4 bytes,
    little-endian): a block whose deltas all fit a byte stores them as they are
    (`VALUES_PACKED`), others store each posting's width first (`VALUES_COUNTED`), and a block
    with a frequency over 255 stores each posting's value with its length (decoded in Python:
    only the commonest words in the longest articles)."""
    freqs = weights.astype(np.int64)
    widths: list[np.ndarray] = []
    data: list[bytes] = []
    start = 0
    for flags, count, first, last, body in blocks:
        vmode = flags & VALUE_MODE
        packed = body[max(count - 2, 0) * WIDTHS[flags & ID_WIDTH] + weights_size((flags & WEIGHT_MODE) >> 2, count):]
        if vmode in (VALUES_PACKED, VALUES_COUNTED) and flags & COMPRESSED:
            packed = zlib.decompress(packed)
        if vmode == VALUES_PACKED:
            widths.append(np.ones(count, dtype=np.int64))
        elif vmode == VALUES_COUNTED:
            widths.append(np.frombuffer(packed, dtype=np.uint8, count=count).astype(np.int64))
            packed = packed[count:]
        elif vmode:  # values with their own lengths (a weight the block could not store as an int)
            values = decode_body(flags, count, first, last, body)[2]
            widths.append(np.fromiter((v[0] for v in values), dtype=np.int64, count=count))
            packed = b"".join([v[1:] for v in values])
        elif freqs[start:start + count].any():
            raise Unsupported("a posting list without positions")
        else:
            widths.append(np.zeros(count, dtype=np.int64))
        data.append(packed)
        start += count
    if not widths:
        return np.zeros(0, np.int64)
    width = np.concatenate(widths)
    raw = np.frombuffer(b"".join(data), dtype=np.uint8)
    total = int(freqs.sum())
    # Where each delta starts in `raw`: its posting's start plus its place times the width.
    posting_start = np.cumsum(width * freqs) - width * freqs
    first_delta = np.cumsum(freqs) - freqs
    place = np.arange(total, dtype=np.int64) - np.repeat(first_delta, freqs)
    delta_width = np.repeat(width, freqs)
    at = np.repeat(posting_start, freqs) + place * delta_width
    deltas = raw[at].astype(np.int64)
    for extra in (1, 2, 3):  # the higher bytes of wider deltas
        wide = np.flatnonzero(delta_width > extra)
        if not len(wide):
            break
        deltas[wide] |= raw[at[wide] + extra].astype(np.int64) << (8 * extra)
    return deltas


def _matcher_postings(m: object, offset: int, values: bool, ids: list[np.ndarray], weights: list[np.ndarray],
                      vals: list[bytes]) -> None:
    block_ids, block_weights = [], []
    while m.is_active():
        block_ids.append(m.id() + offset)
        block_weights.append(m.weight())
        if values:
            vals.append(m.value())
        m.next()
    ids.append(np.asarray(block_ids, dtype=np.int64))
    weights.append(np.asarray(block_weights, dtype=np.float64))


def _length_codes(column: object, count: int) -> np.ndarray:
    """A segment's one-byte length codes: W3's length column is those bytes, one a document
    (fewer when the last documents have none), so they are read at once rather than one
    `column[d]` call each (a tenth of a second per field at 84,000 articles)."""
    stored = getattr(column, "_count", None)
    if getattr(column, "_typecode", None) == "B" and getattr(column, "_fixedlen", None) == 1 and stored is not None:
        codes = np.zeros(count, dtype=np.uint8)
        present = min(stored, count)
        if present:
            codes[:present] = np.frombuffer(column._dbfile.get(column._basepos, present), dtype=np.uint8)
        return codes
    return np.fromiter((column[d] for d in range(count)), dtype=np.uint8, count=count)


def _boosted(scores: np.ndarray, boost: float) -> np.ndarray:
    return scores * boost if boost != 1.0 else scores


def top(mask: np.ndarray, keys: np.ndarray, count: int) -> np.ndarray:
    """Up to `count` document numbers where `mask` is set, by descending key and then by
    ascending document number (so equal keys always come in the same order)."""
    docs = np.flatnonzero(mask)
    if count <= 0 or not len(docs):
        return docs[:0]
    values = keys[docs]
    if len(docs) > count:
        threshold = np.partition(values, len(docs) - count)[len(docs) - count]
        chosen = values >= threshold
        docs, values = docs[chosen], values[chosen]
    order = np.lexsort((docs, -values))
    return docs[order[:count]]
