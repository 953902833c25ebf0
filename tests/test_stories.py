"""Story grouping (search.index.stories) on the bundled seed articles, re-posted and rewritten."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.index.stories.counts import TermCounts
from search.index.stories.graph import COPY, StoryGraph
from search.index.stories.pool import copy_edge, features, graph_of, group
from search.index.stories.text import (
    CountedStatistics,
    Signatures,
    StoryParams,
    Vocabulary,
    day_of,
    split_column,
    story_terms,
)
from search.text.analysis import folded_analyzer, pair_analyzer
from tests.story_pool import StoryPool

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    return {a.id[:3]: a for a in iter_corpus([CORPUS])}


def repost(article: Article, new_id: str, title: str, date: str | None = None) -> Article:
    """What a syndicating outlet publishes: its own headline, the agency's trailer."""
    return replace(
        article,
        id=new_id,
        title=title,
        body=f"{article.body}\n\nTheo TTXVN",
        source="baotintuc.vn",
        date=date,
        path=None,
    )


def rewrites(article: Article, date: str) -> tuple[Article, Article]:
    """Two outlets' takes on one event: the same lead, then each its own part of the facts,
    under its own headline, on the same day."""
    paragraphs = article.body.split("\n\n")
    half = len(paragraphs) // 2
    first = replace(
        article,
        id=f"{article.id}-a",
        title="Tháng vận động triển khai BHXH toàn dân",
        body="\n\n".join(paragraphs[:half]),
        date=date,
        source="a.vn",
        path=None,
    )
    second = replace(
        article,
        id=f"{article.id}-b",
        title="Tháng 5: tăng cường truyền thông BHXH, BHYT",
        body="\n\n".join(paragraphs[:1] + paragraphs[half:]),
        date=date,
        source="b.vn",
        path=None,
    )
    return first, second


@pytest.fixture(scope="module")
def articles(seeds: dict[str, Article]) -> list[Article]:
    items = [replace(a, date="2022-12-29") if key in ("003", "004") else a for key, a in seeds.items()]
    items.append(repost(seeds["001"], "r001", "BHXH tỉnh tổng kết tuyên truyền năm 2017", "2018-01-17"))
    items.append(repost(seeds["003"], "r003", "Quảng Nam: truyền thông BHXH hiệu quả nhờ Nghị quyết 96"))
    items.extend(rewrites(seeds["002"], "2022-06-01"))
    return items


def pool_of(articles: list[Article], statistics: CountedStatistics | None = None) -> StoryPool:
    vocabulary = Vocabulary(statistics or CountedStatistics(articles))
    signatures = Signatures()
    pool = StoryPool()
    for article in articles:
        pool.add(features(article, signatures, vocabulary))
    return pool


def test_terms_are_the_index_terms(seeds: dict[str, Article]) -> None:
    for article in seeds.values():
        text = f"{article.title}\n\n{article.body}"
        expected = Counter(t.text for t in folded_analyzer()(text)) + Counter(t.text for t in pair_analyzer()(text))
        assert story_terms(article.title, article.body, title_weight=1) == expected


@pytest.mark.parametrize(
    "body",
    [
        # Folding makes a letter of the pound sign: the index's words are found before folding.
        "Học phí đại cương: ₤5120/năm, khoá dự bị thạc sỹ: ₤5000/năm.",
        "Giá vé – từ ₤20 đến ₤45 – tăng (so với năm 2012–2013); “ĐẮT” hơn…",
        "Không có dấu hiệu nào ở đây, chỉ chữ thường",
    ],
)
def test_terms_are_the_index_terms_where_folding_makes_a_letter(body: str) -> None:
    text = f"Tiêu đề\n\n{body}"
    expected = Counter(t.text for t in folded_analyzer()(text)) + Counter(t.text for t in pair_analyzer()(text))
    assert story_terms("Tiêu đề", body, title_weight=1) == expected


def test_reposts_collapse_into_their_seed_story(articles: list[Article], seeds: dict[str, Article]) -> None:
    stories = group(articles)
    assert stories["r001"] == stories[seeds["001"].id] == seeds["001"].id
    assert stories["r003"] == stories[seeds["003"].id] == seeds["003"].id
    assert stories[seeds["001"].id] != stories[seeds["003"].id]
    # Not an equal body: the trailer makes them differ, and the MinHash finds them.
    signatures = Signatures()
    seed_key, _ = split_column(signatures.column_value(seeds["001"].body))
    repost_key, _ = split_column(signatures.column_value(articles[-4].body))
    assert seed_key != repost_key


