"""Stories grouped at index time (search.index.stories.update): on the seed articles re-posted
and on real coverage from several outlets (tests/data/ktlab-sample.jsonl), across builds,
incremental runs, updates and deletions."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.corpus.jsonl import read_jsonl
from search.index.indexer import build, delete
from search.index.store import live_dir, open_index
from search.index.stories import saved
from search.query.acronyms import load_synonyms
from search.searching import stories
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex
from tests.conftest import CORPUS, ROOT

SAMPLE = ROOT / "tests" / "data" / "ktlab-sample.jsonl"


def seeds() -> dict[str, Article]:
    return {a.id[:3]: a for a in iter_corpus([CORPUS]) if isinstance(a, Article)}


def sample() -> tuple[list[Article], dict[str, int]]:
    with SAMPLE.open("rb") as stream:
        articles = [a for a in read_jsonl(stream, SAMPLE.name, 1 << 21) if isinstance(a, Article)]
    gold = {row["id"]: row["story"] for row in map(json.loads, SAMPLE.read_text(encoding="utf-8").splitlines())}
    return articles, gold


def repost(article: Article, new_id: str, title: str) -> Article:
    """A syndicating outlet's copy: its own headline, the agency's trailer."""
    return replace(
        article, id=new_id, title=title, body=f"{article.body}\n\nTheo TTXVN", source="baotintuc.vn", path=None
    )


def stories_of(index_dir: Path) -> dict[str, str]:
    """Every live article's story id, from the graph saved with the live commit."""
    ix = open_index(index_dir)
    graph = saved.load(live_dir(index_dir), ix.latest_generation(), 0.14)
    with ix.reader() as reader:
        ids = [reader.stored_fields(d)["id"] for d in reader.all_doc_ids()]
    return {a: graph.story_of(a) for a in ids}


