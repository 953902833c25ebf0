"""Writing through the HTTP API: `PUT /articles/{id}` and `DELETE /articles/{id}` for newsroom
systems, enabled only when an admin token is configured.

Every write takes the index folder's write lock (see `search.store`), so writes from all
gunicorn workers, the CLI and a rebuild are serialized; a write that cannot get it within
`write_timeout` answers 503 with Retry-After rather than holding the client indefinitely. Each
write is one Whoosh commit: it lands whole or not at all, and every worker's next request sees it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import TypeVar

import falcon

from search.corpus.article import MAX_ID_CHARS
from search.corpus.jsonl import article_from_json
from search.index.sharding import build, delete
from search.index.store import IndexMissing
from search.settings import Settings
from search.text.normalize import normalize

T = TypeVar("T")


class ArticleWriter:
    """Authorizes, validates and applies one write; the resource for `/articles/{id}` hands its
    PUT and DELETE requests here."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def put(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        self._authorize(req)
        article_id = self._valid_id(article_id)
        record = self._json_body(req)
        if isinstance(record, dict):
            given = record.get("id", article_id)
            if not isinstance(given, str) or normalize(given).strip() != article_id:
                raise falcon.HTTPBadRequest(
                    title="Id mismatch", description=f"The body's 'id' differs from the URL's {article_id!r}."
                )
            record = dict(record, id=article_id)
        try:
            article = article_from_json(record)
        except ValueError as exc:
            raise falcon.HTTPBadRequest(
                title="Invalid article", description=f"{str(exc)[:1].upper()}{str(exc)[1:]}."
            ) from None
        report = self._locked(
            lambda: build(
                self.settings.index_dir,
                [article],
                keep_missing=True,
                lock_timeout=self.settings.write_timeout,
                pool_mb=self.settings.pool_mb,
            )
        )
        result = "added" if report.added else "updated" if report.updated else "unchanged"
        resp.status = falcon.HTTP_201 if report.added else falcon.HTTP_200
        resp.media = {"id": article_id, "result": result}

    def delete(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        self._authorize(req)
        article_id = self._valid_id(article_id)
        try:
            found = self._locked(lambda: delete(self.settings.index_dir, article_id, self.settings.write_timeout))
        except IndexMissing:
            found = False
        if not found:
            raise falcon.HTTPNotFound(title="No such article", description=f"No article has the id {article_id!r}.")
        resp.status = falcon.HTTP_204

    def _authorize(self, req: falcon.Request) -> None:
        """401 without a Bearer token, 403 with a wrong one; compared in constant time."""
        token = self.settings.admin_token
        if not token:
            raise falcon.HTTPNotFound()
        header = req.get_header("Authorization") or ""
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise falcon.HTTPUnauthorized(
                title="Authorization required",
                description="Send 'Authorization: Bearer <token>'.",
                challenges=["Bearer"],
            )
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise falcon.HTTPForbidden(title="Forbidden", description="The token is not valid.")

    @staticmethod
    def _valid_id(article_id: str) -> str:
        cleaned = normalize(article_id).strip()
        if not cleaned or len(cleaned) > MAX_ID_CHARS:
            raise falcon.HTTPBadRequest(
                title="Invalid id", description=f"An article id is 1 to {MAX_ID_CHARS} characters."
            )
        return cleaned

    def _json_body(self, req: falcon.Request) -> object:
        """The request body as JSON, refused with 413 past the size limit before it is parsed."""
        limit = self.settings.max_article_bytes
        too_large = falcon.HTTPContentTooLarge(
            title="Article too large", description=f"An article may be at most {limit} bytes of JSON."
        )
        if req.content_length is not None and req.content_length > limit:
            raise too_large
        raw = req.bounded_stream.read(limit + 1)
        if len(raw) > limit:
            raise too_large
        try:
            return json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise falcon.HTTPBadRequest(
                title="Invalid JSON", description="The body must be a JSON object in UTF-8."
            ) from None

    def _locked(self, write: Callable[[], T]) -> T:
        """Run a write, turning a disk that cannot take it into a 503 the client can retry (a
        busy or older index is answered by `search.web.errors`)."""
        try:
            return write()
        except OSError as exc:  # disk full: nothing was committed (see engine.writers.abandon)
            raise falcon.HTTPServiceUnavailable(
                title="Index not writable",
                retry_after=60,
                description=f"The index cannot be written ({exc.strerror or type(exc).__name__}); nothing was changed.",
            ) from None
