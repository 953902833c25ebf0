"""The HTML pages: the search page and the article view.

The pages call the JSON resources' own responders on the incoming request, so every check,
limit and field of `/search` and `/articles/{id}` applies to the pages unchanged; a refused
request becomes a message on the page with the same status code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import falcon

from search.searching.sharded import ShardsUnavailable
from search.web import render
from search.web.api import SearchResource
from search.web.errors import DOMAIN_ERRORS, http_error
from search.web.holder import IndexHolder
from search.web.stories import page_stories

T = TypeVar("T")
#: Related articles the article view lists.
RELATED_ON_PAGE = 8


class JSONResource(Protocol):
    @property
    def on_get(self) -> Callable[..., None]: ...


def _media(resource: JSONResource, req: falcon.Request, **params: str) -> dict:
    """What a JSON resource would answer to `req`; its errors propagate as HTTP errors."""
    scratch = falcon.Response()
    _http_errors(lambda: resource.on_get(req, scratch, **params))
    return scratch.media


def _http_errors(answer: Callable[[], T]) -> T:
    """`answer()`, its domain errors raised as the HTTP errors the API would answer with."""
    try:
        return answer()
    except DOMAIN_ERRORS as exc:
        raise http_error(exc, write_timeout=0) from None


def _state(req: falcon.Request) -> dict[str, str]:
    return {name: req.get_param(name) or "" for name in render.STATE_PARAMS}


class SearchPage:
    """`/`: the form, the results for the query in the URL, and their timeline."""

    def __init__(self, search: SearchResource) -> None:
        self.search = search

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        state = _state(req)
        if not state["q"].strip():
            resp.text = render.search_page(state, None)
            return
        try:
            result = _http_errors(lambda: self.search.answer(req, histogram="auto"))
            page_stories(self.search.holder.get(), result)
        except falcon.HTTPError as exc:
            resp.status = exc.status
            resp.text = render.search_page(state, None, error=exc.description or exc.title)
            return
        resp.text = render.search_page(state, result)


class ArticlePage:
    """`/read/{id}`: the article, with the words of `q` marked."""

    def __init__(self, article: JSONResource, holder: IndexHolder | None = None) -> None:
        self.article = article
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        resp.content_type = falcon.MEDIA_HTML
        q = req.get_param("q")
        try:
            article = _media(self.article, req, article_id=article_id)
        except falcon.HTTPError as exc:
            resp.status = exc.status
            resp.text = render.search_page({"q": q or ""}, None, error=exc.description or exc.title)
            return
        related = None
        if self.holder is not None:
            try:
                found = self.holder.get().related(str(article["id"]), RELATED_ON_PAGE)
            except ShardsUnavailable:  # a shard restarting: the page shows the article all the same
                found = None
            related = [r.to_json() for r in found or []]
        resp.text = render.article_page(article, q if q and q.strip() else None, related)
