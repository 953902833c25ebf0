"""Saved news pages: the article and its metadata out of a page full of site chrome."""

import gzip
from pathlib import Path

from search.corpus.errors import ParseError
from search.corpus.files import iter_corpus
from tests.test_encodings import windows_1258

LEAD = (
    "(Baoquangngai.vn) - Năm 2022, Bảo hiểm xã hội tỉnh Quảng Ngãi đã phối hợp với các ngành, địa phương "
    "đẩy mạnh tuyên truyền, vận động người dân tham gia bảo hiểm xã hội tự nguyện."
)
PARAGRAPHS = [
    LEAD,
    "Theo Giám đốc BHXH tỉnh, đến cuối tháng 11/2022, toàn tỉnh có hơn 21.000 người tham gia BHXH tự nguyện, "
    "tăng 3.500 người so với cùng kỳ năm trước. Đây là kết quả của hàng trăm hội nghị tuyên truyền.",
    "Bên cạnh đó, ngành BHXH còn phối hợp với Bưu điện tỉnh thành lập mạng lưới đại lý thu rộng khắp, giúp "
    "người dân dễ dàng tiếp cận và đóng tiền hằng tháng. Nhiều huyện như Bình Sơn, Sơn Tịnh đạt tỷ lệ cao.",
    "Năm 2023, BHXH tỉnh đặt mục tiêu phát triển thêm 5.000 người tham gia, góp phần thực hiện Nghị quyết "
    "28-NQ/TW về cải cách chính sách bảo hiểm xã hội.",
]
TITLE = "Quảng Ngãi tăng cường phát triển người tham gia BHXH tự nguyện"


def page(head: str = "", byline: str = "", paragraphs=PARAGRAPHS, charset: str = "utf-8") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="{charset}">
<title>{TITLE} - Báo Quảng Ngãi</title>{head}
</head><body>
<header><nav><ul><li><a href="/">Trang chủ</a></li><li><a href="/thoi-su">Thời sự</a></li>
<li><a href="/kinh-te">Kinh tế</a></li><li><a href="/xa-hoi">Xã hội</a></li></ul></nav>
<div class="banner">Quảng cáo</div></header>
<main><article><h1 class="title">{TITLE}</h1>{byline}
{body}
</article>
<section class="related"><h3>Tin cùng chuyên mục</h3><ul>
<li><a href="/a">Giá vàng hôm nay tăng mạnh</a></li><li><a href="/b">Tai nạn giao thông trên quốc lộ 1A</a></li>
</ul></section>
<section class="comments"><h3>Bình luận</h3><div class="comment">Bài viết hay quá, cảm ơn tác giả!</div></section>
</main>
<footer><p>© Báo Quảng Ngãi. Giấy phép số 123/GP-BTTTT. Địa chỉ: 8 Hùng Vương, TP Quảng Ngãi.</p></footer>
</body></html>"""


META = """
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="Báo Quảng Ngãi">
<meta name="author" content="Thanh Nhị">
<meta property="article:published_time" content="2022-12-29T16:41:00+07:00">
<link rel="canonical" href="{url}">""".format(
    title=TITLE, url="https://baoquangngai.vn/xa-hoi/202212/bhxh-tu-nguyen.htm"
)
BYLINE = '<div class="meta"><span class="author">Thanh Nhị</span> <time datetime="2022-12-29">29/12/2022</time></div>'


def test_article_and_metadata_from_a_saved_page(tmp_path: Path):
    (tmp_path / "xa-hoi").mkdir()
    (tmp_path / "xa-hoi" / "bhxh.html").write_text(page(META, BYLINE), encoding="utf-8")
    [article] = iter_corpus([tmp_path])
    assert article.id == "xa-hoi/bhxh" and article.path == "xa-hoi/bhxh.html"
    assert article.title == TITLE
    assert (article.date, article.source, article.author) == ("2022-12-29", "Báo Quảng Ngãi", "Thanh Nhị")
    assert article.time == "16:41"  # from article:published_time, the same day as the date
    assert article.url == "https://baoquangngai.vn/xa-hoi/202212/bhxh-tu-nguyen.htm"
    assert article.body.split("\n\n") == PARAGRAPHS
    for chrome in ("Trang chủ", "Quảng cáo", "Giá vàng", "Bình luận", "cảm ơn tác giả", "Giấy phép"):
        assert chrome not in article.body


def test_a_known_domain_names_the_outlet_as_the_rest_of_the_corpus(tmp_path: Path):
    head = '<link rel="canonical" href="https://tuoitre.vn/bhxh-20221229.htm">'
    (tmp_path / "tto.htm").write_text(page(head), encoding="utf-8")
    [article] = iter_corpus([tmp_path])
    assert article.source == "Tuổi Trẻ" and article.id == "tto"


def test_no_date_is_guessed(tmp_path: Path):
    (tmp_path / "a.html").write_text(page(), encoding="utf-8")
    [article] = iter_corpus([tmp_path])
    assert article.date is None and article.title == TITLE


def test_gzipped_and_legacy_charset_pages(tmp_path: Path):
    (tmp_path / "a.html.gz").write_bytes(gzip.compress(page(META, BYLINE).encode()))
    (tmp_path / "b.htm").write_bytes(windows_1258(page(META, BYLINE, charset="windows-1258")))
    first, second = iter_corpus([tmp_path])
    assert first.id == "a" and second.id == "b"
    assert first.body == second.body and first.body.startswith("(Baoquangngai.vn) - Năm 2022")


def test_a_page_without_an_article_is_a_parse_error(tmp_path: Path):
    (tmp_path / "menu.html").write_text(
        '<html><body><nav><a href="/">Trang chủ</a> <a href="/x">Xã hội</a></nav></body></html>', encoding="utf-8"
    )
    (tmp_path / "broken.html.gz").write_bytes(b"\x1f\x8b not really gzip")
    broken, menu = iter_corpus([tmp_path])
    assert isinstance(menu, ParseError) and "no article text" in menu.reason
    assert isinstance(broken, ParseError) and "cannot read file" in broken.reason


def test_a_time_is_taken_only_for_the_day_the_page_is_dated(tmp_path: Path):
    """The extractor prefers the published time's day to the byline's; a time of another day
    (a byline dated otherwise, with no published time of that day) or none is not made up."""
    other_day = META.replace("2022-12-29T16:41:00+07:00", "2022-12-30T08:00:00+07:00")
    (tmp_path / "a.html").write_text(page(other_day, BYLINE), encoding="utf-8")
    no_time = META.replace("2022-12-29T16:41:00+07:00", "2022-12-29")
    (tmp_path / "b.html").write_text(page(no_time, BYLINE), encoding="utf-8")
    only_byline = META.replace('<meta property="article:published_time" content="2022-12-29T16:41:00+07:00">', "")
    (tmp_path / "c.html").write_text(page(only_byline, BYLINE), encoding="utf-8")
    a, b, c = iter_corpus([tmp_path])
    assert (a.date, a.time) == ("2022-12-30", "08:00")
    assert (b.date, b.time) == ("2022-12-29", None)
    assert (c.date, c.time) == ("2022-12-29", None)
