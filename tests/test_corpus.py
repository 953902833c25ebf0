import gzip
import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.corpus.article import Article
from search.corpus.errors import NoContentError, ParseError
from search.corpus.files import MAX_ARTICLE_BYTES, iter_corpus, open_input, read_file
from search.corpus.jsonl import read_jsonl
from search.corpus.scraped import derive_title, parse_scraped
from search.text.normalize import normalize

CORPUS = Path(__file__).parent.parent / "corpus"
IDS = [
    "000_c966bd256c6a0fd6",
    "001_00436422ff627eb7",
    "002_627964d7656b8044",
    "003_50a1d9bb06e22414",
    "004_7bdadf58e2716509",
]


def _jsonl_file(path: Path, rel: str) -> list:
    """The items of a JSON Lines file read as the corpus reader reads it, named `rel`."""
    with open_input(path) as stream:
        return list(read_jsonl(stream, rel, MAX_ARTICLE_BYTES))


def raw(article_id: str) -> str:
    return (CORPUS / f"{article_id}.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed() -> dict[str, Article]:
    items = list(iter_corpus([CORPUS]))
    assert all(isinstance(item, Article) for item in items), items
    return {item.id: item for item in items}


def paragraphs(article: Article) -> list[str]:
    return article.body.split("\n\n")


# --- The five real scraped articles ------------------------------------------------------------


def test_seed_corpus_reads_five_articles_in_order(seed):
    assert list(seed) == IDS
    assert [a.path for a in seed.values()] == [f"{i}.txt" for i in IDS]


@pytest.mark.parametrize(
    "article_id, title, date, source, author",
    [
        (
            "000_c966bd256c6a0fd6",
            "Kết quả bước đầu trong phối hợp tuyên truyền về công tác bảo hiểm xã hội, bảo hiểm y tế",
            None,
            None,
            "Trần Quang Minh",
        ),
        (
            "001_00436422ff627eb7",
            "Kết quả công tác tuyên truyền, truyền thông năm 2017 của BHXH tỉnh",
            "2018-01-16",
            None,
            "Mạnh Toàn",
        ),
        (
            "002_627964d7656b8044",
            "Tháng 5 hằng năm đã được quy định là Tháng Vận động triển khai…",
            "2022-05",
            "Báo Dân sinh",
            "PV",
        ),
        (
            "003_50a1d9bb06e22414",
            "Nghị quyết 96/NQ-BCS: Chìa khóa mở cánh cửa giúp Quảng Nam truyền thông hiệu quả",
            "2022-12-29",
            "VTC News",
            "Thanh Dũng",
        ),
        (
            "004_7bdadf58e2716509",
            "Quảng Ngãi tăng cường phối hợp tuyên truyền chính sách bảo hiểm xã hội",
            None,
            "Nhân Dân",
            None,
        ),
    ],
)
def test_seed_metadata(seed, article_id, title, date, source, author):
    article = seed[article_id]
    assert (article.title, article.date, article.source, article.author) == (title, date, source, author)
    assert (article.url, article.topic) == (None, None)


@pytest.mark.parametrize("article_id", IDS)
def test_seed_body_is_clean_text(seed, article_id):
    article = seed[article_id]
    parts = paragraphs(article)
    assert all(p and p == " ".join(p.split()) for p in parts), "whitespace squeezed, no empty paragraph"
    assert len(parts) == len(set(parts)), "each paragraph once"
    assert article.title not in parts
    assert unicodedata.is_normalized("NFC", article.body) and "\xa0" not in article.body
    for chrome in (
        "Tin cùng chuyên mục",
        "Tin khác",
        "Bình luận",
        "vtcnews.vn",
        "0:00",
        "Banner",
        "Tin nhanh 24h",
        "Nguồn tin",
        "Tác giả",
    ):
        assert chrome not in article.body
    if article.author:
        assert article.author.casefold() not in article.body.casefold().split("\n\n")


def test_000_related_links_and_banner_are_gone(seed):
    article = seed["000_c966bd256c6a0fd6"]
    text = f"{article.title}\n\n{article.body}"
    for related in (
        "Hội thi Báo cáo viên giỏi tỉnh Nghệ An năm 2019",
        "Giao ban báo chí định kỳ tháng 8/2020",
        "Hội nghị sơ kết Kết luận số 100-KL/TW",
    ):
        assert related in raw(article.id) and related not in text
    assert "sub-site" not in text and "Trần Quang Minh" not in article.body
    assert paragraphs(article)[-1].startswith("Năm 2019 cũng là năm các cấp")


def test_000_repeated_lead_is_kept_once(seed):
    # The source repeats the lead, once with no-break spaces: the same paragraph once normalised.
    lead = "Công tác phối hợp tuyên truyền chính sách bảo hiểm xã hội, bảo hiểm y tế (BHXH, BHYT)"
    article = seed["000_c966bd256c6a0fd6"]
    assert raw(article.id).count(lead) == 1 and normalize(raw(article.id)).count(lead) == 2
    assert article.body.count(lead) == 1 and paragraphs(article)[0].startswith(lead)
    assert "tỷ lệ bao phủ BHYT trên địa bàn tỉnh đạt 88,7%" in article.body


def test_001_date_line_and_mentioned_outlet(seed):
    article = seed["001_00436422ff627eb7"]
    assert "2260" not in article.body and "PM" not in article.body
    assert "Báo Hà Tĩnh" in article.body and article.source is None
    assert paragraphs(article)[0].startswith("Năm 2017, Ngành BHXH")
    assert "2.030 tỷ đồng" in article.body


def test_002_date_field_and_labels_are_removed_but_lead_kept(seed):
    article = seed["002_627964d7656b8044"]
    assert paragraphs(article)[0].startswith("Tháng 5 hằng năm đã được quy định")
    assert "date 2022-05" not in article.body and "Báo Dân sinh" not in article.body
    assert "81-KH/TU" in article.body
    assert paragraphs(article)[-1].startswith("UBND tỉnh Nghệ An, giao Sở Y tế")


def test_003_chrome_caption_and_repeat_are_gone_content_kept(seed):
    article = seed["003_50a1d9bb06e22414"]
    assert " - 1" not in article.body and "(VTC News)" not in article.body
    assert "THANH DŨNG" not in article.body and "29/12/2022" not in article.body
    lead = "Sau 5 năm triển khai Nghị quyết số 96/NQ-BCS ngày 24/8/2017"
    assert raw(article.id).count(lead) == 2 and article.body.count(lead) == 1
    assert paragraphs(article)[0].startswith(lead)
    assert "96/NQ-BCS" in article.body and "05/2019/NQ-HĐTP" in article.body
    assert paragraphs(article)[-1].startswith("Mặc dù vậy, theo ông Nguyễn Thanh Danh")


def test_004_lead_kept_without_outlet_prefix_and_caption_once(seed):
    article = seed["004_7bdadf58e2716509"]
    first, second = paragraphs(article)[:2]
    assert first.startswith("Chiều 5/10, Ban Tuyên giáo Tỉnh ủy Quảng Ngãi") and first.endswith("giai đoạn 2015-2021.")
    assert "NDO" not in article.body
    assert second == "Quang cảnh hội nghị." and article.body.count("Quang cảnh hội nghị.") == 1
    assert "139.986" in article.body and "19,55%" in article.body
    assert paragraphs(article)[-1].startswith("Dịp này, Ban Tuyên giáo")


@pytest.mark.parametrize("article_id", IDS)
def test_nfd_input_parses_like_nfc(article_id):
    text = raw(article_id)
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert parse_scraped(nfd, article_id) == parse_scraped(text, article_id)


def test_crlf_bom_and_zero_width_characters_change_nothing():
    text = raw(IDS[3])
    noisy = "\ufeff" + text.replace("\n", "\r\n").replace("Quảng Nam", "Quảng \u200bNam")
    assert parse_scraped(noisy, IDS[3]) == parse_scraped(text, IDS[3])


# --- Scraped-text rules on small inputs --------------------------------------------------------

LEAD = "Đây là đoạn mở đầu của bài báo, đủ dài để là một đoạn văn thật sự."
SECOND = "Đoạn thứ hai nói về bảo hiểm xã hội tự nguyện."


def test_title_first_line_and_byline_before_related_links():
    article = parse_scraped(
        f"Tiêu đề bài báo\n\n{LEAD}\n\n{SECOND}\n\nNguyễn Văn An\n\nTin liên quan\n\nMột tiêu đề khác", "x"
    )
    assert (article.title, article.author) == ("Tiêu đề bài báo", "Nguyễn Văn An")
    assert article.body == f"{LEAD}\n\n{SECOND}"


def test_short_paragraph_or_caption_is_not_an_author():
    caption = parse_scraped(f"Tiêu đề\n\n{LEAD}\n\nQuang cảnh hội nghị.", "x")
    assert caption.author is None and caption.body.endswith("Quang cảnh hội nghị.")
    sentence = parse_scraped(f"Tiêu đề\n\n{LEAD}\n\nHội nghị kết thúc lúc 17 giờ", "x")
    assert sentence.author is None and sentence.body.endswith("Hội nghị kết thúc lúc 17 giờ")
    only_paragraph = parse_scraped("Tiêu đề\n\nNguyễn Văn An", "x")
    assert only_paragraph.author is None and only_paragraph.body == "Nguyễn Văn An"


def test_source_mentioned_in_text_is_not_the_outlet():
    article = parse_scraped(f"Tiêu đề\n\nBài đăng trên Báo Nhân Dân và vtcnews.vn hôm qua.\n\n{SECOND}", "x")
    assert article.source is None


@pytest.mark.parametrize(
    "date_line, expected",
    [
        ("1/16/2018 2:54:08 PM 2260", "2018-01-16"),
        ("12/1/2018 10:00 AM", "2018-12-01"),
        ("Thứ Năm, 29/12/2022 16:41:00 +07:00", "2022-12-29"),
        ("Chủ nhật, 1/5/2022 08:00 (GMT+7)", "2022-05-01"),
        ("05/06/2021", "2021-06-05"),
        ("2021-06-05", "2021-06-05"),
        ("13/16/2018 2:54:08 PM", None),
        ("Thứ Hai, 31/02/2022 10:00", None),
        ("16/13/2018", None),
    ],
)
def test_date_lines_are_parsed_validated_and_removed(date_line, expected):
    article = parse_scraped(f"{date_line}\n\nTiêu đề bài báo\n\n{LEAD}", "x")
    assert (article.date, article.title, article.body) == (expected, "Tiêu đề bài báo", LEAD)


def test_date_field_prefix_keeps_the_lead_and_bad_one_gives_no_date():
    assert parse_scraped(f" date 2022-05-17 {LEAD}", "x").date == "2022-05-17"
    bad = parse_scraped(f"date 2022-13 {LEAD}", "x")
    assert bad.date is None and bad.body == LEAD


@pytest.mark.parametrize(
    "lead, source",
    [
        (f"NDO - {LEAD}", "Nhân Dân"),
        (f"(VTC News) - {LEAD}", "VTC News"),
        (f"(Dân trí) - {LEAD}", "Dân trí"),
        (f"TTXVN – {LEAD}", "TTXVN"),
        (f"BHXH - {LEAD}", None),
        (f"(2) - {LEAD}", None),
        (f"(theo báo cáo) - {LEAD}", None),
    ],
)
def test_outlet_dateline_on_the_lead(lead, source):
    article = parse_scraped(f"Tiêu đề\n\n{lead}\n\n{SECOND}", "x")
    assert article.source == source
    assert paragraphs(article)[0] == (LEAD if source else lead)


def test_labels_give_author_and_source():
    article = parse_scraped(f"Tiêu đề\n\n{LEAD}\n\nTác giả: Minh Anh\n\nNguồn: vtcnews.vn", "x")
    assert (article.author, article.source, article.body) == ("Minh Anh", "VTC News", LEAD)
    chart = parse_scraped(f"Tiêu đề\n\n{LEAD}\n\nNguồn: Tổng cục Thống kê\n\n{SECOND}", "x")
    assert chart.source is None and "Nguồn: Tổng cục Thống kê" in chart.body


def test_navigation_marker_at_the_top_does_not_wipe_the_article():
    article = parse_scraped(f"Tin khác\n\nTiêu đề\n\n{LEAD}\n\n{SECOND}", "x")
    assert (article.title, article.body) == ("Tiêu đề", f"{LEAD}\n\n{SECOND}")


def test_derived_title_cuts_at_a_word_boundary():
    assert derive_title("Ngắn gọn thôi. Câu thứ hai.") == "Ngắn gọn thôi"
    assert derive_title("TP. Hồ Chí Minh có mưa. Câu sau.") == "TP. Hồ Chí Minh có mưa"
    long = "Một hai ba bốn năm sáu bảy tám chín mười mười một mười hai mười ba (BHXH) mười bốn."
    title = derive_title(long)
    assert title.endswith("…") and len(title.split()) <= 14 and "(" not in title


def test_text_with_only_chrome_has_no_content():
    with pytest.raises(NoContentError):
        parse_scraped("Banner trang chủ\n0:00 / 0:00\nvtcnews.vn\nBình luận\n", "x")


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("aăâđĐ Ð\u0301\u0323\xa0\u200b.:-/()0123456789\nAPMTin khácBình luận")),
        max_size=200,
    )
)
def test_parse_scraped_never_fails_unexpectedly(text):
    try:
        article = parse_scraped(text, "x")
    except NoContentError:
        return
    for value in (article.title, article.body, article.author or "", article.source or ""):
        assert value == normalize(value) and "Ð" not in value
    assert article.title


