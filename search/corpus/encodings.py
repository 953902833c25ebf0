"""Decoding the legacy encodings Vietnamese archives really hold, to Unicode.

Besides UTF-8, old newsroom files come as UTF-16 with a byte-order mark (Windows "Unicode"),
Windows-1258 (tone marks as separate combining characters), or text typed with the VNI or
TCVN3 (ABC) fonts: 8-bit glyph codes that show as Vietnamese only in those fonts and as
"Vieät Nam" or "ViÖt Nam" anywhere else. Such text sometimes arrives already "converted" to
Unicode code points of those glyphs (an HTML page styled with the font), so it is recognised in
decoded text too.

There is no marker for which one a file is, so every candidate is decoded and judged by whether
the result reads as Vietnamese: letters outside the Vietnamese alphabet and words carrying two
tone marks give a wrong decoding away. When no candidate reads cleanly, or two different ones
do, the text is refused with the reason rather than indexed as mojibake.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

#: TCVN3 (ABC) glyph codes, as their Latin-1 code points, and the letters they stand for. The
#: capitals with tone marks share the lower-case codes (a capitals font draws them), so those
#: read back in lower case.
_TCVN3 = dict(
    zip(
        "µ¸¶·¹¨»¾¼½Æ©ÇÊÈÉË®ÌÐÎÏÑªÒÕÓÔÖ×ÝØÜÞßãáâä«åèæçé¬êíëìîïóñòô\xadõøö÷ùúýûüþ¡¢§£¤¥¦",
        "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĂÂĐÊÔƠƯ",
    )
)
_TCVN3_TABLE: dict[int, str | int | None] = {ord(glyph): letter for glyph, letter in _TCVN3.items()}

_VNI_TONES = {"ù": "\u0301", "ø": "\u0300", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_VNI_TONES_UPPER = {"Ù": "\u0301", "Ø": "\u0300", "Û": "\u0309", "Õ": "\u0303", "Ï": "\u0323"}
#: VNI tone codes after â/ê/ô (circumflex) and ă (breve) bases, where they take other glyphs.
_VNI_HAT_TONES = {"á": "\u0301", "à": "\u0300", "å": "\u0309", "ã": "\u0303", "ä": "\u0323"}
_VNI_BREVE_TONES = {"é": "\u0301", "è": "\u0300", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}


def _vni_table() -> dict[str, str]:
    """VNI (Windows) glyph sequences, as Latin-1 text, and the letters they stand for."""
    table: dict[str, str] = {}
    for upper in (False, True):
        case = str.upper if upper else str.lower
        tones = {case(k): v for k, v in (_VNI_TONES_UPPER if upper else _VNI_TONES).items()}
        hat_tones = {case(k): v for k, v in _VNI_HAT_TONES.items()}
        breve_tones = {case(k): v for k, v in _VNI_BREVE_TONES.items()}
        for vowel in "aeiouy":
            for code, mark in tones.items():
                table[case(vowel) + code] = case(vowel) + mark
        for vowel in "aeo":  # â ê ô: "aâ", and with a tone "aá" for ấ
            table[case(vowel) + case("â")] = case(vowel) + "\u0302"
            for code, mark in hat_tones.items():
                table[case(vowel) + code] = case(vowel) + "\u0302" + mark
        table[case("a") + case("ê")] = case("a") + "\u0306"  # ă
        for code, mark in breve_tones.items():
            table[case("a") + code] = case("a") + "\u0306" + mark
        for base, letter in (("ô", "o\u031b"), ("ö", "u\u031b")):  # ơ ư, alone or with a tone
            table[case(base)] = case(letter)
            for code, mark in tones.items():
                table[case(base) + code] = case(letter) + mark
        table[case("ñ")] = case("đ")
        # i and y have single-code glyphs for some tones
        table[case("æ")] = case("i") + "\u0309"
        table[case("ó")] = case("i") + "\u0303"
        table[case("ò")] = case("i") + "\u0323"
        table[case("î")] = case("y") + "\u0323"
    return {k: unicodedata.normalize("NFC", v) for k, v in table.items()}


_VNI = _vni_table()
_VNI_RE = re.compile("|".join(sorted(map(re.escape, _VNI), key=len, reverse=True)))

_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
#: Non-ASCII characters ordinary Vietnamese text has besides letters.
_PUNCTUATION = frozenset("\u00a0“”‘’–—…•°€·«»×÷±©®§¶\ufeff\u20ab")
_WORD_RE = re.compile(r"[^\W\d_]+")
_VOWELS = (
    "a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo ua uâ uê ui uô uơ "
    "ưa ưi ươ ưu uy yê iêu oai oay oao oeo uây uôi ươi ươu uya uyê uyu yêu"
).split()
#: One Vietnamese syllable, tone marks removed: onset, vowel cluster, final consonant.
_SYLLABLE_RE = re.compile(
    r"^(?:ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdđghklmnprstvx])?"
    rf"(?:{'|'.join(sorted(_VOWELS, key=len, reverse=True))})"
    r"(?:ch|ng|nh|[cmnpt])?$"
)


class EncodingError(ValueError):
    """Text whose encoding cannot be told, with the reason for a person."""


@dataclass(frozen=True)
class Decoded:
    text: str
    #: "utf-8", "utf-16", "windows-1258", "vni", "tcvn3"
    encoding: str


def is_syllable(word: str) -> bool:
    """Whether `word` is spelled as one Vietnamese syllable: at most one tone mark, on a vowel
    cluster the language has, between an onset and a final it has."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(1 for c in decomposed if c in _TONE_MARKS) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    return _SYLLABLE_RE.match(bare) is not None