def partition(stories: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for article_id, story in stories.items():
        groups.setdefault(story, set()).add(article_id)
    return {frozenset(g) for g in groups.values()}


@pytest.fixture(scope="module")
def reposts() -> list[Article]:
    s = seeds()
    return [
        repost(s["001"], "r001", "BHXH tỉnh tổng kết tuyên truyền năm 2017"),
        repost(s["003"], "r003", "Quảng Nam: truyền thông BHXH hiệu quả nhờ Nghị quyết 96"),
    ]


def test_reposted_seeds_collapse_and_the_others_stay_apart(tmp_path: Path, reposts: list[Article]) -> None:
    s = seeds()
    build(tmp_path / "ix", [*s.values(), *reposts])
    stories = stories_of(tmp_path / "ix")
    assert stories["r001"] == s["001"].id and stories["r003"] == s["003"].id
    assert len(set(stories.values())) == 5  # five seeds, two of them with their copy
    index = SearchIndex(tmp_path / "ix", load_synonyms())
    collapsed = index.search(SearchRequest("bảo hiểm xã hội", per_page=10, collapse=True))
    every = index.search(SearchRequest("bảo hiểm xã hội", per_page=10))
    assert collapsed.total == every.total == 7 and collapsed.facets == every.facets
    assert collapsed.total_stories == every.total_stories == 5
    assert len(collapsed.hits) == 5 and len({h.story["id"] for h in collapsed.hits if h.story}) == 5
    copy = next(h for h in collapsed.hits if h.story and h.story["id"] == s["001"].id)
    assert copy.story == {"id": s["001"].id, "size": 2, "sources": ["baotintuc.vn"]}


def test_real_coverage_groups_by_event_and_two_stories_of_one_day_stay_apart(tmp_path: Path) -> None:
    articles, gold = sample()
    build(tmp_path / "ix", articles, procs=2)
    stories = stories_of(tmp_path / "ix")
    # Stories 5 (an explosion in Russia) and 19 (India-Pakistan fighting): the same day.
    assert {gold[a] for a in stories if stories[a] == stories["ktlab-12236880"]} == {5}
    assert stories["ktlab-12236880"] != stories["ktlab-12235673"]
    # No article is ever grouped with another cluster's.
    for group in partition(stories):
        assert len({gold[a] for a in group}) == 1, group
    assert sum(len(g) for g in partition(stories) if len(g) > 1) >= 12


def test_a_summary_reads_each_article_of_its_story_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A story's summary and its list of articles come from one read of each article's stored
    fields (sorting them reads what they show), and say what reading them apart says."""
    articles, _ = sample()
    build(tmp_path / "ix", articles, procs=2)
    index = SearchIndex(tmp_path / "ix", load_synonyms())
    searcher = index.searcher()
    table = index.stories(searcher)
    several = sorted({table.story_of(a.id) for a in articles} - {a.id for a in articles if not table.member_set(a.id)})
    assert len(several) >= 3

    def oldest_first(docs: set[int]) -> list[int]:
        """The order a story lists its articles in, from Whoosh's own copy of their fields."""
        stored = {d: searcher.stored_fields(d) for d in docs}
        return sorted(docs, key=lambda d: (not stored[d].get("date"), stored[d].get("date") or "", stored[d]["id"]))

    reads: list[int] = []
    read = stories.stored_fields
    monkeypatch.setattr(stories, "stored_fields", lambda reader, d: reads.append(d) or read(reader, d))
    for story in several:
        docs = oldest_first(table.member_set(story))
        fields = [searcher.stored_fields(d) for d in docs]
        expected_sources = list(dict.fromkeys(f["source"] for f in fields if f.get("source")))
        del reads[:]
        assert table.summary(fields[0]) == {"id": story, "size": len(docs), "sources": expected_sources}
        assert sorted(reads) == sorted(docs)
        del reads[:]
        assert table.articles(story) == [{name: f.get(name) for name in stories.ARTICLE_KEYS} for f in fields]
        assert sorted(reads) == sorted(docs)


def test_a_tables_count_of_stories_is_that_of_its_codes(tmp_path: Path) -> None:
    articles, _ = sample()
    build(tmp_path / "ix", articles, procs=2)
    index = SearchIndex(tmp_path / "ix", load_synonyms())
    table = index.stories(index.searcher())
    rng = np.random.default_rng(15)
    masks = [rng.random(len(table.codes)) < share for share in (0.0, 0.05, 0.3, 1.0)]
    for mask in masks:
        alone = table.codes.copy()  # the same codes, not the table's: counted by their values
        assert stories.count(table.codes, mask) == stories.count(alone, mask) == len(set(alone[mask].tolist()))
        assert table.count(mask) == stories.count(alone, mask)
    assert stories.count(table.codes, masks[-1]) < len(table.codes)  # the sample has stories of several


def test_incremental_runs_give_what_a_rebuild_gives(tmp_path: Path, reposts: list[Article]) -> None:
    """Without day dates nothing depends on the statistics: grown and rebuilt agree exactly."""
    s = seeds()
    grown, fresh = tmp_path / "grown", tmp_path / "fresh"
    build(grown, [reposts[0], s["003"]])
    build(grown, [s["001"], reposts[1]], keep_missing=True)  # a smaller id joins: the story is renamed
    assert stories_of(grown)["r001"] == s["001"].id
    build(grown, [s["000"], s["002"], s["004"]], keep_missing=True)
    build(fresh, [*s.values(), *reposts])
    assert stories_of(grown) == stories_of(fresh)

    assert delete(grown, s["001"].id)  # the story keeps its other article, under its own id
    assert stories_of(grown)["r001"] == "r001"
    build(grown, [replace(s["003"], body="Bài đã được gỡ theo yêu cầu của tòa soạn.")], keep_missing=True)
    assert stories_of(grown)["r003"] == "r003"  # updated away from its copy
    build(grown, [s["003"]], keep_missing=True)  # and back
    assert stories_of(grown)["r003"] == s["003"].id
    build(fresh, [a for a in [*s.values(), *reposts] if a.id != s["001"].id], rebuild=True, procs=2)
    assert stories_of(grown) == stories_of(fresh)


def test_real_coverage_grown_one_article_at_a_time(tmp_path: Path) -> None:
    """Dated coverage added article by article, from an empty index: each pair of same-event
    articles was weighed with the document frequencies of the index as it was then (here one to
    eighteen articles), so the grown index may split an event that one build of them all joins,
    but it never joins different events; a rebuild gives the fresh groups."""
    articles, gold = sample()
    grown, fresh = tmp_path / "grown", tmp_path / "fresh"
    build(fresh, articles)
    for article in sorted(articles, key=lambda a: a.date or "", reverse=True):
        build(grown, [article], keep_missing=True)
    for group in partition(stories_of(grown)):
        assert len({gold[a] for a in group}) == 1, group
    assert sum(len(g) for g in partition(stories_of(grown)) if len(g) > 1) >= 8
    build(grown, articles, rebuild=True)
    assert partition(stories_of(grown)) == partition(stories_of(fresh))


def test_each_commit_has_its_own_graph_and_old_ones_are_pruned(tmp_path: Path, reposts: list[Article]) -> None:
    s = seeds()
    index_dir = tmp_path / "ix"
    build(index_dir, [s["001"]])
    for article in [reposts[0], s["002"], s["003"], reposts[1]]:
        build(index_dir, [article], keep_missing=True)
    generation = open_index(index_dir).latest_generation()
    names = sorted(p.name for p in live_dir(index_dir).glob("stories_*"))
    assert names == sorted(f"stories_{g}.json" for g in range(generation - saved.KEEP + 1, generation + 1))
    saved.path(live_dir(index_dir), generation).unlink()  # a missing graph: every article alone
    index = SearchIndex(index_dir, load_synonyms())
    assert index.search(SearchRequest("bảo hiểm", collapse=True)).total_stories == 5


def test_index_statistics_count_what_whoosh_counts_over_several_segments(
    tmp_path: Path, reposts: list[Article]
) -> None:
    """Document frequencies read from each segment's term file, as Whoosh's reader counts them
    (deleted documents included), for syllables, pairs and absent terms, first and again."""
    from search.index.stories.text import story_terms
    from search.index.stories.update import IndexStatistics
    from search.text.analysis import PAIR_JOINER

    articles = [a for a in iter_corpus([CORPUS]) if isinstance(a, Article)]
    build(tmp_path, articles[:5])
    build(tmp_path, articles + reposts, keep_missing=True)
    delete(tmp_path, articles[0].id)
    with open_index(tmp_path).reader() as reader:
        assert len(list(reader.leaf_readers())) > 1
        statistics = IndexStatistics(reader)
        terms = sorted({t for a in articles[:3] + reposts for t in story_terms(a.title, a.body)})
        terms += ["khongcotu", f"khongco{PAIR_JOINER}tunay"]
        expected = [reader.doc_frequency("pairs" if PAIR_JOINER in t else "folded", t) for t in terms]
        assert any(expected) and expected[-2:] == [0, 0]
        assert statistics.document_frequencies(terms).tolist() == expected
        assert statistics.document_frequencies(terms[::-1]).tolist() == expected[::-1]


def test_index_statistics_keep_at_most_their_bound_and_answer_the_same(tmp_path: Path) -> None:
    """A worker's statistics live as long as its commit: past their bound they start again,
    and what they answer does not change."""
    from search.index.stories.text import story_terms
    from search.index.stories.update import IndexStatistics

    articles = [a for a in iter_corpus([CORPUS]) if isinstance(a, Article)]
    build(tmp_path, articles)
    with open_index(tmp_path).reader() as reader:
        terms = sorted({t for a in articles for t in story_terms(a.title, a.body)})
        unbounded = IndexStatistics(reader, max_terms=len(terms))
        expected = unbounded.document_frequencies(terms).tolist()
        assert len(unbounded) == len(terms)
        bounded = IndexStatistics(reader, max_terms=50)
        for start in range(0, len(terms), 40):
            chunk = terms[start : start + 40]
            assert bounded.document_frequencies(chunk).tolist() == expected[start : start + 40]
            assert 0 < len(bounded) <= 50
        assert bounded.document_frequencies(terms).tolist() == expected
        assert len(bounded) == 50
