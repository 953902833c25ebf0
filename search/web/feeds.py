"""Saved searches as Atom feeds (`/feed`) and result lists as spreadsheets (`/search.csv`).

Both take the search's own parameters, checked as `/search` checks them. A feed lists the 50
matching articles updated last (their date and time, or for an undated one when it was
indexed), so an article added by `vnsearch index` or a `PUT` shows on the next request; it
answers a conditional request with 304 while the index has not changed.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

import falcon

from search.searching import formats
from search.text.normalize import fold
from search.web import params
from search.web.holder import IndexHolder

FEED_ENTRIES = 50
EXPORT_ROWS = 1000
ATOM_TYPE = "application/atom+xml; charset=utf-8"
#: Feed readers poll: a minute of caching costs nothing against "on the next request" after
#: a commit, since the ETag changes with the index.
FEED_CACHE = "public, max-age=60"
#: The search parameters a feed or an export keeps in its links and its id.
QUERY_PARAMS = ("q", "source", "from", "to", "sort")


def _query(req: falcon.Request) -> dict[str, str]:
    return {name: value for name in QUERY_PARAMS if (value := req.get_param(name))}


class FeedResource:
    """`/feed?q=&source=&from=&to=`: the newest matches of a search, in Atom."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = params.search_request(req, sort="updated", page=1, per_page=FEED_ENTRIES, collapse=False)
        index = self.holder.get()
        updated = index.last_modified()
        query = {k: v for k, v in _query(req).items() if k != "sort"}
        req.context.search_result = result = index.search(request)  # for the metrics, the access log
        body = formats.atom(result, query, req.prefix, req.url, updated)
        etag = hashlib.sha256(body).hexdigest()[:32]
        resp.etag = etag
        resp.last_modified = updated
        resp.cache_control = [FEED_CACHE]
        if req.if_none_match is not None:
            if any(tag == etag or tag == "*" for tag in req.if_none_match):
                resp.status = falcon.HTTP_304
                return
        elif req.if_modified_since is not None and updated <= req.if_modified_since:
            resp.status = falcon.HTTP_304
            return
        resp.content_type = ATOM_TYPE
        resp.data = body


class ExportResource:
    """`/search.csv?q=...`: up to 1,000 matches of a search as a spreadsheet."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = params.search_request(req, page=1, per_page=EXPORT_ROWS, snippets=False, collapse=False)
        req.context.search_result = result = self.holder.get().search(request)  # for the metrics, the access log
        resp.content_type = "text/csv; charset=utf-8"
        name = _filename(request.q)
        resp.set_header(
            "Content-Disposition",
            f"attachment; filename=\"{fold(name)}.csv\"; filename*=UTF-8''{quote(name)}.csv",
        )
        resp.text = formats.csv_text(result.hits, formats.story_columns(result.hits))


def _filename(q: str) -> str:
    """A file name from the query: its words joined by "-", nothing a file system or a header
    could misread."""
    words = re.findall(r"[^\W_]+", q)[:8]
    return "vnsearch-" + "-".join(words) if words else "vnsearch"