def badness(text: str) -> tuple[int, int]:
    """(signs of a wrong decoding, Vietnamese words with diacritics) in `text`.

    A sign is a word with non-ASCII letters that is no Vietnamese syllable, or a non-ASCII
    character that is neither a letter nor ordinary punctuation (a control, a stray symbol).
    """
    text = unicodedata.normalize("NFC", text)
    bad = sum(1 for c in text if not c.isascii() and not c.isalpha() and not c.isspace() and c not in _PUNCTUATION)
    good = 0
    for word in _WORD_RE.findall(text):
        if word.isascii():
            continue
        if is_syllable(word):
            good += 1
        else:
            bad += 1
    return bad, good


def _reads_as_vietnamese(text: str) -> bool:
    """Few enough signs of a wrong decoding: a foreign name or a stray symbol is allowed."""
    bad, good = badness(text)
    return bad <= max(1, (bad + good) // 50)


def from_vni(text: str) -> str:
    """Text typed with a VNI font (its glyph codes as Latin-1 characters) in Unicode."""
    return _VNI_RE.sub(lambda m: _VNI[m.group(0)], text)


def from_tcvn3(text: str) -> str:
    """Text typed with a TCVN3 (ABC) font (its glyph codes as Latin-1 characters) in Unicode."""
    return text.translate(_TCVN3_TABLE)


def _font_candidates(glyphs: str) -> list[Decoded]:
    return [Decoded(from_vni(glyphs), "vni"), Decoded(from_tcvn3(glyphs), "tcvn3")]


def _pick(candidates: list[Decoded], tried: str) -> Decoded:
    clean = [c for c in candidates if _reads_as_vietnamese(c.text) and badness(c.text)[1]]
    distinct = {unicodedata.normalize("NFC", c.text) for c in clean}
    if not clean:
        raise EncodingError(f"cannot tell the encoding: none of {tried} gives Vietnamese text")
    if len(distinct) > 1:
        names = " and ".join(c.encoding for c in clean)
        raise EncodingError(f"cannot tell the encoding: the text reads as {names} alike")
    return clean[0]


def repair_font_text(text: str) -> str:
    """`text` converted from VNI or TCVN3 glyph codes when that is what it clearly is
    (a page styled with such a font), else as it is."""
    if _reads_as_vietnamese(text):
        return text
    try:
        return _pick(_font_candidates(text), "VNI, TCVN3").text
    except EncodingError:
        return text


def decode_text(data: bytes) -> Decoded:
    """The text in `data` as Unicode (NFC is left to `search.text.normalize`), and what it was.

    UTF-16 needs its byte-order mark (without one it cannot be told from other encodings);
    UTF-8 text that is really VNI or TCVN3 glyph codes is converted as well.
    """
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return Decoded(data.decode(codec), codec)
            except UnicodeDecodeError as exc:
                raise EncodingError(f"broken {codec.upper()} text (bad bytes at offset {exc.start})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if "\x00" in text:
            raise EncodingError("binary data, not text (contains NUL bytes; UTF-16 without a byte-order mark?)")
        if _reads_as_vietnamese(text):
            return Decoded(text, "utf-8")
        try:  # glyph codes of a VNI or TCVN3 font stored as Unicode characters
            return _pick(_font_candidates(text), "VNI, TCVN3")
        except EncodingError:
            return Decoded(text, "utf-8")  # not font codes either: UTF-8 is what it says it is
    if b"\x00" in data:
        raise EncodingError("binary data, not text (contains NUL bytes; UTF-16 without a byte-order mark?)")
    candidates = [Decoded(data.decode("cp1258", errors="replace"), "windows-1258")]
    candidates += _font_candidates(data.decode("cp1252", errors="replace"))
    return _pick(candidates, "UTF-8, Windows-1258, VNI, TCVN3")