def test_two_stories_on_the_same_day_stay_apart(articles: list[Article], seeds: dict[str, Article]) -> None:
    statistics = CountedStatistics(articles)
    vocabulary = Vocabulary(statistics)
    quang_nam, quang_ngai = (replace(seeds[k], date="2022-12-29") for k in ("003", "004"))
    similarity = vocabulary.vector(quang_nam.title, quang_nam.body).cosine(
        vocabulary.vector(quang_ngai.title, quang_ngai.body)
    )
    assert similarity > 0  # same topic: social insurance campaigns
    stories = group(articles, statistics)
    assert stories[quang_nam.id] != stories[quang_ngai.id]
    assert Counter(stories.values())[stories[quang_ngai.id]] == 1


def test_same_event_coverage_joins_within_the_window_only(seeds: dict[str, Article]) -> None:
    first, second = rewrites(seeds["002"], "2022-06-01")
    others = [a for key, a in seeds.items() if key != "002"]
    statistics = CountedStatistics([first, second, *others])
    vocabulary = Vocabulary(statistics)
    assert (
        vocabulary.vector(first.title, first.body).cosine(vocabulary.vector(second.title, second.body))
        >= StoryParams().same_event
    )
    pool = pool_of([first, second, *others], statistics)
    assert pool.stories()[first.id] == pool.stories()[second.id]
    pool.add(features(replace(second, date="2022-06-20"), Signatures(), vocabulary))
    assert pool.stories()[first.id] != pool.stories()[second.id]
    pool.add(features(replace(second, date=None), Signatures(), vocabulary))
    assert pool.stories()[first.id] != pool.stories()[second.id]


def test_exact_copies_share_a_story_without_dates_and_empty_bodies_do_not(seeds: dict[str, Article]) -> None:
    seed = seeds["004"]
    copy = replace(
        seed, id="copy", title="Quảng Ngãi: phối hợp tuyên truyền BHXH", body=seed.body.replace(",", " ,").upper()
    )
    short = replace(seed, id="short", body="Tin ngắn về bảo hiểm xã hội.")
    short_copy = replace(short, id="short-copy", title="Tin khác")
    empty = [Article(id=f"e{i}", title=f"Tin ngắn {i}", body="") for i in range(3)]
    stories = group([seed, copy, short, short_copy, *empty])
    assert stories["copy"] == seed.id
    assert stories["short-copy"] == "short"  # too short for a signature: equal is still a copy
    assert len({stories[a.id] for a in empty}) == 3


def test_order_does_not_change_the_stories(articles: list[Article]) -> None:
    statistics = CountedStatistics(articles)
    expected = pool_of(sorted(articles, key=lambda a: a.id), statistics).stories()
    assert len(set(expected.values())) < len(expected)  # some stories have several articles
    for seed in range(5):
        shuffled = articles[:]
        random.Random(seed).shuffle(shuffled)
        assert pool_of(shuffled, statistics).stories() == expected
    assert group(articles, statistics) == expected


def test_removing_and_updating_leave_what_a_rebuild_gives(articles: list[Article], seeds: dict[str, Article]) -> None:
    statistics = CountedStatistics(articles)
    vocabulary = Vocabulary(statistics)
    pool = pool_of(articles, statistics)
    seed = seeds["001"].id
    before = pool.stories()
    changed = pool.remove(seed)  # the story's smallest id: its other article takes over the id
    assert changed == {"r001": "r001"}
    assert pool.stories() == pool_of([a for a in articles if a.id != seed], statistics).stories()
    assert pool.add(features(seeds["001"], Signatures(), vocabulary)) == {"r001": seed}
    assert pool.stories() == before

    reworded = replace(seeds["003"], body="Bài viết đã được gỡ bỏ theo yêu cầu của tòa soạn.")
    assert pool.add(features(reworded, Signatures(), vocabulary)) == {"r003": "r003"}
    updated = [reworded if a.id == reworded.id else a for a in articles]
    assert pool.stories() == pool_of(updated, statistics).stories()


