import dataclasses
import datetime as dt
import unicodedata

import pytest
from whoosh.query import Term

from search.corpus.dates import bound as date_bound
from search.query.parse import TIER_MAX_CLAUSES, KeptCounts, QueryError
from search.searching.results import SearchRequest
from tests.conftest import ids

ALL_SEEDS = {
    "000_c966bd256c6a0fd6",
    "001_00436422ff627eb7",
    "002_627964d7656b8044",
    "003_50a1d9bb06e22414",
    "004_7bdadf58e2716509",
}


def search(index, q, **kw):
    return index.search(SearchRequest(q=q, **kw))


@pytest.mark.parametrize("q", ["bảo hiểm xã hội", "bao hiem xa hoi", "BHXH", "bhxh"])
def test_acronym_and_full_form_find_every_seed(seed_index, q):
    assert set(ids(search(seed_index, q))) == ALL_SEEDS


def test_acronym_finds_article_that_only_writes_the_full_form(seed_index):
    assert "004_7bdadf58e2716509" in ids(search(seed_index, "BHXH"))


@pytest.mark.parametrize(
    "q, expected",
    [
        ("96/NQ-BCS", "003_50a1d9bb06e22414"),
        ("NQ-BCS", "003_50a1d9bb06e22414"),
        ("05/2019/NQ-HĐTP", "003_50a1d9bb06e22414"),
        ("05/2019/nq-hdtp", "003_50a1d9bb06e22414"),
        ("81-KH/TU", "002_627964d7656b8044"),
        ("139.986", "004_7bdadf58e2716509"),
        ("19,55%", "004_7bdadf58e2716509"),
    ],
)
def test_document_numbers_and_numbers_as_written(seed_index, q, expected):
    assert ids(search(seed_index, q)) == [expected]


def test_number_part_finds_document_number(seed_index):
    assert "003_50a1d9bb06e22414" in ids(search(seed_index, "96"))


def test_headline_only_in_related_links_does_not_match(seed_index):
    assert ids(search(seed_index, '"Hội thi Báo cáo viên giỏi tỉnh Nghệ An năm 2019"')) == []
    assert ids(search(seed_index, '"Giao ban báo chí định kỳ tháng 8/2020"')) == []


def test_place_name_without_diacritics_ranks_its_article_first(seed_index):
    assert ids(search(seed_index, "quang ngai"))[0] == "004_7bdadf58e2716509"


def test_nfd_query_matches_like_nfc(seed_index):
    nfd = unicodedata.normalize("NFD", "Quảng Ngãi")
    assert ids(search(seed_index, nfd)) == ids(search(seed_index, "Quảng Ngãi"))


def test_exclusion(seed_index):
    with_nghe = set(ids(search(seed_index, '"tuyên truyền"')))
    without = set(ids(search(seed_index, '"tuyên truyền" -Nghệ')))
    assert "002_627964d7656b8044" in with_nghe - without
    assert without


def test_hits_carry_metadata_and_marked_snippets(seed_index):
    result = search(seed_index, "quang ngai")
    hit = result.hits[0]
    assert hit.title == "Quảng Ngãi tăng cường phối hợp tuyên truyền chính sách bảo hiểm xã hội"
    assert hit.title_html.startswith("<mark>Quảng Ngãi</mark>")
    assert "<mark>" in hit.snippet_html
    assert hit.source == "Nhân Dân"
    assert result.facets["source"]["Nhân Dân"] == 1


def test_facets_count_sources_and_years(seed_index):
    result = search(seed_index, "BHXH")
    assert result.facets["year"] == {"2022": 2, "2018": 1}
    assert result.facets["source"] == {"Báo Dân sinh": 1, "Nhân Dân": 1, "VTC News": 1}


def test_filters_by_source_and_date(seed_index):
    assert ids(search(seed_index, "BHXH", source="VTC News")) == ["003_50a1d9bb06e22414"]
    in_2022 = search(seed_index, "BHXH", date_from=date_bound("2022"), date_to=date_bound("2022", end=True))
    assert set(ids(in_2022)) == {"002_627964d7656b8044", "003_50a1d9bb06e22414"}
    assert in_2022.total == 2
    assert ids(search(seed_index, "BHXH", date_to=date_bound("2018-01-31", end=True))) == ["001_00436422ff627eb7"]


