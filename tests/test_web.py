"""The search page, the article view, /suggest and the static files, through falcon.testing."""

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import falcon
import pytest
from falcon import testing

from search.settings import Settings
from search.web.app import create_app
from search.web.render import article_url, search_url
from tests.conftest import XSS_ARTICLE

#: Every tag the pages may contain; anything else in a response came from the data.
PAGE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "link",
    "script",
    "body",
    "header",
    "a",
    "form",
    "div",
    "label",
    "input",
    "button",
    "fieldset",
    "legend",
    "select",
    "option",
    "main",
    "p",
    "span",
    "ol",
    "ul",
    "li",
    "h1",
    "h2",
    "mark",
    "nav",
    "aside",
    "section",
    "article",
    # stories: a collapsed hit's list
    "details",
    "summary",
    # the timeline chart
    "figure",
    "figcaption",
    "svg",
    "rect",
    "table",
    "caption",
    "tr",
    "th",
    "td",
}


class Tags(HTMLParser):
    """The elements of a page as a browser's parser sees them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def of(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]


def assert_inert(text: str) -> None:
    tags = Tags(text)
    assert {name for name, _ in tags.elements} <= PAGE_TAGS
    assert tags.of("script") == [{"src": "/static/app.js", "defer": None}]
    assert not [attrs for _, attrs in tags.elements if any(name.startswith("on") for name in attrs)]
    assert not [a for a in tags.of("a") if not a["href"].startswith(("/", "http://", "https://"))]
    assert all(set(mark) <= {"id"} for mark in tags.of("mark"))


@pytest.fixture(scope="module")
def client(web_index_dir: Path) -> testing.TestClient:
    return testing.TestClient(create_app(Settings(index_dir=web_index_dir)))


def test_page_without_query_explains_how_to_search(client):
    resp = client.simulate_get("/")
    assert resp.status == falcon.HTTP_200 and resp.headers["content-type"].startswith("text/html")
    assert 'action="/"' in resp.text and "không dấu" in resp.text
    assert_inert(resp.text)


def test_results_are_server_rendered_with_highlights_and_links(client):
    resp = client.simulate_get("/", params={"q": "quang ngai"})
    assert resp.status == falcon.HTTP_200
    assert "<mark>Quảng Ngãi</mark>" in resp.text
    assert f'href="{article_url("004_7bdadf58e2716509", "quang ngai")}"' in resp.text
    assert 'value="quang ngai"' in resp.text
    assert_inert(resp.text)


def test_outlet_options_carry_counts_and_filtering_keeps_the_choice(client):
    resp = client.simulate_get("/", params={"q": "bhxh"})
    assert '<option value="VTC News">VTC News (1)</option>' in resp.text
    resp = client.simulate_get("/", params={"q": "bhxh", "source": "VTC News"})
    assert '<option value="VTC News" selected>' in resp.text
    assert resp.text.count('class="hit"') == 1 and "Nghị quyết 96/NQ-BCS" in resp.text


def test_dates_sort_and_year_links(client):
    resp = client.simulate_get("/", params={"q": "bhxh", "from": "2022", "to": "2022", "sort": "date"})
    assert 'name="from" type="date" value="2022-01-01"' in resp.text
    assert 'name="to" type="date" value="2022-12-31"' in resp.text
    assert '<option value="date" selected>' in resp.text
    assert resp.text.count('class="hit"') == 2
    years = client.simulate_get("/", params={"q": "bhxh"}).text
    assert 'href="/?q=bhxh&amp;from=2022&amp;to=2022"' in years


def test_pagination_links_keep_the_state(client):
    resp = client.simulate_get("/", params={"q": "bao hiem", "per_page": "2", "source": ""})
    assert 'aria-current="page">1<' in resp.text
    assert 'href="/?q=bao+hiem&amp;per_page=2&amp;page=2"' in resp.text
    assert '<input type="hidden" name="per_page" value="2">' in resp.text
    page2 = client.simulate_get("/", params={"q": "bao hiem", "page": "2", "per_page": "2"})
    assert 'aria-current="page">2<' in page2.text and 'rel="prev"' in page2.text


def test_empty_state_helps(client):
    resp = client.simulate_get("/", params={"q": "xyzzyqwerty", "source": "VTC News"})
    assert resp.status == falcon.HTTP_200
    assert "Không tìm thấy kết quả" in resp.text and 'href="/?q=xyzzyqwerty"' in resp.text


def test_bad_input_is_shown_on_the_page_with_its_status(client):
    resp = client.simulate_get("/", params={"q": "bhxh", "from": "2022-13-01"})
    assert resp.status == falcon.HTTP_400
    assert 'role="alert"' in resp.text and "YYYY-MM-DD" in resp.text
    assert_inert(resp.text)


def test_did_you_mean_is_rendered_when_offered():
    from search.web.render import search_page

    result = {"total": 0, "page": 1, "per_page": 10, "took_ms": 1, "hits": [], "facets": {}, "suggestion": "bảo <hiểm>"}
    html = search_page({"q": "bao hjem"}, result)
    assert 'Có phải bạn muốn tìm: <a data-nav href="/?q=b%E1%BA%A3o+%3Chi%E1%BB%83m%3E">bảo &lt;hiểm&gt;</a>' in html
    assert "Có phải" not in search_page({"q": "bao hjem"}, {**result, "suggestion": None})


def test_search_url_drops_empty_values_and_resets_the_page():
    state = {"q": "a b", "page": "3", "source": "", "sort": "date"}
    assert search_url(state) == "/?q=a+b&sort=date"
    assert search_url(state, page="4") == "/?q=a+b&sort=date&page=4"
    assert search_url({}) == "/"


def test_article_view_marks_the_query_and_anchors_the_first_match(client):
    resp = client.simulate_get("/read/003_50a1d9bb06e22414", params={"q": "96/NQ-BCS"})
    assert resp.status == falcon.HTTP_200
    assert '<mark id="first-match">96/NQ-BCS</mark>' in resp.text
    assert resp.text.count('id="first-match"') == 1
    assert 'href="/?q=96%2FNQ-BCS"' in resp.text
    plain = client.simulate_get("/read/003_50a1d9bb06e22414")
    assert "<mark" not in plain.text and "96/NQ-BCS" in plain.text


def test_unknown_article_page_is_404(client):
    resp = client.simulate_get("/read/nope")
    assert resp.status == falcon.HTTP_404 and "nope" in resp.text


def test_the_xss_article_is_inert_in_results_and_article_view(client):
    for q in ["bao hiem doc", "<script>alert(1)</script> \"'><img src=x onerror=alert(2)>", "</mark> mark"]:
        resp = client.simulate_get("/", params={"q": q})
        assert resp.status == falcon.HTTP_200
        assert_inert(resp.text)
    results = client.simulate_get("/", params={"q": "tin doc"}).text
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in results
    assert "&lt;/mark&gt;&lt;img src=x onerror=alert(1)&gt;" in results
    assert f'href="/read/{quote(XSS_ARTICLE.id, safe="/")}?q=tin+doc#first-match"' in results
    view = client.simulate_get("/read/" + quote(XSS_ARTICLE.id, safe="/"), params={"q": "bảo hiểm <script>"})
    assert view.status == falcon.HTTP_200
    assert_inert(view.text)
    assert "javascript:" not in Tags(view.text).of("a")[-1]["href"]
    assert "&lt;/mark&gt;&lt;mark&gt;<mark>bảo hiểm</mark>&lt;/mark&gt;" in view.text
    assert "&amp;lt;b&amp;gt; &amp;amp;" in view.text


def test_pages_send_a_strict_csp_and_security_headers(client):
    for path in ["/", "/?q=bhxh", "/read/nope", "/?q=bhxh&page=0"]:
        headers = client.simulate_get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"


def test_suggest_answers_accented_phrases_and_titles(client):
    resp = client.simulate_get("/suggest", params={"q": "bao hi"})
    assert resp.status == falcon.HTTP_200 and resp.json["ready"] is True
    phrases = [s["text"] for s in resp.json["suggestions"] if s["kind"] == "phrase"]
    assert "bảo hiểm xã hội" in phrases
    assert resp.headers["cache-control"] == "public, max-age=5"
    titles = client.simulate_get("/suggest", params={"q": "tin doc", "limit": "1"}).json["suggestions"]
    assert titles[-1] == {"text": XSS_ARTICLE.title, "kind": "title", "id": XSS_ARTICLE.id}


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "x" * 101}, {"q": "bao", "limit": "0"}, {"q": "bao", "limit": "11"}, {"q": "bao", "limit": "many"}],
)
def test_suggest_refuses_bad_input(client, params):
    resp = client.simulate_get("/suggest", params=params)
    assert resp.status == falcon.HTTP_400 and resp.json["title"]


@pytest.mark.parametrize(
    "path, kind", [("/widget.js", "javascript"), ("/static/app.js", "javascript"), ("/static/style.css", "css")]
)
def test_static_files_are_cached_and_revalidated(client, path, kind):
    resp = client.simulate_get(path)
    assert resp.status == falcon.HTTP_200 and kind in resp.headers["content-type"]
    assert resp.headers["cache-control"] == "public, max-age=3600"
    etag = resp.headers["etag"]
    again = client.simulate_get(path, headers={"If-None-Match": etag})
    assert again.status == falcon.HTTP_304 and again.content == b""
    assert client.simulate_get(path, headers={"If-None-Match": '"other"'}).status == falcon.HTTP_200


def test_unknown_static_file_is_404(client):
    assert client.simulate_get("/static/nope.js").status == falcon.HTTP_404
    assert client.simulate_get("/static/..%2Fapi.py").status == falcon.HTTP_404


def test_widget_may_be_embedded_elsewhere_but_pages_may_not(client):
    assert client.simulate_get("/widget.js").headers["cross-origin-resource-policy"] == "cross-origin"
    assert client.simulate_get("/static/app.js").headers["cross-origin-resource-policy"] == "same-origin"


def test_the_widget_renders_no_markup_from_data():
    """The widget turns highlighted HTML into text nodes and <mark> elements by itself."""
    source = (Path(__file__).resolve().parent.parent / "search" / "web" / "static" / "widget.js").read_text()
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source and "eval(" not in source


def test_the_readme_states_the_widget_size():
    import gzip
    import re

    root = Path(__file__).resolve().parent.parent
    body = (root / "search" / "web" / "static" / "widget.js").read_bytes()
    stated = re.search(r"`widget.js` is ([\d.]+) KB \(([\d.]+) KB gzipped\)", (root / "README.md").read_text())
    assert stated, "the README says how big widget.js is"
    assert float(stated[1]) == round(len(body) / 1000, 1)
    assert float(stated[2]) == round(len(gzip.compress(body, 9)) / 1000, 1)


def test_suggestions_follow_updates_and_rebuilds(tmp_path: Path):
    import time

    from search.corpus.article import Article
    from search.index.indexer import build

    index_dir = tmp_path / "index"
    build(index_dir, [Article(id="a", title="Giá vàng tăng mạnh", body="x")])
    client = testing.TestClient(create_app(Settings(index_dir=index_dir)))

    def titles_for(q: str, expected: list[str]) -> list[str]:
        deadline = time.monotonic() + 20
        while True:  # the first answer may still come from the suggester of the previous state
            found = [
                s["text"]
                for s in client.simulate_get("/suggest", params={"q": q}).json["suggestions"]
                if s["kind"] == "title"
            ]
            if found == expected or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    assert titles_for("gia v", ["Giá vàng tăng mạnh"]) == ["Giá vàng tăng mạnh"]
    build(
        index_dir,
        [
            Article(id="a", title="Giá vàng tăng mạnh", body="x"),
            Article(id="b", title="Giá vé tàu Tết", body="y", date="2024-01-01"),
        ],
    )
    assert titles_for("gia v", ["Giá vé tàu Tết", "Giá vàng tăng mạnh"]) == ["Giá vé tàu Tết", "Giá vàng tăng mạnh"]
    build(index_dir, [Article(id="c", title="Giá xăng giảm", body="z")], rebuild=True)
    assert titles_for("gia", ["Giá xăng giảm"]) == ["Giá xăng giảm"]
