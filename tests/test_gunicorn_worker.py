"""The worker that serves a kept-alive connection's next request on the thread that answered."""

import http.client
import socket
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.http.unreader import SocketUnreader

from search.web import gunicorn_conf
from search.web.gunicorn_worker import NEXT_REQUEST_WAIT, KeepServingWorker, next_request_ready
from tests.conftest import gunicorn


def _conn(sock: socket.socket) -> SimpleNamespace:
    return SimpleNamespace(sock=sock, parser=SimpleNamespace(unreader=SocketUnreader(sock)))


def test_next_request_ready_waits_for_bytes_on_the_socket():
    ours, client = socket.socketpair()
    with ours, client:
        conn = _conn(ours)
        started = time.monotonic()
        assert not next_request_ready(conn, 0.05)  # nothing sent: waited, then gave up
        assert time.monotonic() - started >= 0.04
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert next_request_ready(conn, 0.05)


def test_next_request_ready_sees_bytes_already_buffered():
    ours, client = socket.socketpair()
    with ours, client:
        conn = _conn(ours)
        conn.parser.unreader.unread(b"GET / HTTP/1.1\r\n\r\n")  # read ahead with the last request
        assert next_request_ready(conn, 0)


def test_next_request_ready_on_a_closed_peer_lets_the_parser_find_out():
    ours, client = socket.socketpair()
    with ours:
        client.close()
        assert next_request_ready(_conn(ours), 0.05)  # readable at end of stream


def test_the_service_runs_this_worker():
    assert gunicorn_conf.worker_class == f"{KeepServingWorker.__module__}.{KeepServingWorker.__name__}"


@pytest.mark.slow
def test_a_kept_alive_connection_is_answered_at_any_pace(seed_index_dir: Path, tmp_path: Path):
    """Requests sent at once (served on the answering thread), after a pause longer than the wait
    (back through gunicorn's main loop), and two pipelined in one write: each gets its answer."""
    with gunicorn(tmp_path, VNSEARCH_INDEX_DIR=str(seed_index_dir)) as base:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        for pause in (0, 0, NEXT_REQUEST_WAIT * 20, 0, NEXT_REQUEST_WAIT * 20):
            time.sleep(pause)
            conn.request("GET", "/search?q=BHXH&per_page=1")
            resp = conn.getresponse()
            assert resp.status == 200 and b'"total":5' in resp.read()
        conn.close()
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            sock.sendall(one + b"GET /search?q=BHXH&per_page=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answers = b""
            while chunk := sock.recv(65536):
                answers += chunk
        assert answers.count(b"HTTP/1.1 200 OK") == 2 and b'"status":"ok"' in answers and b'"total":5' in answers