def test_sort_by_date_puts_newest_first_and_undated_last(seed_index):
    result = search(seed_index, "BHXH", sort="date")
    assert ids(result)[:3] == ["003_50a1d9bb06e22414", "002_627964d7656b8044", "001_00436422ff627eb7"]
    assert all(hit.score is None for hit in result.hits)


def test_article_view_highlights_query(seed_index):
    view = seed_index.article("004_7bdadf58e2716509", "bao hiem")
    assert view.fields["source"] == "Nhân Dân"
    assert "<mark>" in view.body_html
    assert view.first_match is not None
    assert seed_index.article("nope") is None


def test_stats(seed_index):
    stats = seed_index.stats()
    assert stats["articles"] == 5 and stats["generation"] >= 0 and stats["last_indexed"]


def test_bad_query_raises(seed_index):
    with pytest.raises(QueryError):
        search(seed_index, "-bhxh")


# Small made-up indexes for ranking rules.


def test_exact_diacritics_rank_above_fold_only_matches(make_index):
    index = make_index(
        {"id": "nam", "title": "Miền nam", "body": "Thời tiết miền nam hôm nay."},
        {"id": "năm", "title": "Miền năm", "body": "Thời tiết miền năm hôm nay."},
    )
    assert ids(search(index, "năm")) == ["năm", "nam"]
    assert set(ids(search(index, "nam"))) == {"nam", "năm"}
    scores = [h.score for h in search(index, "nam").hits]
    assert len(scores) == 2 and scores[0] == scores[1]


def test_both_tone_placements_match_each_other(make_index):
    index = make_index(
        {"id": "old", "title": "Hòa bình", "body": "Thủy lợi và sức khỏe."},
        {"id": "new", "title": "Hoà bình", "body": "Thuỷ lợi và sức khoẻ."},
    )
    for q in ("hòa bình", "hoà bình", "thủy", "thuỷ", "khỏe", "khoẻ", "hoa binh"):
        assert set(ids(search(index, q))) == {"old", "new"}, q


def test_d_with_stroke_folds_to_d(make_index):
    index = make_index({"id": "a", "title": "Đảng bộ", "body": "Ðại hội Đảng bộ tỉnh."})
    assert ids(search(index, "dang bo")) == ["a"]
    assert ids(search(index, "đại hội")) == ["a"]  # stored with U+00D0


def test_all_words_matches_rank_before_partial_matches(make_index):
    index = make_index(
        {"id": "partial", "title": "Bảo hiểm", "body": "Bảo hiểm bảo hiểm bảo hiểm bảo hiểm."},
        {"id": "all", "title": "Tin", "body": "Chính sách bảo hiểm thất nghiệp ở Huế."},
    )
    result = search(index, "bảo hiểm Huế")
    assert ids(result) == ["all", "partial"] and result.total == 2


def test_pagination_runs_across_both_tiers(make_index):
    docs = [{"id": f"all{i}", "title": f"Bài {i}", "body": "alpha beta"} for i in range(3)]
    docs += [{"id": f"some{i}", "title": f"Bài {i}", "body": "alpha"} for i in range(4)]
    index = make_index(*docs)
    pages = [ids(search(index, "alpha beta", page=p, per_page=2)) for p in (1, 2, 3, 4, 5)]
    flat = [i for page in pages for i in page]
    assert sorted(flat) == sorted(d["id"] for d in docs) and len(flat) == 7
    assert set(flat[:3]) == {"all0", "all1", "all2"}
    assert pages[4] == []
    assert search(index, "alpha beta", page=2, per_page=2).total == 7


