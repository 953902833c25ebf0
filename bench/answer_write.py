"""What writing an answer costs gunicorn's worker thread, with gunicorn's response and with
`search.web.one_write`, in turns.

    python -m bench.answer_write INDEX_DIR [--answers 20000] [--turns 5] [--q "bảo hiểm xã hội"]

Over HTTP on a shared machine the rate and even the server's CPU per request move with the
load more than this change does, so this times the part that changed alone: the app's real
answer to one `/search` (its status, headers and body, from `create_app` over INDEX_DIR with
the result cache off) is written again and again over a socket pair, a thread draining the
other end, as gunicorn's worker writes it (start the response, write the chunks, close, close
the body), by gunicorn's stock `Response` and by the wrapped app with its slot's hand-over.
The figure is the writing thread's own CPU (`time.thread_time`, system time included) per
answer, in alternating turns; the bytes each side put on the socket are compared.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from falcon import testing
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from search.settings import Settings
from search.web.admission import HAND_OVER
from search.web.app import create_app
from search.web.one_write import one_write

Answer = tuple[str, list[tuple[str, str]], bytes]
#: The request the answers reply to (parsed once, answered again and again).
REQUEST = b"GET /search?q=x HTTP/1.1\r\nHost: localhost\r\n\r\n"


def real_answer(index_dir: Path, query: str) -> Answer:
    """The app's answer to `/search?q=query`, as it hands it to the server."""
    app = create_app(Settings(index_dir=index_dir, result_cache_entries=0))
    got: list[Any] = []
    environ = testing.create_environ(path="/search", query_string=urllib.parse.urlencode({"q": query}))
    body = b"".join(app(environ, lambda status, headers, exc_info=None: got.extend((status, headers))))
    return got[0], list(got[1]), body


def replay(answer: Answer) -> Callable[[dict, Callable[..., Any]], Iterable[bytes]]:
    """A WSGI app giving `answer`, with a hand-over to run as the admission middleware leaves one."""
    status, headers, body = answer

    def app(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        hand_over = environ.get(HAND_OVER)
        if hand_over is not None:
            hand_over.append(lambda: None)
        start_response(status, headers)
        return [body]

    return app


def drain(sock: socket.socket, counted: list[int]) -> None:
    while chunk := sock.recv(1 << 20):
        counted[0] += len(chunk)


def parsed(sock: socket.socket, config: Config) -> Any:
    """The next request on `sock`, as gunicorn's parser reads it."""
    return next(iter(RequestParser(config, sock, ("127.0.0.1", 1))))


def serve_one(app: Callable[..., Iterable[bytes]], req: Any, sock: socket.socket, config: Config) -> wsgi.Response:
    """Answer `req` on `sock` through gunicorn's response, as its worker drives one: start the
    response, write the chunks, close it, close the body."""
    resp, environ = wsgi.create(req, sock, ("127.0.0.1", 1), ("127.0.0.1", 8000), config)
    body = app(environ, resp.start_response)
    try:
        for chunk in body:
            resp.write(chunk)
        resp.close()
    finally:
        if hasattr(body, "close"):
            body.close()
    return resp


def written(app: Callable[..., Iterable[bytes]], answers: int) -> tuple[float, bytes]:
    """CPU seconds of this thread for `answers` answers, and the last answer's bytes."""
    server, client = socket.socketpair()
    config = Config()
    client.sendall(REQUEST)
    req = parsed(server, config)
    counted = [0]
    reader = threading.Thread(target=drain, args=(client, counted))
    reader.start()
    started = time.thread_time()
    for _ in range(answers):
        serve_one(app, req, server, config)
    spent = time.thread_time() - started
    server.shutdown(socket.SHUT_WR)
    reader.join()
    server.close()
    client.close()
    return spent, _one(app, config)


def _one(app: Callable[..., Iterable[bytes]], config: Config) -> bytes:
    server, client = socket.socketpair()
    with server, client:
        client.sendall(REQUEST)
        serve_one(app, parsed(server, config), server, config)
        server.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := client.recv(1 << 20):
            out += chunk
    return out


def without_date(answer: bytes) -> bytes:
    head, _, body = answer.partition(b"\r\n\r\n")
    return b"\r\n".join(line for line in head.split(b"\r\n") if not line.startswith(b"Date: ")) + b"\r\n\r\n" + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--answers", type=int, default=20000)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--q", default="bảo hiểm xã hội")
    args = parser.parse_args()
    answer = real_answer(args.index_dir, args.q)
    print(f"answer: {answer[0]}, {len(answer[1])} headers, body {len(answer[2])} bytes")
    sides = {"gunicorn": replay(answer), "one_write": one_write(replay(answer))}
    figures: dict[str, list[float]] = {name: [] for name in sides}
    outputs = {}
    for turn in range(1, args.turns + 1):
        for name, app in sides.items():
            spent, outputs[name] = written(app, args.answers)
            figures[name].append(spent / args.answers * 1e6)
            print(f"turn {turn} {name}: {figures[name][-1]:.2f} µs CPU an answer", flush=True)
    same = without_date(outputs["gunicorn"]) == without_date(outputs["one_write"])
    print(f"same bytes (less Date): {same}")
    for name, values in figures.items():
        print(f"{name}: median {statistics.median(values):.2f} µs, range {min(values):.2f}-{max(values):.2f}")


if __name__ == "__main__":
    main()
