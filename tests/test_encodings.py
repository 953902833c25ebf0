"""Legacy encodings, on files written the way old Vietnamese archives hold them."""

import gzip
import unicodedata
from pathlib import Path

import pytest

from search.corpus.encodings import EncodingError, decode_text, from_tcvn3, from_vni, is_syllable, repair_font_text
from search.corpus.errors import ParseError
from search.corpus.files import iter_corpus
from search.text.normalize import normalize

TITLE = "Bảo hiểm xã hội tỉnh Quảng Ngãi chi trả lương hưu"
BODY = (
    "Năm 2022, Bảo hiểm xã hội tỉnh Quảng Ngãi đã chi trả lương hưu và trợ cấp hằng tháng cho hơn "
    "40.000 người, đúng thời hạn. Người lao động được hưởng chế độ ốm đau, thai sản theo Nghị quyết "
    "của Chính phủ về cải cách chính sách."
)
ARTICLE = f"{TITLE}\n\n{BODY}\n"


# Glyph codes as the fonts' own documentation lists them, written out by hand here (not by
# inverting the converter's tables) so that a wrong table entry fails a test.
@pytest.mark.parametrize(
    ("vni", "unicode"),
    [
        ("Vieät Nam", "Việt Nam"),
        ("Tieáng Vieät", "Tiếng Việt"),
        ("Haø Noäi", "Hà Nội"),
        ("ngöôøi", "người"),
        ("ñöôïc", "được"),
        ("Nghò quyeát", "Nghị quyết"),
        ("thaùng", "tháng"),
        ("nghóa", "nghĩa"),
        ("tæ leä", "tỉ lệ"),
        ("kyû luïc", "kỷ lục"),
        ("Myõ", "Mỹ"),
        ("taêng", "tăng"),
        ("naém", "nắm"),
        ("ÑAÛNG", "ĐẢNG"),
        ("ÔÛ", "Ở"),
        ("Öu tieân", "Ưu tiên"),
        ("hoaøn", "hoàn"),
    ],
)
def test_vni_glyphs(vni: str, unicode: str):
    assert from_vni(vni) == unicode


@pytest.mark.parametrize(
    ("tcvn3", "unicode"),
    [
        ("ViÖt Nam", "Việt Nam"),
        ("Hµ Néi", "Hà Nội"),
        ("Tr\xadêng", "Trường"),
        ("§¶ng", "Đảng"),
        ("Quèc héi", "Quốc hội"),
        ("ChÝnh phñ", "Chính phủ"),
        ("n¨m", "năm"),
        ("ng\xadêi", "người"),
        ("®\xadîc", "được"),
        ("tØnh", "tỉnh"),
        ("b¶o hiÓm", "bảo hiểm"),
    ],
)
def test_tcvn3_glyphs(tcvn3: str, unicode: str):
    assert from_tcvn3(tcvn3) == unicode


def _glyphs(text: str, table) -> str:
    """The article as typed with a legacy font: each letter replaced by its glyph codes."""
    from search.corpus.encodings import _TCVN3, _VNI

    reverse = {v: k for k, v in (_VNI if table == "vni" else _TCVN3).items()}
    return "".join(reverse.get(c, c) for c in unicodedata.normalize("NFC", text))


def windows_1258(text: str) -> bytes:
    """Windows-1258 as Word wrote it: base letters (ă â ê ô ơ ư đ precomposed) + tone marks."""
    out = []
    for char in text:
        parts = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in parts if c in "\u0300\u0301\u0303\u0309\u0323")
        out.append(unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones)) + tones)
    return "".join(out).encode("cp1258")


@pytest.mark.parametrize(
    ("name", "data", "encoding"),
    [
        ("utf8.txt", ARTICLE.encode(), "utf-8"),
        ("utf16le.txt", ARTICLE.encode("utf-16"), "utf-16"),
        ("utf16be.txt", b"\xfe\xff" + ARTICLE.encode("utf-16-be"), "utf-16"),
        ("cp1258.txt", windows_1258(ARTICLE.replace("\n", "\r\n")), "windows-1258"),
        ("vni.txt", _glyphs(ARTICLE, "vni").encode("cp1252"), "vni"),
        ("tcvn3.txt", _glyphs(ARTICLE, "tcvn3").encode("cp1252"), "tcvn3"),
        ("vni-as-unicode.txt", _glyphs(ARTICLE, "vni").encode("utf-8"), "vni"),
    ],
)
def test_each_encoding_reads_as_the_same_article(tmp_path: Path, name: str, data: bytes, encoding: str):
    assert decode_text(data).encoding == encoding
    (tmp_path / name).write_bytes(data)
    (tmp_path / (name + ".gz")).write_bytes(gzip.compress(data))
    plain, zipped = iter_corpus([tmp_path])
    for article in (plain, zipped):
        assert article.title == TITLE and article.body == normalize(BODY)
    assert plain.id == zipped.id == name.removesuffix(".txt")


def test_undecidable_bytes_are_refused_with_the_reason(tmp_path: Path):
    russian = "Социальное страхование в провинции выплатило пенсии вовремя.".encode("cp1251")
    with pytest.raises(EncodingError, match="cannot tell the encoding"):
        decode_text(russian)
    (tmp_path / "ru.txt").write_bytes(russian)
    [error] = iter_corpus([tmp_path])
    assert isinstance(error, ParseError) and "Windows-1258, VNI, TCVN3" in error.reason


def test_utf8_with_a_foreign_name_stays_utf8():
    text = f"{BODY} Ông Müller, chuyên gia của Đức, nói vậy."
    assert decode_text(text.encode()).encoding == "utf-8"
    assert repair_font_text(text) == text


def test_broken_utf16_and_bare_utf16_are_refused():
    with pytest.raises(EncodingError, match="NUL"):
        decode_text(ARTICLE.encode("utf-16-le"))
    with pytest.raises(EncodingError, match="UTF-16"):
        decode_text(b"\xff\xfe" + "Tiêu đề".encode("utf-16-le") + b"\x00\xd8")


@pytest.mark.parametrize(
    ("word", "ok"),
    [
        ("nghiêng", True),
        ("người", True),
        ("khuya", True),
        ("quyết", True),
        ("giữ", True),
        ("Viêịt", False),
        ("hoàá", False),
        ("aä", False),
        ("xyz", False),
    ],
)
def test_syllables(word: str, ok: bool):
    assert is_syllable(word) is ok