def test_phrase_words_adjacent_score_higher(make_index):
    index = make_index(
        {"id": "scattered", "title": "Tin", "body": "Xã hội phát triển, ngành bảo hiểm mở rộng."},
        {"id": "unit", "title": "Tin", "body": "Ngành bảo hiểm xã hội phát triển mở rộng."},
    )
    assert ids(search(index, "hiểm xã"))[0] == "unit"


def test_date_bound_parses_partial_dates():
    assert date_bound("2022") == dt.date(2022, 1, 1)
    assert date_bound("2022", end=True) == dt.date(2022, 12, 31)
    assert date_bound("2022-02", end=True) == dt.date(2022, 2, 28)
    assert date_bound("2022-12", end=True) == dt.date(2022, 12, 31)
    for bad in ("2022-13", "22-01-01", "2022-02-30", "yesterday"):
        with pytest.raises(ValueError):
            date_bound(bad)


def test_top_hits_are_the_best_of_all_hits(make_index):
    # Whoosh replaces matchers mid-search to skip what cannot reach the top; with AndMaybe
    # that dropped the best hits of long queries. The ranked query must not depend on it.
    words = "người lao động được hưởng chế độ bảo hiểm thất nghiệp khi nghỉ việc".split()
    articles = [
        {"id": f"n{i}", "title": f"tin {i}", "body": " ".join(words[i % 5 : i % 5 + 3] * (i + 1))} for i in range(40)
    ]
    articles.append({"id": "best", "title": "Bảo hiểm thất nghiệp", "body": " ".join(words)})
    index = make_index(*articles)
    query = "người lao động được hưởng bảo hiểm thất nghiệp khi nào"
    parsed = index.queries.parse(query, index.searcher().reader())
    searcher = index.searcher()
    for tier in (parsed.any_word(), parsed.all_words()):
        everything = [hit["id"] for hit in searcher.search(tier, limit=None)]
        assert [hit["id"] for hit in searcher.search(tier, limit=3)] == everything[:3]
    assert ids(search(index, query))[0] == "best"


def test_common_words_count_through_their_pairs(make_index):
    index = make_index(
        *({"id": f"a{i}", "title": "tin", "body": f"có việc số {i}"} for i in range(5)),
        {"id": "b", "title": "sức khỏe", "body": "khi có thai cần khám"},
    )
    parsed = index.queries.parse("có thai", index.searcher().reader())
    assert parsed.words == {0: "co", 1: "thai"} and parsed.common == {0}
    leaves = set(parsed.any_word().leaves())
    assert Term("folded", "co") not in leaves and Term("pairs", "co_thai") in leaves
    assert ids(search(index, "có thai")) == ["b"]
    # A query of common words only keeps them all.
    assert len(search(index, "có").hits) == 6


def test_word_counts_are_asked_once_per_generation(make_index):
    index = make_index(
        *({"id": f"a{i}", "title": "tin", "body": f"có việc số {i}"} for i in range(5)),
        {"id": "b", "title": "sức khỏe", "body": "khi có thai cần khám"},
    )
    asked = []
    reader = index.searcher().reader()

    class Counting:
        def doc_count(self) -> int:
            return reader.doc_count()

        def doc_frequency(self, fieldname: str, text: str) -> int:
            asked.append(text)
            return reader.doc_frequency(fieldname, text)

    counts = KeptCounts(Counting(), size=2)
    for q in ("có thai", "thai có", "có"):
        assert index.queries.parse(q, counts).common == index.queries.parse(q, reader).common
    assert asked == ["co", "thai"]
    assert counts.doc_frequency("folded", "viec") == 5 and counts.doc_frequency("folded", "thai") == 1
    assert asked == ["co", "thai", "viec", "thai"]  # two kept: "thai" was the least recently asked
    evaluator, kept = index._evaluation(index.searcher())
    assert index._evaluation(index.searcher())[1] is kept
    assert kept.doc_frequency("folded", "co") == 6 == evaluator.doc_frequency("folded", "co")


