"""One request's evaluation: which documents match, without scores, and scores where a page
needs them.

`Evaluator.evaluate` adds every posting of every term into arrays over the whole index, for
each tier of a request. But the total, the facets and which tier a document is in need only
masks, and a page needs the scores of few documents: those of the first tier (most windows are
filled by it), of the second only when the window reaches it, of the window alone when it is
sorted by date. Here masks are made without scores, and scores are computed at the documents
asked for, by the same operations in the same order as the whole evaluation, document by
document, so they are the same numbers (a test compares them), ties and all.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from whoosh import query as wq

from search.searching.evaluate import Evaluator, Match, Unsupported, boosted

#: Scores are computed at the chosen documents alone when they are at most this share of the
#: index (one in so many); for more, one whole evaluation is cheaper than a search for each.
SPARSE_SHARE = 8


class Evaluation:
    """The masks and scores of one request's queries over one evaluator: a query object's
    results are kept (by identity) for the request's other uses of it, whole evaluations
    (`memo`) as `Evaluator.evaluate` keeps them."""

    def __init__(self, evaluator: Evaluator, check: Callable[[], None] | None = None) -> None:
        self.evaluator = evaluator
        self.check = check
        self.memo: dict[int, Match] = {}
        self._masks: dict[int, np.ndarray] = {}

    def mask(self, q: wq.Query) -> np.ndarray:
        """Which documents `q` matches, as `Evaluator.evaluate(q).mask` gives it."""
        whole = self.memo.get(id(q))
        if whole is not None:
            return whole.mask
        found = self._masks.get(id(q))
        if found is None:
            if self.check is not None:
                self.check()
            found = self._mask(q)
            if self.evaluator.has_deletions:
                found &= self.evaluator.live
            self._masks[id(q)] = found
        return found

    def _mask(self, q: wq.Query) -> np.ndarray:
        size = self.evaluator.size
        kind = type(q)
        postings = self.evaluator.leaf(q)
        if postings is not None:
            mask = np.zeros(size, dtype=bool)
            mask[postings.ids] = True
            return mask
        if kind is wq.Or:
            if q.minmatch or q.scale:
                raise Unsupported("Or with minmatch or scale")
            mask = np.zeros(size, dtype=bool)
            self._or_into(q, mask)
            return mask
        if kind is wq.And:
            if not q.subqueries:
                return np.zeros(size, dtype=bool)
            subs = [self.mask(sub) for sub in q.subqueries]
            mask = subs[0].copy()
            for sub in subs[1:]:
                mask &= sub
            return mask
        if kind is wq.AndMaybe:  # b is read too: a query the evaluator cannot take fails here
            a, _ = self.mask(q.a), self.mask(q.b)
            return a.copy()
        if kind is wq.AndNot:
            return self.mask(q.a) & ~self.mask(q.b)
        raise Unsupported(kind.__name__)

    def _or_into(self, q: wq.Or, mask: np.ndarray) -> None:
        for sub in q.subqueries:
            if self.check is not None:
                self.check()
            if type(sub) is wq.Or and not (sub.minmatch or sub.scale):
                self._or_into(sub, mask)
                continue
            postings = self.evaluator.leaf(sub)
            if postings is not None:
                mask[postings.ids] = True
            else:
                mask |= self.mask(sub)

    def scores_at(self, q: wq.Query, docs: np.ndarray) -> np.ndarray:
        """`Evaluator.evaluate(q).scores[docs]`: computed at `docs` alone when they are few."""
        whole = self.memo.get(id(q))
        if whole is None and len(docs) * SPARSE_SHARE > self.evaluator.size:
            whole = self.evaluator.evaluate(q, self.memo, self.check)
        if whole is not None:
            return whole.scores[docs]
        return self._scores_at(q, docs)

    def _scores_at(self, q: wq.Query, docs: np.ndarray) -> np.ndarray:
        kind = type(q)
        postings = self.evaluator.leaf(q)
        if postings is not None:
            found = self._gathered(postings.ids, postings.scores, docs)
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
            return boosted(np.where(self.mask(q)[docs], out, 0.0), q.boost)
        if kind is wq.AndMaybe:
            a, b = self.scores_at(q.a, docs), self.scores_at(q.b, docs)
            return boosted(np.where(self.mask(q.a)[docs], a + b, 0.0), q.boost)
        if kind is wq.AndNot:
            return boosted(np.where(self.mask(q)[docs], self.scores_at(q.a, docs), 0.0), q.boost)
        raise Unsupported(kind.__name__)

    def _add_at(self, q: wq.Or, factor: float, docs: np.ndarray, out: np.ndarray) -> None:
        """`Evaluator._add` at `docs` alone."""
        for sub in q.subqueries:
            if self.check is not None:
                self.check()
            weight = factor * sub.boost
            if type(sub) is wq.Or and not (sub.minmatch or sub.scale):
                self._add_at(sub, weight, docs, out)
                continue
            postings = self.evaluator.leaf(sub)
            if postings is not None:
                found = self._gathered(postings.ids, postings.scores, docs)
                out += found * weight if weight != 1.0 else found
                continue
            found = self.scores_at(sub, docs)
            out += found * factor if factor != 1.0 else found

    def _gathered(self, ids: np.ndarray, scores: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """A term's scores at `docs` (0 where it is absent): a binary search in its postings
        for each document when they are few against the postings, else its scores spread
        over the index and read back at `docs` (the whole evaluation's cost for one term)."""
        if len(docs) * 2 * math.log2(len(ids) + 2) < self.evaluator.size / 6 + len(ids):
            out = np.zeros(len(docs), dtype=np.float64)
            if len(ids):
                at = np.searchsorted(ids, docs)
                np.minimum(at, len(ids) - 1, out=at)
                hit = ids[at] == docs
                out[hit] = scores[at[hit]]
            return out
        spread = np.zeros(self.evaluator.size, dtype=np.float64)
        spread[ids] = scores
        return spread[docs]
