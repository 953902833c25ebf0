"""The evaluator must give exactly Whoosh's matches and scores, only faster."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from search.corpus.article import Article
from search.index.engine.segments import SegmentArrays
from search.index.indexer import build
from search.index.schema import to_document
from search.index.store import open_index
from search.query.acronyms import load_synonyms
from search.query.parse import QueryBuilder
from search.searching.budget import Budget
from search.searching.evaluate import Evaluator, OutOfTime, top
from search.searching.ranking import (
    evaluated_page as _evaluated_page,
)
from search.searching.ranking import (
    filter_query as _filter,
)
from search.searching.ranking import (
    whoosh_page as _whoosh_page,
)
from search.searching.results import SearchRequest
from search.searching.searcher import VIETNAM, SearchIndex

VOCABULARY = (
    "bảo hiểm xã hội y tế lao động Hà Nội thuế giáo dục năm nam hòa hoà người dân "
    "BHXH UBND ủy ban nhân dân tỉnh thành phố 96/NQ-BCS 2019 trường học bệnh viện"
).split()
QUERIES = [
    "bảo hiểm xã hội",
    "bao hiem",
    "BHXH",
    '"y tế"',
    "thuế -nam",
    "năm OR hòa",
    "lao dong ha noi",
    "người",
    "xyz",
    "ủy ban nhân dân tỉnh",
    "96/NQ-BCS",
    '"bệnh viện" trường -"giáo dục"',
    "hoà",
]


def _articles(rng: random.Random, count: int, version: int) -> list[Article]:
    out = []
    for n in range(count):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(3, 60))]
        out.append(
            Article(
                id=f"a{n}",
                title=" ".join(words[:5]),
                body=" ".join(words[5:]) + f" v{version}",
                source=rng.choice(["nld.com.vn", "tuoitre.vn", None]),
                date=rng.choice([None, "2019-05-01", "2020-01", "2021"]),
            )
        )
    return out


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    """Several segments and deleted documents: built by two processes, then a third of the
    articles replaced in a commit that merges nothing."""
    rng = random.Random(6)
    index_dir = tmp_path_factory.mktemp("evaluate")
    build(index_dir, _articles(rng, 300, 1), procs=2)
    writer = open_index(index_dir).writer()
    for article in _articles(rng, 100, 2):
        writer.update_document(**to_document(article, "2026-01-01T00:00:00+00:00"))
    writer.commit(merge=False)
    return SearchIndex(index_dir, load_synonyms())


@pytest.mark.parametrize("q", QUERIES)
def test_matches_and_scores_are_whooshs(index, q):
    searcher = index.searcher()
    assert searcher.reader().has_deletions() and len(list(searcher.reader().leaf_readers())) > 1
    evaluator = Evaluator(searcher)
    parsed = QueryBuilder(load_synonyms()).parse(q, searcher.reader())
    for query in (parsed.any_word(), parsed.all_words()):
        expected = dict(searcher.search(query, limit=None).items())
        match = evaluator.evaluate(query)
        got = {int(d): float(match.scores[d]) for d in np.flatnonzero(match.mask)}
        assert got.keys() == expected.keys()
        for docnum, score in expected.items():
            assert got[docnum] == pytest.approx(score, rel=1e-12)


@pytest.mark.parametrize("q", QUERIES[:-1])
@pytest.mark.parametrize(
    "page,sort,source",
    [
        (1, "relevance", None),
        (3, "relevance", None),
        (1, "date", None),
        (2, "updated", None),
        (2, "relevance", "nld.com.vn"),
    ],
)
def test_pages_totals_and_facets_are_whooshs(index, q, page, sort, source):
    searcher = index.searcher()
    request = SearchRequest(q=q, page=page, per_page=7, sort=sort, source=source, histogram="month")
    parsed = QueryBuilder(load_synonyms()).parse(q, searcher.reader())
    ours = _evaluated_page(Evaluator(searcher), parsed, request, _filter(request), VIETNAM)
    theirs = _whoosh_page(searcher, parsed, request, _filter(request), Budget(None), VIETNAM)
    assert ours.total == theirs.total
    assert {k: sorted(v) for k, v in ours.facets.items()} == {k: sorted(v) for k, v in theirs.facets.items()}
    assert ours.timeline == theirs.timeline and ours.timeline is not None
    if sort == "relevance":  # ties may be broken differently: compare the scores, in order
        assert [s for _, s in ours.page] == pytest.approx([s for _, s in theirs.page], rel=1e-12)
    else:
        pages = (ours.page, theirs.page)
        dates = [
            [
                (searcher.stored_fields(d).get("date") or "", searcher.stored_fields(d).get("time") or "")
                for d, _ in page
            ]
            for page in pages
        ]
        assert dates[0] == dates[1]


def test_pages_are_the_same_whatever_the_memory_for_scored_postings(index):
    """A list the cache let go is read and scored again to the same numbers: with no memory
    (one list kept at a time) every page is the one a cache holding everything gives."""
    searcher = index.searcher()
    builder = QueryBuilder(load_synonyms())
    kept_all, kept_one = Evaluator(searcher), Evaluator(searcher, cache_bytes=0)
    for _ in range(2):  # the second round from what each kept
        for q in QUERIES:
            for sort in ("relevance", "date"):
                request = SearchRequest(q=q, per_page=7, sort=sort, histogram="month")
                parsed = builder.parse(q, searcher.reader())
                pages = [
                    _evaluated_page(evaluator, parsed, request, _filter(request), VIETNAM)
                    for evaluator in (kept_all, kept_one)
                ]
                assert (pages[0].total, pages[0].page, pages[0].facets) == (
                    pages[1].total,
                    pages[1].page,
                    pages[1].facets,
                )
    assert len(kept_one.cache._items) == 1 < len(kept_all.cache._items)


def test_a_date_filter_goes_through_whoosh_and_matches(index):
    request = SearchRequest(q="bảo hiểm", date_from=dt.date(2020, 1, 1))
    result = index.search(request)
    assert result.total > 0 and all(hit.date >= "2020" for hit in result.hits)


def test_top_breaks_ties_by_document_number():
    keys = np.array([1.0, 3.0, 3.0, 2.0, 3.0, 0.5])
    mask = np.array([True, True, True, True, True, False])
    assert top(mask, keys, 2).tolist() == [1, 2]
    assert top(mask, keys, 4).tolist() == [1, 2, 4, 3]
    assert top(mask, keys, 10).tolist() == [1, 2, 4, 3, 0]
    assert top(~mask & False, keys, 3).tolist() == []


def test_the_evaluator_serves_the_searches(index):
    index.search(SearchRequest(q="bảo hiểm xã hội"))
    assert index._eval is not None and index._eval.cache.size > 0


def test_the_deadline_is_checked_between_query_nodes(index):
    searcher = index.searcher()
    parsed = QueryBuilder(load_synonyms()).parse("bảo hiểm xã hội y tế", searcher.reader())
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 3:
            raise OutOfTime

    with pytest.raises(OutOfTime):
        _evaluated_page(Evaluator(searcher), parsed, SearchRequest(q="x"), None, VIETNAM, check)


def test_a_new_generation_reads_only_its_new_segments_and_matches_whoosh(tmp_path):
    """Terms and phrases kept per segment from one generation, the new segment's parts read
    for the next: the same matches and scores as Whoosh's on the new generation."""
    rng = random.Random(8)
    index_dir = tmp_path / "index"
    build(index_dir, _articles(rng, 200, 1), procs=2)
    arrays = SegmentArrays()
    queries = ['"ủy ban nhân dân"', '"bảo hiểm xã hội" thuế', '"hòa người" OR "y tế"', "lao động"]
    builder = QueryBuilder(load_synonyms())

    def check(searcher):
        evaluator = Evaluator(searcher, arrays=arrays)
        for q in queries:
            query = builder.parse(q, searcher.reader()).all_words()
            expected = dict(searcher.search(query, limit=None).items())
            match = evaluator.evaluate(query)
            got = {int(d): float(match.scores[d]) for d in np.flatnonzero(match.mask)}
            assert got.keys() == expected.keys() and expected
            assert all(got[d] == pytest.approx(s, rel=1e-12) for d, s in expected.items())

    ix = open_index(index_dir)
    with ix.searcher() as searcher:
        check(searcher)
    kept = dict(arrays.postings._items)
    assert any(key[1] == "phrase" for key in kept)
    writer = ix.writer()
    for article in _articles(rng, 60, 2):
        writer.update_document(**to_document(article, "2026-01-01T00:00:00+00:00"))
    writer.commit(merge=False)
    with open_index(index_dir).searcher() as searcher:
        assert len(list(searcher.reader().leaf_readers())) > 2 and searcher.reader().has_deletions()
        check(searcher)
        assert all(arrays.postings._items[k] is v for k, v in kept.items())  # old segments not read again
