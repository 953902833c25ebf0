"""CORS for the listed origins only, and security headers on every response, errors included."""

from pathlib import Path

import falcon
import pytest
from falcon import testing

from search.settings import Settings, cors_origins
from search.web.app import create_app

ALLOWED = "http://widget-host.test:8080"


@pytest.fixture(scope="module")
def client(web_index_dir: Path) -> testing.TestClient:
    return testing.TestClient(create_app(Settings(index_dir=web_index_dir, cors_origins=(ALLOWED,))))


@pytest.mark.parametrize("path", ["/search?q=bhxh", "/suggest?q=bao"])
def test_a_listed_origin_may_read_search_and_suggest(client, path):
    resp = client.simulate_get(path, headers={"Origin": ALLOWED})
    assert resp.status == falcon.HTTP_200
    assert resp.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in resp.headers["vary"]
    assert "access-control-allow-credentials" not in resp.headers


@pytest.mark.parametrize("path", ["/search?q=bhxh", "/suggest?q=bao"])
def test_another_origin_gets_no_cors_headers(client, path):
    resp = client.simulate_get(path, headers={"Origin": "http://evil.test"})
    assert "access-control-allow-origin" not in resp.headers and "Origin" in resp.headers["vary"]


def test_only_search_and_suggest_are_shared(client):
    for path in ["/articles/003_50a1d9bb06e22414", "/stats", "/"]:
        assert "access-control-allow-origin" not in client.simulate_get(path, headers={"Origin": ALLOWED}).headers


def test_preflight_from_a_listed_origin(client):
    resp = client.simulate_options(
        "/suggest",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert resp.status == falcon.HTTP_200
    assert resp.headers["access-control-allow-origin"] == ALLOWED
    assert resp.headers["access-control-allow-methods"] == "GET"
    assert resp.headers["access-control-allow-headers"] == "content-type"
    denied = client.simulate_options(
        "/suggest", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in denied.headers


def test_errors_carry_cors_and_security_headers(client):
    resp = client.simulate_get("/search", params={"q": "bhxh", "page": "0"}, headers={"Origin": ALLOWED})
    assert resp.status == falcon.HTTP_400
    assert resp.headers["access-control-allow-origin"] == ALLOWED
    assert resp.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_no_origin_is_allowed_by_default(web_index_dir: Path):
    client = testing.TestClient(create_app(Settings(index_dir=web_index_dir)))
    resp = client.simulate_get("/search", params={"q": "bhxh"}, headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in resp.headers


def test_cors_origins_from_the_environment():
    env = {"VNSEARCH_CORS_ORIGINS": "https://a.example, http://127.0.0.1:9000/ https://b.example"}
    assert Settings.from_env(env).cors_origins == ("https://a.example", "http://127.0.0.1:9000", "https://b.example")
    assert Settings.from_env({}).cors_origins == ()
    for bad in ["*", "example.com", "https://a.example,*"]:
        with pytest.raises(ValueError, match="VNSEARCH_CORS_ORIGINS"):
            cors_origins(bad)
