"""Which part of a union the parser built matches wherever the union does.

A word typed with diacritics is the union of its exact form and its folded form (the exact
form's share of the score on top), and a phrase typed with them the union of the folded phrase
in articles with each exact word and the folded phrase itself. The exact part only ever adds a
score: an article holds a word's exact term only where it holds the folded term of that same
word, since both fields index every word, folded from the same lower-case letters. So which
articles such a union matches is its folded part's, and the masks and intersections that need
no scores read that part alone.
"""

from __future__ import annotations

from whoosh.query import And, Or, Phrase, Query, Term

from search.text.normalize import fold


def covering(q: Or) -> Query | None:
    """The part of `q` whose matches hold every other part's, or None when no part is known to."""
    parts = q.subqueries
    for part in parts:
        if all(other is part or implies(other, part) for other in parts):
            return part
    return None


def implies(a: Query, b: Query) -> bool:
    """True when every article `a` matches is one `b` matches, as far as these rules know: the
    same term or phrase (boosts aside), a word's exact form against its folded form, and an
    intersection against anything one of its parts implies."""
    if _same(a, b):
        return True
    kind = type(a)
    if kind is Term and a.fieldname == "exact":
        return type(b) is Term and b.fieldname == "folded" and b.text == fold(a.text)
    if kind is And:
        return any(implies(part, b) for part in a.subqueries)
    return False


def _same(a: Query, b: Query) -> bool:
    """The same term or phrase, whatever their boosts."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is Term:
        return a.fieldname == b.fieldname and a.text == b.text
    if kind is Phrase:
        return (
            a.fieldname == b.fieldname
            and a.words == b.words
            and a.slop == b.slop
            and not a.char_ranges
            and not b.char_ranges
        )
    return False
