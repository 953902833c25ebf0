"""The API once through a real gunicorn process, configured only by environment variables."""

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import gunicorn

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


@pytest.fixture(scope="module")
def server(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("home")
    with gunicorn(home, VNSEARCH_INDEX_DIR=str(seed_index_dir)) as base:
        yield base, home


def test_search_through_gunicorn(server):
    base, _ = server
    status, body = _get(base + "/search?" + urllib.parse.urlencode({"q": "BHXH", "per_page": 2}))
    assert status == 200 and body["total"] == 5 and len(body["hits"]) == 2


def test_every_worker_answers(server):
    base, _ = server
    statuses = [_get(base + "/search?q=quang+ngai")[0] for _ in range(20)]
    assert statuses == [200] * 20


def test_errors_through_gunicorn_are_json_400(server):
    base, _ = server
    status, body = _get(base + "/search?q=bhxh&page=0")
    assert status == 400 and "page" in body["description"]


def test_no_shared_control_socket(server):
    _, home = server
    assert not (home / ".gunicorn").exists()


def _raw(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "request_line, status",
    [
        # gunicorn refuses raw non-ASCII bytes in the request line itself, before the app
        (b"GET /articles/\xff\xfe HTTP/1.1", b"400"),
        (b"GET /search?q=\xc3\xa0 HTTP/1.1", b"400"),
        # percent-escapes reach the app: gunicorn decodes the path to bytes, which are not UTF-8 here
        (b"GET /articles/%FF HTTP/1.1", b"400"),
        (b"GET /search?q=%FF HTTP/1.1", b"400"),
        (b"GET /search?q=a%00 HTTP/1.1", b"400"),
        (b"GET /articles/%2e%2e/%2e%2e/etc/passwd HTTP/1.1", b"404"),
        (b"GET /articles/..%2F..%2Fetc%2Fpasswd HTTP/1.1", b"404"),
        # gunicorn's own refusals: a request line over its limit, a malformed one
        (b"GET /search?q=" + b"a" * 9000 + b" HTTP/1.1", b"414"),
        (b"NOT A REQUEST", b"400"),
        (b"GET / HTTP/9.9", b"400"),
    ],
)
def test_hostile_request_lines_through_gunicorn(server, request_line, status):
    base, _ = server
    answer = _raw(base, request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.split(b" ", 2)[1] == status, answer[:300]
    assert b"Traceback" not in answer and b"root:" not in answer
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    error = json.loads(body)
    assert set(error) == {"title", "description"} and error["title"] and error["description"]


def test_malformed_header_is_json(server):
    base, _ = server
    answer = _raw(base, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == b"400" and b"application/json" in head, head
    assert set(json.loads(body)) == {"title", "description"}


def test_oversized_body_is_refused_before_it_is_sent(server):
    base, _ = server
    answer = _raw(
        base, b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\nConnection: close\r\n\r\n"
    )
    assert answer.split(b" ", 2)[1] == b"413", answer[:300]
