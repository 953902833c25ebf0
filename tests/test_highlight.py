"""The highlighter: diacritic-insensitive <mark>s, merged spans, escaping, snippets."""

from __future__ import annotations

import gzip
import html
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.searching.highlight import ELLIPSIS, Highlighter
from search.searching.sentences import split
from search.text.normalize import WORD_RE, fold, normalize

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
#: Texts (random mixes of words and awkward separators, the seed articles, the cases above)
#: with the sentences, marks and snippets the highlighter of commit 51f56e7 gave for them,
#: before sentence splitting and folding were made faster: the output must not change.
GOLDEN = Path(__file__).resolve().parent / "data" / "highlight_golden.json.gz"

TAG_RE = re.compile(r"</?mark>")
#: An "&" that does not start one of the entities html.escape produces.
PARTIAL_ENTITY_RE = re.compile(r"&(?!(?:amp|lt|gt|quot|#x27);)")


def visible(fragment: str) -> str:
    """What a reader sees: our tags removed, entities decoded."""
    return html.unescape(TAG_RE.sub("", fragment))


def assert_safe(fragment: str) -> None:
    """Only our tags, well formed, and nothing else that HTML would read as markup."""
    untagged = TAG_RE.sub("", fragment)
    assert "<" not in untagged and ">" not in untagged
    assert '"' not in fragment and "'" not in fragment
    assert not PARTIAL_ENTITY_RE.search(fragment), fragment
    tags = TAG_RE.findall(fragment)
    assert tags == ["<mark>", "</mark>"] * (len(tags) // 2)


def read_article(prefix: str) -> str:
    (path,) = CORPUS.glob(f"{prefix}_*.txt")
    return normalize(path.read_text(encoding="utf-8"))


# -- matching ------------------------------------------------------------------------------


def test_diacritic_insensitive_and_merged():
    h = Highlighter({"bao", "hiem"})
    assert h.mark("Chính sách Bảo hiểm xã hội") == "Chính sách <mark>Bảo hiểm</mark> xã hội"


def test_d_matches_d_with_stroke():
    h = Highlighter({"dang"})
    assert h.mark("Ban Cán sự Đảng BHXH và đảng viên") == (
        "Ban Cán sự <mark>Đảng</mark> BHXH và <mark>đảng</mark> viên"
    )


def test_terms_are_folded_and_split_defensively():
    assert Highlighter({"Bảo Hiểm"}).terms == {"bao", "hiem"}
    assert Highlighter({"nq-bcs"}).terms == {"nq", "bcs"}


def test_whole_words_only():
    h = Highlighter({"an", "bao"})
    assert h.mark("Quảng Nam toàn dân bảovệ") == "Quảng Nam toàn dân bảovệ"
    assert h.spans("Quảng Nam toàn dân bảovệ") == []


def test_phrase_is_one_mark_but_clauses_stay_apart():
    h = Highlighter({"bao", "hiem", "xa", "hoi"})
    assert h.mark("pháp luật bảo hiểm xã hội, bảo hiểm y tế") == (
        "pháp luật <mark>bảo hiểm xã hội</mark>, <mark>bảo hiểm</mark> y tế"
    )


def test_document_number_is_one_mark():
    h = Highlighter({"96", "nq", "bcs"})
    assert h.mark("Nghị quyết số 96/NQ-BCS ngày 24/8/2017") == ("Nghị quyết số <mark>96/NQ-BCS</mark> ngày 24/8/2017")
    assert h.spans("Nghị quyết số 96/NQ-BCS ngày") == [(14, 23)]


def test_only_query_words_of_a_document_number_are_marked():
    h = Highlighter({"nq", "bcs"})
    assert h.mark("Nghị quyết số 96/NQ-BCS ngày") == "Nghị quyết số 96/<mark>NQ-BCS</mark> ngày"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("BHXH; BHYT", "<mark>BHXH</mark>; <mark>BHYT</mark>"),
        ("BHXH: BHYT", "<mark>BHXH</mark>: <mark>BHYT</mark>"),
        ("BHXH\nBHYT", "<mark>BHXH</mark>\n<mark>BHYT</mark>"),
        ("BHXH (BHYT)", "<mark>BHXH</mark> (<mark>BHYT</mark>)"),
        ("BHXH. BHYT", "<mark>BHXH</mark>. <mark>BHYT</mark>"),
        ("BHXH, BHYT", "<mark>BHXH</mark>, <mark>BHYT</mark>"),
        ("BHXH_BHYT", "<mark>BHXH</mark>_<mark>BHYT</mark>"),
        ("BHXH - BHYT", "<mark>BHXH - BHYT</mark>"),
        ("BHXH/BHYT", "<mark>BHXH/BHYT</mark>"),
        ("BHXH&BHYT", "<mark>BHXH&amp;BHYT</mark>"),
        ("BHXH  BHYT", "<mark>BHXH  BHYT</mark>"),
    ],
)
def test_merging_rules(text, expected):
    assert Highlighter({"bhxh", "bhyt"}).mark(text) == expected


