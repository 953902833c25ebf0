import json
from pathlib import Path

import falcon
import pytest
from falcon import testing

from search.settings import Settings
from search.web.app import create_app


@pytest.fixture(scope="module")
def client(seed_index_dir: Path) -> testing.TestClient:
    return testing.TestClient(create_app(Settings(index_dir=seed_index_dir)))


def test_search_returns_the_documented_json(client):
    resp = client.simulate_get("/search", params={"q": "bao hiem xa hoi", "per_page": "3"})
    assert resp.status == falcon.HTTP_200
    body = resp.json
    assert set(body) >= {"total", "page", "per_page", "took_ms", "hits", "facets"}
    assert body["total"] == 5 and body["page"] == 1 and body["per_page"] == 3 and len(body["hits"]) == 3
    hit = body["hits"][0]
    assert set(hit) == {
        "id",
        "title",
        "date",
        "time",
        "source",
        "author",
        "score",
        "title_html",
        "snippet_html",
        "updated",
        "url",
        "story",
    }
    assert hit["story"] == {"id": hit["id"], "size": 1, "sources": [hit["source"]] if hit["source"] else []}
    assert body["total_stories"] == 5  # the seeds: five stories of one article each
    assert "<mark>" in hit["snippet_html"]
    assert set(body["facets"]) == {"source", "year"}
    assert body["suggestion"] == "bảo hiểm xã hội"


def test_suggestion_is_null_when_the_query_is_fine(client):
    assert client.simulate_get("/search", params={"q": "bảo hiểm xã hội"}).json["suggestion"] is None


def test_query_without_diacritics_highlights_accented_words(client):
    hit = client.simulate_get("/search", params={"q": "quang ngai"}).json["hits"][0]
    assert "<mark>Quảng Ngãi</mark>" in hit["title_html"]


def test_filters_and_sort(client):
    body = client.simulate_get("/search", params={"q": "BHXH", "source": "VTC News", "sort": "date"}).json
    assert [h["id"] for h in body["hits"]] == ["003_50a1d9bb06e22414"]
    body = client.simulate_get("/search", params={"q": "BHXH", "from": "2022-01-01", "to": "2022-12"}).json
    assert body["total"] == 2


@pytest.mark.parametrize(
    "params, param",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "-bhxh"}, "q"),
        ({"q": "x" * 600}, "q"),
        ({"q": "bhxh", "page": "0"}, "page"),
        ({"q": "bhxh", "page": "abc"}, "page"),
        ({"q": "bhxh", "page": "-1"}, "page"),
        ({"q": "bhxh", "per_page": "1000"}, "per_page"),
        ({"q": "bhxh", "page": "100", "per_page": "50"}, "page"),
        ({"q": "bhxh", "sort": "popular"}, "sort"),
        ({"q": "bhxh", "from": "2022-13-01"}, "from"),
        ({"q": "bhxh", "to": "tomorrow"}, "to"),
        ({"q": "bhxh", "from": "2023", "to": "2022"}, "from"),
        ({"q": ["bhxh", "bhyt"]}, "q"),
    ],
)
def test_bad_input_is_a_400_that_names_the_parameter(client, params, param):
    resp = client.simulate_get("/search", params=params)
    assert resp.status == falcon.HTTP_400
    assert param in resp.json["description"] or param in resp.json["title"]
    assert "Traceback" not in resp.text


def test_article_by_id_and_highlighted(client):
    resp = client.simulate_get("/articles/003_50a1d9bb06e22414")
    assert resp.status == falcon.HTTP_200
    assert resp.json["source"] == "VTC News" and resp.json["date"] == "2022-12-29"
    assert "96/NQ-BCS" in resp.json["body"]
    marked = client.simulate_get("/articles/003_50a1d9bb06e22414", params={"q": "96/NQ-BCS"}).json
    assert "<mark>96/NQ-BCS</mark>" in marked["body_html"]


def test_unknown_article_is_404(client):
    assert client.simulate_get("/articles/nope").status == falcon.HTTP_404
    assert client.simulate_get("/articles/sub/../nope").status == falcon.HTTP_404


def test_health_and_stats(client):
    assert client.simulate_get("/healthz").json["status"] == "ok"
    stats = client.simulate_get("/stats").json
    assert stats["articles"] == 5 and "generation" in stats and "last_indexed" in stats


def test_missing_index_is_503_not_500(tmp_path):
    client = testing.TestClient(create_app(Settings(index_dir=tmp_path / "none")))
    for path in ("/healthz", "/search?q=bhxh", "/stats"):
        resp = client.simulate_get(path)
        assert resp.status == falcon.HTTP_503, path
        assert "vnsearch index" in resp.json["description"]


def test_json_is_utf8(client):
    resp = client.simulate_get("/search", params={"q": "Quảng Ngãi"})
    assert "Quảng" in json.loads(resp.content.decode("utf-8"))["hits"][0]["title"]
