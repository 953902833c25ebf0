"""Stories over HTTP: collapsed search, related coverage, story pages, the CSV column and the
pages' lists, through falcon.testing and once through gunicorn."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest
from falcon import testing

from search.corpus.article import Article
from search.index.indexer import build
from search.settings import Settings
from search.web.app import create_app
from tests.conftest import XSS_ARTICLE, gunicorn
from tests.test_story_index import repost, sample, seeds
from tests.test_web import assert_inert

#: An id that itself ends in "/related", and the article its prefix names.
TRICKY = "tin/related"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    s = seeds()
    articles, _ = sample()
    xss_copy = replace(XSS_ARTICLE, id="xss-copy", title="Bản sao <b>độc</b>", source="<script>x</script>")
    extra = [
        repost(s["001"], "r001", "BHXH tỉnh tổng kết tuyên truyền năm 2017"),
        repost(s["003"], "r003", "Quảng Nam: truyền thông BHXH hiệu quả nhờ Nghị quyết 96"),
        replace(s["002"], id="tin", path=None),
        replace(s["004"], id=TRICKY, path=None),
        XSS_ARTICLE,
        xss_copy,
    ]
    directory = tmp_path_factory.mktemp("story-api")
    build(directory, [*s.values(), *articles, *extra])
    return directory


@pytest.fixture(scope="module")
def client(index_dir: Path) -> testing.TestClient:
    return testing.TestClient(create_app(Settings(index_dir=index_dir, result_cache_entries=0)))


def test_search_collapses_stories_by_default(client: testing.TestClient) -> None:
    q = {"q": "Nga nổ trại lính", "per_page": "50"}
    collapsed = client.simulate_get("/search", params=q).json
    every = client.simulate_get("/search", params={**q, "collapse": "none"}).json
    assert collapsed["total"] == every["total"] and collapsed["facets"] == every["facets"]
    assert collapsed["total_stories"] == every["total_stories"] == len(collapsed["hits"]) < every["total"]
    stories = [h["story"]["id"] for h in collapsed["hits"]]
    assert len(stories) == len(set(stories))
    russia = next(h for h in collapsed["hits"] if h["story"]["id"] == "ktlab-12236880")
    assert russia["story"]["size"] == 3
    assert russia["story"]["sources"] == ["baotintuc.vn", "infonet.vn", "baodatviet.vn"]
    # The best article of the story is the one shown: the first of them uncollapsed.
    first = next(h["id"] for h in every["hits"] if h["story"]["id"] == "ktlab-12236880")
    assert russia["id"] == first


def test_pages_are_pages_of_stories(client: testing.TestClient) -> None:
    q = {"q": "bảo hiểm xã hội", "per_page": "2"}
    pages = [client.simulate_get("/search", params={**q, "page": str(n)}).json for n in (1, 2, 3, 4)]
    shown = [h["story"]["id"] for page in pages for h in page["hits"]]
    assert len(shown) == len(set(shown)) == pages[0]["total_stories"]
    assert all(page["total"] == pages[0]["total"] for page in pages)


def test_collapse_takes_story_or_none(client: testing.TestClient) -> None:
    response = client.simulate_get("/search", params={"q": "bảo hiểm", "collapse": "stories"})
    assert response.status_code == 400 and "collapse" in response.json["description"] + response.json["title"]


def test_an_article_lists_its_story(client: testing.TestClient) -> None:
    article = client.simulate_get("/articles/ktlab-12239909").json
    assert article["story"]["id"] == "ktlab-12236880" and article["story"]["size"] == 3
    assert [a["id"] for a in article["story"]["articles"]] == ["ktlab-12236880", "ktlab-12237891"]
    assert set(article["story"]["articles"][0]) == {"id", "title", "date", "source"}
    alone = client.simulate_get("/articles/ktlab-11307789").json
    assert alone["story"] == {"id": "ktlab-11307789", "size": 1, "articles": []}


def test_related_coverage_puts_the_story_first(client: testing.TestClient) -> None:
    body = client.simulate_get("/articles/ktlab-12236880/related").json
    assert body["id"] == "ktlab-12236880" and len(body["related"]) == 10
    top = body["related"][:2]
    assert {r["id"] for r in top} == {"ktlab-12237891", "ktlab-12239909"} and all(r["same_story"] for r in top)
    assert not any(r["same_story"] for r in body["related"][2:])
    rest = [r["score"] for r in body["related"][2:]]
    assert rest == sorted(rest, reverse=True)
    assert set(body["related"][0]) == {"id", "title", "date", "source", "score", "same_story"}
    assert len(client.simulate_get("/articles/ktlab-12236880/related", params={"limit": "3"}).json["related"]) == 3
    assert client.simulate_get("/articles/ktlab-12236880/related", params={"limit": "51"}).status_code == 400
    assert client.simulate_get("/articles/no-such-id/related").status_code == 404


def test_an_id_ending_in_related_is_still_reachable(client: testing.TestClient) -> None:
    tricky = client.simulate_get(f"/articles/{TRICKY}").json
    assert tricky["id"] == TRICKY and "body" in tricky  # the article itself, not a list
    of_tricky = client.simulate_get(f"/articles/{TRICKY}/related").json
    assert of_tricky["id"] == TRICKY and of_tricky["related"]
    prefix = client.simulate_get(f"/articles/{TRICKY}", params={"view": "related"}).json
    assert prefix["id"] == TRICKY and prefix["related"]
    of_prefix = client.simulate_get("/articles/tin", params={"view": "related"}).json
    assert of_prefix["id"] == "tin" and "body" not in of_prefix
    assert client.simulate_get("/articles/tin", params={"view": "list"}).status_code == 400


def test_story_pages(client: testing.TestClient) -> None:
    story = client.simulate_get("/stories/ktlab-12236880").json
    assert story["id"] == "ktlab-12236880" and story["size"] == 3
    assert [a["id"] for a in story["articles"]] == ["ktlab-12236880", "ktlab-12237891", "ktlab-12239909"]
    single = client.simulate_get("/stories/ktlab-11307789").json
    assert single["size"] == 1 and [a["id"] for a in single["articles"]] == ["ktlab-11307789"]
    assert client.simulate_get("/stories/ktlab-12237891").status_code == 404  # a member, not a story id
    assert client.simulate_get("/stories/none-such").status_code == 404


def test_the_export_has_a_story_column(client: testing.TestClient) -> None:
    response = client.simulate_get("/search.csv", params={"q": "Nga nổ trại lính"})
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert {row["id"]: row["story"] for row in rows if row["story"] == "ktlab-12236880"}.keys() == {
        "ktlab-12236880",
        "ktlab-12237891",
        "ktlab-12239909",
    }


def test_the_page_shows_a_story_line_that_opens_to_its_articles(client: testing.TestClient) -> None:
    page = client.simulate_get("/", params={"q": "Nga nổ trại lính"}).text
    assert_inert(page)
    assert "<summary>Cùng sự kiện: 3 bài (baotintuc.vn, infonet.vn, …)</summary>" in page
    assert page.count("<details") == page.count("</details>") >= 1
    view = client.simulate_get("/read/ktlab-12239909").text
    assert_inert(view)
    assert "Cùng sự kiện (3 bài)" in view and "Bài liên quan" in view
    assert 'href="/read/ktlab-12236880"' in view


def test_story_lists_escape_what_the_articles_hold(client: testing.TestClient) -> None:
    page = client.simulate_get("/", params={"q": "tin độc"}).text
    assert_inert(page)
    assert "Cùng sự kiện: 2 bài" in page and "&lt;script&gt;x&lt;/script&gt;" in page
    view = client.simulate_get("/read/" + quote(XSS_ARTICLE.id, safe="")).text
    assert_inert(view)
    assert "Bản sao &lt;b&gt;độc&lt;/b&gt;" in view


@pytest.mark.slow
def test_through_gunicorn(index_dir: Path, tmp_path: Path) -> None:
    with gunicorn(tmp_path, VNSEARCH_INDEX_DIR=str(index_dir)) as base:
        with urllib.request.urlopen(base + "/search?q=" + quote("Nga nổ trại lính")) as response:
            body = json.load(response)
        assert body["total"] > body["total_stories"] and body["hits"][0]["story"]["size"] >= 1
        with urllib.request.urlopen(base + "/articles/ktlab-12236880/related?limit=2") as response:
            related = json.load(response)["related"]
        assert [r["same_story"] for r in related] == [True, True]
        with urllib.request.urlopen(base + "/stories/ktlab-12236880") as response:
            assert json.load(response)["size"] == 3


def test_an_article_without_a_story_file_is_alone(tmp_path: Path) -> None:
    build(tmp_path / "ix", [Article(id="a", title="Tin", body="Bảo hiểm xã hội.")])
    for stale in tmp_path.glob("ix/gen-*/stories_*.json"):
        stale.unlink()
    client = testing.TestClient(create_app(Settings(index_dir=tmp_path / "ix")))
    assert client.simulate_get("/articles/a").json["story"] == {"id": "a", "size": 1, "articles": []}
    assert client.simulate_get("/search", params={"q": "tin"}).json["total_stories"] == 1


def test_the_command_collapses_too(index_dir: Path) -> None:
    from click.testing import CliRunner

    from search.cli import main as cli

    args = ["search", "Nga nổ trại lính", "--index-dir", str(index_dir)]
    collapsed = json.loads(CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False).stdout)
    every = json.loads(CliRunner().invoke(cli, [*args, "--json", "--collapse", "none"], catch_exceptions=False).stdout)
    assert collapsed["total"] == every["total"] and len(collapsed["hits"]) < len(every["hits"])
    assert len({h["story"]["id"] for h in collapsed["hits"]}) == len(collapsed["hits"])
    text = CliRunner().invoke(cli, args, catch_exceptions=False).stdout
    assert "Cùng sự kiện: 3 bài (baotintuc.vn, infonet.vn, baodatviet.vn)" in text
    assert f"in {collapsed['total_stories']} stories" in text
