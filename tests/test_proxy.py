"""The service behind the real nginx, with the configuration `vnsearch nginx-config` prints.

Starts Debian's nginx (`/usr/sbin/nginx`, or `VNSEARCH_NGINX`) as `nginx -p DIR -c FILE` on a
free port in front of a real `vnsearch serve`. Without nginx these tests skip, except under
CI, where a missing nginx is a failure (`.ci/run` installs it).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from bench.servers import NGINX, ProxyConfig, free_port, nginx, request, service
from bench.slow_clients import run_load
from search.web.nginx import render

pytestmark = pytest.mark.slow

TOKEN = "proxy-test-token"
#: The proxy's body limit in these tests (the service keeps its own, larger one).
BODY_LIMIT = 64 * 1024


def _require_nginx() -> None:
    if NGINX.exists():
        return
    reason = f"no nginx at {NGINX} (apt-get install nginx, or set VNSEARCH_NGINX)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"the proxy tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def app(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    _require_nginx()
    with service(
        seed_index_dir,
        tmp_path_factory.mktemp("service"),
        VNSEARCH_ADMIN_TOKEN=TOKEN,
        VNSEARCH_CORS_ORIGINS="https://news.example",
    ) as server:
        yield server


def _config(upstream_port: int, **overrides) -> ProxyConfig:
    return ProxyConfig(
        upstream=f"127.0.0.1:{upstream_port}",
        max_body_bytes=BODY_LIMIT,
        cors_origins=("https://news.example",),
        **overrides,
    )


@pytest.fixture(scope="module")
def proxy(app, tmp_path_factory: pytest.TempPathFactory):
    with nginx(_config(app.port), tmp_path_factory.mktemp("nginx")) as server:
        yield server


def _search(port: int, q: str = "bhxh", source: str | None = None, **headers: str):
    return request(port, "/search?q=" + q, headers=headers, source=source)


def test_both_configurations_pass_nginx_own_check(tmp_path):
    _require_nginx()
    config = _config(8000)
    standalone = tmp_path / "nginx.conf"
    standalone.write_text(render(config, standalone=True))
    include = tmp_path / "vnsearch.conf"
    include.write_text(render(config).replace("/var/log/nginx/vnsearch.access.log", str(tmp_path / "access.log")))
    host = tmp_path / "host.conf"
    host.write_text(f"pid host.pid; error_log stderr; events {{}} http {{ include {include}; }}\n")
    for conf in (standalone, host):
        check = subprocess.run([str(NGINX), "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_a_search_through_the_proxy_is_the_service_answer(app, proxy):
    status, headers, body = _search(proxy.port)
    _, _, direct = _search(app.port)
    assert status == 200 and headers["content-type"] == "application/json"
    through, straight = json.loads(body), json.loads(direct)
    assert [h["id"] for h in through["hits"]] == [h["id"] for h in straight["hits"]] and through["total"] == 5
    assert headers["x-content-type-options"] == "nosniff"  # the service's headers pass through


def test_answers_are_gzipped(proxy):
    status, headers, body = request(proxy.port, "/search?q=bao+hiem", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert json.loads(gzip.decompress(body))["total"] == 5


def test_the_widget_and_static_files_with_their_cache_headers(proxy):
    status, headers, body = request(proxy.port, "/widget.js", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["cache-control"] == "public, max-age=3600" and headers["etag"]
    assert headers["cross-origin-resource-policy"] == "cross-origin"
    assert b"vnsearch-box" in gzip.decompress(body)
    again, _, _ = request(proxy.port, "/widget.js", headers={"If-None-Match": headers["etag"]})
    assert again == 304
    status, headers, _ = request(proxy.port, "/static/style.css")
    assert status == 200 and headers["content-type"] == "text/css; charset=utf-8"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    status, headers, body = request(proxy.port, "/static/missing.js")
    assert status == 404 and headers["content-type"] == "application/json" and json.loads(body)["title"]


def test_a_burst_over_the_rate_limit_gets_429_json(proxy):
    statuses = []
    for _ in range(60):
        status, headers, body = _search(proxy.port, source="127.0.0.77", Origin="https://news.example")
        statuses.append(status)
        if status == 429:
            refused = (headers, body)
    assert statuses[0] == 200 and 429 in statuses, statuses
    headers, body = refused
    assert headers["content-type"] == "application/json" and headers["retry-after"] == "1"
    assert headers["access-control-allow-origin"] == "https://news.example"  # the widget can read why
    assert set(json.loads(body)) == {"title", "description"}
    # another address is not affected
    assert _search(proxy.port, source="127.0.0.78")[0] == 200


def _raw(port: int, data: bytes) -> tuple[int, dict[str, str], dict]:
    """The answer to `data`, read up to its Content-Length (nginx keeps a connection whose
    declared body never came open for a while, to read it away)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        while len(body) < int(headers["content-length"]) and (chunk := sock.recv(65536)):
            body += chunk
    return int(lines[0].split()[1]), headers, json.loads(body)