# --- JSON Lines --------------------------------------------------------------------------------


def jsonl(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)


GOOD = {
    "id": "a1",
    "title": "Bảo hiểm  y tế",
    "body": "Đoạn một.\nĐoạn  hai.\n\n\nĐoạn ba.",
    "date": "2022-05-17T08:30:00+07:00",
    "source": "Nhân Dân",
    "author": "PV",
    "url": "https://x.vn/a1",
    "topic": "Xã hội",
}


def test_jsonl_good_file(tmp_path):
    path = tmp_path / "good.jsonl"
    nfd = {"id": "a2", "title": unicodedata.normalize("NFD", "Thuỷ lợi"), "body": "Ðại hội\u00a0Đảng.", "date": "2022"}
    path.write_text(
        jsonl(GOOD, "", nfd, {"id": "a3", "title": "", "body": "Chỉ có thân bài.", "date": None}), encoding="utf-8"
    )
    a1, a2, a3 = _jsonl_file(path, "good.jsonl")
    assert a1 == Article(
        id="a1",
        title="Bảo hiểm y tế",
        body="Đoạn một.\n\nĐoạn hai.\n\nĐoạn ba.",
        date="2022-05-17",
        time="08:30",
        source="Nhân Dân",
        author="PV",
        url="https://x.vn/a1",
        topic="Xã hội",
        path="good.jsonl",
    )
    assert (a2.title, a2.body, a2.date, a2.source) == ("Thuỷ lợi", "Đại hội Đảng.", "2022", None)
    assert (a3.title, a3.date) == ("Chỉ có thân bài", None)


