"""Reading a request's parameters, refused with a 400 that names the parameter and says what a
valid value looks like. (A parameter given twice never gets here: `RequestGuard` refuses it.)
"""

from __future__ import annotations

import datetime as dt

import falcon

from search.corpus import dates
from search.web.errors import InvalidParam


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
