"""The WSGI app: `create_app(settings)` wires the resources to their URLs, the middleware that
every request passes, and the mapping of domain errors to HTTP (`search.web.errors`).

The index is opened lazily, on the first request a worker serves (`IndexHolder`), so that
gunicorn workers each open their own after the fork.
"""

from __future__ import annotations

from typing import Any

import falcon

from search.settings import Settings
from search.web import errors
from search.web.accesslog import AccessLog
from search.web.admission import Admission, AdmissionControl
from search.web.api import (
    ArticleResource,
    HealthResource,
    SearchResource,
    StatsResource,
    SuggestResource,
)
from search.web.assets import StaticResource, WidgetResource
from search.web.feeds import ExportResource, FeedResource
from search.web.headers import ListedOriginsCORS, SecurityHeaders
from search.web.holder import IndexHolder
from search.web.ingest import ArticleWriter
from search.web.jsonbody import HANDLER as JSON_HANDLER
from search.web.metrics import Metrics
from search.web.middleware import RequestGuard
from search.web.pages import ArticlePage, SearchPage
from search.web.stories import StoryResource


def create_app(settings: Settings | None = None, admission: Admission | None = None) -> falcon.App:
    """The app for `settings` (read from the environment when not given, as `wsgi.py` does);
    searches take turns in `admission`, by default one of `settings.slots` slots (none: no limit)."""
    settings = settings or Settings.from_env()
    holder = IndexHolder(settings)
    metrics = Metrics(settings, holder)  # reads `req.context.search_result`, set where a search runs
    # The observers, then the headers: their process_response also runs for what the guard refuses.
    middleware: list[Any] = [
        AccessLog(settings),
        metrics,
        SecurityHeaders(),
        ListedOriginsCORS(settings.cors_origins),
        RequestGuard(settings.max_body_bytes),
    ]
    search, article = SearchResource(holder), ArticleResource(holder, ArticleWriter(settings))
    searching: dict[str, object] = {  # the routes whose reads are searches, queued for a slot
        "/search": search,
        "/search.csv": ExportResource(holder),
        "/feed": FeedResource(holder),
        "/articles/{article_id:path}": article,
        "/stories/{story_id:path}": StoryResource(holder),
        "/": SearchPage(search),
        "/read/{article_id:path}": ArticlePage(article, holder),
        "/suggest": SuggestResource(holder),
    }
    if admission is None and settings.slots:
        admission = Admission(settings.slots)
    if admission is not None:  # last: a request the guard refuses never waits for a slot
        middleware.append(AdmissionControl(admission, tuple(searching.values()), settings.search_budget_ms / 1000))
    app = falcon.App(middleware=middleware)
    errors.register(app, settings.write_timeout)
    app.req_options.keep_blank_qs_values = False
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = JSON_HANDLER
    for route, resource in searching.items():
        app.add_route(route, resource)
    app.add_route("/static/{name}", StaticResource(("app.js", "style.css")))
    app.add_route("/widget.js", WidgetResource())
    app.add_route("/healthz", HealthResource(holder))
    app.add_route("/metrics", metrics)
    app.add_route("/stats", StatsResource(holder))
    return app
