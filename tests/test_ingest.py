"""PUT/DELETE /articles/{id}: authorization, validation, limits and the write lock."""

import json
from pathlib import Path

import falcon
import pytest
from falcon import testing

from search.corpus.files import iter_corpus
from search.index.indexer import build
from search.index.store import write_lock
from search.settings import Settings
from search.web.app import create_app
from tests.conftest import CORPUS

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ARTICLE = {
    "title": "Quảng Ninh chi trả lương hưu",
    "body": "Bảo hiểm xã hội tỉnh Quảng Ninh chi trả đúng hạn.",
    "date": "2024-03-01",
    "source": "Báo Quảng Ninh",
}


@pytest.fixture
def index_dir(seed_copy: Path) -> Path:
    return seed_copy


def client_for(index_dir: Path, **settings) -> testing.TestClient:
    settings.setdefault("admin_token", TOKEN)
    return testing.TestClient(create_app(Settings(index_dir=index_dir, **settings)))


def put(client, article_id: str, body: object, headers=AUTH):
    return client.simulate_put(
        f"/articles/{article_id}",
        body=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", **headers},
    )


def test_writes_are_404_without_an_admin_token(index_dir: Path):
    client = client_for(index_dir, admin_token=None)
    assert put(client, "new", ARTICLE).status == falcon.HTTP_404
    assert client.simulate_delete("/articles/new", headers=AUTH).status == falcon.HTTP_404
    assert client.simulate_get("/articles/new").status == falcon.HTTP_404


def test_a_missing_token_is_401_and_a_wrong_one_403(index_dir: Path):
    client = client_for(index_dir)
    missing = put(client, "new", ARTICLE, headers={})
    assert missing.status == falcon.HTTP_401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert put(client, "new", ARTICLE, headers={"Authorization": "Basic " + TOKEN}).status == falcon.HTTP_401
    assert put(client, "new", ARTICLE, headers={"Authorization": "Bearer nope"}).status == falcon.HTTP_403
    assert client.simulate_delete("/articles/new", headers={"Authorization": "Bearer nope"}).status == falcon.HTTP_403
    assert client.simulate_get("/articles/new").status == falcon.HTTP_404


def test_put_adds_updates_and_delete_removes(index_dir: Path):
    client = client_for(index_dir)
    created = put(client, "qn/2024-luong-huu", ARTICLE)
    assert created.status == falcon.HTTP_201 and created.json == {"id": "qn/2024-luong-huu", "result": "added"}
    hits = client.simulate_get("/search", params={"q": "quang ninh luong huu"}).json["hits"]
    assert hits[0]["id"] == "qn/2024-luong-huu" and hits[0]["source"] == "Báo Quảng Ninh"

    assert put(client, "qn/2024-luong-huu", ARTICLE).json["result"] == "unchanged"
    changed = put(client, "qn/2024-luong-huu", dict(ARTICLE, title="Quảng Ninh: lương hưu tháng 3"))
    assert changed.status == falcon.HTTP_200 and changed.json["result"] == "updated"
    assert client.simulate_get("/articles/qn/2024-luong-huu").json["title"] == "Quảng Ninh: lương hưu tháng 3"
    assert client.simulate_get("/stats").json["articles"] == 6

    assert client.simulate_delete("/articles/qn/2024-luong-huu", headers=AUTH).status == falcon.HTTP_204
    assert client.simulate_get("/articles/qn/2024-luong-huu").status == falcon.HTTP_404
    assert client.simulate_delete("/articles/qn/2024-luong-huu", headers=AUTH).status == falcon.HTTP_404
    assert client.simulate_get("/stats").json["articles"] == 5


def test_an_article_sent_by_http_survives_a_corpus_run(index_dir: Path):
    client = client_for(index_dir)
    put(client, "from-newsroom", ARTICLE)
    report = build(index_dir, iter_corpus([CORPUS]))
    assert report.removed == [] and client.simulate_get("/articles/from-newsroom").status == falcon.HTTP_200


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "Invalid JSON"),
        (b"\xff\xfe{", "Invalid JSON"),
        (json.dumps(["a list"]).encode(), "Expected a JSON object"),
        (json.dumps({"title": "x"}).encode(), "Missing field 'body'"),
        (json.dumps(dict(ARTICLE, date="hôm qua")).encode(), "Bad date"),
        (json.dumps(dict(ARTICLE, id="other")).encode(), "differs"),
    ],
)
def test_bad_articles_are_400_and_change_nothing(index_dir: Path, body: bytes, expected: str):
    client = client_for(index_dir)
    resp = client.simulate_put("/articles/x", body=body, headers=AUTH)
    assert resp.status == falcon.HTTP_400 and expected in resp.text
    assert client.simulate_get("/stats").json["articles"] == 5


def test_a_body_over_the_limit_is_413(index_dir: Path):
    client = client_for(index_dir, max_article_bytes=1000)
    resp = put(client, "big", dict(ARTICLE, body="Bảo hiểm. " * 200))
    assert resp.status == falcon.HTTP_413
    assert put(client, "small", ARTICLE).status == falcon.HTTP_201


def test_a_write_that_cannot_get_the_lock_is_503_with_retry_after(index_dir: Path):
    client = client_for(index_dir, write_timeout=0.2)
    with write_lock(index_dir, timeout=0):
        busy = put(client, "late", ARTICLE)
        assert busy.status == falcon.HTTP_503 and busy.headers["Retry-After"] == "1"
        assert client.simulate_delete("/articles/late", headers=AUTH).status == falcon.HTTP_503
        assert client.simulate_get("/search", params={"q": "bhxh"}).status == falcon.HTTP_200  # reads go on
    assert put(client, "late", ARTICLE).status == falcon.HTTP_201


def test_put_creates_the_index_when_there_is_none(tmp_path: Path):
    client = client_for(tmp_path / "empty")
    assert client.simulate_get("/healthz").status == falcon.HTTP_503
    assert put(client, "first", ARTICLE).status == falcon.HTTP_201
    assert client.simulate_get("/healthz").json["articles"] == 1


def test_write_settings_come_from_the_environment():
    settings = Settings.from_env(
        {"VNSEARCH_ADMIN_TOKEN": "t", "VNSEARCH_WRITE_TIMEOUT": "0.5", "VNSEARCH_MAX_ARTICLE_BYTES": "4096"}
    )
    assert (settings.admin_token, settings.write_timeout, settings.max_article_bytes) == ("t", 0.5, 4096)
    assert Settings.from_env({"VNSEARCH_ADMIN_TOKEN": ""}).admin_token is None
    with pytest.raises(ValueError, match="VNSEARCH_WRITE_TIMEOUT must be a number"):
        Settings.from_env({"VNSEARCH_WRITE_TIMEOUT": "soon"})
