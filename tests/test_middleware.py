"""The request guard and error shape, through the real app (falcon.testing, the seed index)."""

from pathlib import Path

import falcon
import pytest
from falcon import testing

from search.settings import Settings
from search.web.app import create_app
from search.web.middleware import MAX_PATH_BYTES


@pytest.fixture(scope="module")
def client(seed_index_dir: Path) -> testing.TestClient:
    return testing.TestClient(create_app(Settings(index_dir=seed_index_dir, max_body_bytes=1000)))


@pytest.mark.parametrize(
    "query_string, says",
    [
        ("q=%FF", "not UTF-8"),
        ("q=%C3", "not UTF-8"),  # truncated sequence
        ("q=%ED%A0%80", "not UTF-8"),  # an encoded surrogate
        ("q=\xff", "not UTF-8"),  # a raw byte, not percent-encoded
        ("q=88,7%", "%25"),
        ("q=%zzbhxh", "%25"),
        ("q=bhxh&page=%2", "%25"),
        ("q=a%00b", "control characters"),
        ("q=bhxh%1B[31m", "control characters"),
        ("q=bhxh&source=VTC%7F", "control characters"),
        ("q=bhxh%C2%85", "control characters"),  # C1 next line
        ("q=bhxh&q=bhyt", "only once"),
        ("q=bhxh&q=", "only once"),  # a blank repeat is still a repeat
        ("q=bhxh&page=1&page=2", "only once"),
        ("q=bhxh&%71=bhyt", "only once"),  # the same name, encoded
        ("\xc3\xa1=1&%C3%A1=2", "only once"),  # raw UTF-8 bytes and their escapes name one
        ("q=a&q=b&x=%zz", "only once"),  # the first fault in order, not the first kind checked
        ("q=a%00&q=b", "control characters"),
        ("q=bhxh&" + "x=1&" * 2000, "at most"),
    ],
)
def test_malformed_query_strings_are_400_saying_why(client, query_string, says):
    resp = client.simulate_get("/search", query_string=query_string)
    assert resp.status_code in (400, 414)
    assert says in resp.json["description"]


def test_tabs_and_line_breaks_pasted_into_the_box_are_kept(client):
    resp = client.simulate_get("/search", query_string="q=bao%09hiem%0D%0Axa+hoi")
    assert resp.status == falcon.HTTP_200 and resp.json["total"] == 5


def test_percent_encoded_utf8_is_searched(client):
    resp = client.simulate_get("/search", query_string="q=Qu%E1%BA%A3ng+Ng%C3%A3i")
    assert resp.status == falcon.HTTP_200 and resp.json["total"] >= 1


def test_body_over_the_limit_is_413_before_it_is_read(client):
    resp = client.simulate_post("/search", body=b"x" * 1001)
    assert resp.status == falcon.HTTP_413
    assert "1000 bytes" in resp.json["description"]
    resp = client.simulate_get("/search", params={"q": "bhxh"}, headers={"Content-Length": str(10**12)})
    assert resp.status == falcon.HTTP_413  # the declared length is enough: no body was sent


def test_chunked_body_is_refused(client):
    resp = client.simulate_get("/search", params={"q": "bhxh"}, headers={"Transfer-Encoding": "chunked"})
    assert resp.status == falcon.HTTP_411


def test_body_within_the_limit_goes_on_to_the_resource(client):
    assert client.simulate_post("/search", body=b"x" * 1000).status == falcon.HTTP_405


def test_control_characters_and_long_paths(client):
    assert client.simulate_get("/articles/a%00b").status == falcon.HTTP_400
    assert client.simulate_get("/articles/" + "x" * (MAX_PATH_BYTES + 1)).status == falcon.HTTP_414


@pytest.mark.parametrize("accept", [None, "text/html", "application/xml", "image/png"])
def test_unknown_paths_are_404_json_whatever_the_client_accepts(client, accept):
    resp = client.simulate_get("/no/such/path", headers={"Accept": accept} if accept else None)
    assert resp.status == falcon.HTTP_404
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json["title"]


def test_refused_requests_carry_the_security_headers(client):
    resp = client.simulate_get("/search", query_string="q=%FF")
    assert resp.status == falcon.HTTP_400
    assert resp.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in resp.headers
