"""Every error the service answers, in one shape, and the domain errors mapped to HTTP once.

Resources raise what the layers below raise (a query that cannot be searched, an index that is
missing, built by another version or busy); the handlers registered here turn each into the
HTTP error a client can act on, so no resource catches them itself. Every error body is JSON
`{title, description}` whatever the client accepts: an API client that sends
`Accept: text/html` would otherwise get an empty body.
"""

from __future__ import annotations

import math
from typing import Any

import falcon

from search.index.schema import SchemaMismatch
from search.index.store import IndexBusy, IndexMissing
from search.query.parse import QueryError
from search.searching.sharded import ShardsUnavailable
from search.searching.timeline import TooManyBuckets
from search.web.admission import Overloaded

#: The domain errors a request may end in, besides Falcon's own HTTP errors.
DOMAIN_ERRORS = (QueryError, TooManyBuckets, IndexMissing, SchemaMismatch, IndexBusy, ShardsUnavailable, Overloaded)


class InvalidParam(falcon.HTTPInvalidParam):
    """A 400 naming the parameter and saying what a valid value looks like."""


def serialize_error(req: falcon.Request, resp: falcon.Response, exception: falcon.HTTPError) -> None:
    resp.content_type = falcon.MEDIA_JSON
    resp.data = exception.to_json()


def http_error(exc: Exception, write_timeout: float) -> falcon.HTTPError:
    """The HTTP error for a domain error (`DOMAIN_ERRORS`); messages never carry paths."""
    if isinstance(exc, QueryError):
        return InvalidParam(str(exc).capitalize() + ".", "q")
    if isinstance(exc, TooManyBuckets):
        return InvalidParam(str(exc).capitalize() + ".", "histogram")
    if isinstance(exc, IndexMissing):  # the CLI's message names the directory; a client gets none
        return falcon.HTTPServiceUnavailable(
            title="Index unavailable", retry_after=30, description="No index has been built yet; run `vnsearch index`."
        )
    if isinstance(exc, SchemaMismatch):
        return falcon.HTTPServiceUnavailable(
            title="Index unavailable",
            retry_after=60,
            description="The index was built by another version of vnsearch; run `vnsearch index --rebuild`.",
        )
    if isinstance(exc, IndexBusy):
        return falcon.HTTPServiceUnavailable(
            title="Index busy",
            retry_after=max(1, math.ceil(write_timeout)),
            description="Another write is in progress; retry shortly.",
        )
    if isinstance(exc, ShardsUnavailable):  # a search answers without them; a lookup cannot
        return falcon.HTTPServiceUnavailable(
            title="Shard unavailable", retry_after=5, description="The shard holding this article is restarting."
        )
    if isinstance(exc, Overloaded):
        return falcon.HTTPServiceUnavailable(
            title="Too busy", retry_after=1, description="Too many searches are waiting on this worker; retry shortly."
        )
    raise TypeError(f"not a domain error: {type(exc).__name__}")


def _request_timeout(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, Any]) -> None:
    """A body read cut by the receive timeout (`search.web.gunicorn_hooks`): the client went
    silent mid-upload, so a 408, not a 500."""
    raise falcon.HTTPError(
        falcon.HTTP_408, title="Request timeout", description="The request body stopped arriving; send it again."
    )


def register(app: falcon.App, write_timeout: float) -> None:
    """Map every domain error to its HTTP error, and every error to the JSON body."""

    def handle(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, Any]) -> None:
        raise http_error(exc, write_timeout)

    for kind in DOMAIN_ERRORS:
        app.add_error_handler(kind, handle)
    app.add_error_handler(BlockingIOError, _request_timeout)
    app.set_error_serializer(serialize_error)
