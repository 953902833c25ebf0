"""The article vectors related coverage keeps (search.searching.vectors): the answers are those
made without them, whatever was asked before; a new commit is weighed with its own statistics
and its own texts; and the memory stays within its bound."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from search.corpus.article import Article
from search.index.indexer import build
from search.index.stories.text import CountedStatistics, story_terms
from search.query.acronyms import load_synonyms
from search.searching.searcher import SearchIndex
from search.searching.vectors import TERM_BYTES, ArticleVectors
from tests.test_story_index import repost, sample, seeds


def _articles() -> list[Article]:
    s = seeds()
    articles, _ = sample()
    return [*s.values(), *articles, repost(s["001"], "r001", "BHXH tỉnh tổng kết tuyên truyền năm 2017")]


def _answers(index: SearchIndex, ids: list[str], limit: int = 10) -> dict[str, list[dict]]:
    return {a: [r.to_json() for r in index.related(a, limit) or []] for a in ids}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("related-cache")
    build(directory, _articles())
    return directory


def test_kept_vectors_give_the_answers_made_without_them(index_dir: Path) -> None:
    ids = sorted(a.id for a in _articles())
    synonyms = load_synonyms()
    uncached = _answers(SearchIndex(index_dir, synonyms, related_cache_bytes=0), ids)
    assert sum(len(found) for found in uncached.values()) > 10 * len(ids) // 2
    kept = SearchIndex(index_dir, synonyms)
    assert _answers(kept, ids) == uncached  # cold: each article's vector made once, then kept
    assert _answers(kept, ids[::-1]) == uncached  # warm, asked in another order
    assert _answers(kept, ids[:5], limit=50) == _answers(
        SearchIndex(index_dir, synonyms, related_cache_bytes=0), ids[:5], limit=50
    )
    vectors = kept.stories(kept.searcher()).cached("vectors", lambda: None)
    assert isinstance(vectors, ArticleVectors) and vectors.hits > len(ids) and len(vectors) == len(ids)


def test_a_new_commit_is_weighed_with_its_own_statistics_and_texts(tmp_path: Path) -> None:
    articles = _articles()
    index_dir = tmp_path / "ix"
    build(index_dir, articles)
    synonyms = load_synonyms()
    index = SearchIndex(index_dir, synonyms)
    ids = sorted(a.id for a in articles)
    before = _answers(index, ids)
    # One article rewritten (the text of another story) and copies that change many counts.
    s = seeds()
    changed = replace(s["002"], title=articles[-2].title, body=articles[-2].body)
    copies = [repost(articles[-3], f"copy{i}", f"Bản tin {i}") for i in range(4)]
    build(index_dir, [changed, *copies], keep_missing=True)
    after = _answers(index, ids)
    assert after == _answers(SearchIndex(index_dir, synonyms), ids)  # as a process opened now
    assert after[changed.id] != before[changed.id]
    moved = [a for a in ids if a != changed.id and after[a] != before[a]]
    assert moved  # other articles' scores moved with the counts


def _counts(limit: int = 40) -> list[tuple[str, Counter[str]]]:
    articles = _articles()[:limit]
    return [(a.id, story_terms(a.title, a.body)) for a in articles]


def test_the_kept_vectors_stay_within_their_bound() -> None:
    statistics = CountedStatistics(_articles())
    counts = _counts()
    everything = ArticleVectors(statistics, 1 << 30)
    for article_id, terms in counts:
        everything.session().weigh(article_id, terms)
    assert len(everything) == len(counts)
    most = []
    for bound in (everything.size // 2, everything.size * 2):
        vectors = ArticleVectors(statistics, bound)
        kept = 0
        for _ in range(2):
            for article_id, terms in counts:
                vectors.session().weigh(article_id, terms)
                assert vectors.size <= bound
                kept = max(kept, len(vectors))
        most.append(kept)
    assert 0 < most[0] < most[1] == len(counts)  # a larger bound keeps more


def test_the_least_recently_used_vector_makes_room() -> None:
    statistics = CountedStatistics(_articles())
    # Articles of one text: the vocabulary stays that text's, the vectors fill the bound.
    terms = _counts(1)[0][1]
    ids = [f"copy{i}" for i in range(12)]
    everything = ArticleVectors(statistics, 1 << 20)
    for article_id in ids:
        everything.session().weigh(article_id, terms)
    tight = ArticleVectors(statistics, everything.size - 1)
    session = tight.session()
    for article_id in ids:
        session.weigh(article_id, terms)
        if article_id == ids[1]:
            assert session.get(ids[0]) is not None  # used: now the more recent of the two
    assert session.get(ids[0]) is not None and session.get(ids[1]) is None  # the oldest went
    assert len(tight) == len(ids) - 1 and tight.size <= tight.max_bytes
    assert tight.hits == 2 and tight.misses == 1


def test_the_vocabulary_starts_again_when_it_fills_half_the_bound() -> None:
    statistics = CountedStatistics(_articles())
    counts = _counts()
    vectors = ArticleVectors(statistics, 400_000)
    vocabularies = set()
    for article_id, terms in counts:
        session = vectors.session()
        vocabularies.add(id(session.vocabulary))
        session.weigh(article_id, terms)
        assert vectors.size <= vectors.max_bytes
        assert TERM_BYTES * len(vectors.session().vocabulary.names) <= vectors.max_bytes // 2
    assert len(vocabularies) > 1
    # A session begun before the vocabulary started again keeps working with its own.
    session = vectors.session()
    mine = session.weigh("a", counts[0][1])
    for article_id, terms in counts:
        vectors.session().weigh(article_id, terms)
    other = session.weigh("b", counts[0][1])
    assert mine.cosine(other) == pytest.approx(1.0)


def test_no_bound_keeps_nothing_and_a_negative_one_is_refused() -> None:
    statistics = CountedStatistics(_articles())
    vectors = ArticleVectors(statistics, 0)
    for article_id, terms in _counts(5):
        vectors.session().weigh(article_id, terms)
    assert len(vectors) == 0 and vectors.session().get(_counts(1)[0][0]) is None
    assert len(vectors.session().vocabulary.names) == 0
    with pytest.raises(ValueError):
        ArticleVectors(statistics, -1)
