"""How coverage of a query spreads over time: matching articles counted per day, week, month or
year, over every match (not just the page), from the same evaluation as the hits and facets.

Articles carry dates of three precisions ("2022-05-17", "2022-05", "2022"). Each counts in the
bucket of the first day of its period, as a date filter treats it; those coarser than the
interval asked for are counted as well in `approximate`, so a chart can say that a spike on the
first of a month may hold articles dated only by their month. Undated articles are counted
apart. Every bucket between the first and the last is present, empty ones with 0, so a chart
shows the gaps.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np

from search.corpus import dates

INTERVALS = ("day", "week", "month", "year")
#: `auto` picks the finest interval that shows the range in about this many bars or fewer.
_AUTO_LIMITS = (("day", 62), ("week", 366), ("month", 366 * 8))
#: More buckets than this is no chart: the request is refused and asked for a coarser interval.
MAX_BUCKETS = 1000
#: Precision of a date value: how much of it is known.
_DAY, _MONTH, _YEAR, _NONE = 3, 2, 1, 0
_NEEDS = {"day": _DAY, "week": _DAY, "month": _MONTH, "year": _YEAR}
_EPOCH = dt.date(1970, 1, 1).toordinal()


class TooManyBuckets(ValueError):
    """The range holds more buckets of the interval asked for than a chart can show."""


@dataclass(frozen=True)
class Timeline:
    interval: str
    #: (first day of the bucket as YYYY-MM-DD, matching articles in it), oldest first.
    buckets: list[tuple[str, int]]
    undated: int
    #: Of the dated matches, those whose date is coarser than the interval.
    approximate: int

    def to_json(self) -> dict[str, object]:
        return {
            "interval": self.interval,
            "buckets": [{"start": start, "count": count} for start, count in self.buckets],
            "undated": self.undated,
            "approximate": self.approximate,
        }


@dataclass(frozen=True)
class DateTable:
    """Per distinct date value (as `Evaluator.column("date")` codes them): its first day as an
    ordinal, and how precise it is. Made once per index generation."""

    ordinals: np.ndarray
    precision: np.ndarray

    @classmethod
    def of(cls, values: list[str]) -> DateTable:
        ordinals = np.zeros(len(values), dtype=np.int64)
        precision = np.zeros(len(values), dtype=np.int8)
        for code, value in enumerate(values):
            if value:
                ordinals[code] = dates.first_day(value).toordinal()
                precision[code] = value.count("-") + 1
        return cls(ordinals, precision)


def pick(first: dt.date, last: dt.date) -> str:
    """The interval `auto` stands for, from the span of the range."""
    span = (last - first).days
    for interval, limit in _AUTO_LIMITS:
        if span < limit:
            return interval
    return "year"


def _key(ordinals: np.ndarray, interval: str) -> np.ndarray:
    """Each day's bucket number, counted from the first day, week (weeks start on Monday),
    month or year of the calendar."""
    if interval == "day":
        return ordinals
    if interval == "week":
        return (ordinals - 1) // 7  # ordinal 1 (0001-01-01) is a Monday
    # numpy counts days from 1970-01-01: shift the proleptic ordinals there first.
    dates = (ordinals - _EPOCH).astype("datetime64[D]")
    months = dates.astype("datetime64[M]").astype(np.int64) + 1970 * 12
    return months if interval == "month" else months // 12


@functools.lru_cache(maxsize=1 << 14)
def _start(key: int, interval: str) -> str:
    if interval == "day":
        return dt.date.fromordinal(int(key)).isoformat()
    if interval == "week":
        return dt.date.fromordinal(int(key) * 7 + 1).isoformat()
    if interval == "month":
        return dt.date(int(key) // 12, int(key) % 12 + 1, 1).isoformat()
    return dt.date(int(key), 1, 1).isoformat()


def timeline(
    codes: np.ndarray,
    table: DateTable,
    matching: np.ndarray,
    interval: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Timeline:
    """The timeline of the `matching` documents, whose date codes are `codes`. `interval` is one
    of `INTERVALS` or "auto"; the range is the request's dates where given, else the matches'
    own first and last. Raises `TooManyBuckets`."""
    # Counted per distinct date first: the rest works on a few thousand values, not per article.
    per_value = np.bincount(codes[matching], minlength=len(table.ordinals))
    dated = (per_value > 0) & (table.precision > _NONE)
    undated = int(per_value[table.precision == _NONE].sum())
    ordinals, counts, precision = table.ordinals[dated], per_value[dated], table.precision[dated]
    if not len(ordinals) and not (date_from and date_to):
        return Timeline(interval if interval != "auto" else "day", [], undated, 0)
    first = date_from or dt.date.fromordinal(int(ordinals.min()))
    last = date_to or dt.date.fromordinal(int(ordinals.max()))
    if interval == "auto":
        interval = pick(first, last)
    approximate = int(counts[precision < _NEEDS[interval]].sum())
    low, high = (int(k) for k in _key(np.array([first.toordinal(), last.toordinal()]), interval))
    if high - low + 1 > MAX_BUCKETS:
        raise TooManyBuckets(
            f"{high - low + 1} {interval}s between {first} and {last}; at most {MAX_BUCKETS} can be shown: "
            "choose a coarser interval or a shorter range"
        )
    keys = _key(ordinals, interval)
    inside = (keys >= low) & (keys <= high)
    buckets = np.bincount(keys[inside] - low, weights=counts[inside], minlength=high - low + 1).astype(np.int64)
    return Timeline(
        interval, [(_start(low + i, interval), int(n)) for i, n in enumerate(buckets)], undated, approximate
    )
