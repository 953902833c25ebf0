"""Dates as articles have them: "YYYY-MM-DD", or only "YYYY-MM" or "YYYY" when that is all the
source says. A partial date is never completed with a guess; where a day is needed (the index's
day field, a filter's bound) it stands for the first day of its period, or the last at the end
of a range. Everything that reads or compares a date goes through here.
"""

from __future__ import annotations

import datetime as dt
import re

_PARTIAL_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def iso_date(year: str | int, month: str | int | None = None, day: str | int | None = None) -> str | None:
    """ISO "YYYY[-MM[-DD]]" when the parts make a real calendar date, else None."""
    try:
        dt.date(int(year), 1 if month is None else int(month), 1 if day is None else int(day))
    except ValueError:
        return None
    parts = [f"{int(year):04d}"] + [f"{int(p):02d}" for p in (month, day) if p is not None]
    return "-".join(parts)


def _parts(text: str) -> tuple[int, int | None, int | None] | None:
    match = _PARTIAL_RE.match(text.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]) if match[2] else None, int(match[3]) if match[3] else None


_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")


def clock(hour: str | int, minute: str | int, meridiem: str | None = None) -> str | None:
    """ "HH:MM" when the parts make a real time of day (12-hour with `meridiem` "AM"/"PM"),
    else None. Seconds are dropped: no outlet publishes to the second."""
    h, m = int(hour), int(minute)
    if meridiem:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if meridiem.upper() == "PM" else 0)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return f"{h:02d}:{m:02d}"


def parse_time(text: str) -> str | None:
    """ "HH:MM" from "HH:MM" or "HH:MM:SS"; None when it is not a time of day."""
    match = _TIME_RE.match(text.strip())
    return clock(match[1], match[2]) if match else None


def parse_datetime(text: str) -> tuple[str, str | None] | None:
    """(date, time or None) from an ISO date, partial date or datetime ("2013-10-23T11:39",
    "2022-12-29T16:41:00+07:00": the time as written, its zone dropped); None when it is none
    of them."""
    date = parse_date(text)
    if date is None:
        return None
    text = text.strip()
    if len(text) <= 10:
        return date, None
    rest = text[11:]
    for end, char in enumerate(rest):
        if char in "Z+-":
            rest = rest[:end]
            break
    return date, parse_time(rest)


def parse_date(text: str) -> str | None:
    """The ISO (partial) date `text` states, or the date part of an ISO datetime
    ("2022-12-29T16:41:00+07:00"); None when it is neither or names no real day."""
    parts = _parts(text)
    if parts is not None:
        return iso_date(*parts)
    if len(text) <= 10 or text[10] not in "T ":
        return None
    try:
        return dt.datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return None


def first_day(iso: str) -> dt.date:
    """The first day of an ISO date or partial date ("2022", "2022-05", "2022-05-17")."""
    return bound(iso)


def bound(text: str, end: bool = False) -> dt.date:
    """A date filter's bound from YYYY, YYYY-MM or YYYY-MM-DD: a partial date stands for the
    first day of its period, or the last when it is the `end` of a range. `ValueError` says
    what is wrong, for a person."""
    parts = _parts(text)
    if parts is None:
        raise ValueError(f"{text!r} is not a date as YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = parts
    try:
        if day:
            return dt.date(year, month or 1, day)
        if not end:
            return dt.date(year, month or 1, 1)
        if month:
            return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        return dt.date(year, 12, 31)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date") from None
