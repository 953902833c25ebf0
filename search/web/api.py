"""The JSON API: one resource class per URL.

Every input is validated here and refused with a 400 that says what was wrong; the errors of
the layers below are answered by the handlers of `search.web.errors`. Nothing a client sends
can produce a 500.
"""

from __future__ import annotations

import os

import falcon

from search.index.schema import SchemaMismatch
from search.index.store import IndexMissing
from search.searching.searcher import SearchIndex
from search.searching.suggest import MAX_LIMIT
from search.web import params, stories
from search.web.holder import IndexHolder
from search.web.ingest import ArticleWriter

MAX_SUGGEST_CHARS = 100
#: Suggestions change only with a commit, and a live archive commits every few seconds: a
#: short cache spares the index repeated keystrokes without hiding a new title for long.
SUGGEST_CACHE = "public, max-age=5"


class SearchResource:
    """`/search`: a page of ranked hits with facets."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.answer(req)

    def answer(self, req: falcon.Request, **fixed: object) -> dict[str, object]:
        """The JSON of the search `req` asks for; the page fixes some fields (its timeline)."""
        req.context.search_result = result = self.holder.get().search(params.search_request(req, **fixed))
        return result.to_json()  # the result stays on the request for the metrics and the access log


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

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q = req.get_param("q", required=True)
        if len(q) > MAX_SUGGEST_CHARS:
            raise falcon.HTTPInvalidParam(f"Expected at most {MAX_SUGGEST_CHARS} characters.", "q")
        limit = req.get_param_as_int("limit", min_value=1, max_value=MAX_LIMIT, default=5)
        # Kept per segment (every shard's, for a set): a commit costs the segments it added.
        suggester = self.holder.suggestions.get(self.holder.get().reader())
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
            count = self.holder.get().doc_count()
        except (IndexMissing, SchemaMismatch):
            raise
        except Exception:  # an unreadable index is exactly what a health check reports
            raise falcon.HTTPServiceUnavailable(
                title="Index unavailable", retry_after=30, description="The index cannot be read."
            ) from None
        resp.media = {"status": "ok", "articles": count}


class StatsResource:
    """`/stats`: the index's size and generation, and the memory of the worker that answers
    (each worker keeps its own tables: ask a few times to see both)."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        index = self.holder.get()
        stats = index.stats()
        worker: dict[str, object] = {
            "pid": os.getpid(),
            **process_memory(),
            "suggest": self.holder.suggestions.stats(),
        }
        if isinstance(index, SearchIndex):  # a set's front keeps these in its shards
            worker["search_arrays_bytes"] = index.arrays.nbytes()
            worker["scored_postings_bytes"] = index.scored_bytes()
            worker["term_counts"] = index.term_counts.entries()
        stats["worker"] = worker
        resp.media = stats


def process_memory() -> dict[str, int]:
    """This process's resident memory now and at its peak, in bytes (Linux; empty elsewhere)."""
    found = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    found["rss_bytes" if name == "VmRSS" else "peak_rss_bytes"] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return found
