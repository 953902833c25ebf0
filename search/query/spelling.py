""" "Did you mean": the accented form of a query typed without marks, or a misspelling corrected.

Everything comes from the index itself, so it speaks the archive's language: the exact field
says which accented spellings of a word exist and how common they are, the pair field says
which words stand together, and the hits already found say how the query's words are written
in the articles that matched ("bao hiem xa hoi" is "bảo hiểm xã hội" there, not "báo hiểm").
Lexicon lookups are cached per index generation, so a suggestion costs a few dictionary hits
for words seen before; with a `TermCounts`, the counts behind them are kept per segment across
generations, so after a commit only the new segments are asked again.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from whoosh.reading import IndexReader

from search.index.engine.segments import TermCounts
from search.query.parse import OR
from search.text.analysis import pair
from search.text.normalize import (
    WORD_RE,
    canonical_tones,
    fold,
    has_diacritics,
    normalize,
)

#: The marked letters a reader typing without marks may have meant, per unmarked letter.
_BASES = {"a": "aăâ", "e": "eê", "o": "oôơ", "u": "uư", "d": "dđ"}
_VOWELS = frozenset("aăâeêioôơuưy")
_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
#: Words longer than this are not Vietnamese syllables: names, numbers, foreign words.
_MAX_SYLLABLE = 7
#: Context counts this much more than a lone occurrence when reading forms off the hits.
_CONTEXT_WEIGHT = 4
#: A word in at most this many articles may be a typo there too ("nhiệu quả")...
_RARE = 3
#: ...when the word suggested instead is in this many times more articles.
_COMMONER = 3
#: Suggestions are for what people type into a search box, not for pasted paragraphs.
MAX_SUGGEST_WORDS = 12


@dataclass(frozen=True)
class HitText:
    """A hit's text with its folded copy and the words a caller already found in it (the
    highlighter, for the same hit), so that the speller neither folds nor scans it again.

    `pieces` are (offset, matches) pairs: `matches` are (start, end, folded word) of every
    whole-word occurrence of the words of `searched` in the part of `folded` that starts at
    `offset`, offsets relative to that part, and the parts together cover `folded`.
    """

    text: str
    folded: str
    pieces: Sequence[tuple[int, Sequence[tuple[int, int, str]]]]
    searched: frozenset[str]


def accented_forms(folded: str) -> list[str]:
    """Every way to put Vietnamese marks on a folded syllable, tone marks in canonical place
    ("bao" gives bao, bào, báo, bảo, bão, bạo, băo...); empty for words that cannot be one."""
    if len(folded) > _MAX_SYLLABLE or not folded.isascii() or not folded.isalpha():
        return []
    forms = set()
    for letters in itertools.product(*(_BASES.get(char, char) for char in folded)):
        vowels = [i for i, char in enumerate(letters) if char in _VOWELS]
        if not vowels:
            continue
        for index, tone in itertools.product(vowels, _TONES[1:]):
            marked = list(letters)
            marked[index] = unicodedata.normalize("NFC", marked[index] + tone)
            forms.add(canonical_tones("".join(marked)))
        forms.add("".join(letters))
    return sorted(forms)


@functools.lru_cache(maxsize=1 << 12)
def _accented_forms(folded: str) -> tuple[str, ...]:
    """`accented_forms`, kept for the process: they depend on the word alone, so a word met
    again after a commit (a new speller) is not spelt out again."""
    return tuple(accented_forms(folded))


@functools.lru_cache(maxsize=1 << 14)
def _form(written: str) -> str:
    """A word as written in a hit, as a suggestion gives it: canonical, lower case (the same
    few thousand syllables are met again and again)."""
    return canonical_tones(written.lower())


def _one_deleted(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))} - {""}


def _cased(form: str, typed: str) -> str:
    """`form` in the case the reader typed."""
    if typed.isupper() and len(typed) > 1:
        return form.upper()
    if typed[:1].isupper():
        return form[:1].upper() + form[1:]
    return form


class Speller:
    """Did-you-mean suggestions for one index generation (one reader); make a new one per generation."""

    def __init__(self, reader: IndexReader, counts: TermCounts | None = None) -> None:
        """`counts`: per-segment document frequencies shared with earlier generations."""
        self.reader = reader
        self.counts = counts
        self.known = functools.lru_cache(maxsize=1 << 16)(self._known)
        self.spellings = functools.lru_cache(maxsize=1 << 14)(self._spellings)

    def _known(self, field: str, text: str) -> int:
        if self.counts is not None:
            return self.counts.doc_frequency(self.reader, field, text)
        return self.reader.doc_frequency(field, text)

    def _spellings(self, folded: str) -> tuple[tuple[str, int], ...]:
        """The accented forms of `folded` that occur in the index, most common first. The exact
        and folded fields index the same words of the same text, so an article with an accented
        form has its folded form too: a folded word the index lacks has none, and its forms (a
        few hundred for a syllable of six letters, each looked up in every segment: most of a
        correction's time, the bases it tries being mostly no words at all) are not asked for."""
        if not self.known("folded", folded):
            return ()
        forms = _accented_forms(folded)
        if self.counts is not None:  # all the forms asked of each segment at once
            found = zip(forms, self.counts.doc_frequencies(self.reader, "exact", forms))
        else:
            found = zip(forms, map(functools.partial(self.known, "exact"), forms))
        return tuple(sorted(((form, n) for form, n in found if n), key=lambda item: -item[1]))

    def suggest(self, text: str, hit_texts: Iterable[str | HitText] = ()) -> str | None:
        """The query as the reader most likely meant it, or None when it is fine as typed.

        Without marks: each word takes the accented form it has where the query's words occur
        in `hit_texts` (next to the neighbouring query word counts most), else its commonest
        form in the index. With marks: a word the index has never seen is replaced by the
        nearest known word (a letter less, or other marks) that best fits its neighbours.
        """
        text = normalize(text)
        # "OR" between two words is the operator (`parse.lex`), not a word to correct.
        matches = [m for m in WORD_RE.finditer(text) if m.group() != OR.text]
        if not matches or len(matches) > MAX_SUGGEST_WORDS:
            return None
        typed = [m.group() for m in matches]
        folded = [fold(word) for word in typed]
        if has_diacritics(text):
            forms = self._corrected(typed, folded)
        else:
            forms = self._accented(typed, folded, list(hit_texts))
        pieces, last = [], 0
        for match, word, form in zip(matches, typed, forms):
            pieces += [text[last : match.start()], word if form is None else _cased(form, word)]
            last = match.end()
        suggestion = "".join(pieces) + text[last:]
        return None if suggestion == text else suggestion

    def _accented(
        self, typed: Sequence[str], folded: Sequence[str], hit_texts: list[str | HitText]
    ) -> list[str | None]:
        # An acronym or a number stays as typed: when every word is one, the hits are not read.
        as_typed = [
            word.isupper() and len(word) > 1 or not query_word.isalpha() for word, query_word in zip(typed, folded)
        ]
        if all(as_typed):
            return [None] * len(typed)
        # Each query word's places, with the query words before and after each (None: none).
        places: dict[str, list[tuple[int, str | None, str | None]]] = {}
        for i, query_word in enumerate(folded):
            previous = folded[i - 1] if i else None
            following = folded[i + 1] if i + 1 < len(folded) else None
            places.setdefault(query_word, []).append((i, previous, following))
        bigrams = set(zip(folded, folded[1:]))
        # Only the query's words are visited in the hits, not every word of every hit (that was
        # most of a search's time). A neighbour that counts as context is itself a query word,
        # so it is the previous or next occurrence, when no other word stands between them.
        tokens = sorted((word for word in places if WORD_RE.fullmatch(word)), key=lambda w: (-len(w), w))
        # Where the caller found these words already (with others), its matches are kept; else
        # a pattern starting with the words themselves lets the regex engine skip to their
        # first letters, and the word start is checked on what it finds (no word starts inside
        # a found word): the same occurrences either way.
        pattern: re.Pattern[str] | None = None
        wanted = frozenset(tokens)
        # (folded word, form) -> occurrences, in the order each was first seen; and (two query
        # words standing together, their forms there) -> how often: the places of the two words
        # are visited once per distinct pair at the end, not at every occurrence.
        seen: Counter[tuple[str, str]] = Counter()
        together: Counter[tuple[str, str, str, str]] = Counter()
        search = WORD_RE.search
        for given in hit_texts if tokens else ():
            if isinstance(given, HitText) and wanted <= given.searched:
                hit, folded_hit = given.text, given.folded
                found = [(a + at, b + at, word) for at, part in given.pieces for a, b, word in part if word in wanted]
            else:
                hit = given.text if isinstance(given, HitText) else given
                folded_hit = given.folded if isinstance(given, HitText) else fold(hit)
                if pattern is None:
                    pattern = re.compile(r"(?:" + "|".join(map(re.escape, tokens)) + r")(?![^\W_])")
                found = [
                    (m.start(), m.end(), m.group())
                    for m in pattern.finditer(folded_hit)
                    if not m.start() or not folded_hit[m.start() - 1].isalnum()
                ]
            words = [word for _, _, word in found]
            forms = list(map(_form, [hit[start:end] for start, end, _ in found]))
            seen.update(zip(words, forms))
            # Context: two consecutive query words found with no other word between them.
            pairs = zip(words, words[1:])
            for k in itertools.compress(itertools.count(), map(bigrams.__contains__, pairs)) if bigrams else ():
                if search(folded_hit, found[k][1], found[k + 1][0]) is None:
                    together[words[k], words[k + 1], forms[k], forms[k + 1]] += 1
        # Per place, form -> the occurrences there next to the query's neighbouring word.
        context: list[Counter[str]] = [Counter() for _ in folded]
        for (first, second, first_form, second_form), n in together.items():
            for i, _, following in places[first]:
                if following == second:
                    context[i][first_form] += n
            for i, previous, _ in places[second]:
                if previous == first:
                    context[i][second_form] += n
        counts: list[Counter[str]] = [Counter() for _ in folded]
        for (word, form), n in seen.items():
            for i, _, _ in places[word]:
                counts[i][form] = n + _CONTEXT_WEIGHT * context[i][form]
        forms_found: list[str | None] = []
        for kept, count, query_word in zip(as_typed, counts, folded):
            if kept:
                forms_found.append(None)
            elif count:
                forms_found.append(count.most_common(1)[0][0])
            else:
                spellings = self.spellings(query_word)
                forms_found.append(spellings[0][0] if spellings else None)
        return forms_found

    def _corrected(self, typed: Sequence[str], folded: Sequence[str]) -> list[str | None]:
        """A word is replaced when the index has never seen it, or has seen it rarely (a typo
        in some article) next to these neighbours while a common near word fits them better."""
        forms: list[str | None] = []
        for i, word in enumerate(typed):
            exact = canonical_tones(word.lower())
            seen = self.known("exact", exact)
            if not word.isalpha() or len(exact) > _MAX_SYLLABLE or seen > _RARE:
                forms.append(None)
                continue
            candidates = {form for form in _one_deleted(exact) if self.known("exact", form)}
            for base in {folded[i], *_one_deleted(folded[i])}:
                candidates.update(form for form, _ in self.spellings(base))
            candidates.discard(exact)
            best = max(candidates, key=lambda form: self._fit(form, i, folded), default=None)
            if best is not None and seen:
                fits, typed_fits = self._fit(best, i, folded), self._fit(exact, i, folded)
                if fits[0] <= typed_fits[0] or fits[1] < _COMMONER * seen:
                    best = None
            forms.append(best)
        return forms

    def _fit(self, form: str, i: int, folded: Sequence[str]) -> tuple[int, int, str]:
        """How well `form` fits at position `i`: articles where it stands next to the query's
        neighbouring words, then articles with it at all (then the spelling, for a stable order)."""
        near = fold(form)
        neighbours = []
        if i > 0:
            neighbours.append(pair(folded[i - 1], near))
        if i + 1 < len(folded):
            neighbours.append(pair(near, folded[i + 1]))
        return sum(self.known("pairs", term) for term in neighbours), self.known("exact", form), form
