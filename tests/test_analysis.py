import pickle
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh.fields import TEXT, Schema
from whoosh.index import create_in
from whoosh.query import Term

from search.text.analysis import exact_analyzer, folded_analyzer
from search.text.normalize import canonical_tones, fold, normalize

EXACT = exact_analyzer()
FOLDED = folded_analyzer()


def exact(text, **kwargs):
    return [t.text for t in EXACT(text, **kwargs)]


def folded(text, **kwargs):
    return [t.text for t in FOLDED(text, **kwargs)]


# Tone placement

TONE_PAIRS = [
    ("hoà", "hòa"),
    ("thuý", "thúy"),
    ("khoẻ", "khỏe"),
    ("uỷ", "ủy"),
    ("toà", "tòa"),
    ("xoè", "xòe"),
    ("luỹ", "lũy"),
    ("thuỷ", "thủy"),
    ("Hoà", "Hòa"),
    ("HOÀ", "HÒA"),
    ("Uỷ", "Ủy"),
    ("THUÝ", "THÚY"),
    ("hoá", "hóa"),
    ("oà", "òa"),
    ("khoá", "khóa"),
]


@pytest.mark.parametrize("new, old", TONE_PAIRS)
def test_new_style_tone_becomes_old_style(new, old):
    assert canonical_tones(new) == old
    assert canonical_tones(old) == old


@pytest.mark.parametrize("new, old", TONE_PAIRS)
def test_both_tone_placements_give_the_same_exact_token(new, old):
    assert exact(new) == exact(old) == [old.lower()]


CANONICAL = (
    "quý quỳnh quả giá giữa gì già gìn thuế người hưởng khuyến tuyển chuyện toán hoàng quyết "
    "thuận khoái ngoài oái muối tươi yêu khuỷu rượu xoáy ngoẹo huỳnh thuở cứu của mía núi "
    "Quảng Ngãi QUYẾT ĐỊNH Người"
).split()


@pytest.mark.parametrize("word", CANONICAL)
def test_canonical_words_are_left_alone(word):
    assert canonical_tones(word) == word


@pytest.mark.parametrize("wrong, right", [("gìa", "già"), ("quì", "quì"), ("hoaì", "hoài"), ("ngưòi", "ngừoi")])
def test_tone_moves_to_the_syllables_place(wrong, right):
    assert canonical_tones(wrong) == right


@pytest.mark.parametrize("word", ["café", "Québec", "résumé", "Müller", "Ángel", "hoà1", "nhàhoà"])
def test_words_that_are_not_one_vietnamese_syllable_are_left_alone(word):
    assert canonical_tones(word) == word


def test_canonical_tones_works_word_by_word_in_running_text():
    assert canonical_tones("Hoà Bình, Thanh Hoá: sức khoẻ (UỶ BAN)") == "Hòa Bình, Thanh Hóa: sức khỏe (ỦY BAN)"


def test_a_following_combining_mark_keeps_the_word_as_it_is():
    text = "hoà\u0308"
    assert unicodedata.is_normalized("NFC", text)
    assert canonical_tones(text) == text


# Normalisation and folding


def test_nfd_input_gives_the_same_tokens_as_nfc():
    text = "Bảo hiểm xã hội tỉnh Quảng Ngãi, người lao động ĐƯỢC hưởng"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert exact(nfd) == exact(text)
    assert folded(nfd) == folded(text)


def test_fold_maps_d_with_stroke_and_eth_to_d():
    assert fold("đĐ") == "dd"
    assert folded("Ðà Nẵng") == folded("Đà Nẵng") == ["da", "nang"]
    assert exact("Ðà Nẵng") == ["đà", "nẵng"]


