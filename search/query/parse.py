"""Query text -> Whoosh queries, the way a journalist types it.

Syntax: words (articles with all of them rank first), "quoted phrases", `-word` or `-"phrase"`
to exclude, and `OR` between two items. Every word is looked up in the folded field; when the
query carries diacritics it is looked up in the exact field too, so exact matches add a second
score and rank above fold-only matches. Acronyms and their full forms are expanded both ways
from the synonym table, and adjacent words add the score of their pair term (the `pairs` field)
so a multi-syllable word scores as a unit. Characters outside words ("*", "?", "(", ":") are
separators: nothing in the syntax expands into the vocabulary, so no query can enumerate the
index.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Protocol

from whoosh.query import And, AndNot, Or, Phrase, Query, Term
from whoosh.scoring import BM25F

from search.query.acronyms import SynonymTable
from search.text.analysis import exact_analyzer, folded_analyzer, pair
from search.text.normalize import WORD_RE, has_diacritics, normalize

MAX_QUERY_CHARS = 500
MAX_WORDS = 64
#: Words counted as typed, repeats, excluded words and "OR" included: each one is a clause or
#: a nesting level in the Whoosh query, so this bounds its size whatever the distinct words.
MAX_TERMS = 128
#: How much a pair of adjacent query words found together counts against the words alone;
#: tuned on the judged dev sets (bench/eval.py).
PAIR_BOOST = 1.0
#: What an exact-diacritic match adds on top of the folded match, when the query has marks.
EXACT_BOOST = 0.5
#: BM25 as Whoosh implements it, with parameters tuned on the judged dev sets (bench/eval.py).
WEIGHTING = BM25F(B=0.75, K1=1.2)
#: Queries with up to this many clauses rank articles with all of them first.
TIER_MAX_CLAUSES = 4
#: A word in more than this share of the articles is scored through its pairs only.
COMMON_SHARE = 0.2

_EXACT = exact_analyzer()
_FOLDED = folded_analyzer()
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'})
_LEXER = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class QueryError(ValueError):
    """The query cannot be searched; the message says why, for the user."""


@dataclass(frozen=True)
class Item:
    """One thing the user typed: a word (possibly a compound like 96/NQ-BCS) or a phrase."""

    text: str
    phrase: bool = False
    negated: bool = False


OR = Item("OR")


def lex(text: str) -> list[Item]:
    """Split query text into items and OR operators; an unclosed quote runs to the end."""
    items = []
    for match in _LEXER.finditer(text):
        minus, quoted, word = match.groups()
        if word is None:
            items.append(Item(quoted, phrase=True, negated=bool(minus)))
        elif word == "OR":
            items.append(OR)
        elif word.startswith("-") and len(word) > 1:
            items.append(Item(word[1:], negated=True))
        else:
            items.append(Item(word))
    return items


def _words(text: str) -> tuple[list[str], list[str]]:
    exact, folded = _analysed(text)
    return list(exact), list(folded)


@functools.lru_cache(maxsize=1 << 14)
def _analysed(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The exact and folded words of one thing typed, as the index's analyzers make them: most
    of a parse, and distinct queries share most of their words."""
    return tuple(t.text for t in _EXACT(text)), tuple(t.text for t in _FOLDED(text))


def _add_pairs(folded: list[str], alone: set[int], parsed: ParsedQuery) -> None:
    """A pair term for two adjacent words, once each, to rank words standing together.

    Only pairs with a word that is a clause by itself: an article with such a pair matches
    that clause, so adding pair terms to the union of the clauses changes the scores but not
    the matches. Words inside a phrase or an acronym's form are scored by that phrase.
    """
    known = {term.text for term in parsed.boosts}
    for index, (first, second) in enumerate(zip(folded, folded[1:])):
        if index not in alone and index + 1 not in alone:
            continue
        text = pair(first, second)
        if text not in known:
            known.add(text)
            parsed.boosts.append(Term("pairs", text, boost=PAIR_BOOST))


def _term_or_phrase(fieldname: str, words: list[str] | tuple[str, ...], boost: float = 1.0) -> Query:
    if len(words) == 1:
        return Term(fieldname, words[0], boost=boost)
    return Phrase(fieldname, list(words), boost=boost)


