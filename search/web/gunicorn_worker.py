"""gunicorn's threaded worker, serving a kept-alive connection's next request on the same thread
when the request is already there.

gunicorn's `gthread` worker hands every request of a kept-alive connection through its main
loop: the thread that answered gives the connection back (a callback queued for the main thread
and a byte written to wake it), the main thread registers the socket with its poller, waits for
it to become readable, unregisters it and submits the connection to the thread pool again. That
round trip costs about as much interpreter time as parsing the request and building the answer
together, and a client of a search API sends its next request as soon as it has read the last
answer. So after answering, the thread waits a moment (`NEXT_REQUEST_WAIT`) for the next
request on the same connection and serves it itself; only a connection that stays quiet goes
back to the main loop, where an idle connection costs no thread. The wait holds a thread, not a
core (it is a `poll`), and is far shorter than a search, so the threads a worker keeps for slow
clients are not used up by it. The app is served through `search.web.one_write`: a one-chunk
answer goes out in one send, and the search slot is handed on once it is out. Everything else
(parsing, limits, errors, timeouts, shutdown, how a request is handled) is gunicorn's own.
"""

from __future__ import annotations

import select
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from search.web.one_write import one_write

#: Seconds a thread that answered waits for the connection's next request before giving the
#: connection back to the main loop: long enough for a client on this machine or a nearby proxy
#: to read an answer and send the next request, short against the time a search takes.
NEXT_REQUEST_WAIT = 0.002


def next_request_ready(conn: Any, wait: float) -> bool:
    """True when `conn` has bytes of another request to read, buffered already or arriving on
    its socket within `wait` seconds."""
    if conn.parser.unreader.buf.getbuffer().nbytes:
        return True
    poller = select.poll()
    poller.register(conn.sock.fileno(), select.POLLIN)
    try:
        return bool(poller.poll(wait * 1000))
    except OSError:  # the socket was closed under us: the main loop finds out
        return False


class KeepServingWorker(ThreadWorker):
    """`gthread`, with a connection's next request served on the thread that answered the last."""

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi: Any = one_write(self.wsgi)

    def handle(self, conn: Any) -> Any:
        keep = super().handle(conn)
        while keep is True and self.alive and not conn.is_http2 and next_request_ready(conn, NEXT_REQUEST_WAIT):
            keep = super().handle(conn)
        return keep