def test_long_questions_are_ranked_as_a_whole(make_index):
    index = make_index(
        {"id": "most", "title": "Tiêm vắc xin", "body": "trẻ em tiêm vắc xin sởi miễn phí"},
        {"id": "some", "title": "Tin", "body": "trẻ em đi học tiêm"},
    )
    question = "trẻ em được tiêm vắc xin sởi ở đâu"
    parsed = index.queries.parse(question, index.searcher().reader())
    assert len(parsed.clauses) > TIER_MAX_CLAUSES and not parsed.tiered
    assert parsed.all_words() == parsed.any_word()
    assert ids(search(index, question)) == ["most", "some"]
    assert index.queries.parse("vắc xin sởi").tiered


def test_json_is_what_asdict_gives(seed_index):
    """`to_json` builds the dicts itself (asdict deep-copies every value): same JSON, but a
    timeline is there only when asked for, and then as the API shows it; `missing_shards` only
    when shards of a sharded index did not answer."""
    for request in (SearchRequest(q="bao hiem"), SearchRequest(q="BHXH", sort="date"), SearchRequest(q="khôngcó")):
        result = seed_index.search(request)
        expected = dataclasses.asdict(result)
        assert expected.pop("timeline") is None and expected.pop("missing_shards") is None
        for hit in expected["hits"]:
            assert hit.pop("explain") is None  # only with `explain`
        assert result.to_json() == expected
    result = seed_index.search(SearchRequest(q="BHXH", histogram="year"))
    expected = dataclasses.asdict(result)
    assert expected.pop("missing_shards") is None
    for hit in expected["hits"]:
        del hit["explain"]
    expected["timeline"] = {
        "interval": "year",
        "buckets": [{"start": start, "count": n} for start, n in expected["timeline"]["buckets"]],
        "undated": expected["timeline"]["undated"],
        "approximate": expected["timeline"]["approximate"],
    }
    assert result.to_json() == expected


def test_phrase_with_diacritics_ranks_the_exact_phrase_first_and_excludes_only_it(make_index):
    """The exact field keeps no positions: a phrase typed with marks is the folded phrase in
    articles with each exact word, so "exact" and "folded but not exact" must stay apart."""
    index = make_index(
        {"id": "exact", "title": "Tin một", "body": "Chính sách bảo hiểm cho người lao động."},
        {"id": "folded", "title": "Tin hai", "body": "Chinh sach bao hiem cho nguoi lao dong."},
        {"id": "apart", "title": "Tin ba", "body": "Bảo vệ rừng là nguy hiểm."},
    )
    assert ids(index.search(SearchRequest(q='"bảo hiểm"')))[:2] == ["exact", "folded"]
    assert set(ids(index.search(SearchRequest(q='"bảo hiểm"')))) == {"exact", "folded"}
    assert set(ids(index.search(SearchRequest(q='tin -"bảo hiểm"')))) == {"folded", "apart"}
    assert set(ids(index.search(SearchRequest(q='tin -"bao hiem"')))) == {"apart"}


def test_updated_is_the_date_and_time_in_the_zone_or_when_it_was_indexed():
    from search.searching.searcher import VIETNAM, updated_at

    cases = [
        ({"date": "2022-05-17", "time": "08:30"}, "2022-05-17T08:30:00+07:00"),
        ({"date": "2022-05-17", "time": None}, "2022-05-17T00:00:00+07:00"),
        ({"date": "2022-05"}, "2022-05-01T00:00:00+07:00"),
        ({"date": "2022", "indexed": "2026-12-02T20:13:54+00:00"}, "2022-01-01T00:00:00+07:00"),
        ({"indexed": "2026-12-02T20:13:54+00:00"}, "2026-12-03T03:13:54+07:00"),
        ({"date": "", "indexed": ""}, None),
        ({}, None),
    ]
    for _ in range(2):  # the second time from what the first one kept
        assert [updated_at(fields, VIETNAM) for fields, _ in cases] == [expected for _, expected in cases]
    assert updated_at({"indexed": "2026-12-02T20:13:54+00:00"}, dt.timedelta(0)) == "2026-12-02T20:13:54+00:00"
    with pytest.raises(ValueError):
        updated_at({"date": "2022-13"}, VIETNAM)
