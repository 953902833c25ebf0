"""One request's evaluation: which documents match, without scores, and scores where a page
needs them.

`Evaluator.evaluate` adds every posting of every term into arrays over the whole index, for
each tier of a request. But the total, the facets and which tier a document is in need only
masks, and a page needs the scores of few documents: those of the first tier (most windows are
filled by it), of the second only when the window reaches it, of the window alone when it is
sorted by date. Here masks are made without scores, and scores are computed at the documents
asked for, by the same operations in the same order as the whole evaluation, document by
document, so they are the same numbers (a test compares them), ties and all. When the documents
are many, the scores are computed over the whole index as the evaluation does, but without its
masks: those are the ones already made here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from whoosh import query as wq

from search.query.implied import covering
from search.searching.evaluate import Evaluator, Unsupported, boosted
from search.searching.phrases import members
from search.searching.scored import Postings, bit_places, unpacked

#: Scores are computed at the chosen documents alone when they are at most this share of the
#: index (one in so many); for more, one whole evaluation is cheaper than a search for each.
SPARSE_SHARE = 8


class Evaluation:
    """The masks and scores of one request's queries over one evaluator: a query object's
    masks and scores over the whole index are kept (by identity) for the request's other uses
    of it."""

    def __init__(self, evaluator: Evaluator, check: Callable[[], None] | None = None) -> None:
        self.evaluator = evaluator
        self.check = check
        self._masks: dict[int, np.ndarray] = {}
        self._docs: dict[int, np.ndarray] = {}
        self._spreads: dict[int, np.ndarray] = {}
        self._gathers: dict[tuple[int, int], tuple[Postings, np.ndarray, np.ndarray]] = {}
        self._unpacked: dict[int, tuple[Postings, np.ndarray]] = {}
        self._covers: dict[int, wq.Query | None] = {}

    def _members(self, postings: Postings) -> np.ndarray:
        """The mask of a list kept with its bits, unpacked once for the request: the test of
        which candidates hold a term and its scores at a tier's documents both read it. Read
        only (a mask a caller may change is unpacked anew)."""
        kept = self._unpacked.get(id(postings))
        if kept is None:
            assert postings.bits is not None
            kept = self._unpacked[id(postings)] = (postings, unpacked(postings.bits, self.evaluator.size))
        return kept[1]

    def mask(self, q: wq.Query) -> np.ndarray:
        """Which documents `q` matches, as `Evaluator.evaluate(q).mask` gives it."""
        found = self._masks.get(id(q))
        if found is None:
            if self.check is not None:
                self.check()
            found = self._mask(q)
            if self.evaluator.has_deletions:
                found &= self.evaluator.live
            self._masks[id(q)] = found
        return found

    def docs(self, q: wq.Query) -> np.ndarray:
        """The sorted document numbers `q` matches, `np.flatnonzero(mask(q))`: an
        intersection's from its candidates (see `_and_docs`), without a mask over the index."""
        found = self._docs.get(id(q))
        if found is None:
            mask = self._masks.get(id(q))
            if mask is not None or type(q) is not wq.And or not q.subqueries:
                found = np.flatnonzero(self.mask(q) if mask is None else mask)
            else:
                if self.check is not None:
                    self.check()
                found = self._and_docs(q.subqueries)
                if self.evaluator.has_deletions:
                    found = found[self.evaluator.live[found]]
            self._docs[id(q)] = found
        return found

    def _matched_at(self, q: wq.Query, docs: np.ndarray) -> np.ndarray:
        """`mask(q)[docs]`, from `q`'s documents when those are what was made."""
        mask = self._masks.get(id(q))
        if mask is None and id(q) in self._docs:
            return members(docs, self._docs[id(q)])
        return self.mask(q)[docs] if mask is None else mask[docs]

    def _leaf(self, q: wq.Query) -> Postings | None:
        """The postings whose documents are `q`'s matches: a term's or a phrase's, or those of
        the part of a union that covers the others (`covering`, found once a request: a word's
        folded form beside its exact one). For masks only: every part counts in the scores."""
        postings = self.evaluator.leaf(q)
        if postings is None and _plain_or(q):
            cover = self._covers[id(q)] if id(q) in self._covers else self._covers.setdefault(id(q), covering(q))
            return None if cover is None else self._leaf(cover)
        return postings

    def _mask(self, q: wq.Query) -> np.ndarray:
        size = self.evaluator.size
        kind = type(q)
        postings = self._leaf(q)
        if postings is not None:
            if postings.bits is not None:
                return unpacked(postings.bits, size)
            mask = np.zeros(size, dtype=bool)
            mask[postings.ids] = True
            return mask
        known = self._docs.get(id(q))
        if known is not None:
            mask = np.zeros(size, dtype=bool)
            mask[known] = True
            return mask
        if kind is wq.Or:
            if q.minmatch or q.scale:
                raise Unsupported("Or with minmatch or scale")
            mask = np.zeros(size, dtype=bool)
            bits: list[np.ndarray] = []
            self._or_into(q, mask, bits)
            if bits:
                mask |= unpacked(bits[0] if len(bits) == 1 else np.bitwise_or.reduce(bits), size)
            return mask
        if kind is wq.And:
            mask = np.zeros(size, dtype=bool)
            if q.subqueries:
                mask[self._and_docs(q.subqueries)] = True
            return mask
        if kind is wq.AndMaybe:  # b is read too: a query the evaluator cannot take fails here
            a, _ = self.mask(q.a), self.mask(q.b)
            return a.copy()
        if kind is wq.AndNot:
            return self.mask(q.a) & ~self.mask(q.b)
        raise Unsupported(kind.__name__)

    def _and_docs(self, subqueries: list[wq.Query]) -> np.ndarray:
        """The sorted documents of the intersection of the parts' masks (deleted ones may be
        among them). A first tier is the scored union of the
        clauses and each clause again (`ParsedQuery.all_words`): a union that holds another
        part (the same object) matches wherever that part does, so it is left out. The rarest
        term or phrase gives the candidates, and each other part keeps those it matches (see
        `_hits`): only the parts that are neither terms, phrases nor their unions are made
        masks."""
        parts = _needed(subqueries)
        leaves = [(sub, postings) for sub in parts if (postings := self._leaf(sub)) is not None]
        if leaves:
            leaves.sort(key=lambda leaf: len(leaf[1].ids))  # stable: the first rarest leads
            first, postings = leaves[0]
            candidates = postings.ids
            rest = [sub for sub, _ in leaves if sub is not first]
            read = {id(sub) for sub, _ in leaves}
            rest += [sub for sub in parts if id(sub) not in read]
        else:  # the part with the fewest postings leads (stable: the first of them)
            first = min(parts, key=self._postings_count)
            candidates = self.docs(first)
            rest = [sub for sub in parts if sub is not first]
        for sub in rest:
            if not len(candidates):
                break
            candidates = candidates[self._hits(candidates, sub)]
        return candidates

    def _postings_count(self, q: wq.Query) -> int:
        """How many documents `q` matches at most, from the postings its matches are read
        from anyway: a term's or phrase's, the sum of a plain union's parts'; the whole index
        for any other query."""
        postings = self._leaf(q)
        if postings is not None:
            return len(postings.ids)
        if _plain_or(q):
            return sum(self._postings_count(sub) for sub in q.subqueries)
        return self.evaluator.size

    def _hits(self, docs: np.ndarray, q: wq.Query) -> np.ndarray:
        """Which of the sorted `docs` `q` matches (deleted ones may be among them): a term's or
        phrase's postings searched for the few, or looked up in its mask for many; a plain
        union's parts each; any other query's mask."""
        postings = self._leaf(q)
        if postings is not None:
            ids = postings.ids
            if len(docs) * math.log2(len(ids) + 1) < len(ids):
                return members(docs, ids)
            if postings.bits is not None:
                return self._members(postings)[docs]
            spread = np.zeros(self.evaluator.size, dtype=bool)
            spread[ids] = True
            return spread[docs]
        if _plain_or(q):
            found = np.zeros(len(docs), dtype=bool)
            for sub in q.subqueries:
                if self.check is not None:
                    self.check()
                found |= self._hits(docs, sub)
            return found
        return self.mask(q)[docs]

    def _or_into(self, q: wq.Or, mask: np.ndarray, bits: list[np.ndarray]) -> None:
        """Sets the documents of a union's parts in `mask`, or adds the bits of those parts that
        have them to `bits` (for the caller to OR into the mask once)."""
        for sub in q.subqueries:
            if self.check is not None:
                self.check()
            postings = self._leaf(sub)
            if postings is None and _plain_or(sub):
                self._or_into(sub, mask, bits)
            elif postings is None:
                mask |= self.mask(sub)
            elif postings.bits is not None:
                bits.append(postings.bits)
            else:
                mask[postings.ids] = True

    def scores_at(self, q: wq.Query, docs: np.ndarray) -> np.ndarray:
        """`Evaluator.evaluate(q).scores[docs]`: computed at `docs` alone when they are few."""
        return self.scores_over(q, docs)[docs] if self._whole(q, docs) else self._scores_at(q, docs)

    def scores_over(self, q: wq.Query, docs: np.ndarray) -> np.ndarray:
        """An array over the index that holds `scores_at(q, docs)` at `docs` (and, elsewhere,
        what is cheapest: the whole evaluation's scores, or zeros): a ranking's keys."""
        if self._whole(q, docs):
            return self.spread(q)
        out = np.zeros(self.evaluator.size, dtype=np.float64)
        out[docs] = self._scores_at(q, docs)
        return out

    def _whole(self, q: wq.Query, docs: np.ndarray) -> bool:
        return id(q) in self._spreads or len(docs) * SPARSE_SHARE > self.evaluator.size

    def spread(self, q: wq.Query) -> np.ndarray:
        """`Evaluator.evaluate(q).scores`, by the same operations in the same order, where the
        masks the scores are limited by come from `mask` (made once, without scores): a term's
        scores are added where its postings are rather than as an array over the index."""
        found = self._spreads.get(id(q))
        if found is None:
            if self.check is not None:
                self.check()
            found = self._spreads[id(q)] = self._spread(q)
        return found

    def _spread(self, q: wq.Query) -> np.ndarray:
        size = self.evaluator.size
        kind = type(q)
        postings = self.evaluator.leaf(q)
        if postings is not None:
            out = np.zeros(size, dtype=np.float64)
            out[postings.ids] = postings.scores * q.boost if q.boost != 1.0 else postings.scores
            return out
        if kind is wq.Or:
            if q.minmatch or q.scale:
                raise Unsupported("Or with minmatch or scale")
            out = np.zeros(size, dtype=np.float64)
            self._add_spread(q, 1.0, out)
            return boosted(out, q.boost)
        if kind is wq.And:
            if not q.subqueries:
                return np.zeros(size, dtype=np.float64)
            total: np.ndarray | None = None
            for sub in q.subqueries:
                found = self.evaluator.leaf(sub)
                if found is None:
                    whole = self.spread(sub)
                    if total is None:
                        total = whole.copy()
                    else:
                        total += whole
                    continue
                part = found.scores * sub.boost if sub.boost != 1.0 else found.scores
                if total is None:
                    total = np.zeros(size, dtype=np.float64)
                    total[found.ids] = part
                else:
                    np.add.at(total, found.ids, part)  # see `_add_spread`
            assert total is not None  # there are parts
            return boosted(np.where(self.mask(q), total, 0.0), q.boost)
        if kind is wq.AndMaybe:
            a, b = self.spread(q.a), self.spread(q.b)
            return boosted(np.where(self.mask(q.a), a + b, 0.0), q.boost)
        if kind is wq.AndNot:
            mask = self.mask(q)
            return boosted(np.where(mask, self.spread(q.a), 0.0), q.boost)
        raise Unsupported(kind.__name__)

    def _add_spread(self, q: wq.Or, factor: float, out: np.ndarray) -> None:
        """`Evaluator._add`, scores only."""
        for sub in q.subqueries:
            if self.check is not None:
                self.check()
            weight = factor * sub.boost
            if _plain_or(sub):
                self._add_spread(sub, weight, out)
                continue
            postings = self.evaluator.leaf(sub)
            if postings is not None:
                # A posting's id comes once: `np.add.at` adds as `out[ids] += ...` would, in
                # one pass where the other reads, adds and writes in three.
                np.add.at(out, postings.ids, postings.scores * weight if weight != 1.0 else postings.scores)
                continue
            found = self.spread(sub)
            out += found * factor if factor != 1.0 else found

    def _scores_at(self, q: wq.Query, docs: np.ndarray) -> np.ndarray:
        kind = type(q)
        postings = self.evaluator.leaf(q)
        if postings is not None:
            found = self._gathered(postings, docs)
            return found * q.boost if q.boost != 1.0 else found
        if kind is wq.Or:
            if q.minmatch or q.scale:
                raise Unsupported("Or with minmatch or scale")
            out = np.zeros(len(docs), dtype=np.float64)
            self._add_at(q, 1.0, docs, out)
            return boosted(out, q.boost)
        if kind is wq.And:
            if not q.subqueries:
                return np.zeros(len(docs), dtype=np.float64)
            subs = [self.scores_at(sub, docs) for sub in q.subqueries]
            out = subs[0].copy()
            for sub in subs[1:]:
                out += sub
            return boosted(np.where(self._matched_at(q, docs), out, 0.0), q.boost)
        if kind is wq.AndMaybe:
            a, b = self.scores_at(q.a, docs), self.scores_at(q.b, docs)
            return boosted(np.where(self._matched_at(q.a, docs), a + b, 0.0), q.boost)
        if kind is wq.AndNot:
            return boosted(np.where(self._matched_at(q, docs), self.scores_at(q.a, docs), 0.0), q.boost)
        raise Unsupported(kind.__name__)

    def _add_at(self, q: wq.Or, factor: float, docs: np.ndarray, out: np.ndarray) -> None:
        """`Evaluator._add` at `docs` alone."""
        for sub in q.subqueries:
            if self.check is not None:
                self.check()
            weight = factor * sub.boost
            if _plain_or(sub):
                self._add_at(sub, weight, docs, out)
                continue
            postings = self.evaluator.leaf(sub)
            if postings is not None:
                found = self._gathered(postings, docs)
                out += found * weight if weight != 1.0 else found
                continue
            found = self.scores_at(sub, docs)
            out += found * factor if factor != 1.0 else found

    def _gathered(self, postings: Postings, docs: np.ndarray) -> np.ndarray:
        """A term's scores at `docs` (0 where it is absent), computed at those alone: each
        document's place in the postings by a binary search when they are few against the
        postings, else read from the places spread over the index (the whole evaluation's cost
        for one term), or, for a list kept with its bits, counted off its bits (`bit_places`) at
        the documents they say hold the term: no array over the index is written. A first tier
        holds each clause twice (in the scored union and on its own), so a term's scores at the
        same documents are kept for the request."""
        key = (id(postings), id(docs))
        kept = self._gathers.get(key)
        if kept is not None:
            return kept[2]
        out = self._gather(postings, docs)
        self._gathers[key] = (postings, docs, out)  # both held: their ids stay theirs
        return out

    def _gather(self, postings: Postings, docs: np.ndarray) -> np.ndarray:
        ids = postings.ids
        out = np.zeros(len(docs), dtype=np.float64)
        if not len(ids):
            return out
        if len(docs) * 2 * math.log2(len(ids) + 2) < self.evaluator.size / 6 + len(ids):
            at = np.searchsorted(ids, docs)
            np.minimum(at, len(ids) - 1, out=at)
            hit = ids[at] == docs
        elif postings.bits is not None:  # the bits say which hold it, and where
            hit = self._members(postings)[docs]
            out[hit] = postings.scores_at(bit_places(postings, docs[hit]))
            return out
        else:
            places = np.full(self.evaluator.size, -1, dtype=np.int64)
            places[ids] = np.arange(len(ids))
            at = places[docs]
            hit = at >= 0
        out[hit] = postings.scores_at(at[hit])
        return out


def _needed(subqueries: list[wq.Query]) -> list[wq.Query]:
    """The parts of an intersection less the plain unions that hold another of its parts
    (nested unions included): such a union's mask holds that part's, so it narrows nothing."""
    parts = {id(sub) for sub in subqueries}

    def holds_another(q: wq.Query) -> bool:
        return _plain_or(q) and any(id(sub) in parts or holds_another(sub) for sub in q.subqueries)

    return [sub for sub in subqueries if not holds_another(sub)]


def _plain_or(q: wq.Query) -> bool:
    """A union whose score is the sum of its matching parts'."""
    return type(q) is wq.Or and not (q.minmatch or q.scale)
