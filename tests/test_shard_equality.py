"""A sharded index answers as one index of the same articles: every query of the benchmark's
list (and some that match this corpus), by relevance and by date, on two pages, with and without
an outlet and a timeline, collapsed by story or not, gives the same hits in the same order with
the same scores, totals, stories, facets, timeline, "did you mean" and explanations, on 4 shards
built by jobs and 3 shards built by routing, and on one index read as a set of one; and the same
stories, article views and related coverage.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from search.index import sharding
from search.index.shard_jobs import Corpus, LocalRunner
from search.index.shards import live_set, read_manifest, shard_of
from search.index.store import live_dir
from search.index.stories import saved
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.scored import POSTING_BYTES
from search.searching.searcher import SearchIndex
from search.searching.shard_set import LocalShards
from search.searching.sharded import ShardedIndex
from search.settings import Settings
from search.web.holder import IndexHolder
from tests.shard_corpus import queries, write_corpus


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("equality")
    corpus = Corpus((write_corpus(base / "corpus.jsonl"),))
    found = {"one": base / "one", "four": base / "four", "three": base / "three"}
    sharding.build(found["one"], corpus)
    sharding.build(found["four"], corpus, shards=4, runner=LocalRunner(2))
    sharding.build(found["three"], corpus.items(), shards=3)
    return found


def _answer(index: SearchIndex | ShardedIndex, request: SearchRequest) -> dict:
    """The JSON of a search, without what depends on when it ran or was indexed."""
    data = index.search(request).to_json()
    del data["took_ms"]
    for hit in data["hits"]:
        del hit["updated"]  # an undated article's is when it was indexed
    return data


def _stories(index_dir: Path) -> dict[str, list[str]]:
    """The stories of several articles in the live commit's graph, by story id."""
    live, manifest = live_set(index_dir)
    found: dict[str, list[str]] = {}
    for article_id, story in saved.load(live, manifest.commit, 0.14).stories().items():
        found.setdefault(story, [story]).append(article_id)
    return found


def test_the_layouts_are_what_they_claim(indexes: dict[str, Path]):
    assert not (live_dir(indexes["one"]) / "SHARDS").exists()
    assert read_manifest(live_dir(indexes["four"])).shards == 4
    assert read_manifest(live_dir(indexes["three"])).shards == 3


@pytest.mark.parametrize("name", ["four", "three", "one"])
def test_sharded_answers_are_those_of_one_index(indexes: dict[str, Path], name: str):
    synonyms = load_synonyms()
    one = SearchIndex(indexes["one"], synonyms)
    sharded = ShardedIndex(indexes[name], synonyms, LocalShards(indexes[name]))
    compared = matched = 0
    collapsed = 0
    for q, source, sort in queries():
        for page, histogram, collapse in ((1, "auto", False), (2, None, False), (1, None, True), (2, "auto", True)):
            request = SearchRequest(
                q=q, page=page, per_page=5, sort=sort, source=source, histogram=histogram, collapse=collapse
            )
            expected, found = _answer(one, request), _answer(sharded, request)
            assert found == expected, (q, page, sort, collapse)
            compared += 1
            matched += bool(expected["hits"])
            collapsed += collapse and expected["total_stories"] < expected["total"]
    assert compared > 1200 and matched > 300  # the corpus answers many of them
    assert collapsed > 100  # and many put several articles under one story


def test_stories_group_across_shards(indexes: dict[str, Path]):
    """Copies, re-posts and the KTLAB sample's same-event coverage are grouped in the set as in
    one index, also where a story's articles are held by different shards."""
    expected = _stories(indexes["one"])
    assert any(a.startswith("repost/") for members in expected.values() for a in members)
    assert any(not a.startswith(("copy/", "repost/")) and "/p" not in a for a in expected)  # same-event
    spread = [members for members in expected.values() if len({shard_of(a, 4) for a in members}) > 1]
    assert len(spread) > 10
    for name in ("four", "three"):
        assert _stories(indexes[name]) == expected


@pytest.mark.parametrize("name", ["four", "three"])
def test_stories_articles_and_related_coverage_are_those_of_one_index(indexes: dict[str, Path], name: str):
    synonyms = load_synonyms()
    one = SearchIndex(indexes["one"], synonyms)
    sharded = ShardedIndex(indexes[name], synonyms, LocalShards(indexes[name]))
    stories = _stories(indexes["one"])
    with_mates = 0
    for story, members in sorted(stories.items()):
        assert sharded.story(story) == one.story(story)
        assert sharded.story(members[-1]) is None  # a member is not a story of its own
        for article_id in members[:2]:
            assert sharded.article(article_id).story == one.article(article_id).story  # type: ignore[union-attr]
        expected = [r.to_json() for r in one.related(members[-1], 12) or []]
        assert [r.to_json() for r in sharded.related(members[-1], 12) or []] == expected
        with_mates += sum(r["same_story"] for r in expected) == len(members) - 1
    assert with_mates == len(stories)
    lone = "ktlab-12236880"
    assert sharded.story(lone) == one.story(lone) and sharded.related(lone, 50) and sharded.related("nothing") is None
    assert [r.to_json() for r in sharded.related(lone, 50) or []] == [r.to_json() for r in one.related(lone, 50) or []]
    assert sharded.story("no-such-story") is None
    # Asked again, from the vectors both kept, and of an index that kept none: the same answers.
    uncached = SearchIndex(indexes["one"], synonyms, related_cache_bytes=0)
    for members in sorted(stories.values())[::-1]:
        expected = [r.to_json() for r in uncached.related(members[0], 12) or []]
        assert [r.to_json() for r in sharded.related(members[0], 12) or []] == expected
        assert [r.to_json() for r in one.related(members[0], 12) or []] == expected


