"""Timelines: buckets of every length, partial dates, weeks from Monday, the range, the limit."""

import datetime as dt

import numpy as np
import pytest

from search.searching.timeline import MAX_BUCKETS, DateTable, TooManyBuckets, pick, timeline

VALUES = ["", "2013", "2013-10", "2013-10-22", "2013-10-23", "2013-11-01", "2013-11-07"]
TABLE = DateTable.of(VALUES)


def _codes(*values: str) -> np.ndarray:
    return np.array([VALUES.index(v) for v in values])


def test_days_with_the_gaps_between_them_present_as_zero():
    codes = _codes("2013-10-22", "2013-10-23", "2013-10-23", "2013-11-01", "")
    found = timeline(codes, TABLE, np.ones(len(codes), bool), "day")
    assert found.interval == "day" and found.undated == 1 and found.approximate == 0
    assert found.buckets[0] == ("2013-10-22", 1) and found.buckets[1] == ("2013-10-23", 2)
    assert found.buckets[-1] == ("2013-11-01", 1) and len(found.buckets) == 11
    assert sum(n for _, n in found.buckets) == 4 and [n for _, n in found.buckets[2:10]] == [0] * 8


def test_weeks_start_on_monday_and_months_and_years_on_their_first_day():
    codes = _codes("2013-10-22", "2013-11-07")  # a Tuesday, a Thursday
    weeks = timeline(codes, TABLE, np.ones(2, bool), "week").buckets
    assert weeks[0] == ("2013-10-21", 1) and weeks[-1] == ("2013-11-04", 1) and len(weeks) == 3
    assert all(dt.date.fromisoformat(start).weekday() == 0 for start, _ in weeks)
    assert timeline(codes, TABLE, np.ones(2, bool), "month").buckets == [("2013-10-01", 1), ("2013-11-01", 1)]
    assert timeline(codes, TABLE, np.ones(2, bool), "year").buckets == [("2013-01-01", 2)]


def test_a_partial_date_counts_at_the_start_of_its_period_and_as_approximate():
    codes = _codes("2013", "2013-10", "2013-10-23")
    days = timeline(codes, TABLE, np.ones(3, bool), "day")
    assert days.buckets[0] == ("2013-01-01", 1) and days.approximate == 2
    months = timeline(codes, TABLE, np.ones(3, bool), "month")
    assert months.approximate == 1 and dict(months.buckets)["2013-10-01"] == 2
    assert timeline(codes, TABLE, np.ones(3, bool), "year").approximate == 0


def test_only_the_matching_documents_count():
    codes = _codes("2013-10-22", "2013-10-23", "", "2013-11-01")
    found = timeline(codes, TABLE, np.array([False, True, True, False]), "day")
    assert found.buckets == [("2013-10-23", 1)] and found.undated == 1


def test_the_requests_range_bounds_the_buckets():
    codes = _codes("2013-10-22", "2013-11-07")
    found = timeline(codes, TABLE, np.ones(2, bool), "month", dt.date(2013, 9, 1), dt.date(2013, 12, 31))
    assert [start for start, _ in found.buckets] == ["2013-09-01", "2013-10-01", "2013-11-01", "2013-12-01"]
    inside = timeline(codes, TABLE, np.ones(2, bool), "day", dt.date(2013, 11, 1), dt.date(2013, 11, 10))
    assert sum(n for _, n in inside.buckets) == 1 and len(inside.buckets) == 10


@pytest.mark.parametrize(
    ("days", "interval"),
    [(0, "day"), (61, "day"), (62, "week"), (365, "week"), (366, "month"), (2921, "month"), (2930, "year")],
)
def test_auto_picks_the_interval_from_the_span(days, interval):
    first = dt.date(2013, 1, 1)
    assert pick(first, first + dt.timedelta(days=days)) == interval


def test_auto_uses_the_span_of_the_matches():
    codes = _codes("2013-10-22", "2013-11-07")
    assert timeline(codes, TABLE, np.ones(2, bool), "auto").interval == "day"
    assert timeline(_codes("2013", "2013-11-07"), TABLE, np.ones(2, bool), "auto").interval == "week"


def test_too_many_buckets_is_refused_with_a_reason():
    with pytest.raises(TooManyBuckets, match=f"at most {MAX_BUCKETS}"):
        timeline(_codes("2013-10-22"), TABLE, np.ones(1, bool), "day", dt.date(1990, 1, 1), dt.date(2020, 1, 1))


def test_nothing_matched_gives_no_buckets():
    found = timeline(_codes("", ""), TABLE, np.ones(2, bool), "auto")
    assert found.buckets == [] and found.undated == 2