@pytest.mark.parametrize(
    "data, status",
    [
        # a body over the limit is refused from its Content-Length, before it is sent
        (b"PUT /articles/x HTTP/1.1\r\nHost: t\r\nContent-Length: 999999\r\nConnection: close\r\n\r\n", 413),
        (b"GET /search?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 414),
        (b"GET /search?q=a HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 9000 + b"\r\nConnection: close\r\n\r\n", 400),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
    ],
)
def test_nginx_own_refusals_are_json_like_the_service(proxy, data, status):
    got, headers, body = _raw(proxy.port, data)
    assert got == status and headers["content-type"] == "application/json"
    assert set(body) == {"title", "description"} and "nginx" not in json.dumps(body).lower()
    if status == 413:
        assert str(BODY_LIMIT) in body["description"]


def test_a_service_that_is_down_is_a_json_502(tmp_path):
    _require_nginx()
    with nginx(_config(free_port()), tmp_path) as down:
        status, headers, body = _search(down.port)
    assert status == 502 and headers["content-type"] == "application/json" and headers["retry-after"] == "5"
    assert json.loads(body)["title"] == "Service unavailable"


def test_a_service_that_does_not_answer_is_a_json_504(tmp_path):
    _require_nginx()
    with contextlib.closing(socket.socket()) as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        with nginx(_config(silent.getsockname()[1], upstream_timeout=1), tmp_path) as slow:
            status, headers, body = _search(slow.port)
    assert status == 504 and headers["content-type"] == "application/json"
    assert json.loads(body)["title"] == "Service timeout"


def _access_lines(app) -> list[dict[str, str]]:
    return [
        dict(part.split("=", 1) for part in line.split(" "))
        for line in app.output("service.out").splitlines()
        if line.startswith("time=")
    ]


def test_forwarded_headers_come_from_the_proxy_only(app, proxy):
    # through the proxy: what the client claims is replaced by what nginx saw
    status, _, _ = _search(
        proxy.port,
        "forwarded1",
        source="127.0.0.55",
        **{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"},
    )
    assert status == 200
    line = [entry for entry in _access_lines(app) if entry.get("query_chars") == "10"][-1]
    assert line["client"] == "127.0.0.55" and line["scheme"] == "http"
    # the service trusts the headers from its trusted proxies (loopback) only
    status, _, _ = _search(app.port, "forwarded22", **{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    line = [entry for entry in _access_lines(app) if entry.get("query_chars") == "11"][-1]
    assert status == 200 and line["client"] == "203.0.113.9" and line["scheme"] == "https"
    assert "forwarded" not in app.output("service.out")  # no query text in the log


def test_metrics_through_the_proxy_count_every_worker(app, proxy):
    before = request(proxy.port, "/metrics")
    for _ in range(10):
        assert _search(proxy.port, "y+te", source="127.0.0.60")[0] == 200
    status, headers, body = request(proxy.port, "/metrics")
    assert before[0] == 200 and status == 200 and headers["content-type"].startswith("text/plain")

    def count(text: bytes) -> float:
        line = [
            ln
            for ln in text.decode().splitlines()
            if ln.startswith("vnsearch_http_requests_total{") and 'route="/search"' in ln and 'status="200"' in ln
        ]
        return float(line[0].rsplit(" ", 1)[1]) if line else 0.0

    assert count(body) - count(before[2]) == 10  # whichever of the two workers answered each
    # straight to the service from its trusted proxy address, forwarding an outside client: refused
    assert request(app.port, "/metrics", headers={"X-Forwarded-For": "198.51.100.7"})[0] == 403


def test_slow_clients_leave_searches_unharmed_through_the_proxy_and_directly(app, proxy):
    """A short version of bench/slow_clients.py: failures counted, latency only printed."""
    args = argparse.Namespace(
        slow_headers=12, stalled_bodies=12, header_interval=2, clients=2, rate=5, settle=1, duration=5
    )
    for name, port in (("proxy", proxy.port), ("direct", app.port)):
        figures = run_load(port, args, TOKEN)
        print(name, figures)
        assert figures["searches"] > 0 and figures["failed"] == 0, figures
