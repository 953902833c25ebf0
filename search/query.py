"""Query text -> Whoosh queries, the way a journalist types it.

Syntax: words (articles with all of them rank first), "quoted phrases", `-word` or `-"phrase"`
to exclude, and `OR` between two items. Every word is looked up in the folded field; when the
query carries diacritics it is looked up in the exact field too, so exact matches add a second
score and rank above fold-only matches. Acronyms and their full forms are expanded both ways
from the synonym table, and adjacent words add a phrase bonus so a multi-syllable word scores
as a unit. Characters outside words ("*", "?", "(", ":") are separators: nothing in the syntax
expands into the vocabulary, so no query can enumerate the index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh.query import And, AndMaybe, AndNot, Or, Phrase, Query, Term

from search.acronyms import SynonymTable
from search.analysis import exact_analyzer, folded_analyzer
from search.text import WORD_RE, has_diacritics, normalize

MAX_QUERY_CHARS = 500
MAX_WORDS = 40
#: Words counted as typed, repeats, excluded words and "OR" included: each one is a clause or
#: a nesting level in the Whoosh query, so this bounds its size whatever the distinct words.
MAX_TERMS = 64

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
    return [t.text for t in _EXACT(text)], [t.text for t in _FOLDED(text)]


def _term_or_phrase(fieldname: str, words: list[str] | tuple[str, ...]) -> Query:
    return Term(fieldname, words[0]) if len(words) == 1 else Phrase(fieldname, list(words))


@dataclass
class ParsedQuery:
    """The clauses of a query, ready to be combined for each search tier."""

    clauses: list[Query] = field(default_factory=list)
    boosts: list[Query] = field(default_factory=list)
    excluded: list[Query] = field(default_factory=list)
    highlight: set[str] = field(default_factory=set)

    def _finish(self, positive: Query) -> Query:
        if self.boosts:
            positive = AndMaybe(positive, Or(self.boosts))
        if self.excluded:
            positive = AndNot(positive, Or(self.excluded))
        return positive

    def all_words(self) -> Query:
        """Articles matching every clause: the first tier of results."""
        return self._finish(And(self.clauses) if len(self.clauses) > 1 else self.clauses[0])

    def any_word(self) -> Query:
        """Articles matching at least one clause: every result, whatever its tier."""
        return self._finish(Or(self.clauses) if len(self.clauses) > 1 else self.clauses[0])

    @property
    def tiered(self) -> bool:
        """True when some results match only part of the query (a second tier exists)."""
        return len(self.clauses) > 1


class QueryBuilder:
    """Turns query text into a `ParsedQuery` using one synonym table (acronyms)."""

    def __init__(self, synonyms: SynonymTable) -> None:
        self.synonyms = synonyms

    def parse(self, text: str) -> ParsedQuery:
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
            after_or = (index > 1 and items[index - 1] is OR and items[index - 2] is not OR
                        and not items[index - 2].negated and not item.negated)
            if item.negated:
                parsed.excluded.extend(self._exclusion(item))
            elif after_or:
                parsed.clauses[-1] = Or([parsed.clauses[-1], self._item(item, diacritics, parsed)])
            elif joined or item.phrase:
                self._flush(run, diacritics, parsed)
                run = []
                parsed.clauses.append(self._item(item, diacritics, parsed))
            else:
                run.append(item)
        self._flush(run, diacritics, parsed)
        if not parsed.clauses:
            raise QueryError("the query has no words to search for" if not parsed.excluded
                             else "the query only excludes words; add a word to search for")
        if len(parsed.highlight) > MAX_WORDS:
            raise QueryError(f"the query has more than {MAX_WORDS} distinct words")
        return parsed

    def _match(self, exact: list[str], folded: list[str] | tuple[str, ...], diacritics: bool) -> Query:
        query = _term_or_phrase("folded", folded)
        if diacritics:
            return Or([_term_or_phrase("exact", exact), query])
        return query

    def _with_synonyms(self, exact: list[str], folded: list[str], diacritics: bool, parsed: ParsedQuery) -> Query:
        """The typed words, or any other form of them from the synonym table."""
        parsed.highlight.update(folded)
        spans = self.synonyms.find(folded)
        if len(spans) == 1 and spans[0][:2] == (0, len(folded)):
            alternatives = [alt for alt in spans[0][2] if list(alt) != folded]
            for alt in alternatives:
                parsed.highlight.update(alt)
            return Or([self._match(exact, folded, diacritics)]
                      + [_term_or_phrase("folded", alt) for alt in alternatives])
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
            return [_term_or_phrase("exact", exact)]
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
        spans = {start: end for start, end, _ in self.synonyms.find(folded_seq)
                 if start in starts and (end in starts or end == len(tokens))}
        pos = 0
        while pos < len(tokens):
            end = spans.get(pos)
            if end is None:
                end = pos + 1
                while end < len(tokens) and tokens[end][2] == tokens[pos][2]:
                    end += 1
            span = tokens[pos:end]
            parsed.clauses.append(self._with_synonyms([t[0] for t in span], [t[1] for t in span], diacritics, parsed))
            if pos > 0:
                pair = tokens[pos - 1:pos + 1]
                parsed.boosts.append(self._match([t[0] for t in pair], [t[1] for t in pair], diacritics))
            pos = end
