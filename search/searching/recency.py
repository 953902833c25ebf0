"""Orders by time: newest first by the article's own date (then time of day), or by when it
was last updated, which falls back to when it was indexed for an article without a date.

Dates and times are kept as columns of sortable strings; these keys are computed once per
index generation from their codes (`Evaluator.column`), so sorting a page is one `top` over
an integer array.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from search.searching.timeline import DateTable

#: A column as `Evaluator.column` gives it: codes per document, and the sorted values.
Column = tuple[np.ndarray, list[str]]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def by_date(dates: Column, times: Column) -> np.ndarray:
    """Per document, a key that orders by date, then time within a day: larger is newer, and
    an undated article is older than every dated one."""
    return dates[0] * (len(times[1]) + 1) + times[0]


def _minutes(values: list[str], parse: object) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.int64)
    for code, value in enumerate(values):
        if value:
            out[code] = parse(value)  # type: ignore[operator]
    return out


def updated(dates: Column, table: DateTable, times: Column, indexed: Column, utc_offset: dt.timedelta) -> np.ndarray:
    """Per document, minutes since 1970 (UTC) of its last update as a feed shows it: its date and
    time (the start of its day, month or year when that is all it has), read in `utc_offset`,
    or, without a date, when it was indexed."""
    offset = int(utc_offset.total_seconds() // 60)
    day_minutes = (table.ordinals - _EPOCH.date().toordinal()) * 1440 - offset
    clock = _minutes(times[1], lambda v: int(v[:2]) * 60 + int(v[3:5]))
    written = _minutes(indexed[1], lambda v: int((dt.datetime.fromisoformat(v) - _EPOCH).total_seconds() // 60))
    dated = table.precision[dates[0]] > 0
    return np.where(dated, day_minutes[dates[0]] + clock[times[0]], written[indexed[0]])
