"""The service on its own, through a real gunicorn (`vnsearch serve`): silent clients are cut
off, and /metrics adds up every worker, including one that died."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import time
from pathlib import Path

import pytest

from bench.servers import request, service

pytestmark = pytest.mark.slow

TOKEN = "production-test-token"


def _read_all(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.fixture(scope="module")
def quick_timeout(seed_copy_module: Path, tmp_path_factory: pytest.TempPathFactory):
    with service(
        seed_copy_module, tmp_path_factory.mktemp("service"), VNSEARCH_CLIENT_TIMEOUT="1", VNSEARCH_ADMIN_TOKEN=TOKEN
    ) as server:
        yield server


@pytest.fixture(scope="module")
def seed_copy_module(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("index") / "index"
    shutil.copytree(seed_index_dir, target)
    return target


def test_a_client_that_stops_sending_its_headers_is_closed(quick_timeout):
    # a recv that returns b"" (the server closed) well before the socket's own 20 s timeout
    assert _read_all(quick_timeout.port, b"GET /search?q=bhxh HTTP/1.1\r\nHost: t\r\n") == b""
    assert request(quick_timeout.port, "/search?q=bhxh")[0] == 200  # and the thread is free again
    log = quick_timeout.output("service.err")
    assert "Closed a connection that stalled for 1s" in log and "Traceback" not in log


def test_an_upload_that_stops_gets_408(quick_timeout):
    answer = _read_all(
        quick_timeout.port,
        b"PUT /articles/stalled HTTP/1.1\r\nHost: t\r\n"
        b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
        b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title"',
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    assert json.loads(body)["title"] == "Request timeout"
    assert request(quick_timeout.port, "/articles/stalled")[0] == 404  # nothing was written


def _workers(arbiter: int) -> set[int]:
    children = set()
    for task in Path(f"/proc/{arbiter}/task").iterdir():
        children |= {int(pid) for pid in (task / "children").read_text().split()}
    return children


def _wait_for_workers(arbiter: int, count: int, gone: int | None = None) -> set[int]:
    """The arbiter's workers once `count` of them (none of them `gone`) are up, or after 30 s:
    the service answers as soon as its first worker does, and gunicorn forks the next one after."""
    deadline = time.monotonic() + 30
    workers = _workers(arbiter)
    while (len(workers) != count or gone in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
        workers = _workers(arbiter)
    return workers


def _searches(port: int) -> float:
    status, _, body = request(port, "/metrics")
    assert status == 200
    for line in body.decode().splitlines():
        if line.startswith("vnsearch_http_requests_total{") and 'route="/search"' in line and 'status="200"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_add_up_every_worker_and_outlive_a_dead_one(seed_index_dir, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    with service(seed_index_dir, tmp_path / "service", TMPDIR=str(tmpdir)) as app:
        (folder,) = tmpdir.glob("vnsearch-metrics-*")  # made for this start
        workers = _wait_for_workers(app.proc.pid, 2)
        assert len(workers) == 2
        for _ in range(20):
            assert request(app.port, "/search?q=bhxh")[0] == 200
        # every scrape says 20, whichever worker answers it
        assert {_searches(app.port) for _ in range(6)} == {20.0}
        for _ in range(100):  # until both workers have answered a scrape (each sets the index gauges)
            if all(list(folder.glob(f"gauge_livemostrecent_{pid}.db")) for pid in workers):
                break
            _searches(app.port)
        victim = min(workers)
        assert list(folder.glob(f"gauge_livemostrecent_{victim}.db"))
        os.kill(victim, signal.SIGKILL)
        workers = _wait_for_workers(app.proc.pid, 2, gone=victim)
        assert victim not in workers and len(workers) == 2
        assert not list(folder.glob(f"gauge_livemostrecent_{victim}.db"))  # child_exit dropped its gauges
        assert _searches(app.port) == 20.0  # its counts stay in the totals
        status, _, body = request(app.port, "/metrics")
        assert "vnsearch_index_articles 5.0" in body.decode()
    assert not folder.exists()  # removed when the service stopped
