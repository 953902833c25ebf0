"""An answer put on the socket in one send, and the search slot handed on once it is out.

gunicorn writes an answer's head and then each body chunk with a `sendall` of their own, formats
the `Date` header for every answer and checks every header pair of every answer against its
patterns. An answer of this service is one chunk with a `Content-Length` (what Falcon gives),
and its headers are nearly always the same few pairs: so the head and body go out in one
send, the date is formatted once a second, and a pair checked once is not checked again. Any
other answer (no length, several chunks, a file, a body the method or status forbids) is
written by gunicorn's own code, as before.

The search slot (`search.web.admission`) used to be given back when Falcon finished the answer,
before gunicorn had written it: the next search then started while this thread still had its
writing to do under the same interpreter lock. Here the app's hand-overs (`HAND_OVER` in the
environ) run once the answer is out, or as soon as writing it would wait on the client (a full
socket window, an answer gunicorn streams itself): a slow reader never holds a slot.

Installed by `one_write(app)` around the worker's app (`search.web.gunicorn_worker`); it
changes gunicorn's response object only when it is exactly gunicorn's own class.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from gunicorn import util
from gunicorn.http.wsgi import Response

from search.web.admission import HAND_OVER

#: Distinct checked header pairs kept per process; beyond it the kept ones are dropped and
#: gathered again, so a header whose value changes with every answer cannot grow it.
CHECKED_PAIRS = 512

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def run_hand_overs(hand_overs: list[Callable[[], None]]) -> None:
    """Run and remove each hand-over, all of them even if one raises (the first error is raised
    after): whoever calls this again finds none left, so each runs exactly once."""
    error: BaseException | None = None
    while hand_overs:
        try:
            hand_overs.pop(0)()
        except BaseException as exc:  # the others still run; the first error is raised below
            error = error or exc
    if error is not None:
        raise error


class _Date:
    """The `Date` header's value, formatted once per second of the clock."""

    def __init__(self) -> None:
        self._kept: tuple[int, str] = (-1, "")

    def now(self) -> str:
        second = int(time.time())
        kept = self._kept
        if kept[0] != second:
            kept = (second, util.http_date(second))
            self._kept = kept  # one assignment: threads see the old pair or the new one
        return kept[1]


_DATE = _Date()

#: Header pairs gunicorn's checks accepted, as gunicorn keeps them (value stripped). A pair
#: gunicorn treats specially (the length, hop-by-hop headers) is never kept here.
_checked: dict[tuple[str, str], tuple[str, str]] = {}


class OneWriteResponse(Response):
    """gunicorn's response, writing a one-chunk answer with a length in one send."""

    hand_overs: list[Callable[[], None]]
    headers_sent: bool

    def process_headers(self, headers: Any) -> None:
        for pair in headers:
            try:
                kept = _checked.get(pair)
            except TypeError:  # unhashable: gunicorn's checks say what is wrong with it
                kept = None
            if kept is None:
                self._check(pair)
            else:
                self.headers.append(kept)

    def _check(self, pair: Any) -> None:
        """gunicorn's checks for one pair, keeping a pair they pass on with no other effect."""
        before = len(self.headers)
        super().process_headers([pair])
        if len(self.headers) != before + 1:
            return  # dropped: a hop-by-hop header
        name, value = pair
        if type(name) is str and type(value) is str and name.lower() != "content-length" and not util.is_hoppish(name):
            if len(_checked) >= CHECKED_PAIRS:
                _checked.clear()
            _checked[(name, value)] = self.headers[-1]

    def write(self, arg: Any) -> None:
        if (
            self.headers_sent
            or self.upgrade
            or self.chunked
            or self._omits_body
            or type(arg) is not bytes
            or self.response_length != len(arg)
        ):
            self._hand_over()  # gunicorn's own writing may wait on the client
            super().write(arg)
            return
        lines = [
            f"HTTP/{self.req.version[0]}.{self.req.version[1]} {self.status}\r\n"
            f"Server: {self.version}\r\nDate: {_DATE.now()}\r\n"
            f"Connection: {'close' if self.should_close() else 'keep-alive'}\r\n"
        ]
        lines.extend([f"{name}: {value}\r\n" for name, value in self.headers])
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1") + arg
        self.headers_sent = True
        self.sent += len(arg)
        self._send(data)

    def _send(self, data: bytes) -> None:
        """Send without waiting; if the client's window is full, hand the slot on before waiting
        for it to take the rest."""
        if self.cfg.is_ssl:  # no flags on a TLS socket: no telling whether it would wait
            self._hand_over()
            done = 0
        else:
            try:
                done = self.sock.send(data, socket.MSG_DONTWAIT)
            except BlockingIOError:
                done = 0
        if done < len(data):
            self._hand_over()
            with memoryview(data) as rest:
                self.sock.sendall(rest[done:])
        self._hand_over()

    def _hand_over(self) -> None:
        hand_overs = getattr(self, "hand_overs", None)
        if hand_overs:
            run_hand_overs(hand_overs)


class _Answer:
    """The app's body, handing the slots on when gunicorn closes it (after writing it, or
    after giving up on it)."""

    __slots__ = ("_body", "_hand_overs")

    def __init__(self, body: Iterable[bytes], hand_overs: list[Callable[[], None]]) -> None:
        self._body, self._hand_overs = body, hand_overs

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            run_hand_overs(self._hand_overs)


def one_write(app: WSGIApp) -> WSGIApp:
    """`app` with its one-chunk answers written in one send and its hand-overs run once the
    answer is out (at once for a file, when the app raises, or under another server's response)."""

    def serve(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        resp: Any = getattr(start_response, "__self__", None)
        ours = type(resp) is Response
        hand_overs: list[Callable[[], None]] = []
        if ours:
            resp.__class__ = OneWriteResponse
            resp.hand_overs = hand_overs
        environ[HAND_OVER] = hand_overs
        try:
            body = app(environ, start_response)
        except BaseException:
            run_hand_overs(hand_overs)
            raise
        if not hand_overs:
            return body
        if not ours or isinstance(body, environ["wsgi.file_wrapper"]):
            run_hand_overs(hand_overs)
            return body
        return _Answer(body, hand_overs)

    return serve