def test_scores_and_ties(indexes: dict[str, Path]):
    """Copies score the same: their order is the article id's, in one index and in shards
    (document numbers differ between them); sorted by date, undated articles tie as well."""
    synonyms = load_synonyms()
    one = SearchIndex(indexes["one"], synonyms)
    four = ShardedIndex(indexes["four"], synonyms, LocalShards(indexes["four"]))
    for request in (
        SearchRequest(q="tuyên truyền", per_page=20),
        SearchRequest(q="bảo hiểm", sort="date", per_page=20),
    ):
        a, b = one.search(request), four.search(request)
        assert [h.id for h in a.hits] == [h.id for h in b.hits]
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-6)
    copies = [h for h in one.search(SearchRequest(q="tuyên truyền", per_page=50)).hits if h.id.startswith("copy/")]
    assert copies, "the corpus has copies that match"
    ranked = [h.id for h in one.search(SearchRequest(q="tuyên truyền", per_page=50)).hits]
    for copy in copies:
        original = copy.id.removeprefix("copy/")
        assert ranked.index(original) == ranked.index(copy.id) - 1


def test_after_writes_the_live_counts_still_agree(indexes: dict[str, Path], tmp_path: Path):
    """Updates and deletions change what is live the same way in both: totals, facets and
    the matching articles stay equal (scores count deleted articles as Whoosh does, until a
    merge, which may happen at other times in one index than in shards)."""
    import shutil

    from search.corpus.article import Article

    one, four = tmp_path / "one", tmp_path / "four"
    shutil.copytree(indexes["one"], one)
    shutil.copytree(indexes["four"], four)
    changes = [
        Article(id="ktlab-12236880", title="Tin sửa", body="bảo hiểm xã hội tỉnh Pskov"),
        Article(id="new/1", title="Mới", body="tuyên truyền bảo hiểm y tế", source="Báo Mới"),
    ]
    for index_dir in (one, four):
        sharding.build(index_dir, changes, keep_missing=True)
        assert sharding.delete(index_dir, "copy/000_c966bd256c6a0fd6")
    synonyms = load_synonyms()
    a, b = SearchIndex(one, synonyms), ShardedIndex(four, synonyms, LocalShards(four))
    for q in ("bảo hiểm", "tuyên truyền", "Pskov", "các"):
        request = SearchRequest(q=q, per_page=50)
        x, y = a.search(request), b.search(request)
        assert (x.total, x.facets) == (y.total, y.facets)
        assert sorted(h.id for h in x.hits) == sorted(h.id for h in y.hits)
    assert a.doc_count() == b.doc_count()


def test_explanations_are_those_of_one_index(indexes: dict[str, Path]):
    synonyms = load_synonyms()
    one = SearchIndex(indexes["one"], synonyms)
    four = ShardedIndex(indexes["four"], synonyms, LocalShards(indexes["four"]))
    explained = 0
    for q, source, sort in queries()[:80]:
        request = SearchRequest(q=q, per_page=5, sort=sort, source=source, explain=True)
        expected, found = _answer(one, request), _answer(four, request)
        assert found == expected, q
        explained += sum(1 for hit in found["hits"] if hit.get("explain", {}).get("matched"))
    assert explained > 50


@pytest.mark.parametrize(("name", "shards"), [("one", 1), ("four", 4)])
def test_the_workers_memory_for_postings_follows_its_settings(indexes: dict[str, Path], name: str, shards: int):
    """One budget per worker, whatever the layout: the shards a worker searches share it."""
    environ = {"VNSEARCH_POSTINGS_CACHE_MIB": "3", "VNSEARCH_SCORED_CACHE_MIB": "5"}
    settings = Settings.from_env({"VNSEARCH_INDEX_DIR": str(indexes[name]), **environ})
    index = IndexHolder(settings).get()
    assert index.search(SearchRequest(q="bão")).total
    if shards == 1:
        budgets = [index.arrays.postings.budget]
        scored = [index._eval.cache.budget]
    else:
        searchers = index.shards._searchers.values()
        budgets = [searcher.arrays.postings.budget for searcher in searchers]
        scored = [searcher._state.evaluator.cache.budget for searcher in searchers]
    assert budgets == [(3 << 20) // shards] * shards
    assert scored == [(5 << 20) // shards // POSTING_BYTES] * shards