def exact_phrase(exact: list[str], folded: list[str] | tuple[str, ...], boost: float = 1.0) -> Query:
    """Words as typed with their diacritics, standing together: the exact field has no
    positions, so this is the folded phrase in articles that have each exact word, scored by
    the exact words alone (the folded phrase's own score is counted by the folded clause).
    An article whose folded phrase has other marks ("bão hiếm") but which has the exact words
    elsewhere counts as an exact match too: rare, and the price of half the exact field."""
    if len(exact) == 1:
        return Term("exact", exact[0], boost=boost)
    return And([Phrase("folded", list(folded), boost=0.0), *(Term("exact", word) for word in exact)], boost=boost)


class Statistics(Protocol):
    """How many articles there are and how many hold a term: a Whoosh reader, or the searcher's
    evaluator, which leaves deleted articles out of both."""

    def doc_count(self) -> int: ...

    def doc_frequency(self, fieldname: str, text: str) -> int: ...


class KeptCounts:
    """A `Statistics` that keeps what it was told: made once per index generation (whose counts
    do not change), it asks each word's article count once, where distinct queries share most of
    their words. At most `size` counts are kept, the least recently asked dropped first."""

    def __init__(self, statistics: Statistics, size: int = 1 << 16) -> None:
        self._statistics = statistics
        self._counts = functools.lru_cache(maxsize=size)(statistics.doc_frequency)

    def doc_count(self) -> int:
        return self._statistics.doc_count()

    def doc_frequency(self, fieldname: str, text: str) -> int:
        return self._counts(fieldname, text)


@dataclass
class ParsedQuery:
    """The clauses of a query, ready to be combined for each search tier."""

    clauses: list[Query] = field(default_factory=list)
    boosts: list[Query] = field(default_factory=list)
    excluded: list[Query] = field(default_factory=list)
    highlight: set[str] = field(default_factory=set)
    #: Clause index -> its folded word, for clauses that are one plain word.
    words: dict[int, str] = field(default_factory=dict)
    #: Indexes of clauses whose word is in so many articles that it says little on its own.
    common: set[int] = field(default_factory=set)

    def mark_common(self, reader: Statistics) -> None:
        """Find the clauses that are words in more than `COMMON_SHARE` of the articles.

        Questions are full of "của", "các", "là", "được", "có": scored on their own they cost
        the most (their posting lists are nearly the whole index) and rank nothing, while their
        pairs ("có_thai" against "có" and "thai") still carry what they add. A query made only
        of such words keeps them all.
        """
        total = reader.doc_count()
        if not total:
            return
        common = {
            index for index, word in self.words.items() if reader.doc_frequency("folded", word) > COMMON_SHARE * total
        }
        self.common = common if len(common) < len(self.clauses) else set()

    def _finish(self, positive: Query) -> Query:
        if self.excluded:
            positive = AndNot(positive, Or(self.excluded))
        return positive

    def _scored(self, pair_weight: float = 1.0) -> Query:
        """The clauses (but common words) and the pair terms, each adding its score: what
        ranks the hits.

        A pair term only matches where one of its words does, so the union matches what the
        clauses match, less the articles that only have common words alone. Whoosh's AndMaybe
        and Require would say the same but lose top hits or fail when its collector replaces
        their matchers mid-search.
        """
        boosts = [Term(b.fieldname, b.text, boost=b.boost * pair_weight) for b in self.boosts]
        parts = [clause for index, clause in enumerate(self.clauses) if index not in self.common] + boosts
        return Or(parts) if len(parts) > 1 else parts[0]

    def all_words(self) -> Query:
        """Articles matching every clause: the first tier of results.

        The intersection adds each clause's score once more, so the pair terms are counted
        twice over to keep about the same ranking as `any_word` within the tier.
        """
        if not self.tiered:
            return self.any_word()
        return self._finish(And([self._scored(pair_weight=2.0), *self.clauses]))

    def any_word(self) -> Query:
        """Articles matching at least one clause: every result, whatever its tier."""
        return self._finish(self._scored())

    @property
    def tiered(self) -> bool:
        """True when some results match only part of the query (a second tier exists)."""
        return 1 < len(self.clauses) <= TIER_MAX_CLAUSES