def test_numbers_with_separators_merge():
    h = Highlighter({"252", "199", "19", "55"})
    assert h.mark("có 252.199 người, đạt 19,55%") == ("có <mark>252.199</mark> người, đạt <mark>19,55</mark>%")


def test_first_match():
    text = "Ông Nguyễn Thanh Danh cho biết chính sách BHXH, BHYT đã được phổ biến."
    h = Highlighter({"bhxh", "bhyt"})
    offset = h.first_match(text)
    assert offset == text.index("BHXH")
    assert Highlighter({"khong"}).first_match(text) is None
    assert Highlighter({"bhyt"}).first_match(text) == text.index("BHYT")


def _real_texts() -> list[str]:
    """The seed articles and the KTLAB sample's titles and bodies, normalised as stored, with
    texts shorter than a fold's array threshold, an empty one and one beyond the BMP."""
    found = [normalize(path.read_text(encoding="utf-8")) for path in sorted(CORPUS.glob("*.txt"))]
    with open(Path(__file__).resolve().parent / "data" / "ktlab-sample.jsonl", encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                row = json.loads(line)
                found += [normalize(row["title"]), normalize(row["body"])]
    return found + ["", "Bảo", "BHXH: 96/NQ-BCS", "\U0001d41a Bảo hiểm xã hội \U0001f600 " * 4]


REAL_TEXTS = _real_texts()


def _term_sets(texts: list[str]) -> list[set[str]]:
    """For each text: its first and last words, every fifth word, and words of no text."""
    sets = [{"khong", "bhxh", "a", "o"}, set()]
    for text in texts:
        words = WORD_RE.findall(fold(text))
        if words:
            sets += [{words[0], words[-1]}, set(words[::5]), {words[len(words) // 2], "96", "nq"}]
    return sets


def test_matches_are_the_words_of_the_folded_text_that_are_terms():
    """Every `WORD_RE` word of the folded text equal to a term, in order, and nothing else:
    short terms inside longer words ("a" in "hai"), terms at both ends of a text."""
    for text in REAL_TEXTS:
        folded = fold(text)
        for terms in _term_sets([text]):
            h = Highlighter(terms)
            expected = [(m.start(), m.end(), m.group()) for m in WORD_RE.finditer(folded) if m.group() in h.terms]
            assert h._matches(folded) == expected
            assert h.first_match(text) == (expected[0][0] if expected else None)


def test_find_all_is_find_of_each_text():
    """A page's titles and bodies folded together are found as each on its own: a word at the
    end of one text never runs into the next, and texts beyond the BMP fold as the others."""
    pages = [REAL_TEXTS[k : k + 20] for k in range(0, len(REAL_TEXTS), 7)] + [[], [""], ["", ""], REAL_TEXTS[-4:]]
    for texts in pages:
        for terms in _term_sets(texts[:3]):
            h = Highlighter(terms)
            assert h.find_all(texts) == [h.find(text) for text in texts]


def test_empty_term_set():
    text = 'Tin "nóng" <b>BHXH</b> & BHYT'
    h = Highlighter(set())
    assert h.mark(text) == html.escape(text, quote=True)
    assert h.spans(text) == []
    assert h.first_match(text) is None
    assert h.snippet(text) == html.escape(text, quote=True)


def test_real_article_marks():
    body = read_article("003")
    marked = Highlighter({"96", "nq", "bcs"}).mark(body)
    assert marked.count("<mark>96/NQ-BCS</mark>") == body.count("96/NQ-BCS")
    assert visible(marked) == body
    title = "Quảng Ngãi tăng cường phối hợp tuyên truyền chính sách bảo hiểm xã hội"
    assert Highlighter({"quang", "ngai"}).mark(title).startswith("<mark>Quảng Ngãi</mark> tăng")


# -- escaping ------------------------------------------------------------------------------

HOSTILE = (
    'BHXH <script>alert(1)</script> và <img src=x onerror="alert(1)"> '
    "\"BHXH\" 'BHYT' &amp; BHXH&BHYT <BHXH> </mark> <mark>bảo hiểm</mark> xã hội"
)
HOSTILE_TERMS = {"bhxh", "bhyt", "script", "alert", "img", "mark", "bao", "hiem"}


def test_mark_escapes_everything_but_our_tags():
    h = Highlighter(HOSTILE_TERMS)
    out = h.mark(HOSTILE)
    assert_safe(out)
    assert "<script" not in out and "<img" not in out
    assert out.count("<mark>") == out.count("</mark>") == len(h.spans(HOSTILE)) == 14
    assert "&lt;<mark>script</mark>&gt;<mark>alert</mark>(1)&lt;/<mark>script</mark>&gt;" in out
    assert "&quot;<mark>BHXH</mark>&quot; &#x27;<mark>BHYT</mark>&#x27;" in out
    assert "&amp;amp;" in out
    assert "<mark>BHXH&amp;BHYT</mark>" in out
    assert "&lt;<mark>BHXH</mark>&gt;" in out
    assert "&lt;/<mark>mark</mark>&gt;" in out
    assert visible(out) == HOSTILE


def test_snippet_escapes_everything_but_our_tags():
    h = Highlighter(HOSTILE_TERMS)
    for max_chars in range(3, len(HOSTILE) + 5):
        out = h.snippet(HOSTILE, max_chars)
        assert_safe(out)
        assert "<script" not in out and "<img" not in out
        assert len(visible(out)) <= max_chars


def test_snippet_cuts_next_to_entities_stay_whole():
    text = ("&<>\"' " * 30) + "Chính sách bảo hiểm xã hội" + (" '\"<>&" * 30)
    h = Highlighter({"bao", "hiem"})
    for max_chars in range(3, 200):
        out = h.snippet(text, max_chars)
        assert_safe(out)
        assert len(visible(out)) <= max_chars
        assert "<mark>" in out or max_chars < 12


# -- snippets ------------------------------------------------------------------------------


def test_snippet_prefers_most_distinct_words_over_first_sentence():
    text = (
        "Bảo hiểm, bảo hiểm và bảo hiểm là chủ đề của hội nghị. "
        "Trời hôm nay đẹp. "
        "Năm nay tỉnh có thêm 2.000 người tham gia bảo hiểm xã hội tự nguyện. "
        "Người dân được hỗ trợ đóng phí."
    )
    h = Highlighter({"bao", "hiem", "xa", "hoi", "tu", "nguyen"})
    out = h.snippet(text, 240)
    assert out.startswith("Năm nay tỉnh")
    assert "<mark>bảo hiểm xã hội tự nguyện</mark>" in out
    assert "chủ đề" not in out
    # the next sentence is added when both fit
    assert out.endswith("Người dân được hỗ trợ đóng phí.")
    # but not when they do not
    short = h.snippet(text, 80)
    assert visible(short) == "Năm nay tỉnh có thêm 2.000 người tham gia bảo hiểm xã hội tự nguyện."


def test_snippet_does_not_add_a_sentence_from_the_next_line():
    text = "Nghị quyết 96/NQ-BCS: Chìa khóa thành công\nTin nhanh 24h\n\nSau 5 năm triển khai."
    h = Highlighter({"96", "nq", "bcs"})
    assert h.snippet(text) == "Nghị quyết <mark>96/NQ-BCS</mark>: Chìa khóa thành công"


def test_long_sentence_starting_near_the_match_keeps_its_beginning():
    text = "Theo BHXH tỉnh Quảng Nam, " + "công tác tuyên truyền được đẩy mạnh, " * 10 + "đạt kết quả tốt."
    out = Highlighter({"bhxh"}).snippet(text, 100)
    assert out.startswith("Theo <mark>BHXH</mark> tỉnh") and out.endswith(ELLIPSIS)
    assert len(visible(out)) <= 100


def test_snippet_ties_go_to_more_matches_then_earlier():
    text = "Tham gia BHXH. Đóng BHXH và nhận BHXH. Nói về BHXH."
    h = Highlighter({"bhxh"})
    assert visible(h.snippet(text, 30)) == "Đóng BHXH và nhận BHXH."
    text = "Tham gia BHXH. Nói về BHXH."
    assert visible(h.snippet(text, 20)) == "Tham gia BHXH."


def test_long_sentence_is_cut_around_the_densest_matches():
    filler = " ".join(["công tác tuyên truyền được đẩy mạnh"] * 12)
    text = (
        f"Theo BHXH tỉnh, {filler}, nhờ đó số người tham gia bảo hiểm xã hội tự nguyện tăng mạnh, "
        f"{filler} trong năm qua."
    )
    h = Highlighter({"bao", "hiem", "xa", "hoi", "tu", "nguyen", "bhxh"})
    out = h.snippet(text, 120)
    shown = visible(out)
    assert len(shown) <= 120
    assert shown.startswith(ELLIPSIS) and shown.endswith(ELLIPSIS)
    assert "<mark>bảo hiểm xã hội tự nguyện</mark>" in out
    core = shown.strip(ELLIPSIS)
    assert core in text
    start = text.index(core)
    assert text[start - 1] == " " and text[start + len(core)] in " ,"  # whole words only
    assert "BHXH" not in shown  # the lone first match lost to the denser cluster


def test_snippet_window_never_drops_the_match():
    text = "x" * 300 + " BHXH " + "y" * 300
    h = Highlighter({"bhxh"})
    for max_chars in (3, 5, 10, 40, 240):
        out = h.snippet(text, max_chars)
        assert "<mark>" in out
        assert len(visible(out)) <= max_chars


def test_snippet_without_match_returns_beginning_cut_at_a_word():
    body = read_article("004")
    h = Highlighter({"khongcotrongbai"})
    out = h.snippet(body, 100)
    shown = visible(out)
    assert "<mark>" not in out
    assert shown.endswith(ELLIPSIS) and len(shown) <= 100
    core = shown[: -len(ELLIPSIS)]
    assert body.startswith(core)
    assert body[len(core)].isspace()
    assert Highlighter({"khong"}).snippet("Ngắn gọn.") == "Ngắn gọn."


def test_snippet_on_real_article():
    body = read_article("003")
    h = Highlighter({"96", "nq", "bcs", "truyen", "thong"})
    out = h.snippet(body, 240)
    assert "<mark>96/NQ-BCS</mark>" in out
    assert len(visible(out)) <= 240
    assert_safe(out)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ông A ở TP. HCM tham gia BHXH. Bà B thì không.", ["Ông A ở TP. HCM tham gia BHXH.", "Bà B thì không."]),
        (
            "Có 252.199 người. Theo Nghị quyết số 96/NQ-BCS. Xong!",
            ["Có 252.199 người.", "Theo Nghị quyết số 96/NQ-BCS.", "Xong!"],
        ),
        ("PGS. TS. Nguyễn V. An nói: “Tốt lắm!” Sau đó về.", ["PGS. TS. Nguyễn V. An nói: “Tốt lắm!”", "Sau đó về."]),
        ("Tiêu đề\n\nĐoạn một. Câu hai?\nDòng mới", ["Tiêu đề", "Đoạn một.", "Câu hai?", "Dòng mới"]),
        ("các chế độ v.v. và nhiều thứ khác. Hết", ["các chế độ v.v. và nhiều thứ khác.", "Hết"]),
    ],
)
def test_sentences(text, expected):
    assert [text[s:e] for s, e in split(text)] == expected


def test_same_sentences_marks_and_snippets_as_before():
    golden = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    texts = golden["texts"]
    assert [[list(span) for span in split(text)] for text in texts] == golden["sentences"]
    for case in golden["cases"]:
        h, text = Highlighter(case["terms"]), texts[case["text"]]
        if case["mark"] is not None:
            assert h.mark(text) == case["mark"]
        assert {size: h.snippet(text, int(size)) for size in case["snippets"]} == case["snippets"]


# -- properties ----------------------------------------------------------------------------

WORDS = [
    "Bảo",
    "bảo",
    "hiểm",
    "HIỂM",
    "xã",
    "xa",
    "hội",
    "hoi",
    "Đảng",
    "dang",
    "BHXH",
    "bhxh",
    "tỉnh",
    "Quảng",
    "Ngãi",
    "96",
    "NQ",
    "BCS",
    "năm",
    "2022",
    "người",
    "tham",
    "gia",
    "ưu",
]
SEPARATORS = [
    " ",
    " ",
    " ",
    "\n",
    "\n\n",
    "-",
    "/",
    ".",
    ",",
    ";",
    ":",
    "(",
    ")",
    ". ",
    "! ",
    "? ",
    "_",
    "&",
    "<",
    ">",
    '"',
    "'",
    "&amp;",
    "&lt;",
    "<mark>",
    "</mark>",
    "<script>",
    "…",
    "\t",
]
FOLDED = sorted({fold(w) for w in WORDS})

texts = st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=80).map("".join)
term_sets = st.sets(st.sampled_from(FOLDED + ["khong", "nq-bcs"]), max_size=8)


@given(texts, term_sets)
@settings(max_examples=300, deadline=None)
def test_spans_are_sorted_disjoint_and_only_terms(text, terms):
    h = Highlighter(terms)
    spans = h.spans(text)
    previous_end = -1
    for start, end in spans:
        assert previous_end < start < end  # sorted, disjoint, never touching
        previous_end = end
        piece = text[start:end]
        words = WORD_RE.findall(fold(piece))
        assert words and all(w in h.terms for w in words)
        assert fold(piece[0]).isalnum() and fold(piece[-1]).isalnum()
        assert not set(piece) & set("\n;:()<>\"'")
        assert start == 0 or not text[start - 1].isalnum()
        assert end == len(text) or not text[end].isalnum()
    # every matching word is covered
    covered = {i for s, e in spans for i in range(s, e)}
    for m in WORD_RE.finditer(fold(text)):
        assert (m.group() in h.terms) == (m.start() in covered)
    first = h.first_match(text)
    assert first == (spans[0][0] if spans else None)


@given(st.text(max_size=200).map(normalize), term_sets)
@settings(max_examples=200, deadline=None)
def test_mark_round_trips_any_text(text, terms):
    h = Highlighter(terms)
    out = h.mark(text)
    assert_safe(out)
    assert visible(out) == text
    assert out.count("<mark>") == len(h.spans(text))


@given(texts, term_sets, st.integers(min_value=3, max_value=300))
@settings(max_examples=300, deadline=None)
def test_snippet_is_an_escaped_substring_within_bounds(text, terms, max_chars):
    h = Highlighter(terms)
    out = h.snippet(text, max_chars)
    assert_safe(out)
    shown = visible(out)
    assert len(shown) <= max_chars
    core = shown[1:] if shown.startswith(ELLIPSIS) else shown
    core = core[:-1] if core.endswith(ELLIPSIS) else core
    assert core in text
    if text.strip():
        assert shown.strip()
    # marks inside a snippet are matches, or the part of one that a tight window shows
    matched = [fold(text[s:e]) for s, e in h.spans(text)]
    for marked in re.findall(r"<mark>(.*?)</mark>", out):
        assert any(fold(html.unescape(marked)) in m for m in matched)
