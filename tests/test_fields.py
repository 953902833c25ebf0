"""VietnameseText must index exactly what the analyzer produces, only faster."""

from __future__ import annotations

import pickle

import pytest
from whoosh.fields import TEXT

from search.analysis import exact_analyzer, folded_analyzer
from search.fields import VietnameseText

AWKWARD = [
    "Bảo hiểm xã hội (BHXH) tỉnh Hoà Bình, hòa bình; Thuý thúy THUỶ",
    "Ðảng ủy ðồng chí 96/NQ-BCS 252.199 88,7% LĐTB&XH",
    "Ba\u0309o hie\u0302\u0309m NFD text, and İstanbul, ǅemal, ß, ﬁ ligature",
    "zero\u200bwidth soft\u00adhyphen no\u00a0break \ufeffbom stray \u0301 mark a\u0301\u0301",
    "ồ ơ ư ươ ừ ỷ ỹ 2018 ABC abc abc abc",
    "",
]


@pytest.mark.parametrize("make", [exact_analyzer, folded_analyzer])
@pytest.mark.parametrize("text", AWKWARD)
def test_index_matches_the_analyzer(make, text):
    fast = VietnameseText(analyzer=make(), phrase=True)
    stock = TEXT(analyzer=make(), phrase=True)

    def postings(field):
        return sorted((term, freq, weight, field.format.decode_positions(value))
                      for term, freq, weight, value in field.index(text))

    assert postings(fast) == postings(stock)
    assert postings(fast) == postings(stock)  # and again from the cache


def test_term_cache_is_not_pickled_into_the_schema():
    field = VietnameseText(analyzer=folded_analyzer(), phrase=True)
    list(field.index("bảo hiểm"))
    copy = pickle.loads(pickle.dumps(field))
    assert "_terms" not in copy.__dict__
    assert sorted(copy.index("bảo hiểm")) == sorted(field.index("bảo hiểm"))


@pytest.mark.parametrize("positions", [[0], [3, 7, 300], [5, 70000, 70001], list(range(0, 5000, 3))])
def test_compact_positions_round_trip(positions):
    fmt = VietnameseText(analyzer=folded_analyzer(), phrase=True).format
    value = fmt.encode(positions)
    assert fmt.decode_positions(value) == positions
    assert fmt.decode_frequency(value) == len(positions)
    assert fmt.decode_position_boosts(value) == [(p, 1) for p in positions]