@pytest.mark.filterwarnings("ignore:Surrogate character")  # unidecode, on the lone surrogate
def test_fold_of_long_text_is_the_per_character_table():
    """Long texts are folded through an array over the BMP; it must agree with the table for
    every character, and fall back for what UTF-16 cannot hold in one code unit."""
    from search.text.normalize import _FOLD

    bmp = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(bmp), 4096):
        chunk = "".join(bmp[start : start + 4096])
        assert fold(chunk) == chunk.translate(_FOLD)
    for odd in ("\U0001d41a\U0001f600 Bảo Hiểm " * 10, "Bảo hiểm \ud800 xã hội " * 10, "İ" * 100):
        assert fold(odd) == odd.translate(_FOLD) and len(fold(odd)) == len(odd)


def test_fold_looks_up_characters_met_for_the_first_time_anywhere_in_a_long_text(monkeypatch):
    """A long text's characters not looked up yet are found wherever they stand (first, last,
    next to each other, once or many times) and folded as the table says."""
    from search.text import normalize as normalizing

    text = "Ông Nguyễn Thanh Danh cho biết chính sách BHXH, BHYT đã được phổ biến tới Đà Nẵng."
    fresh = "ỨÀĐßΣ×"
    for placed in (fresh + text, text + fresh, text[:30] + fresh + text[30:], (text + fresh[:2]) * 5 + "Ỳ"):
        array = normalizing._FOLD_ARRAY.copy()
        for char in set(placed):  # as a new process has them: none looked up yet
            array[ord(char)] = normalizing._UNSET
        monkeypatch.setattr(normalizing, "_FOLD_ARRAY", array)
        assert fold(placed) == placed.translate(normalizing._FOLD)
        assert all(array[ord(char)] == ord(normalizing._FOLD[ord(char)]) for char in set(placed))
        assert fold(placed) == placed.translate(normalizing._FOLD)  # from the array alone now


def test_invisible_characters_inside_a_word_are_removed():
    for invisible in ("\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060"):
        assert exact(f"bả{invisible}o hiểm") == ["bảo", "hiểm"]


def test_invisible_character_between_base_and_tone_mark_is_removed():
    assert exact("ba\u200b\u0309o") == ["bảo"]


def test_nbsp_and_bom_between_words_separate_them():
    assert exact("\ufeffbảo\u00a0hiểm\u202fxã\u2007hội") == ["bảo", "hiểm", "xã", "hội"]


@pytest.mark.parametrize(
    "text, exact_tokens, folded_tokens",
    [
        ("81-KH/TU", ["81", "kh", "tu"], ["81", "kh", "tu"]),
        ("96/NQ-BCS", ["96", "nq", "bcs"], ["96", "nq", "bcs"]),
        ("05/2019/NQ-HĐTP", ["05", "2019", "nq", "hđtp"], ["05", "2019", "nq", "hdtp"]),
        ("252.199", ["252", "199"], ["252", "199"]),
        ("88,7%", ["88", "7"], ["88", "7"]),
        ("LĐTB&XH", ["lđtb", "xh"], ["ldtb", "xh"]),
        ("a_b", ["a", "b"], ["a", "b"]),
    ],
)
def test_document_numbers_split_into_parts_at_consecutive_positions(text, exact_tokens, folded_tokens):
    tokens = [(t.text, t.pos) for t in EXACT(f"số {text} ngày", positions=True)]
    assert tokens == list(zip(["số", *exact_tokens, "ngày"], range(len(exact_tokens) + 2)))
    assert folded(text) == folded_tokens


def test_offsets_point_into_the_normalized_text():
    raw = "Ðiều\u00a01. Hoa\u0300 Bi\u0300nh\u200b, 96/NQ-BCS"
    text = normalize(raw)
    for analyzer in (EXACT, FOLDED):
        spans = [(t.startchar, t.endchar) for t in analyzer(raw, chars=True)]
        assert [text[s:e] for s, e in spans] == ["Điều", "1", "Hoà", "Bình", "96", "NQ", "BCS"]


