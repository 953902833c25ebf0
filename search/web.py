"""What a browser uses: the search page, the article view, autocomplete and the static files.

The pages call the JSON resources' own responders on the incoming request, so every check,
limit and field of `/search` and `/articles/{id}` applies to the pages unchanged; a refused
request becomes a message on the page with the same status code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources as package_files
from typing import TYPE_CHECKING, Protocol

import falcon

from search import pages
from search.store import live_dir
from search.suggest import MAX_LIMIT, GenerationalSuggester

if TYPE_CHECKING:
    from search.api import IndexHolder

MAX_SUGGEST_CHARS = 100
#: Static files are not fingerprinted (embedders reference /widget.js itself), so they are
#: cached for an hour and then revalidated cheaply with their ETag.
STATIC_CACHE = "public, max-age=3600"
#: Suggestions change only with a commit; a minute of caching spares the index a keystroke.
SUGGEST_CACHE = "public, max-age=60"

_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class JSONResource(Protocol):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None: ...


def _media(resource: JSONResource, req: falcon.Request, **params: str) -> dict:
    """What a JSON resource would answer to `req`; its HTTP errors propagate."""
    scratch = falcon.Response()
    resource.on_get(req, scratch, **params)
    return scratch.media


def _state(req: falcon.Request) -> dict[str, str]:
    return {name: req.get_param(name) or "" for name in pages.STATE_PARAMS}


class SearchPage:
    """`/`: the form, and the results for the query in the URL."""

    def __init__(self, search: JSONResource) -> None:
        self.search = search

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        state = _state(req)
        if not state["q"].strip():
            resp.text = pages.search_page(state, None)
            return
        try:
            result = _media(self.search, req)
        except falcon.HTTPError as exc:
            resp.status = exc.status
            resp.text = pages.search_page(state, None, error=exc.description or exc.title)
            return
        resp.text = pages.search_page(state, result)


class ArticlePage:
    """`/read/{id}`: the article, with the words of `q` marked."""

    def __init__(self, article: JSONResource) -> None:
        self.article = article

    def on_get(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        resp.content_type = falcon.MEDIA_HTML
        q = req.get_param("q")
        try:
            article = _media(self.article, req, article_id=article_id)
        except falcon.HTTPError as exc:
            resp.status = exc.status
            resp.text = pages.search_page({"q": q or ""}, None, error=exc.description or exc.title)
            return
        resp.text = pages.article_page(article, q if q and q.strip() else None)


class SuggestResource:
    """`/suggest?q=`: phrases and titles starting with what was typed, for autocomplete."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder
        self._suggesters = GenerationalSuggester(holder.settings.index_dir)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q = req.get_param("q", required=True)
        if len(q) > MAX_SUGGEST_CHARS:
            raise falcon.HTTPInvalidParam(f"Expected at most {MAX_SUGGEST_CHARS} characters.", "q")
        limit = req.get_param_as_int("limit", min_value=1, max_value=MAX_LIMIT, default=5)
        index = self.holder.get()
        # A rebuild switches to a new folder whose Whoosh generations count from the start again.
        version = (live_dir(index.index_dir), index.searcher().reader().generation())
        suggester = self._suggesters.get(version)
        if suggester is None:
            resp.media = {"q": q, "ready": False, "suggestions": []}
            resp.cache_control = ["no-store"]
            return
        resp.media = {"q": q, "ready": True, "suggestions": [s.to_json() for s in suggester.suggest(q, limit)]}
        resp.cache_control = [SUGGEST_CACHE]


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def load_static(name: str) -> StaticFile:
    """A file of `search/static`, with a content hash as its ETag."""
    body = package_files.files("search").joinpath("static", name).read_bytes()
    suffix = name[name.rfind("."):]
    return StaticFile(body, _TYPES[suffix], hashlib.sha256(body).hexdigest()[:20])


class StaticResource:
    """The page's script and style, and the widget: read once, revalidated by ETag."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.files = {name: load_static(name) for name in names}

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        static = self.files.get(name)
        if static is None:
            raise falcon.HTTPNotFound(title="No such file", description=f"There is no static file {name!r}.")
        resp.etag = static.etag
        resp.cache_control = [STATIC_CACHE]
        if req.if_none_match and any(tag == static.etag or tag == "*" for tag in req.if_none_match):
            resp.status = falcon.HTTP_304
            return
        resp.content_type = static.content_type
        resp.data = static.body


class WidgetResource(StaticResource):
    """`/widget.js`, at a short URL of its own because other sites write it into their pages."""

    def __init__(self) -> None:
        super().__init__(("widget.js",))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:  # type: ignore[override]
        super().on_get(req, resp, "widget.js")
