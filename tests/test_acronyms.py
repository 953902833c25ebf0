import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.query.acronyms import DEFAULT_FILE, SynonymTable, load_synonyms
from search.text.normalize import fold

BHXH = (("bhxh",), ("bao", "hiem", "xa", "hoi"))
BHYT = (("bhyt",), ("bao", "hiem", "y", "te"))


@pytest.fixture(scope="module")
def table() -> SynonymTable:
    return load_synonyms()


def test_bundled_file_loads(table):
    assert len(table) >= 13


def test_find_returns_one_span_per_form(table):
    assert table.find(("bao", "hiem", "xa", "hoi", "va", "bhyt")) == [(0, 4, BHXH), (5, 6, BHYT)]


def test_find_works_on_a_list_and_finds_nothing_in_plain_words(table):
    assert table.find(["bao", "hiem", "xa", "hoi"]) == [(0, 4, BHXH)]
    assert table.find(["tinh", "quang", "ngai"]) == []
    assert table.find([]) == []


def test_find_prefers_the_longest_form(table):
    (span,) = table.find(["thanh", "pho", "ho", "chi", "minh"])
    assert span[:2] == (0, 5) and ("tp", "hcm") in span[2]
    (span,) = table.find(["tp"])
    assert span[2] == (("tp",), ("thanh", "pho"))


@pytest.mark.parametrize(
    "written, tokens",
    [
        ("UBND", ("uy", "ban", "nhan", "dan")),
        ("HĐND", ("hoi", "dong", "nhan", "dan")),
        ("BHTN", ("bao", "hiem", "that", "nghiep")),
        ("MTTQ", ("mat", "tran", "to", "quoc")),
        ("NLĐ", ("nguoi", "lao", "dong")),
        ("KCB", ("kham", "chua", "benh")),
        ("CNTT", ("cong", "nghe", "thong", "tin")),
        ("TTHC", ("thu", "tuc", "hanh", "chinh")),
        ("CCVC", ("cong", "chuc", "vien", "chuc")),
        ("DN", ("doanh", "nghiep")),
    ],
)
def test_bundled_acronyms_have_their_full_forms(table, written, tokens):
    (span,) = table.find([fold(written)])
    assert tokens in span[2]
    assert table.find(list(tokens)) == [(0, len(tokens), span[2])]


def test_punctuated_acronym_and_its_spellings_are_one_group(table):
    (span,) = table.find(["ldtb", "xh"])
    assert span[2][0] == ("ldtb", "xh")
    assert ("lao", "dong", "thuong", "binh", "va", "xa", "hoi") in span[2]
    assert ("ldtbxh",) in span[2]


def test_extra_file_adds_a_form_to_an_existing_group(tmp_path):
    extra = tmp_path / "mine.txt"
    extra.write_text("# ours\n\nBHXHVN = bảo hiểm xã hội | BHXH  # same group\nXYZ = xin yêu zô\n", encoding="utf-8")
    table = load_synonyms([extra])
    assert len(table) == len(load_synonyms()) + 1
    (span,) = table.find(["bhxhvn"])
    assert span[2] == (*BHXH, ("bhxhvn",))
    assert table.find(["xyz"])[0][2] == (("xyz",), ("xin", "yeu", "zo"))


def test_a_line_joining_two_groups_merges_them():
    table = SynonymTable([[("a",), ("x",)], [("b",), ("y",)], [("a",), ("y",)]])
    assert len(table) == 1
    assert table.find(["b"]) == [(0, 1, (("a",), ("x",), ("b",), ("y",)))]


@pytest.mark.parametrize(
    "line", ["BHXH bảo hiểm xã hội", "= bảo hiểm", "BHXH =", "BHXH = a | ", "A = b = c", "A | B = c", "%% = bảo hiểm"]
)
def test_malformed_line_names_file_and_line(tmp_path, line):
    extra = tmp_path / "bad.txt"
    extra.write_text(f"# header\nUBND = ủy ban nhân dân\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.txt, line 3\b"):
        load_synonyms([extra])


def test_missing_file_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="nope.txt"):
        load_synonyms([tmp_path / "nope.txt"])


def test_default_table_is_shared():
    assert load_synonyms() is load_synonyms()


def test_bundled_file_is_utf8_with_a_comment_header():
    assert DEFAULT_FILE.read_text(encoding="utf-8").startswith("#")


words = st.sampled_from(["bao", "hiem", "xa", "hoi", "y", "te", "bhxh", "tp", "hcm", "thanh", "pho", "va"])


@given(st.lists(words, max_size=30))
def test_spans_are_ordered_non_overlapping_and_match_a_form(tokens):
    table = load_synonyms()
    previous_end = 0
    for start, end, alternatives in table.find(tokens):
        assert previous_end <= start < end <= len(tokens)
        assert tuple(tokens[start:end]) in alternatives
        previous_end = end
