"""Why a hit scored what it did: each word, pair, acronym form or expansion that matched, with
its share of the score.

A journalist who sees an article ranked above the one they expected can only trust (or report)
the ranking if they can see what it rewarded. The evaluator adds the scores of the query's
terms and phrases up the query tree (Or and And add, boosts multiply; see
`search.searching.evaluate`), so a hit's score is exactly the sum, over the leaves it matches,
of each leaf's BM25F score times the boosts above it. This module walks the same tree the
ranking used for that hit (the all-words tier or the rest) and names each leaf by what the
reader typed:

- `word`: a typed word, matched without regard to diacritics;
- `exact`: the same word with its diacritics as typed (the extra share exact matches get);
- `pair`: two adjacent typed words found side by side in the article;
- `phrase`: a quoted phrase, or words typed together as one unit (a document number);
- `acronym`: another form of what was typed, from the acronym table ("BHXH" for "bảo hiểm xã
  hội" and back).

Shares are summed per (kind, text): a term counted twice over in the first tier shows once,
with both counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from whoosh import query as wq

from search.query.parse import ParsedQuery
from search.searching.evaluate import Evaluator, Match
from search.text.analysis import PAIR_JOINER
from search.text.normalize import WORD_RE, fold, normalize

Label = tuple[str, str]
Leaf = tuple[wq.Query, float, Label | None]


def _is_exact_phrase(q: wq.And) -> bool:
    """Whether `q` is what `query.parse.exact_phrase` makes of words typed with their marks:
    the folded phrase, unscored, and each exact word."""
    first, rest = q.subqueries[0], q.subqueries[1:]
    return (
        isinstance(first, wq.Phrase)
        and first.boost == 0.0
        and bool(rest)
        and all(isinstance(sub, wq.Term) and sub.fieldname == "exact" for sub in rest)
    )


@dataclass(frozen=True)
class Part:
    """One matched thing and what it added to the hit's score."""

    kind: str
    text: str
    score: float

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "text": self.text, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Explanation:
    """A hit's score and its parts, largest first; `tier` says which ranking scored it."""

    score: float
    tier: str
    parts: tuple[Part, ...]

    def to_json(self) -> dict[str, object]:
        return {"score": round(self.score, 4), "tier": self.tier, "matched": [p.to_json() for p in self.parts]}


class Explainer:
    """Explains the hits of one parsed query against one evaluator (one generation)."""

    def __init__(self, evaluator: Evaluator, parsed: ParsedQuery, text: str) -> None:
        self.evaluator = evaluator
        self.parsed = parsed
        # Built once and kept: the memo is keyed by query object identity, which a query built
        # anew for each hit could share with a collected one.
        self._all, self._any = parsed.all_words(), parsed.any_word()
        self._memo: dict[int, Match] = {}
        words = WORD_RE.findall(normalize(text).lower())
        #: Folded word -> the form the reader typed it in, for showing the parts as typed.
        self._typed: dict[str, str] = {}
        for word in words:
            self._typed.setdefault(fold(word), word)

    def explain(self, docnum: int) -> Explanation:
        """The parts of `docnum`'s score under the tier that ranked it."""
        tier = "all words"
        q = self._all
        if not self.parsed.tiered or not self.evaluator.evaluate(q, self._memo).mask[docnum]:
            q = self._any
            tier = "some words" if self.parsed.tiered else "all words"
        sums: dict[tuple[str, str], float] = {}
        for leaf, score, label in self._leaves(q, docnum, 1.0, None):
            key = label or self._label(leaf)
            sums[key] = sums.get(key, 0.0) + score
        parts = tuple(
            Part(kind, text, score)
            for (kind, text), score in sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
            if score > 0
        )
        return Explanation(sum(p.score for p in parts), tier, parts)

    def _leaves(self, q: wq.Query, docnum: int, factor: float, label: Label | None) -> list[Leaf]:
        """(leaf, its contribution, its label if its parent gives it one) for the leaves of `q`
        that match `docnum`, exactly as the evaluator adds them up."""
        found = self.evaluator.evaluate(q, self._memo)
        if not found.mask[docnum]:
            return []
        kind = type(q)
        if kind is wq.Term or kind is wq.Phrase:
            return [(q, float(found.scores[docnum]) * factor, label)]
        factor *= q.boost
        if kind is wq.And and _is_exact_phrase(q):  # the exact words of a phrase: one part
            label = "exact", " ".join(str(sub.text) for sub in q.subqueries[1:])
        if kind is wq.Or or kind is wq.And:
            subs = q.subqueries
        elif kind is wq.AndMaybe:
            subs = [q.a, q.b]
        elif kind is wq.AndNot:
            subs = [q.a]
        else:  # the evaluator would have raised Unsupported first
            return []
        return [leaf for sub in subs for leaf in self._leaves(sub, docnum, factor, label)]

    def _label(self, leaf: wq.Query) -> tuple[str, str]:
        if isinstance(leaf, wq.Term) and leaf.fieldname == "pairs":
            return "pair", " ".join(self._typed.get(w, w) for w in str(leaf.text).split(PAIR_JOINER))
        if isinstance(leaf, wq.Term) and leaf.fieldname == "exact":
            return "exact", str(leaf.text)
        words = [str(leaf.text)] if isinstance(leaf, wq.Term) else [str(w) for w in leaf.words]
        if not all(word in self._typed for word in words):
            return "acronym", self._shown(leaf)
        return ("word" if len(words) == 1 else "phrase"), " ".join(self._typed[w] for w in words)

    @staticmethod
    def _shown(leaf: wq.Query) -> str:
        words = [str(leaf.text)] if isinstance(leaf, wq.Term) else [str(w) for w in leaf.words]
        return " ".join(w.replace(PAIR_JOINER, " ") for w in words)