def test_jsonl_gz(tmp_path):
    path = tmp_path / "batch.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(jsonl(GOOD, {**GOOD, "id": "a2", "date": "2022-05"}))
    items = list(iter_corpus([tmp_path]))
    assert [(a.id, a.date, a.path) for a in items] == [
        ("a1", "2022-05-17", "batch.jsonl.gz"),
        ("a2", "2022-05", "batch.jsonl.gz"),
    ]


def test_jsonl_broken_line_in_the_middle(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(jsonl(GOOD, "{not json", {**GOOD, "id": "a3"}), encoding="utf-8")
    first, error, third = _jsonl_file(path, "sub/mixed.jsonl")
    assert (first.id, third.id) == ("a1", "a3")
    assert isinstance(error, ParseError) and (error.path, error.line) == ("sub/mixed.jsonl", 2)
    assert "invalid JSON" in error.reason and "Traceback" not in error.reason


@pytest.mark.parametrize(
    "record, reason",
    [
        ({"title": "T", "body": "B"}, "missing field 'id'"),
        ({"id": "  ", "title": "T", "body": "B"}, "field 'id' is empty"),
        ({"id": 7, "title": "T", "body": "B"}, "field 'id' must be a string"),
        ({"id": "x", "body": "B"}, "missing field 'title'"),
        ({"id": "x", "title": "", "body": " \n "}, "both 'title' and 'body' are empty"),
        ({"id": "x", "title": "T", "body": "B", "author": ["a"]}, "field 'author' must be a string or null"),
        ({"id": "x", "title": "T", "body": "B", "date": "2022-13-01"}, "bad date '2022-13-01'"),
        ({"id": "x", "title": "T", "body": "B", "date": "29/12/2022"}, "bad date '29/12/2022'"),
        ({"id": "x", "title": "T", "body": "B", "date": "2022-02-30T10:00"}, "bad date"),
        ({"id": "x", "title": "T", "body": "B", "date": 2022}, "field 'date' must be a string or null"),
        (["id", "x"], "expected a JSON object, got list"),
    ],
)
def test_jsonl_invalid_line_is_a_parse_error(tmp_path, record, reason):
    path = tmp_path / "bad.jsonl"
    path.write_text(jsonl(GOOD, record), encoding="utf-8")
    good, error = _jsonl_file(path, "bad.jsonl")
    assert good.id == "a1"
    assert error == ParseError("bad.jsonl", 2, error.reason) and reason in error.reason


def test_jsonl_blank_lines_bom_and_undecodable_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl(GOOD).encode() + b"\n  \n" + b'{"id": "\xff"}\n' + jsonl(GOOD).encode())
    items = list(_jsonl_file(path, "x.jsonl"))
    assert [type(i).__name__ for i in items] == ["Article", "ParseError", "Article"]
    assert items[1].line == 4 and "UTF-8" in items[1].reason