class QueryBuilder:
    """Turns query text into a `ParsedQuery` using one synonym table (acronyms)."""

    def __init__(self, synonyms: SynonymTable) -> None:
        self.synonyms = synonyms

    def parse(self, text: str, reader: Statistics | None = None) -> ParsedQuery:
        """The query's clauses; with the index's `reader`, common words are scored by their
        pairs only (see `ParsedQuery.mark_common`)."""
        text = normalize(text).translate(_QUOTES).strip()
        if not text:
            raise QueryError("the query is empty")
        if len(text) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
        if len(WORD_RE.findall(text)) > MAX_TERMS:
            raise QueryError(f"the query has more than {MAX_TERMS} words")
        diacritics = has_diacritics(text)
        parsed = ParsedQuery()
        run: list[Item] = []
        items = lex(text)
        for index, item in enumerate(items):
            if item is OR:
                continue
            joined = index + 1 < len(items) and items[index + 1] is OR and not item.negated
            # Only an OR between two searchable items joins them: a leading OR, or one after
            # an exclusion or another OR, is ignored like a trailing one.
            after_or = (
                index > 1
                and items[index - 1] is OR
                and items[index - 2] is not OR
                and not items[index - 2].negated
                and not item.negated
            )
            if item.negated:
                parsed.excluded.extend(self._exclusion(item))
            elif after_or:
                parsed.clauses[-1] = Or([parsed.clauses[-1], self._item(item, diacritics, parsed)])
                parsed.words.pop(len(parsed.clauses) - 1, None)
            elif joined or item.phrase:
                self._flush(run, diacritics, parsed)
                run = []
                parsed.clauses.append(self._item(item, diacritics, parsed))
            else:
                run.append(item)
        self._flush(run, diacritics, parsed)
        if not parsed.clauses:
            raise QueryError(
                "the query has no words to search for"
                if not parsed.excluded
                else "the query only excludes words; add a word to search for"
            )
        if len(parsed.highlight) > MAX_WORDS:
            raise QueryError(f"the query has more than {MAX_WORDS} distinct words")
        if reader is not None:
            parsed.mark_common(reader)
        return parsed

    def _match(self, exact: list[str], folded: list[str] | tuple[str, ...], diacritics: bool) -> Query:
        query = _term_or_phrase("folded", folded)
        if diacritics:
            return Or([exact_phrase(exact, folded, boost=EXACT_BOOST), query])
        return query

    def _with_synonyms(self, exact: list[str], folded: list[str], diacritics: bool, parsed: ParsedQuery) -> Query:
        """The typed words, or any other form of them from the synonym table."""
        parsed.highlight.update(folded)
        spans = self.synonyms.find(folded)
        if len(spans) == 1 and spans[0][:2] == (0, len(folded)):
            alternatives = [alt for alt in spans[0][2] if list(alt) != folded]
            for alt in alternatives:
                parsed.highlight.update(alt)
            return Or(
                [self._match(exact, folded, diacritics)] + [_term_or_phrase("folded", alt) for alt in alternatives]
            )
        return self._match(exact, folded, diacritics)

    def _item(self, item: Item, diacritics: bool, parsed: ParsedQuery) -> Query:
        exact, folded = _words(item.text)
        if not folded:
            raise QueryError(f"{item.text!r} has no letters or digits to search for")
        return self._with_synonyms(exact, folded, diacritics, parsed)

    def _exclusion(self, item: Item) -> list[Query]:
        exact, folded = _words(item.text)
        if not folded:
            return []
        if has_diacritics(item.text):
            return [exact_phrase(exact, folded)]
        return [_term_or_phrase("folded", folded)]

    def _flush(self, run: list[Item], diacritics: bool, parsed: ParsedQuery) -> None:
        """Clauses for consecutive plain words: synonym spans, compounds, single words."""
        tokens: list[tuple[str, str, int]] = []
        for chunk, item in enumerate(run):
            exact, folded = _words(item.text)
            tokens.extend((e, f, chunk) for e, f in zip(exact, folded))
        if not tokens:
            return
        folded_seq = [t[1] for t in tokens]
        starts = {0} | {i for i in range(1, len(tokens)) if tokens[i][2] != tokens[i - 1][2]}
        spans = {
            start: end
            for start, end, _ in self.synonyms.find(folded_seq)
            if start in starts and (end in starts or end == len(tokens))
        }
        alone: set[int] = set()  # tokens that are a clause by themselves
        pos = 0
        while pos < len(tokens):
            end = spans.get(pos)
            if end is None:
                end = pos + 1
                while end < len(tokens) and tokens[end][2] == tokens[pos][2]:
                    end += 1
            span = tokens[pos:end]
            parsed.clauses.append(self._with_synonyms([t[0] for t in span], [t[1] for t in span], diacritics, parsed))
            if end == pos + 1:
                alone.add(pos)
                parsed.words[len(parsed.clauses) - 1] = span[0][1]
            pos = end
        _add_pairs(folded_seq, alone, parsed)
