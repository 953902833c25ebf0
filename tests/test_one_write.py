"""One send per answer and the search slot handed on once the answer is out: real gunicorn
serving tests/answer_shapes.py with stock gthread and with the service's worker, byte for byte;
and the hand-over driven in process over a socket pair."""

import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import falcon
import pytest
from falcon import testing
from gunicorn.config import Config

from bench.answer_write import parsed, serve_one
from search.web.admission import HAND_OVER, Admission, AdmissionControl
from search.web.one_write import OneWriteResponse, one_write, run_hand_overs
from tests.answer_shapes import BIG, FILE_BODY
from tests.conftest import ROOT, free_port

WORKER = "search.web.gunicorn_worker.KeepServingWorker"


@contextlib.contextmanager
def serving(tmp_path: Path, worker: str) -> Iterator[tuple[str, int]]:
    """gunicorn with `worker` and no configuration but ours, serving tests.answer_shapes."""
    conf = tmp_path / f"{worker.rsplit('.', 1)[-1]}.conf.py"
    conf.write_text("")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(conf), "-k", worker, "-w", "1", "--threads", "8"]
        + ["-b", f"127.0.0.1:{port}", "tests.answer_shapes:app"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def conversation(address: tuple[str, int], requests: bytes) -> bytes:
    """Everything the server answers to `requests` sent at once, until it closes."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(requests)
        answers = b""
        while chunk := sock.recv(65536):
            answers += chunk
    return answers


def request(method: str, path: str, last: bool = False, version: str = "1.1") -> bytes:
    close = "Connection: close\r\n" if last else ""
    return f"{method} {path} HTTP/{version}\r\nHost: x\r\n{close}\r\n".encode()


def without_date(answers: bytes) -> bytes:
    return re.sub(rb"\r\nDate: [^\r]*\r\n", b"\r\nDate: -\r\n", answers)


def slots(address: tuple[str, int]) -> dict:
    answer = conversation(address, request("GET", "/slots", last=True))
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def until_given_back(address: tuple[str, int]) -> dict:
    """The counts once every slot taken is back (the last write may still be finishing)."""
    deadline = time.monotonic() + 10
    while (counts := slots(address))["entered"] != counts["left"]:
        assert time.monotonic() < deadline, counts
        time.sleep(0.01)
    return counts


CONVERSATIONS = {
    "kept alive, every shape": b"".join(
        [
            request("GET", "/shape/json?q=a"),
            request("GET", "/shape/html"),
            request("GET", "/shape/missing"),
            request("GET", "/shape/nonsense"),
            request("HEAD", "/shape/json"),
            request("HEAD", "/shape/html"),
            request("GET", "/shape/stream"),
            request("GET", "/shape/file"),
            request("GET", "/nowhere"),
            request("GET", "/shape/json?q=b", last=True),
        ]
    ),
    "HTTP/1.0": request("GET", "/shape/json", version="1.0") + request("GET", "/shape/stream", version="1.0"),
    "HTTP/1.0 stream": request("GET", "/shape/stream", version="1.0"),
    "closed after JSON": request("GET", "/shape/json", last=True),
    "closed after HEAD": request("HEAD", "/shape/json", last=True),
}


@pytest.mark.slow
def test_answers_are_gunicorns_byte_for_byte(tmp_path: Path):
    with serving(tmp_path, "gthread") as stock, serving(tmp_path, WORKER) as ours:
        for name, requests in CONVERSATIONS.items():
            theirs = conversation(stock, requests)
            assert without_date(conversation(ours, requests)) == without_date(theirs), name
            assert theirs.startswith(b"HTTP/1.")
        every = conversation(ours, CONVERSATIONS["kept alive, every shape"])
        assert every.count(b"HTTP/1.1 ") == 10 and b"Transfer-Encoding: chunked" in every
        assert every.count(b"Connection: keep-alive") == 9 and FILE_BODY in every
        assert b"first,second,third" in without_date(conversation(ours, CONVERSATIONS["HTTP/1.0 stream"]))
        assert until_given_back(ours)["entered"] >= 10


@pytest.mark.slow
def test_every_slot_comes_back_once_whatever_happens_to_the_answer(tmp_path: Path):
    with serving(tmp_path, WORKER) as ours:
        answered = conversation(ours, request("GET", "/shape/json?boom=1", last=True))
        assert answered.startswith(b"HTTP/1.1 500")  # the app raised: gunicorn's own error
        assert until_given_back(ours) == {"entered": 1, "left": 1}

        with socket.create_connection(ours, timeout=10) as gone:  # leaves mid-answer
            gone.sendall(request("GET", "/shape/big"))
            assert gone.recv(1000)
            gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        assert until_given_back(ours) == {"entered": 2, "left": 2}

        with socket.create_connection(ours, timeout=10) as slow:  # reads nothing for now
            slow.sendall(request("GET", "/shape/big", last=True))
            time.sleep(0.2)  # the answer fills the socket's window; its slot is handed on
            answered = conversation(ours, request("GET", "/shape/json", last=True))
            assert answered.startswith(b"HTTP/1.1 200")  # not a 503: the slot was not held
            received = b""
            while chunk := slow.recv(1 << 20):
                received += chunk
        head, body = received.split(b"\r\n\r\n", 1)
        assert f"content-length: {BIG}".encode() in head and body == b"x" * (BIG - 1) + b"\n"
        assert until_given_back(ours) == {"entered": 4, "left": 4}


class _Peeking(Admission):
    """A slot whose giving back records what the client had received by then."""

    def __init__(self, client: socket.socket) -> None:
        super().__init__(1)
        self.client, self.seen = client, []

    def leave(self) -> None:
        self.seen.append(self.client.recv(1 << 20, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        super().leave()


def _serve_once(app, server: socket.socket, raw: bytes, client: socket.socket):
    """One request through gunicorn's parser and response, as its worker drives them."""
    client.sendall(raw)
    config = Config()
    return serve_one(app, parsed(server, config), server, config)


def test_the_slot_is_handed_on_after_the_answer_is_on_the_socket():
    server, client = socket.socketpair()
    with server, client:
        admission = _Peeking(client)
        resource = type("R", (), {"on_get": lambda self, req, resp: setattr(resp, "text", "ok" * 100)})()
        app = falcon.App(middleware=[AdmissionControl(admission, (resource,), 1.0)])
        app.add_route("/r", resource)
        resp = _serve_once(one_write(app), server, request("GET", "/r", last=True), client)
        assert type(resp) is OneWriteResponse
        assert len(admission.seen) == 1 and admission.seen[0].endswith(b"\r\n\r\n" + b"ok" * 100)
        assert admission.enter(0)


def test_another_servers_response_is_left_alone_and_the_slot_given_back_at_once():
    left: list[str] = []

    def app(environ, start_response):
        environ[HAND_OVER].append(lambda: left.append("left"))
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    class Other:
        def start_response(self, status, headers, exc_info=None):
            return None

    other = Other()
    assert list(one_write(app)({"wsgi.file_wrapper": object}, other.start_response)) == [b"ok"]
    assert type(other) is Other and left == ["left"]


def test_under_falcon_testing_the_slot_is_left_without_a_hand_over():
    admission = Admission(1)
    resource = type("R", (), {"on_get": lambda self, req, resp: setattr(resp, "media", HAND_OVER in req.env)})()
    app = falcon.App(middleware=[AdmissionControl(admission, (resource,), 1.0)])
    app.add_route("/r", resource)
    assert testing.TestClient(app).simulate_get("/r").json is False
    assert admission.enter(0)


def test_each_hand_over_runs_once_even_when_one_fails():
    ran: list[int] = []

    def fails() -> None:
        ran.append(1)
        raise ValueError("broken")

    hand_overs = [fails, lambda: ran.append(2)]
    with pytest.raises(ValueError, match="broken"):
        run_hand_overs(hand_overs)
    run_hand_overs(hand_overs)
    assert ran == [1, 2] and hand_overs == []