def test_jsonl_empty_and_corrupt_gzip(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip at all")
    items = list(iter_corpus([tmp_path]))
    assert items == [ParseError("bad.jsonl.gz", None, items[0].reason), ParseError("empty.jsonl", None, "empty file")]
    assert "gzip" in items[0].reason.lower()


# --- Files and folders -------------------------------------------------------------------------

ARTICLE_TEXT = f"Tiêu đề bài báo\n\n{LEAD}\n"


def test_nested_ids_hidden_and_unsupported_files(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "b.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    (tmp_path / "sub" / "x.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    (tmp_path / "sub" / "deeper" / "y.v2.TXT").write_text(ARTICLE_TEXT, encoding="utf-8")
    (tmp_path / ".hidden" / "z.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    (tmp_path / ".secret.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    (tmp_path / "notes.md").write_text(ARTICLE_TEXT, encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(jsonl(GOOD), encoding="utf-8")
    items = list(iter_corpus([tmp_path]))
    assert [(a.id, a.path) for a in items] == [
        ("a1", "a.jsonl"),
        ("b", "b.txt"),
        ("sub/deeper/y.v2", "sub/deeper/y.v2.TXT"),
        ("sub/x", "sub/x.txt"),
    ]


def test_single_file_argument_is_relative_to_its_parent(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "x.txt"
    path.write_text(ARTICLE_TEXT, encoding="utf-8")
    [article] = iter_corpus([path])
    assert (article.id, article.path, article.title, article.body) == ("x", "x.txt", "Tiêu đề bài báo", LEAD)
    [same] = read_file(path, tmp_path)
    assert same.id == "sub/x"


def test_nfd_file_name_gives_nfc_id(tmp_path):
    name = unicodedata.normalize("NFD", "bảo hiểm.txt")
    (tmp_path / name).write_text(ARTICLE_TEXT, encoding="utf-8")
    [article] = iter_corpus([tmp_path])
    assert article.id == "bảo hiểm" and unicodedata.is_normalized("NFC", article.id)


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty file"),
        (b"  \n\r\n\t", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00", "NUL"),
        (b"\x89PNG\r\n\x1a\n\x7f\x80\x90\x9d\xa4\xdb\xfe", "cannot tell the encoding"),
        ("Tieu de bai bao".encode("utf-16-le"), "NUL"),
        ("Banner trang chủ\n0:00 / 0:00\nvtcnews.vn\n".encode(), "no article text"),
    ],
)
def test_bad_text_file_is_a_parse_error_and_the_batch_goes_on(tmp_path, content, reason):
    (tmp_path / "a_bad.txt").write_bytes(content)
    (tmp_path / "b_good.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    error, good = iter_corpus([tmp_path])
    assert isinstance(error, ParseError) and (error.path, error.line) == ("a_bad.txt", None)
    assert reason in error.reason
    assert good.id == "b_good"


def test_utf8_bom_is_allowed(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + ARTICLE_TEXT.encode())
    [article] = iter_corpus([tmp_path])
    assert article.title == "Tiêu đề bài báo"


def test_missing_or_unsupported_explicit_paths_are_reported(tmp_path):
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    items = list(iter_corpus([tmp_path / "nope.txt", tmp_path / "notes.md"]))
    assert [(e.path, type(e).__name__) for e in items] == [("nope.txt", "ParseError"), ("notes.md", "ParseError")]
    assert "no such file" in items[0].reason and "unsupported" in items[1].reason


@pytest.mark.parametrize(
    ("fields", "date", "time"),
    [
        ({"date": "2013-10-23T11:39"}, "2013-10-23", "11:39"),
        ({"date": "2013-10-23", "time": "11:39"}, "2013-10-23", "11:39"),
        ({"date": "2013-10-23 07:05:59"}, "2013-10-23", "07:05"),
        ({"date": "2013-10-23T11:39:00+07:00", "time": "11:39"}, "2013-10-23", "11:39"),
        ({"date": "2013-10", "time": ""}, "2013-10", None),
        ({"date": "2013-10-23"}, "2013-10-23", None),
    ],
)
def test_jsonl_times_are_kept_with_their_date(tmp_path, fields, date, time):
    path = tmp_path / "t.jsonl"
    path.write_text(jsonl({"id": "t", "title": "T", "body": "B", **fields}), encoding="utf-8")
    (article,) = _jsonl_file(path, "t.jsonl")
    assert (article.date, article.time) == (date, time)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"time": "11:39"}, "'time' is given without a 'date'"),
        ({"date": "2013-10", "time": "11:39"}, "a time needs a full date"),
        ({"date": "2013-10-23", "time": "25:00"}, "bad time '25:00'"),
        ({"date": "2013-10-23", "time": "noon"}, "bad time 'noon'"),
        ({"date": "2013-10-23T11:39", "time": "12:00"}, "differ"),
        ({"date": "2013-10-23", "time": 1139}, "field 'time' must be a string or null"),
    ],
)
def test_jsonl_bad_times_are_line_errors(tmp_path, fields, reason):
    path = tmp_path / "t.jsonl"
    path.write_text(jsonl({"id": "t", "title": "T", "body": "B", **fields}), encoding="utf-8")
    (error,) = _jsonl_file(path, "t.jsonl")
    assert isinstance(error, ParseError) and reason in error.reason


def test_scraped_date_lines_give_their_time():
    seeds = {a.id[:3]: a for a in iter_corpus([CORPUS])}
    assert (seeds["001"].date, seeds["001"].time) == ("2018-01-16", "14:54")  # "1/16/2018 2:54:08 PM"
    assert (seeds["003"].date, seeds["003"].time) == ("2022-12-29", "16:41")  # "29/12/2022 16:41:00 +07:00"
    assert seeds["002"].time is None  # a month only: no time is made up
    text = "Tiêu đề bài báo về bảo hiểm\n16h05, 3/2/2021\nNội dung bài báo đủ dài để là một bài."
    assert (parse_scraped(text, "x").date, parse_scraped(text, "x").time) == ("2021-02-03", "16:05")
