"""Reading a request's parameters, refused with a 400 that names the parameter and says what a
valid value looks like. (A parameter given twice never gets here: `RequestGuard` refuses it.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import falcon

from search.corpus import dates
from search.searching.results import MAX_PER_PAGE, MAX_RESULT_WINDOW, SORTS, SearchRequest
from search.searching.timeline import INTERVALS
from search.web.errors import InvalidParam

#: What `histogram` may ask for.
HISTOGRAMS = (*INTERVALS, "auto")


def whole(req: falcon.Request, name: str, default: int, low: int, high: int) -> int:
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only: "¹" and "٣" pass str.isdigit, and int() refuses the first.
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidParam(f"Expected a whole number from {low} to {high}.", name)
    return int(raw)


def date(req: falcon.Request, name: str, end: bool) -> dt.date | None:
    raw = req.get_param(name)
    if not raw:
        return None
    try:
        return dates.bound(raw, end)
    except ValueError:
        raise InvalidParam("Expected a date as YYYY-MM-DD, YYYY-MM or YYYY.", name) from None


#: `collapse=story` (the default) shows one article per story; `none` every article.
COLLAPSE = ("story", "none")


def search_request(req: falcon.Request, **fixed: Any) -> SearchRequest:
    """The search `req` asks for, every parameter checked. `fixed` sets fields the caller
    decides itself (the feed's newest 50, the export's 1,000 rows without snippets)."""
    q = req.get_param("q")
    if q is None or not q.strip():
        raise falcon.HTTPMissingParam("q")
    if "per_page" not in fixed:
        fixed["per_page"] = whole(req, "per_page", 10, 1, MAX_PER_PAGE)
        fixed["page"] = whole(req, "page", 1, 1, MAX_RESULT_WINDOW)
        if fixed["page"] * fixed["per_page"] > MAX_RESULT_WINDOW:
            raise InvalidParam(
                f"page × per_page may not exceed {MAX_RESULT_WINDOW}; narrow the search instead.", "page"
            )
    if "sort" not in fixed:
        fixed["sort"] = req.get_param("sort") or "relevance"
        if fixed["sort"] not in SORTS:
            raise InvalidParam(f"Expected one of: {', '.join(SORTS)}.", "sort")
    if "collapse" not in fixed:
        collapse = req.get_param("collapse") or "story"
        if collapse not in COLLAPSE:
            raise InvalidParam(f"Expected one of: {', '.join(COLLAPSE)}.", "collapse")
        fixed["collapse"] = collapse == "story"
    date_from, date_to = date(req, "from", end=False), date(req, "to", end=True)
    if date_from and date_to and date_from > date_to:
        raise InvalidParam("'from' is after 'to'.", "from")
    if "histogram" not in fixed:
        fixed["histogram"] = req.get_param("histogram") or None
        if fixed["histogram"] is not None and fixed["histogram"] not in HISTOGRAMS:
            raise InvalidParam(f"Expected one of: {', '.join(HISTOGRAMS)}.", "histogram")
    if "explain" not in fixed:
        explain = req.get_param("explain") or "0"
        if explain not in ("0", "1"):
            raise InvalidParam("Expected 0 or 1.", "explain")
        fixed["explain"] = explain == "1"
    return SearchRequest(q=q, date_from=date_from, date_to=date_to, source=req.get_param("source") or None, **fixed)
