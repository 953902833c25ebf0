"""The HTTP API: a Falcon app with one resource class per URL.

The index is opened lazily, on the first request a worker serves, so that gunicorn workers
each open their own after the fork instead of sharing descriptors from a preloaded parent.
Every input is validated here and refused with a 400 that says what was wrong; nothing a
client sends can produce a 500.
"""

from __future__ import annotations

import datetime as dt
import threading

import falcon

from search.acronyms import load_synonyms
from search.cache import ResultCache
from search.config import Settings
from search.headers import ListedOriginsCORS, SecurityHeaders
from search.ingest import ArticleWriter
from search.limits import Limits
from search.middleware import RequestGuard, serialize_error
from search.query import QueryError
from search.schema import SchemaMismatch
from search.searcher import MAX_PER_PAGE, MAX_RESULT_WINDOW, SORTS, SearchIndex, SearchRequest, date_bound
from search.store import IndexMissing
from search.web import ArticlePage, SearchPage, StaticResource, SuggestResource, WidgetResource


class IndexUnavailable(falcon.HTTPServiceUnavailable):
    """No usable index: the service is up but has nothing to search yet."""

    def __init__(self, reason: str) -> None:
        super().__init__(title="Index unavailable", description=reason, retry_after=30)


class InvalidParam(falcon.HTTPInvalidParam):
    """A 400 naming the parameter and saying what a valid value looks like."""


class IndexHolder:
    """Opens the index on first use in this process and keeps it open."""

    def __init__(self, settings: Settings, limits: Limits | None = None) -> None:
        self.settings = settings
        self.limits = limits or Limits()
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> SearchIndex:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    try:
                        synonyms = load_synonyms(self.settings.acronym_files)
                        entries, mib = self.settings.result_cache_entries, self.settings.result_cache_mib
                        cache = ResultCache(entries, mib << 20) if entries and mib else None
                        self._index = SearchIndex(self.settings.index_dir, synonyms,
                                                  time_budget=self.limits.search_budget_ms / 1000, cache=cache)
                    except IndexMissing:  # the CLI's message names the directory; a client gets no paths
                        raise IndexUnavailable("no index has been built yet; run `vnsearch index`") from None
                    except SchemaMismatch:
                        raise IndexUnavailable("the index was built by another version of vnsearch; "
                                               "run `vnsearch index --rebuild`") from None
        return self._index


def _one(req: falcon.Request, name: str) -> str | None:
    """A parameter given at most once: repeating it is ambiguous, so it is refused."""
    values = req.get_param_as_list(name)
    if values is None:
        return None
    if len(values) > 1:
        raise InvalidParam("Give it only once.", name)
    return values[0]


def _int(req: falcon.Request, name: str, default: int, low: int, high: int) -> int:
    raw = _one(req, name)
    if raw is None or raw == "":
        return default
    # ASCII digits only: "¹" and "٣" pass str.isdigit, and int() refuses the first.
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidParam(f"Expected a whole number from {low} to {high}.", name)
    return int(raw)


def _date(req: falcon.Request, name: str, end: bool) -> dt.date | None:
    raw = _one(req, name)
    if not raw:
        return None
    try:
        return date_bound(raw, end)
    except ValueError:
        raise InvalidParam("Expected a date as YYYY-MM-DD, YYYY-MM or YYYY.", name) from None


class SearchResource:
    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q = _one(req, "q")
        if q is None or not q.strip():
            raise falcon.HTTPMissingParam("q")
        per_page = _int(req, "per_page", 10, 1, MAX_PER_PAGE)
        page = _int(req, "page", 1, 1, MAX_RESULT_WINDOW)
        if page * per_page > MAX_RESULT_WINDOW:
            raise InvalidParam(f"page × per_page may not exceed {MAX_RESULT_WINDOW}; narrow the search instead.", "page")
        sort = _one(req, "sort") or "relevance"
        if sort not in SORTS:
            raise InvalidParam(f"Expected one of: {', '.join(SORTS)}.", "sort")
        date_from, date_to = _date(req, "from", end=False), _date(req, "to", end=True)
        if date_from and date_to and date_from > date_to:
            raise InvalidParam("'from' is after 'to'.", "from")
        request = SearchRequest(q=q, page=page, per_page=per_page, sort=sort,
                                date_from=date_from, date_to=date_to, source=_one(req, "source") or None)
        index = self.holder.get()
        try:
            resp.media = index.search(request).to_json()
        except QueryError as exc:
            raise InvalidParam(str(exc).capitalize() + ".", "q") from None


class ArticleResource:
    def __init__(self, holder: IndexHolder, writer: ArticleWriter) -> None:
        self.holder = holder
        self.writer = writer

    def on_get(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        q = _one(req, "q")
        try:
            view = self.holder.get().article(article_id, q if q and q.strip() else None)
        except QueryError as exc:
            raise InvalidParam(str(exc).capitalize() + ".", "q") from None
        if view is None:
            shown = article_id if len(article_id) <= 80 else article_id[:80] + "…"
            raise falcon.HTTPNotFound(title="No such article", description=f"No article has the id {shown!r}.")
        resp.media = view.to_json()

    def on_put(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        self.writer.put(req, resp, article_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        self.writer.delete(req, resp, article_id)


class HealthResource:
    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            count = self.holder.get().searcher().doc_count()
        except IndexUnavailable:
            raise
        except Exception:  # an unreadable index is exactly what a health check reports
            raise IndexUnavailable("the index cannot be read") from None
        resp.media = {"status": "ok", "articles": count}


class StatsResource:
    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.holder.get().stats()


def create_app(settings: Settings | None = None, limits: Limits | None = None) -> falcon.App:
    """The WSGI app; `wsgi.py` builds it from the environment for gunicorn."""
    settings = settings or Settings.from_env()
    limits = limits or Limits.from_env()
    holder = IndexHolder(settings, limits)
    # The headers first: their process_response also runs for what the guard refuses.
    app = falcon.App(middleware=[SecurityHeaders(), ListedOriginsCORS(settings.cors_origins), RequestGuard(limits)])
    app.set_error_serializer(serialize_error)
    app.req_options.keep_blank_qs_values = False
    search, article = SearchResource(holder), ArticleResource(holder, ArticleWriter(settings))
    app.add_route("/search", search)
    app.add_route("/articles/{article_id:path}", article)
    app.add_route("/", SearchPage(search))
    app.add_route("/read/{article_id:path}", ArticlePage(article))
    app.add_route("/suggest", SuggestResource(holder))
    app.add_route("/static/{name}", StaticResource(("app.js", "style.css")))
    app.add_route("/widget.js", WidgetResource())
    app.add_route("/healthz", HealthResource(holder))
    app.add_route("/stats", StatsResource(holder))
    return app
