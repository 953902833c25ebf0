"""Coverage over time through the API and the page: timelines, Atom feeds, CSV exports, on real
articles with dates, times and outlets (tests/data/ktlab-sample.jsonl), the seeds and the
hostile article."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import falcon.testing
import feedparser
import pytest

from search.corpus.files import iter_corpus
from search.index.indexer import build
from search.searching.formats import entry_id
from search.settings import Settings
from search.web.app import create_app
from tests.conftest import CORPUS, XSS_ARTICLE
from tests.test_web import Tags, assert_inert

SAMPLE = Path(__file__).parent / "data" / "ktlab-sample.jsonl"
TOKEN = "feed-token"


@pytest.fixture
def client(tmp_path: Path) -> falcon.testing.TestClient:
    index_dir = tmp_path / "index"
    build(index_dir, [*iter_corpus([SAMPLE, CORPUS]), XSS_ARTICLE])
    return falcon.testing.TestClient(create_app(Settings(index_dir=index_dir, admin_token=TOKEN)))


def test_a_timeline_counts_every_match_not_just_the_page(client):
    full = client.simulate_get("/search", params={"q": "bão", "per_page": "50", "collapse": "none"}).json
    body = client.simulate_get("/search", params={"q": "bão", "histogram": "month", "per_page": "2"}).json
    timeline = body["timeline"]
    assert timeline["interval"] == "month" and len(body["hits"]) == 2
    dated = sum(1 for hit in full["hits"] if hit["date"])
    assert sum(b["count"] for b in timeline["buckets"]) == dated
    assert timeline["undated"] == body["total"] - dated
    starts = [b["start"] for b in timeline["buckets"]]
    assert starts == sorted(starts) and all(s.endswith("-01") for s in starts)
    assert "timeline" not in client.simulate_get("/search", params={"q": "bão"}).json


def test_the_timeline_follows_the_filters(client):
    body = client.simulate_get(
        "/search", params={"q": "bão", "histogram": "auto", "from": "2013-10-01", "to": "2013-11-30"}
    ).json
    assert body["timeline"]["interval"] == "day"
    assert (
        body["timeline"]["buckets"][0]["start"] == "2013-10-01"
        and body["timeline"]["buckets"][-1]["start"] == "2013-11-30"
    )
    assert body["timeline"]["undated"] == 0
    assert sum(b["count"] for b in body["timeline"]["buckets"]) == body["total"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"histogram": "minute"}, "Expected one of: day, week, month, year, auto"),
        ({"histogram": "day", "from": "1990", "to": "2020"}, "choose a coarser interval"),
        ({"from": "2014", "to": "2013"}, "'from' is after 'to'"),
    ],
)
def test_bad_timeline_requests_are_400s_that_say_why(client, params, says):
    for path in ("/search", "/feed", "/search.csv"):
        response = client.simulate_get(path, params={"q": "bão", **params})
        if path != "/search" and "histogram" in params:
            continue  # feeds and exports have no timeline
        assert response.status_code == 400 and says in response.json["description"], (path, response.text)


def test_a_feed_is_atom_that_a_feed_reader_parses(client):
    response = client.simulate_get("/feed", params={"q": "giao tranh Pakistan"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo and feed.version == "atom10"
    assert 0 < len(feed.entries) <= 50
    entry = next(e for e in feed.entries if e.title.startswith("Ấn Độ và Pakistan"))
    assert entry.id.startswith("urn:uuid:") and entry.link.startswith("http://") and "/read/" in entry.link
    assert entry.updated == "2013-10-23T05:48:00+07:00" and entry.author == "vov.vn"
    assert feed.entries[0].title.startswith("Lại giao tranh")  # 16:12 the same day: newer
    updated = [dt.datetime.fromisoformat(e.updated) for e in feed.entries]
    assert updated == sorted(updated, reverse=True)


def test_entry_ids_are_stable_and_the_feed_answers_304(client):
    first = client.simulate_get("/feed", params={"q": "bão"})
    again = client.simulate_get("/feed", params={"q": "bão"})
    assert [e.id for e in feedparser.parse(first.content).entries] == [
        e.id for e in feedparser.parse(again.content).entries
    ]
    assert first.headers["etag"] == again.headers["etag"]
    assert (
        client.simulate_get("/feed", params={"q": "bão"}, headers={"If-None-Match": first.headers["etag"]}).status_code
        == 304
    )
    since = {"If-Modified-Since": first.headers["last-modified"]}
    assert client.simulate_get("/feed", params={"q": "bão"}, headers=since).status_code == 304
    assert client.simulate_get("/feed", params={"q": "bão"}, headers={"If-None-Match": '"other"'}).status_code == 200


def test_an_article_put_through_the_api_tops_the_feed_on_the_next_request(client):
    before = client.simulate_get("/feed", params={"q": "bão"})
    article = {
        "id": "new/1",
        "title": "Bão số 15 đổ bộ",
        "body": "Cơn bão mạnh nhất năm.",
        "date": "2013-11-11",
        "time": "06:30",
        "source": "vov.vn",
    }
    put = client.simulate_put("/articles/new/1", json=article, headers={"Authorization": f"Bearer {TOKEN}"})
    assert put.status_code == 201
    after = client.simulate_get("/feed", params={"q": "bão", "source": "vov.vn"})
    top = feedparser.parse(after.content).entries[0]
    assert top.id == entry_id("new/1") and top.updated == "2013-11-11T06:30:00+07:00" and top.author == "vov.vn"
    fresh = client.simulate_get("/feed", params={"q": "bão"}, headers={"If-None-Match": before.headers["etag"]})
    assert fresh.status_code == 200


def test_the_hostile_article_stays_text_in_the_feed_and_the_export(client):
    response = client.simulate_get("/feed", params={"q": "bảo hiểm độc"})
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    entry = next(e for e in feed.entries if e.id == entry_id(XSS_ARTICLE.id))
    assert entry.title == XSS_ARTICLE.title  # markup and quotes come back as the text they were
    assert "<script" not in entry.summary and "onerror" not in entry.summary.replace("onerror=", "")
    assert "&lt;script&gt;" in entry.summary or "&lt;img" in entry.summary
    export = client.simulate_get("/search.csv", params={"q": "bảo hiểm độc"})
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    row = next(r for r in rows if r["id"] == XSS_ARTICLE.id)
    assert row["title"] == XSS_ARTICLE.title and row["url"] == XSS_ARTICLE.url


def test_an_export_is_a_spreadsheet_of_up_to_1000_rows(client):
    response = client.simulate_get("/search.csv", params={"q": "vàng", "sort": "date"})
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''vnsearch-v%C3%A0ng.csv" in disposition
    assert 'filename="vnsearch-vang.csv"' in disposition
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == ["id", "date", "source", "author", "title", "url", "score", "story"]
    total = client.simulate_get("/search", params={"q": "vàng"}).json["total"]
    assert len(rows) - 1 == min(total, 1000)
    dates = [r[1] for r in rows[1:] if r[1]]
    assert dates == sorted(dates, reverse=True) and dates[:3] == [
        "2013-11-08 00:01",
        "2013-11-07 20:12",
        "2013-11-07 18:16",
    ]


def test_cells_a_spreadsheet_would_run_are_neutralised(client):
    article = {
        "id": "=cmd|' /C calc'!A0",
        "title": '+bão HYPERLINK("http://x")',
        "body": "bão -1+1",
        "author": "@SUM(1+1)",
        "source": "-vov",
    }
    client.simulate_put(f"/articles/{article['id']}", json=article, headers={"Authorization": f"Bearer {TOKEN}"})
    rows = list(
        csv.DictReader(io.StringIO(client.simulate_get("/search.csv", params={"q": "hyperlink"}).text.lstrip("\ufeff")))
    )
    (row,) = rows
    assert row["id"].startswith("'=") and row["title"].startswith("'+") and row["author"].startswith("'@")
    assert row["source"].startswith("'-")


def test_the_page_draws_the_timeline_and_offers_the_feed(client):
    page = client.simulate_get("/", params={"q": "bão"}).text
    assert_inert(page)
    tags = Tags(page)
    (svg,) = tags.of("svg")
    assert svg["role"] == "img" and "nhiều nhất" in svg["aria-label"]
    bars = [a["href"] for a in tags.of("a") if "aria-label" in a and "bài" in a["aria-label"]]
    assert bars and all("from=" in href and "to=" in href and "q=b%C3%A3o" in href for href in bars)
    assert "không rõ ngày" in page  # the seeds without a date are counted beside the chart
    (alternate,) = [link for link in tags.of("link") if link.get("rel") == "alternate"]
    assert alternate["type"] == "application/atom+xml" and alternate["href"] == "/feed?q=b%C3%A3o"
    assert ">Theo dõi</a>" in page and ">Tải CSV</a>" in page
    narrowed = client.simulate_get(bars[0]).text
    assert "<svg" in narrowed  # the chart follows the filters
