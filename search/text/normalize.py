"""Character-level normalisation shared by the corpus reader, the analyzer and the highlighter.

Every entry point (corpus files, queries, stored text) goes through `normalize` so that NFD
input, the Icelandic eth used for "Đ" and invisible characters never reach the tokenizer.
`fold` is length-preserving on purpose: a character offset in folded text is the same offset
in the original, which lets the highlighter mark stored text without re-analysing it.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np
from unidecode import unidecode

#: A word is a run of letters and digits; everything else (spaces, "-", "/", ".", ",", "%",
#: "&", "_") separates words. Document numbers like "96/NQ-BCS" become the words 96, NQ, BCS
#: at consecutive positions, so phrase queries find them as written.
WORD_RE = re.compile(r"[^\W_]+")

_NORMALIZE = {
    0x00D0: "\u0110",  # Ð (eth) typed for Đ
    0x00F0: "\u0111",  # ð typed for đ
    0x00A0: " ",  # no-break space
    0x2007: " ",
    0x202F: " ",
    0x200B: None,  # zero-width space
    0x200C: None,  # zero-width non-joiner
    0x200D: None,  # zero-width joiner
    0x2060: None,  # word joiner
    0xFEFF: None,  # byte-order mark / zero-width no-break space
    0x00AD: None,  # soft hyphen
}


#: The same as a pattern: `str.translate` with a dict looks up every character (most of a no-op
#: reindex's time), a regex scan only stops at the few it has to replace.
_NORMALIZE_RE = re.compile("[" + "".join(map(chr, _NORMALIZE)) + "]")
_REPLACEMENTS = {chr(code): value or "" for code, value in _NORMALIZE.items()}


def normalize(text: str) -> str:
    """Return `text` in NFC with look-alike and invisible characters resolved.

    Invisible characters are removed before composing, since one between a base letter and its
    combining tone mark would otherwise keep them apart.
    """
    return unicodedata.normalize("NFC", _NORMALIZE_RE.sub(lambda m: _REPLACEMENTS[m.group()], text))


class _FoldTable(dict):
    """A `str.translate` table filled on first use: lower case, no diacritics, one char each."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        lower = char.lower()
        if len(lower) != 1:
            lower = char
        base = unicodedata.normalize("NFD", lower)[0]
        if base in "đđ":
            folded = "d"
        elif base.isascii() or unicodedata.combining(base):
            folded = base
        else:
            ascii_form = unidecode(base)
            folded = ascii_form.lower() if len(ascii_form) == 1 and ascii_form.isalnum() else base
        self[code] = folded
        return folded


_FOLD = _FoldTable()


#: The same table as an array over the Basic Multilingual Plane, for folding whole articles:
#: `str.translate` looks every character up in a dict (most of a snippet's time), an array
#: lookup over the UTF-16 code units is several times faster.
#: Filled from `_FOLD` as characters are met; `_UNSET` (a surrogate: never a folded character,
#: and strict UTF-16 encoding refuses lone surrogates) marks the ones not looked up yet.
_UNSET = 0xD800
_FOLD_ARRAY = np.full(0x10000, _UNSET, dtype=np.uint16)
#: Below this length `str.translate` is faster than the array's fixed costs.
_ARRAY_MIN_CHARS = 64


def fold(text: str) -> str:
    """Lower-case `text` and strip its diacritics ("Đ" becomes "d"), one character for one.

    Call it on normalised (NFC) text: a stray combining mark is kept as it is.
    """
    if len(text) < _ARRAY_MIN_CHARS:
        return text.translate(_FOLD)
    try:
        units = text.encode("utf-16-le")
    except UnicodeEncodeError:  # a lone surrogate
        return text.translate(_FOLD)
    if len(units) != 2 * len(text):  # characters beyond the BMP take two code units
        return text.translate(_FOLD)
    codes = np.frombuffer(units, dtype=np.uint16)
    try:
        # The text holds no surrogate and no folded character is one, so an entry not looked
        # up yet is the only lone surrogate there can be, and strict decoding finds it: no
        # second pass over the array to look for one.
        return _FOLD_ARRAY.take(codes).tobytes().decode("utf-16-le")
    except UnicodeDecodeError:
        pass
    for code in np.unique(codes[_FOLD_ARRAY.take(codes) == _UNSET]).tolist():
        value = ord(_FOLD[code])
        if value > 0xFFFF or 0xD800 <= value <= 0xDFFF:  # not one BMP code unit
            return text.translate(_FOLD)
        _FOLD_ARRAY[code] = value
    return _FOLD_ARRAY.take(codes).tobytes().decode("utf-16-le")


#: Per BMP code unit: 0 not looked up yet, 1 when the character and its folded form are both
#: word characters (`WORD_RE`) or both not, 2 when folding changes that ("×" folds to "x").
_KEEPS_WORDS = np.zeros(0x10000, dtype=np.uint8)
_WORD_CHAR = re.compile(r"[^\W_]")


