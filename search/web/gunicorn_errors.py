"""The errors gunicorn answers itself, in the service's JSON shape.

A request line over gunicorn's limit, a malformed request line or header, a bad chunk: gunicorn
refuses these before the application sees them and writes a small HTML page of its own, so a
client that reads every other error of this service as JSON `{title, description}` (see
`search.web.errors`) got HTML for these. Gunicorn's workers decide the status, log the error
and then write it with `gunicorn.util.write_error`; `install()` replaces that one function,
whatever the worker class (sync or threaded), so the decision and the logging stay gunicorn's and
only the body changes. It is called when the gunicorn configuration is loaded (in the arbiter,
before the workers fork), so every worker writes JSON from its first request.
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn import util

from search.web.headers import RESOURCE_CSP

#: What a client is told when gunicorn gives no message (its own 500s).
_DEFAULT_DESCRIPTION = "The server could not answer this request."


def error_response(status: int, reason: str, message: str) -> bytes:
    """The whole HTTP response for an error gunicorn found: the status it chose, a JSON body,
    and `Connection: close` (gunicorn closes the connection after such an error)."""
    error = {"title": reason, "description": message or _DEFAULT_DESCRIPTION}
    body = json.dumps(error, ensure_ascii=False).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Security-Policy: {RESOURCE_CSP}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """`gunicorn.util.write_error` with a JSON body (same arguments, same non-blocking write)."""
    util.write_nonblock(sock, error_response(status_int, reason, mesg))


def install() -> None:
    """Make gunicorn write its own errors as JSON in this process and the workers it forks."""
    util.write_error = write_error
