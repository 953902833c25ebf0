"""One access line per request, for an operator: route, status, duration and the query's length.

gunicorn's own access log writes the request line, query string and all, so the service turns
it off (`search.web.gunicorn_conf`) and writes this line instead. What a reader typed stays out of
the log unless `VNSEARCH_LOG_QUERIES=1`; its length is kept, which is what spotting abuse and
tuning need. The route is the URL template (`/articles/{article_id:path}`), so ids do not make
every line different; the client is the forwarded address when a trusted proxy sent it.

Lines are `key=value` text, or JSON objects with `VNSEARCH_LOG_FORMAT=json`, one per line on
standard output (where gunicorn's access log went), each written whole even with threads.
They are written directly, not through `logging`: a record and its handler's machinery for every
request cost a worker more than the line itself, and nothing configures this log but this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import sys
import threading
import time

import falcon

from search.settings import Settings
from search.web.forwarded import client_address, networks

#: Route of requests no route matched, or refused before routing (as in `search.web.metrics`).
UNMATCHED = "unmatched"
#: Distinct (peer, X-Forwarded-For) pairs whose client address a worker keeps, formatted, and
#: the longest header kept (a proxy or two's addresses).
CLIENTS_KEPT = 1024
MAX_KEPT_FORWARDED = 100

#: One line is written at a time, so threads' lines never interleave.
_WRITING = threading.Lock()


def write_line(line: str) -> None:
    """`line` on whatever `sys.stdout` is when it is written (a test may replace it), flushed,
    so the line is out whole when the request ends. A closed or full stdout must not fail the
    request: what went wrong is said on standard error instead."""
    try:
        with _WRITING:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except Exception as error:
        print(f"access line not written: {error!r}", file=sys.stderr)


#: Characters that make a text value quoted, besides those `str.isprintable` refuses
#: (`\s` is `str.isspace`).
_QUOTED_RE = re.compile(r'[\s"=\\]')


def format_line(fields: dict[str, object], as_json: bool) -> str:
    """A line of `fields`: JSON, or `key=value` pairs with strings quoted (JSON-escaped, so
    a query cannot break the line or forge another) whenever they hold a space or a quote."""
    if as_json:
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    parts = []
    for key, value in fields.items():
        text = "-" if value is None else str(value)
        if isinstance(value, str) and (not text or not text.isprintable() or _QUOTED_RE.search(text)):
            text = json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={text}")
    return " ".join(parts)


class AccessLog:
    """Falcon middleware writing one line per request once its answer is complete."""

    def __init__(self, settings: Settings) -> None:
        self.as_json = settings.log_format == "json"
        self.log_queries = settings.log_queries
        self.trusted = networks(settings.forwarded_allow_ips)
        # A worker sees the same few peers (its proxy) and clients again and again.
        self._shown = functools.lru_cache(maxsize=CLIENTS_KEPT)(self._show_client)

    def _show_client(self, peer: str | None, forwarded_for: str | None) -> str | None:
        client = client_address(peer, forwarded_for, self.trusted)
        return str(client) if client else None

    def shown_client(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client's address as the line shows it; kept for short headers only, so a
        client sending long made-up ones cannot fill a worker's memory."""
        if forwarded_for is not None and len(forwarded_for) > MAX_KEPT_FORWARDED:
            return self._show_client(peer, forwarded_for)
        return self._shown(peer, forwarded_for)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.access_started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        started = req.context.get("access_started")
        try:
            query = req.get_param("q")
        except falcon.HTTPError:
            query = None
        fields: dict[str, object] = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "client": self.shown_client(req.env.get("REMOTE_ADDR"), req.get_header("X-Forwarded-For")),
            "scheme": req.scheme,
            "method": req.method,
            "route": req.uri_template or UNMATCHED,
            "status": falcon.http_status_to_code(resp.status),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started is not None else None,
            "query_chars": len(query) if query is not None else None,
        }
        result = req.context.get("search_result")
        if result is not None and result.partial:
            fields["partial"] = True
        if self.log_queries and query is not None:
            fields["query"] = query
        write_line(format_line(fields, self.as_json))
