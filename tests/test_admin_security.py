"""The admin endpoints (PUT/DELETE /articles/{id}) against probing: near-miss, misplaced and
malformed tokens are refused without changing the index; the comparison is the timing-safe one;
without a configured token the endpoints do not exist. (The basic 401/403/404 answers are in
test_ingest.py.)"""

from __future__ import annotations

import hmac
import json
from pathlib import Path

import falcon
import pytest
from falcon import testing

from search.index.store import open_index
from search.settings import Settings
from search.web.app import create_app

TOKEN = "Zq8-s3cret-T0ken-with-some-length"
ARTICLE = json.dumps({"title": "Tin thử", "body": "Nội dung thử."}, ensure_ascii=False).encode()
EXISTING = "003_50a1d9bb06e22414"


@pytest.fixture
def index_dir(seed_copy: Path) -> Path:
    return seed_copy


def client(index_dir: Path, token: str | None = TOKEN) -> testing.TestClient:
    return testing.TestClient(create_app(Settings(index_dir=index_dir, admin_token=token)))


def writes(c: testing.TestClient, headers: dict[str, str], query: str = "") -> list[testing.Result]:
    return [
        c.simulate_put(
            "/articles/probe", body=ARTICLE, query_string=query, headers={"Content-Type": "application/json", **headers}
        ),
        c.simulate_delete(f"/articles/{EXISTING}", query_string=query, headers=headers),
    ]


NEAR_MISSES = [
    TOKEN[:-1],
    TOKEN[1:],
    TOKEN + "x",
    TOKEN * 2,
    TOKEN.upper(),
    TOKEN.lower(),
    "x" + TOKEN[1:],
    TOKEN[:-1] + "x",
    TOKEN[: len(TOKEN) // 2],
    TOKEN.replace("-", "_"),
    "a",
    "x" * 4096,
    TOKEN + "\u00e9",
    "\u00e9" * len(TOKEN),
    '"' + TOKEN + '"',
    TOKEN + "%00",
]


@pytest.mark.parametrize("given", NEAR_MISSES)
def test_near_miss_tokens_are_403_and_change_nothing(index_dir, given):
    c = client(index_dir)
    for resp in writes(c, {"Authorization": f"Bearer {given}"}):
        assert resp.status == falcon.HTTP_403
        assert TOKEN not in resp.text and (len(given) < 4 or given not in resp.text)
    assert open_index(index_dir).doc_count() == 5
    assert c.simulate_get("/articles/probe").status == falcon.HTTP_404


@pytest.mark.parametrize(
    "headers, query",
    [
        ({}, f"token={TOKEN}"),
        ({}, f"access_token={TOKEN}"),
        ({"X-Admin-Token": TOKEN}, ""),
        ({"Authorization": TOKEN}, ""),  # no scheme
        ({"Authorization": f"Token {TOKEN}"}, ""),
        ({"Authorization": f"Basic {TOKEN}"}, ""),
        ({"Authorization": "Bearer"}, ""),
        ({"Authorization": "Bearer    "}, ""),
        ({"Cookie": f"token={TOKEN}"}, ""),
    ],
)
def test_a_token_anywhere_but_the_bearer_header_is_not_accepted(index_dir, headers, query):
    for resp in writes(client(index_dir), headers, query):
        assert resp.status == falcon.HTTP_401
    assert open_index(index_dir).doc_count() == 5


def test_the_right_token_works_so_the_refusals_above_mean_something(index_dir):
    put, delete = writes(client(index_dir), {"Authorization": f"Bearer {TOKEN}"})
    assert put.status == falcon.HTTP_201 and delete.status == falcon.HTTP_204


def test_tokens_are_compared_with_the_timing_safe_comparison(index_dir, monkeypatch):
    """Timing cannot be measured reliably in a test (request overhead dwarfs a string compare),
    so this checks what makes it safe: every given token, whatever its length or content, is
    decided by hmac.compare_digest against the configured one, not by `==` or a prefix check."""
    calls = []
    compare = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr("search.web.ingest.hmac.compare_digest", spy)
    c = client(index_dir)
    for given in (TOKEN[:-1], "x" + TOKEN[1:], "short", TOKEN):
        writes(c, {"Authorization": f"Bearer {given}"})
    assert [a for a, _ in calls] == [
        g.encode() for g in (TOKEN[:-1], "x" + TOKEN[1:], "short", TOKEN) for _ in range(2)
    ]
    assert {b for _, b in calls} == {TOKEN.encode()}


@pytest.mark.parametrize("env_value", ["", None])
def test_without_a_token_the_endpoints_do_not_exist(index_dir, env_value):
    settings = Settings.from_env(
        {"VNSEARCH_INDEX_DIR": str(index_dir)} | ({} if env_value is None else {"VNSEARCH_ADMIN_TOKEN": env_value})
    )
    c = testing.TestClient(create_app(settings))
    for auth in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {TOKEN}"},
        {"Authorization": "Bearer None"},
    ):
        for resp in writes(c, auth):
            assert resp.status == falcon.HTTP_404
            assert "WWW-Authenticate" not in resp.headers  # nothing hints that a token would help
    assert open_index(index_dir).doc_count() == 5