def fold_keeps_words(text: str) -> bool:
    """True when folding changes no character of `text` into or out of a word character: then
    the words of `fold(text)` are the folded words of `text`, and a caller holding the words
    folds those instead of the whole text again. False for text beyond the BMP (not checked)."""
    try:
        units = text.encode("utf-16-le")
    except UnicodeEncodeError:
        return False
    if len(units) != 2 * len(text):
        return False
    codes = np.frombuffer(units, dtype=np.uint16)
    found = _KEEPS_WORDS.take(codes)
    if (found == 1).all():
        return True
    for code in np.unique(codes[found == 0]).tolist():
        char, folded = chr(code), _FOLD[code]
        same = len(folded) == 1 and (_WORD_CHAR.match(char) is None) == (_WORD_CHAR.match(folded) is None)
        _KEEPS_WORDS[code] = 1 if same else 2
    return bool((_KEEPS_WORDS.take(codes) == 1).all())


def has_diacritics(text: str) -> bool:
    """True when folding changes more than the case: the user typed Vietnamese marks."""
    return fold(text) != text.lower()


# Tone placement

_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VOWEL_MARKS = {"a\u0302": "â", "a\u0306": "ă", "e\u0302": "ê", "o\u0302": "ô", "o\u031b": "ơ", "u\u031b": "ư"}
_HATTED = frozenset("âăêôơư")
_LETTERS = frozenset("abcdeghiklmnopqrstuvxyđ") | _HATTED
#: Onset, vowel cluster and final of a toneless syllable. "gi" and "qu" are tried as onsets
#: first; "gì" and "gìn" backtrack to the onset "g" so that "i" is the vowel.
_SYLLABLE_RE = re.compile(
    r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx]?)"
    r"([aăâeêioôơuưy]{1,3})"
    r"(ch|ng|nh|[cmnpt]?)"
)


def _split_letter(char: str) -> tuple[str, str] | None:
    """The toneless lower-case Vietnamese letter in `char` and its tone mark ("" if none);
    None when `char` is not a Vietnamese letter."""
    decomposed = unicodedata.normalize("NFD", char.lower())
    base, marks = decomposed[0], decomposed[1:]
    tones = [m for m in marks if m in _TONE_MARKS]
    rest = "".join(m for m in marks if m not in _TONE_MARKS)
    letter = _VOWEL_MARKS.get(base + rest) if rest else base
    if letter not in _LETTERS or len(tones) > 1:
        return None
    return letter, "".join(tones)


def _tone_index(onset: str, vowels: str, final: str) -> int:
    """Where the old style puts the tone: on the hatted or horned vowel (the last one, for
    "ươ"); else on the last vowel of a closed syllable ("toán"); else on the second-to-last
    vowel ("hòa", "thủy", "khoái")."""
    hatted = [i for i, vowel in enumerate(vowels) if vowel in _HATTED]
    if hatted:
        index = hatted[-1]
    elif final:
        index = len(vowels) - 1
    else:
        index = max(len(vowels) - 2, 0)
    return len(onset) + index


@functools.lru_cache(maxsize=1 << 16)
def _canonical_word(word: str) -> str:
    split = [_split_letter(char) for char in word]
    letters = [part for part in split if part is not None]
    if len(letters) != len(split):
        return word
    tones = [(i, tone) for i, (_, tone) in enumerate(letters) if tone]
    syllable = _SYLLABLE_RE.fullmatch("".join(letter for letter, _ in letters))
    if len(tones) != 1 or syllable is None:
        return word
    (current, tone), target = tones[0], _tone_index(*syllable.groups())
    if current == target:
        return word
    chars = list(word)
    for i in (current, target):
        composed = unicodedata.normalize("NFC", letters[i][0] + (tone if i == target else ""))
        chars[i] = composed.upper() if word[i].isupper() else composed
    return "".join(chars)


def _canonical_match(match: re.Match[str]) -> str:
    word, end = match.group(), match.end()
    if word.isascii() or (end < len(match.string) and unicodedata.category(match.string[end])[0] == "M"):
        return word  # no tone mark, or a stray combining mark follows that would recompose
    return _canonical_word(word)


def canonical_tones(text: str) -> str:
    """Put each Vietnamese syllable's tone mark where the old style puts it ("hòa", "thúy",
    "khỏe", "ủy"), keeping case and length.

    Both placements are in everyday use, often in the same article, and a reader does not see
    them as different words; without this "hoà" would not find "hòa". The old style is the
    majority in our corpus. Words that do not parse as one Vietnamese syllable are left alone.
    """
    return text if text.isascii() else WORD_RE.sub(_canonical_match, text)
