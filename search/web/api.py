"""The JSON API: one resource class per URL.

Every input is validated here and refused with a 400 that says what was wrong; the errors of
the layers below are answered by the handlers of `search.web.errors`. Nothing a client sends
can produce a 500.
"""

from __future__ import annotations

import falcon

from search.index.schema import SchemaMismatch
from search.index.store import IndexMissing, live_dir
from search.searching.suggest import MAX_LIMIT, GenerationalSuggester
from search.web import params, stories
from search.web.holder import IndexHolder
from search.web.ingest import ArticleWriter

MAX_SUGGEST_CHARS = 100
#: Suggestions change only with a commit; a minute of caching spares the index a keystroke.
SUGGEST_CACHE = "public, max-age=60"


class SearchResource:
    """`/search`: a page of ranked hits with facets."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.answer(req)

    def answer(self, req: falcon.Request, **fixed: object) -> dict[str, object]:
        """The JSON of the search `req` asks for; the page fixes some fields (its timeline)."""
        return self.holder.get().search(params.search_request(req, **fixed)).to_json()


class ArticleResource:
    """`/articles/{id}`: one stored article (highlighted with `q`); PUT and DELETE write."""

    def __init__(self, holder: IndexHolder, writer: ArticleWriter) -> None:
        self.holder = holder
        self.writer = writer

    def on_get(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        index = self.holder.get()
        of = stories.related_of(index, req, article_id)
        if of is not None:
            resp.media = stories.related_answer(index, req, of)
            return
        q = req.get_param("q")
        view = index.article(article_id, q if q and q.strip() else None)
        if view is None:
            shown = article_id if len(article_id) <= 80 else article_id[:80] + "…"
            raise falcon.HTTPNotFound(title="No such article", description=f"No article has the id {shown!r}.")
        resp.media = view.to_json()

    def on_put(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        self.writer.put(req, resp, article_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        self.writer.delete(req, resp, article_id)


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


class HealthResource:
    """`/healthz`: whether the index can be read, for load balancers and supervisors."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            count = self.holder.get().searcher().doc_count()
        except (IndexMissing, SchemaMismatch):
            raise
        except Exception:  # an unreadable index is exactly what a health check reports
            raise falcon.HTTPServiceUnavailable(
                title="Index unavailable", retry_after=30, description="The index cannot be read."
            ) from None
        resp.media = {"status": "ok", "articles": count}


class StatsResource:
    """`/stats`: the index's size and generation."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.holder.get().stats()
