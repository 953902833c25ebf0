"""How much the service accepts from one request.

A public search box gets every kind of input: these bounds keep any single request from holding
a worker, filling memory or echoing back more than it sent. The query-shape limits are fixed
(they live next to the code they protect: `search.query` and `search.searcher`); the ones an
operator may need to tune are read from `VNSEARCH_*` variables here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: Default time one search may take before it answers with what it has, marked partial.
SEARCH_BUDGET_MS = 2000
#: Default largest request body; larger ones get 413 before a byte of them is read.
MAX_BODY_BYTES = 4 << 20
#: Longest path (URL without the query string) and query string, in bytes as sent.
MAX_PATH_BYTES = 2048
MAX_QUERY_STRING_BYTES = 4096


def positive_int(env: dict[str, str] | os._Environ, name: str, default: int) -> int:
    """A positive whole number from the environment variable `name`, or `default` if unset."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be above 0, got {value}")
    return value


@dataclass(frozen=True)
class Limits:
    """The tunable limits of a request: the search time budget and the largest body. (The
    largest article, `VNSEARCH_MAX_ARTICLE_BYTES`, is a `search.config.Settings` field: the
    corpus reader and `PUT /articles/{id}` share it.)"""

    search_budget_ms: int = SEARCH_BUDGET_MS
    max_body_bytes: int = MAX_BODY_BYTES

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Limits":
        """Read `VNSEARCH_SEARCH_BUDGET_MS` and `VNSEARCH_MAX_BODY_BYTES`; an unset or empty
        variable keeps the default."""
        env = os.environ if environ is None else environ
        return cls(
            search_budget_ms=positive_int(env, "VNSEARCH_SEARCH_BUDGET_MS", SEARCH_BUDGET_MS),
            max_body_bytes=positive_int(env, "VNSEARCH_MAX_BODY_BYTES", MAX_BODY_BYTES),
        )
