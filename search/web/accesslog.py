"""One access line per request, for an operator: route, status, duration and the query's length.

gunicorn's own access log writes the request line, query string and all, so the service turns
it off (`search.web.gunicorn_conf`) and writes this line instead. What a reader typed stays out of
the log unless `VNSEARCH_LOG_QUERIES=1`; its length is kept, which is what spotting abuse and
tuning need. The route is the URL template (`/articles/{article_id:path}`), so ids do not make
every line different; the client is the forwarded address when a trusted proxy sent it.

Lines are `key=value` text, or JSON objects with `VNSEARCH_LOG_FORMAT=json`, one per line on
standard output (where gunicorn's access log went), each written whole even with threads.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time

import falcon

from search.settings import Settings
from search.web.forwarded import client_address, networks

LOGGER_NAME = "vnsearch.access"
#: Route of requests no route matched, or refused before routing (as in `search.web.metrics`).
UNMATCHED = "unmatched"


class _StandardOutput(logging.Handler):
    """Writes to whatever `sys.stdout` is when the line is written (a test may replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # a closed or full stdout must not fail the request
            self.handleError(record)


def access_logger() -> logging.Logger:
    """The access logger, set up once per process; it does not propagate, so the server's
    error log configuration neither duplicates nor reformats its lines."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        logger.addHandler(_StandardOutput())
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


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
        self.logger = access_logger()

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
        client = client_address(req.env.get("REMOTE_ADDR"), req.get_header("X-Forwarded-For"), self.trusted)
        fields: dict[str, object] = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "client": str(client) if client else None,
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
        if self.logger.isEnabledFor(logging.INFO):  # as `info` does, without looking up its caller
            line = format_line(fields, self.as_json)
            self.logger.handle(self.logger.makeRecord(LOGGER_NAME, logging.INFO, __file__, 0, line, (), None))
