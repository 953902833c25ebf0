"""Prometheus metrics: `GET /metrics` in the text exposition format, and the middleware that counts.

gunicorn serves with several worker processes and a scrape reaches one of them, so each
process's counts alone would be a fraction that changes with every scrape. In
prometheus_client's multiprocess mode every process writes its values to memory-mapped files
in one directory (`PROMETHEUS_MULTIPROC_DIR`) and a scrape adds them up. The library chooses
that mode when it is first imported, from the variable, so `search.web.gunicorn_hooks` sets it
in the arbiter before any worker forks; without it (the app in a test, or under another server)
each process serves its own counts. The variable is the library's: it reads it, we only ask
which mode it chose.

The index figures (article count, generation, last commit) are gauges set by the worker that
answers the scrape, just before it answers, so they are as fresh as the scrape; the other
counters are updated by each request as it finishes. Only the addresses in
`VNSEARCH_METRICS_ALLOW` may read them: behind the proxy that is the forwarded client address
(see `search.web.forwarded`), so the proxy's own loopback address opens nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import cast

import falcon
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from search.settings import Settings
from search.web.accesslog import UNMATCHED
from search.web.errors import DOMAIN_ERRORS
from search.web.forwarded import client_address, networks, within
from search.web.holder import IndexHolder

ARTICLE_ROUTE = "/articles/{article_id:path}"
#: Methods counted by name; anything else a client invents is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "vnsearch_http_requests", "HTTP requests answered, by route, method and status.", ["route", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "vnsearch_http_request_duration_seconds",
    "Time from the request reaching the app to its answer, by route.",
    ["route"],
    buckets=_LATENCY_BUCKETS,
)
SEARCH_SECONDS = Histogram(
    "vnsearch_search_duration_seconds",
    "Time one search took in the index (the answer's took_ms), cached answers included.",
    buckets=_LATENCY_BUCKETS,
)
PARTIAL = Counter(
    "vnsearch_searches_partial",
    "Searches cut by the time budget (VNSEARCH_SEARCH_BUDGET_MS): answered with what was found by then.",
)
CACHE_HITS = Counter("vnsearch_result_cache_hits", "Searches answered from a worker's result cache.")
CACHE_MISSES = Counter("vnsearch_result_cache_misses", "Searches the result cache did not have.")
GENERATION = Gauge(
    "vnsearch_index_generation", "Commit generation of the live index folder.", multiprocess_mode="livemostrecent"
)
ARTICLES = Gauge("vnsearch_index_articles", "Articles in the live index.", multiprocess_mode="livemostrecent")
LAST_COMMIT = Gauge(
    "vnsearch_index_last_commit_timestamp_seconds",
    "When the live index was last committed.",
    multiprocess_mode="livemostrecent",
)
INGEST_WRITES = Counter(
    "vnsearch_ingest_writes", "Articles written through PUT/DELETE /articles/{id}, by result.", ["operation", "result"]
)
INGEST_FAILURES = Counter(
    "vnsearch_ingest_failures",
    "PUT/DELETE /articles/{id} requests refused or failed, by status.",
    ["operation", "status"],
)


def _exposition() -> bytes:
    """Every process's counts in multiprocess mode (the collector finds the directory in
    `PROMETHEUS_MULTIPROC_DIR` itself), else this process's."""
    if values.ValueClass is not values.MutexValue:
        registry = CollectorRegistry()
        try:
            MultiProcessCollector(registry)
        except ValueError:  # the directory is gone (the server is stopping)
            return generate_latest(REGISTRY)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class Metrics:
    """Falcon middleware that counts every request, and the resource for `/metrics`.

    A search's figures come from `req.context.search_result`, which every resource that searches
    sets (`/search` and the page through `SearchResource.answer`, the feed, the export).
    """

    def __init__(self, settings: Settings, holder: IndexHolder) -> None:
        self.holder = holder
        self.allowed = networks(settings.metrics_allow)
        self.trusted = networks(settings.forwarded_allow_ips)
        self.writes_enabled = bool(settings.admin_token)
        self._lock = threading.Lock()
        self._cache_seen = (0, 0)
        # The labelled children each request updates, found once: `labels` looks one up under
        # the metric's lock every time. Routes are templates and methods and statuses few, so
        # these stay small.
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[str, Histogram] = {}

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        route = req.uri_template or UNMATCHED
        method = req.method if req.method in METHODS else "other"
        status = falcon.http_status_to_code(resp.status)
        counted = self._counted.get((route, method, status))
        if counted is None:
            counted = self._counted[route, method, status] = REQUESTS.labels(route, method, str(status))
        counted.inc()
        started = req.context.get("metrics_started")
        if started is not None:
            timed = self._timed.get(route)
            if timed is None:
                timed = self._timed[route] = REQUEST_SECONDS.labels(route)
            timed.observe(time.perf_counter() - started)
        result = req.context.get("search_result")
        if result is not None:
            SEARCH_SECONDS.observe(result.took_ms / 1000)
            if result.partial:
                PARTIAL.inc()
            self._count_cache()
        if route == ARTICLE_ROUTE and method in ("PUT", "DELETE") and self.writes_enabled:
            self._count_write(method.lower(), status, resp)

    def _count_cache(self) -> None:
        """Add what the worker's result cache counted since the last request to the shared
        counters (the cache keeps plain per-process totals)."""
        cache = self.holder.cache
        if cache is None:
            return
        with self._lock:
            hits, misses = cache.hits, cache.misses
            seen_hits, seen_misses = self._cache_seen
            self._cache_seen = (hits, misses)
        if hits > seen_hits:
            CACHE_HITS.inc(hits - seen_hits)
        if misses > seen_misses:
            CACHE_MISSES.inc(misses - seen_misses)

    @staticmethod
    def _count_write(operation: str, status: int, resp: falcon.Response) -> None:
        if status >= 400:
            INGEST_FAILURES.labels(operation, str(status)).inc()
        elif operation == "delete":
            INGEST_WRITES.labels(operation, "deleted").inc()
        else:
            media = resp.media if isinstance(resp.media, dict) else {}
            INGEST_WRITES.labels(operation, str(media.get("result", "written"))).inc()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        client = client_address(req.env.get("REMOTE_ADDR"), req.get_header("X-Forwarded-For"), self.trusted)
        if client is not None and not within(client, self.allowed):  # None: a local socket
            raise falcon.HTTPForbidden(
                title="Forbidden", description="Metrics are served only to the addresses in VNSEARCH_METRICS_ALLOW."
            )
        self._set_index_gauges()
        resp.content_type = CONTENT_TYPE_LATEST
        resp.cache_control = ["no-store"]
        resp.data = _exposition()

    def _set_index_gauges(self) -> None:
        """The live index's figures, read now; left as they were when there is no index to read
        (the scrape still answers: the 503s it would count are what the operator needs)."""
        try:
            stats = self.holder.get().stats()
        except (*DOMAIN_ERRORS, OSError):  # no index yet, one of another version, unreadable
            return
        ARTICLES.set(cast(int, stats["articles"]))
        GENERATION.set(cast(int, stats["generation"]))
        LAST_COMMIT.set(dt.datetime.fromisoformat(str(stats["last_indexed"])).timestamp())