def test_copy_edge_needs_the_overlap_not_just_a_band(seeds: dict[str, Article]) -> None:
    signatures = Signatures()
    seed = features(seeds["001"], signatures, None)
    half = seeds["001"].body[: len(seeds["001"].body) // 3]
    other = features(replace(seeds["001"], id="part", body=half + "\n\n" + seeds["002"].body), signatures, None)
    assert copy_edge(seed, seed) and not copy_edge(seed, other)


def test_the_graph_keeps_only_articles_with_an_edge() -> None:
    graph = StoryGraph(0.14)
    assert graph.add("b", None, {"c": 2.0}, {"c": None}) == {"c": "b"}
    assert graph.add("a", None, {"c": 2.0}, {}) == {"b": "a", "c": "a"}
    assert graph.members("a") == ["a", "b", "c"] and graph.story_of("zz") == "zz"
    assert graph.remove("c") == {"b": "b"}  # a and b are no longer joined
    assert graph.stories() == {} and "a" not in graph and "b" not in graph
    restored = StoryGraph.restore(0.14, [["a", "b", 2.0]], {"a": 1, "b": None}, {"b": "a"})
    assert restored.story_of("b") == "a" and restored.members("a") == ["a", "b"]


def test_changes_settled_at_once_give_what_one_at_a_time_gives() -> None:
    """A run adds and removes many articles and re-clusters each changed component once: the
    stories, and the articles reported as changed, are those of settling after every change."""
    rng = random.Random(13)
    ids = [f"a{n:02d}" for n in range(40)]
    days = {a: rng.choice([None, 1, 2, 3]) for a in ids}
    steps: list[tuple[str, dict[str, float]]] = []
    present: set[str] = set()
    for _ in range(120):
        article = rng.choice(ids)
        if article in present:
            steps.append((article, {}))
            present.discard(article)
        else:
            others = rng.sample(sorted(set(ids) - {article}), 3)
            steps.append((article, {o: rng.choice([COPY, 0.3, 0.2, 0.16]) for o in others}))
            present.add(article)
    one, batch = StoryGraph(0.14), StoryGraph(0.14)
    reported_one: dict[str, str] = {}
    reported_batch: dict[str, str] = {}
    for n, (article, edges) in enumerate(steps):
        for graph, reported, settle in ((one, reported_one, True), (batch, reported_batch, False)):
            if not edges:
                reported.update(graph.remove(article, settle=settle))
            elif article not in graph:
                reported.update(graph.add(article, days[article], edges, days, settle=settle))
        if n % 30 == 29:
            reported_batch.update(batch.settle())
            assert batch.stories() == one.stories()
            # What changed since the last settle, as each ends: every article that moved.
            assert {a: one.story_of(a) for a in reported_batch} == reported_batch
            assert set(reported_one) >= set(reported_batch)
            reported_one.clear()
            reported_batch.clear()
    assert len(set(one.stories().values())) >= 3


def test_day_of_needs_a_full_date() -> None:
    assert day_of("2013-10-23") is not None
    assert day_of("2013-10") is None and day_of("2013") is None and day_of(None) is None


def test_top_terms_are_the_heaviest_with_ties_broken_by_the_term(articles: list[Article]) -> None:
    """The top terms are picked from the few weighing at least the k-th weight; they must be
    what a full sort of every term by (weight descending, term) gives, ties included."""
    statistics = CountedStatistics(articles)
    for k in (1, 5, 50, 10_000):
        vocabulary = Vocabulary(statistics, StoryParams(candidate_terms=k))
        for article in articles:
            vector = vocabulary.vector(article.title, article.body)
            ranked = sorted(
                zip(vector.weights.tolist(), (vocabulary.names[t] for t in vector.terms)),
                key=lambda wt: (-wt[0], wt[1]),
            )
            assert {vocabulary.names[t] for t in vector.top} == {term for _, term in ranked[:k]}


def test_a_whole_set_at_once_gives_the_graph_of_one_article_at_a_time(
    articles: list[Article], seeds: dict[str, Article]
) -> None:
    """A fresh build finds its candidates by sorting signature bands, not one LSH lookup per
    article: the same edges, so the same stories, also for many copies of one body (exact,
    near and short), dated or not."""
    many = [replace(seeds["004"], id=f"c{n:02d}", title=f"Bản {n}", path=None) for n in range(25)]
    near = [repost(seeds["004"], f"n{n}", f"Đăng lại {n}", "2022-12-30" if n % 2 else None) for n in range(4)]
    short = [Article(id=f"s{n}", title="Tin ngắn", body="Tin ngắn về bảo hiểm xã hội.") for n in range(6)]
    empty = [Article(id=f"e{n}", title=f"Trống {n}", body="") for n in range(3)]
    items = [*articles, *many, *near, *short, *empty]
    statistics = CountedStatistics(items)
    vocabulary = Vocabulary(statistics)
    signatures = Signatures()
    entries = [features(article, signatures, vocabulary) for article in items]
    one_by_one = StoryPool()
    for entry in random.Random(3).sample(entries, len(entries)):
        one_by_one.add(entry, settle=False)
    one_by_one.graph.settle()
    at_once = graph_of(reversed(entries))

    def edges(graph: StoryGraph) -> list[tuple[str, str, float]]:
        return sorted(graph.edges())

    assert edges(at_once) == edges(one_by_one.graph) and at_once.stories() == one_by_one.graph.stories()
    stories = group(items, statistics)
    assert {stories[a.id] for a in many + near} == {seeds["004"].id}
    assert {stories[a.id] for a in short} == {"s0"} and len({stories[a.id] for a in empty}) == 3
    assert sum(weight == COPY for *_, weight in at_once.edges()) >= 30 * 29 // 2
    assert any(weight < COPY for *_, weight in at_once.edges())


def test_a_whole_set_is_weighed_as_each_article_alone(articles: list[Article]) -> None:
    """A fresh build weighs its articles together, over its own numbering of the terms: each
    vector must hold the terms, weights and top terms that weighing the article alone gives."""
    statistics = CountedStatistics(articles)
    for k in (5, 50):
        params = StoryParams(candidate_terms=k)
        vocabulary = Vocabulary(statistics, params)
        counts = TermCounts(params)
        for article in articles:
            counts.add(article.title, article.body)
        names = counts.names
        together = counts.vectors(statistics.document_frequencies(names), statistics.document_count())
        assert len(together) == len(articles)
        for article, vector in zip(articles, together):
            alone = vocabulary.vector(article.title, article.body)
            assert {names[t]: w for t, w in zip(vector.terms.tolist(), vector.weights.tolist())} == pytest.approx(
                {vocabulary.names[t]: w for t, w in zip(alone.terms.tolist(), alone.weights.tolist())}, abs=1e-12
            )
            assert {names[t] for t in vector.top} == {vocabulary.names[t] for t in alone.top}


def test_signatures_are_datasketch_minhash_values() -> None:
    """The signature applies datasketch's permutations to all shingles at once; its values must
    be those of datasketch's own `update_batch`, edge values of 32 bits included."""
    from datasketch import MinHash

    rng = random.Random(5)
    signatures = Signatures()
    for n in (1, 2, 50, 3000):
        values = [rng.choice((0, 1, 0xFFFFFFFF, rng.getrandbits(32))) for _ in range(n)]
        reference = MinHash(num_perm=signatures.params.num_perm, hashfunc=int)
        reference.update_batch(values)
        found = signatures._minhash(np.array(values, dtype=np.uint32))
        assert found.tolist() == np.asarray(reference.hashvalues, dtype=np.uint64).tolist()


def test_signatures_are_shingles_mixed_word_by_word(articles: list[Article]) -> None:
    """A shingle's hash, summed over its window, is the word-by-word mix of its words' CRC-32."""
    import zlib

    from datasketch import MinHash

    from search.text.normalize import WORD_RE, fold, normalize

    signatures = Signatures()
    k = signatures.params.shingle_words
    mix = np.random.RandomState(7).randint(1, 1 << 32, size=k, dtype=np.uint64) | 1
    for article in articles:
        words = WORD_RE.findall(fold(normalize(article.body)))
        found = signatures._signature(words)
        if len(words) < max(signatures.params.min_copy_words, k):
            assert found is None
            continue
        hashes = np.array([zlib.crc32(w.encode()) for w in words], dtype=np.uint64)
        n = len(words) - k + 1
        shingles = np.zeros(n, dtype=np.uint64)
        for i in range(k):
            shingles = shingles * np.uint64(0x9E3779B1) + hashes[i : i + n] * mix[i]
        reference = MinHash(num_perm=signatures.params.num_perm, hashfunc=int)
        reference.update_batch((shingles >> np.uint64(16) & np.uint64(0xFFFFFFFF)).tolist())
        assert found is not None and found.tolist() == np.asarray(reference.hashvalues, dtype=np.uint64).tolist()
