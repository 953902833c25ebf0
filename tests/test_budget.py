"""The per-search time budget: same results as Whoosh within it, what was found past it."""

import itertools
from pathlib import Path

import pytest
from falcon import testing
from whoosh import sorting
from whoosh.query import Term

from search.corpus.article import Article
from search.corpus.dates import bound as date_bound
from search.index.indexer import build
from search.query.acronyms import load_synonyms
from search.searching.budget import Budget
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex
from search.settings import Settings
from search.web.app import create_app

SOURCES = ["VTC News", "Nhân Dân", "VOV"]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("budget-index")
    articles = [
        Article(
            id=f"a{n:03d}",
            title=f"Bảo hiểm xã hội số {n}",
            body=" ".join(["bảo hiểm"] * (n % 7 + 1) + ["y tế"] * (n % 3) + [f"mục {n}"]),
            date=f"20{10 + n % 12}-0{n % 9 + 1}-1{n % 9}",
            source=SOURCES[n % 3],
        )
        for n in range(300)
    ]
    build(path, articles)
    return path


def ticking(step: float):
    """A clock that moves `step` seconds each time it is read."""
    counter = itertools.count()
    return lambda: next(counter) * step


REQUESTS = [
    SearchRequest(q="bảo hiểm"),
    SearchRequest(q="bao hiem y te", page=3, per_page=7),
    SearchRequest(q="y tế", sort="date", per_page=20),
    SearchRequest(q='bảo hiểm -"mục 5" -8', source="VOV"),
    SearchRequest(q="mục OR tế", date_from=date_bound("2012"), date_to=date_bound("2015", end=True)),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.q)
def test_a_budget_that_is_not_reached_changes_nothing(index_dir, request_):
    plain = SearchIndex(index_dir, load_synonyms()).search(request_).to_json()
    budgeted = SearchIndex(index_dir, load_synonyms(), time_budget=60.0).search(request_).to_json()
    for result in (plain, budgeted):
        result.pop("took_ms")
    assert budgeted == plain and not budgeted["partial"] and budgeted["hits"]


def test_an_exhausted_budget_answers_at_once_marked_partial(index_dir):
    result = SearchIndex(index_dir, load_synonyms(), time_budget=0.0).search(SearchRequest(q="bảo hiểm"))
    assert result.partial and result.hits == [] and result.total == 0


def test_a_search_cut_short_keeps_what_it_collected(index_dir):
    index = SearchIndex(index_dir, load_synonyms())
    searcher = index.searcher()
    budget = Budget(1.0, clock=ticking(0.01))  # the deadline passes on the 100th clock read
    results = budget.search(searcher, Term("folded", "bao"), limit=None)
    assert budget.partial and 50 < len(results) < 300


def test_cut_short_facets_and_filters_still_apply(index_dir):
    searcher = SearchIndex(index_dir, load_synonyms()).searcher()
    facets = sorting.Facets()
    facets.add_facet("source", sorting.FieldFacet("source", maptype=sorting.Count))
    budget = Budget(1.0, clock=ticking(0.01))
    results = budget.search(searcher, Term("folded", "bao"), limit=1, groupedby=facets, filter=Term("source", "VOV"))
    assert budget.partial and 0 < len(results) < 100
    assert set(results.groups("source")) == {"VOV"}
    assert sum(results.groups("source").values()) == len(results)


def test_no_budget_is_whooshs_own_search(index_dir):
    searcher = SearchIndex(index_dir, load_synonyms()).searcher()
    budget = Budget(None)
    results = budget.search(searcher, Term("folded", "te"), limit=None)
    assert not budget.partial and len(results) == 200


def test_the_api_answers_a_search_past_its_budget_with_200_marked_partial(index_dir):
    client = testing.TestClient(create_app(Settings(index_dir=index_dir, search_budget_ms=0)))
    resp = client.simulate_get("/search", params={"q": "bảo hiểm"})
    assert resp.status_code == 200 and resp.json["partial"] is True
    roomy = testing.TestClient(create_app(Settings(index_dir=index_dir, search_budget_ms=60_000)))
    resp = roomy.simulate_get("/search", params={"q": "bảo hiểm"})
    assert resp.status_code == 200 and resp.json["partial"] is False and resp.json["total"] == 300
