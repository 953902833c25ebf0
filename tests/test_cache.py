"""The result cache: bounded, one generation at a time, never serving an older index's results."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from search.corpus.article import Article
from search.index.indexer import build
from search.query.acronyms import load_synonyms
from search.searching.cache import ResultCache
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex
from search.settings import Settings


def test_least_recently_used_entries_go_first():
    cache: ResultCache[str] = ResultCache(max_entries=2, max_bytes=1000)
    cache.put(1, "a", "A", 10)
    cache.put(1, "b", "B", 10)
    assert cache.get(1, "a") == "A"  # "b" is now the least recently used
    cache.put(1, "c", "C", 10)
    assert cache.get(1, "b") is None
    assert (cache.get(1, "a"), cache.get(1, "c"), len(cache)) == ("A", "C", 2)


def test_bytes_are_bounded_too():
    cache: ResultCache[str] = ResultCache(max_entries=100, max_bytes=25)
    for key in "abc":
        cache.put(1, key, key.upper(), 10)
    assert len(cache) == 2 and cache.size == 20 and cache.get(1, "a") is None
    cache.put(1, "big", "BIG", 26)  # larger than the whole budget: not kept, nothing evicted
    assert cache.get(1, "big") is None and len(cache) == 2
    cache.put(1, "b", "B2", 5)  # replacing an entry counts its new size only
    assert cache.size == 15 and cache.get(1, "b") == "B2"


def test_a_newer_generation_empties_it_and_an_older_one_is_never_kept():
    cache: ResultCache[str] = ResultCache()
    cache.put(1, "q", "old", 10)
    assert cache.get(2, "q") is None and len(cache) == 0
    cache.put(1, "q", "stale", 10)  # a request that started before the commit finishes late
    assert cache.get(2, "q") is None and cache.get(1, "q") is None
    cache.put(2, "q", "new", 10)
    assert cache.get(2, "q") == "new"


def test_zero_entries_keeps_nothing_and_negative_bounds_are_refused():
    cache: ResultCache[str] = ResultCache(max_entries=0)
    cache.put(1, "q", "A", 1)
    assert cache.get(1, "q") is None
    with pytest.raises(ValueError):
        ResultCache(max_entries=-1)
    with pytest.raises(ValueError, match="VNSEARCH_RESULT_CACHE_MIB"):
        Settings.from_env({"VNSEARCH_RESULT_CACHE_MIB": "-5"})
    assert Settings.from_env({"VNSEARCH_RESULT_CACHE_ENTRIES": "0"}).result_cache_entries == 0


def _article(n: int, body: str) -> Article:
    return Article(
        id=f"a{n}", title=f"Tin số {n}", body=body, date="2023-01-0" + str(n), source="Báo", path=f"a{n}.txt"
    )


def test_a_repeated_search_is_served_from_the_cache(tmp_path: Path):
    build(tmp_path, [_article(1, "Bảo hiểm xã hội tự nguyện."), _article(2, "Bảo hiểm y tế.")])
    cache: ResultCache = ResultCache()
    index = SearchIndex(tmp_path, load_synonyms(), cache=cache)
    request = SearchRequest(q="bao hiem")
    first = index.search(request)
    again = index.search(request)
    assert cache.hits == 1
    assert dataclasses.replace(again, took_ms=0) == dataclasses.replace(first, took_ms=0)
    assert again.suggestion == "bảo hiểm" and [h.id for h in again.hits] == [h.id for h in first.hits]
    index.search(dataclasses.replace(request, page=2))  # another page is another request
    assert cache.hits == 1 and len(cache) == 2
    uncached = SearchIndex(tmp_path, load_synonyms()).search(request)
    assert dataclasses.replace(uncached, took_ms=0) == dataclasses.replace(first, took_ms=0)


def test_a_commit_is_seen_at_once(tmp_path: Path):
    """The searcher refreshes per request: a cached page of the previous commit is never served."""
    articles = [_article(1, "Bảo hiểm xã hội."), _article(2, "Thời tiết.")]
    build(tmp_path, articles)
    index = SearchIndex(tmp_path, load_synonyms(), cache=ResultCache())
    request = SearchRequest(q="bảo hiểm")
    assert [h.id for h in index.search(request).hits] == ["a1"]
    assert index.search(request).total == 1  # cached
    build(tmp_path, [*articles, _article(3, "Bảo hiểm y tế, bảo hiểm xã hội.")])
    after = index.search(request)
    assert after.total == 2 and {h.id for h in after.hits} == {"a1", "a3"}
    build(tmp_path, [_article(2, "Thời tiết.")])  # removes a1 and a3
    assert index.search(request).total == 0


def test_a_rebuild_into_a_new_generation_is_seen_at_once(tmp_path: Path):
    build(tmp_path, [_article(1, "Bảo hiểm xã hội.")])
    index = SearchIndex(tmp_path, load_synonyms(), cache=ResultCache())
    request = SearchRequest(q="bảo hiểm")
    assert index.search(request).total == 1
    build(tmp_path, [_article(5, "Bảo hiểm."), _article(6, "Bảo hiểm.")], rebuild=True)
    assert {h.id for h in index.search(request).hits} == {"a5", "a6"}


def test_partial_results_are_not_kept(tmp_path: Path):
    build(tmp_path, [_article(1, "Bảo hiểm xã hội.")])
    cache: ResultCache = ResultCache()
    index = SearchIndex(tmp_path, load_synonyms(), time_budget=0.0, cache=cache)
    assert index.search(SearchRequest(q="bảo hiểm")).partial
    assert len(cache) == 0