def test_start_pos_and_start_char_shift_positions_and_offsets():
    tokens = [
        (t.pos, t.startchar, t.endchar)
        for t in EXACT("bảo hiểm", positions=True, chars=True, start_pos=10, start_char=100)
    ]
    assert tokens == [(10, 100, 103), (11, 104, 108)]


def test_keeporiginal_keeps_the_word_as_written():
    assert [t.original for t in EXACT("Hoà BÌNH", keeporiginal=True)] == ["Hoà", "BÌNH"]


def test_tokenize_false_gives_the_whole_value_as_one_token():
    (token,) = [
        (t.text, t.pos, t.startchar, t.endchar) for t in EXACT("Hoà Bình", tokenize=False, positions=True, chars=True)
    ]
    assert token == ("hòa bình", 0, 0, 8)
    assert folded("Hoà Bình", tokenize=False) == ["hoa binh"]


def test_no_stop_words():
    assert exact("và là của the a") == ["và", "là", "của", "the", "a"]


# Whoosh integration


@pytest.mark.parametrize("make", [exact_analyzer, folded_analyzer])
def test_analyzers_survive_pickling(make):
    analyzer = make()
    restored = pickle.loads(pickle.dumps(analyzer))
    text = "Hoà Bình 96/NQ-BCS Ðà Nẵng"
    assert restored == analyzer
    assert [t.text for t in restored(text)] == [t.text for t in analyzer(text)]


def test_analyzers_work_in_a_real_index(tmp_path):
    schema = Schema(
        exact=TEXT(analyzer=exact_analyzer(), phrase=True), folded=TEXT(analyzer=folded_analyzer(), phrase=True)
    )
    index = create_in(tmp_path, schema)
    with index.writer() as writer:
        writer.add_document(exact="Hoà Bình", folded="Hoà Bình")
    with index.searcher() as searcher:
        assert len(searcher.search(Term("exact", "hòa"))) == 1
        assert len(searcher.search(Term("folded", "hoa"))) == 1
        assert len(searcher.search(Term("exact", "hoà"))) == 0


# Properties

nfc_text = st.text().map(lambda s: unicodedata.normalize("NFC", s))
vietnamese_text = st.text(alphabet="aăâeêioôơuưyAĂÂEÊIOÔƠUƯYbcdđghklmnpqrstvxĐQG \u0300\u0301\u0303\u0309\u0323,-/")


@given(st.text())
def test_analyzers_never_raise_and_yield_equal_token_counts(text):
    assert len(exact(text)) == len(folded(text))


@given(vietnamese_text)
def test_vietnamese_like_text_yields_equal_token_counts(text):
    assert len(exact(text)) == len(folded(text))


@given(st.one_of(st.text(), vietnamese_text))
def test_nfc_and_nfd_give_the_same_tokens(text):
    for form in ("NFC", "NFD"):
        variant = unicodedata.normalize(form, text)
        assert exact(variant) == exact(text)
        assert folded(variant) == folded(text)


@given(st.text())
def test_fold_is_idempotent_and_length_preserving(text):
    assert fold(fold(text)) == fold(text)
    assert len(fold(text)) == len(text)


@given(st.text())
def test_folded_tokens_are_fixed_points_of_fold(text):
    assert all(fold(token) == token for token in folded(text))


@given(st.one_of(nfc_text, vietnamese_text.map(normalize)))
def test_canonical_tones_is_length_preserving_idempotent_and_keeps_nfc(text):
    once = canonical_tones(text)
    assert len(once) == len(text)
    assert canonical_tones(once) == once
    if unicodedata.is_normalized("NFC", text):
        assert unicodedata.is_normalized("NFC", once)


@given(vietnamese_text.map(normalize))
def test_canonical_tones_changes_nothing_but_tone_placement(text):
    assert fold(canonical_tones(text)) == fold(text)
    assert [c.isupper() for c in canonical_tones(text)] == [c.isupper() for c in text]
