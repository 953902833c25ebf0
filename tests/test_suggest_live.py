"""Per-segment state followed across commits: an index grown commit by commit (adds, updates,
deletions, merges) answers suggestions exactly as a fresh build of the same articles, and a
new generation recomputes only the segments it added."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from falcon import testing

from search.corpus.article import Article
from search.index.engine import readers, segments
from search.index.engine.codec import Codec
from search.index.engine.segments import SegmentArrays, TermCounts
from search.index.engine.writers import PoolWriter
from search.index.indexer import build, delete
from search.index.store import open_index
from search.query.acronyms import load_synonyms
from search.searching import suggest
from search.searching.searcher import SearchIndex
from search.searching.suggest import Suggester, key
from search.searching.suggest_live import LiveSuggester
from search.settings import Settings
from search.web.app import create_app

#: Words with case and mark variants, function words and their unmarked twins ("có"/"cơ"),
#: joiners and punctuation: everything the phrase rules look at.
WORDS = (
    "bảo Bảo hiểm xã hội y tế Quảng Ngãi giá Giá vàng tăng giảm người dân tham gia chính sách "
    "Thủ tướng Chính phủ có cơ quan BHXH tỉnh về của và 96/NQ-BCS mưa lớn, tin: bão số"
).split()


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9)))


def _article(rng: random.Random, article_id: str) -> Article:
    date = rng.choice([None, f"20{rng.randint(10, 23)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"])
    return Article(id=article_id, title=_title(rng), body="Nội dung bài báo.", date=date)


def _prefixes(articles: list[Article], rng: random.Random) -> list[str]:
    found = {"b", "g", "q", "t", "c", "co", "bao", "bao ", "gia v", "96", "bhxh t", "hiem xa", "zz"}
    for article in rng.sample(articles, min(30, len(articles))):
        k = key(article.title)
        found.update(k[:n] for n in (1, 2, 4, 7, 12, len(k)) if k[:n].strip())
    return sorted(found)


def _answers(suggester, prefixes: list[str]) -> list[list[dict]]:
    return [[s.to_json() for s in suggester.suggest(p, 10)] for p in prefixes]


def _fresh(articles: dict[str, Article]) -> Suggester:
    return Suggester([(a.id, a.title, a.date) for a in articles.values()])


def _reader(index_dir: Path):
    return open_index(index_dir).reader()


def _grow(index_dir: Path, rng: random.Random, steps: int, check) -> dict[str, Article]:
    """Commit batches of new articles, updates of old ones and deletions; `check` after each."""
    articles: dict[str, Article] = {}
    serial = 0
    for _ in range(steps):
        batch: dict[str, Article] = {}
        for _ in range(rng.choice([1, 1, 2, 5, 12])):
            if articles and rng.random() < 0.3:
                article_id = rng.choice(sorted(articles))  # an update: the old document is deleted
            else:
                serial += 1
                article_id = f"a{serial}"
            batch[article_id] = _article(rng, article_id)
        build(index_dir, list(batch.values()), keep_missing=True)
        articles.update(batch)
        if len(articles) > 5 and rng.random() < 0.3:
            gone = rng.choice(sorted(articles))
            assert delete(index_dir, gone)
            del articles[gone]
        check(articles)
    return articles


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_grown_index_suggests_what_a_fresh_build_does(tmp_path: Path, seed: int, monkeypatch):
    rng = random.Random(seed)
    if seed == 3:  # a large archive's rule: a phrase must stand in two titles
        monkeypatch.setattr(suggest, "PHRASE_MIN_TITLES", 40)
    index_dir = tmp_path / "grown"
    live = LiveSuggester(index_dir)
    rounds = []

    def check(articles: dict[str, Article]) -> None:
        prefixes = _prefixes(list(articles.values()), rng)
        snapshot = live.get(_reader(index_dir))
        assert _answers(snapshot, prefixes) == _answers(_fresh(articles), prefixes)
        rounds.append(sum(1 for answer in _answers(snapshot, prefixes) if answer))

    articles = _grow(index_dir, rng, 25, check)
    assert sum(rounds) > 100  # the prefixes found things: the comparison was not of empty lists
    with open_index(index_dir).reader() as reader:
        assert len(readers.leaves(reader)) > 1 and reader.has_deletions()

    # Merging every segment into one gives the same answers again.
    ix = open_index(index_dir)
    PoolWriter(ix, codec=Codec()).commit(optimize=True)
    with open_index(index_dir).reader() as reader:
        assert len(readers.leaves(reader)) == 1 and not reader.has_deletions()
    check(articles)


def test_the_suggest_endpoint_answers_alike_for_grown_and_fresh_indexes(tmp_path: Path):
    rng = random.Random(7)
    grown = tmp_path / "grown"
    articles = _grow(grown, rng, 15, lambda articles: None)
    fresh = tmp_path / "fresh"
    build(fresh, list(articles.values()))
    prefixes = _prefixes(list(articles.values()), rng)
    answers = []
    for index_dir in (grown, fresh):
        client = testing.TestClient(create_app(Settings(index_dir=index_dir)))
        answers.append([client.simulate_get("/suggest", params={"q": p, "limit": "10"}).json for p in prefixes])
    assert answers[0] == answers[1]
    assert any(answer["suggestions"] for answer in answers[0])


def test_a_commit_builds_the_tables_of_its_own_segment_only(tmp_path: Path):
    rng = random.Random(11)
    index_dir = tmp_path / "index"
    build(index_dir, [_article(rng, f"a{i}") for i in range(40)])
    live = LiveSuggester(index_dir)
    assert live.get(_reader(index_dir)) is not None and live.built_inline == 1
    build(index_dir, [Article(id="new", title="Bão số 9 đổ bộ", body="Tin.")], keep_missing=True)
    snapshot = live.get(_reader(index_dir))
    assert live.built_inline == 2
    assert [s.text for s in snapshot.suggest("bao so 9") if s.kind == "title"] == ["Bão số 9 đổ bộ"]
    build(index_dir, [Article(id="new", title="Giá vàng giảm mạnh", body="Tin.")], keep_missing=True)
    snapshot = live.get(_reader(index_dir))
    assert [s for s in snapshot.suggest("bao so 9") if s.kind == "title"] == []
    assert [s.id for s in snapshot.suggest("gia vang giam m") if s.kind == "title"] == ["new"]
    with open_index(index_dir).reader() as reader:
        segments = len(readers.leaves(reader))
    assert live.built_inline == 3 and live.stats()["segments"] == segments


def test_per_segment_arrays_are_kept_for_unchanged_segments(tmp_path: Path):
    rng = random.Random(5)
    index_dir = tmp_path / "index"
    build(index_dir, [_article(rng, f"a{i}") for i in range(30)])
    arrays = SegmentArrays()
    reader = _reader(index_dir)
    first = arrays.lengths(reader, "folded")
    btext = reader.schema["folded"].to_bytes("noi")
    segments.postings(reader, "folded", btext, arrays.postings)
    parts = dict(arrays._parts)
    cached = dict(arrays.postings._items)
    build(index_dir, [_article(rng, "a3"), _article(rng, "new")], keep_missing=True)  # an update and an add
    reader = _reader(index_dir)
    assert np.array_equal(arrays.lengths(reader, "folded")[: len(first)], first)
    assert all(arrays._parts[k] is v for k, v in parts.items())  # nothing recomputed for the old segment
    ids, weights = segments.postings(reader, "folded", btext, arrays.postings)
    assert all(arrays.postings._items[k] is v for k, v in cached.items())
    expected_ids, expected_weights, _ = readers.postings(reader, "folded", btext, values=False)
    assert (
        np.array_equal(ids, expected_ids) and np.array_equal(weights, expected_weights) and len(ids) == 32
    )  # deleted ones too
    assert np.array_equal(arrays.live(reader), readers.live(reader))
    assert np.array_equal(arrays.lengths(reader, "exact"), readers.lengths(reader, "exact"))
    for field in ("date", "source", "year"):
        codes, values = arrays.codes(reader, field)
        expected_codes, expected_values = readers.codes(readers.column(reader, field))
        assert values == expected_values and np.array_equal(codes, expected_codes)
    arrays.retain(reader)
    counts = TermCounts()
    for word in ("bảo", "hiểm", "nội", "zzz"):
        assert counts.doc_frequency(reader, "exact", word) == reader.doc_frequency("exact", word)


def test_the_searcher_sees_each_commit_with_its_arrays_kept(tmp_path: Path):
    rng = random.Random(9)
    index_dir = tmp_path / "index"
    build(index_dir, [_article(rng, f"a{i}") for i in range(30)])
    index = SearchIndex(index_dir, load_synonyms())
    from search.searching.results import SearchRequest

    before = index.search(SearchRequest(q="nội dung")).total
    build(index_dir, [Article(id="x", title="Tin mới", body="Nội dung khác.", date="2024-01-01")], keep_missing=True)
    after = index.search(SearchRequest(q="nội dung"))
    assert after.total == before + 1 and after.facets["year"].get("2024") == 1
    assert index.arrays.nbytes() > 0 and index.term_counts.entries() >= 0


def test_stats_report_the_workers_memory(seed_index_dir: Path):
    client = testing.TestClient(create_app(Settings(index_dir=seed_index_dir)))
    client.simulate_get("/suggest", params={"q": "bao"})
    worker = client.simulate_get("/stats").json["worker"]
    assert worker["rss_bytes"] > 0 and worker["peak_rss_bytes"] >= worker["rss_bytes"]
    assert worker["suggest"]["segments"] >= 1 and worker["suggest"]["bytes"] > 0
    assert worker["scored_postings_bytes"] == 0  # none scored before the first search
    client.simulate_get("/search", params={"q": "bão lũ"})
    assert client.simulate_get("/stats").json["worker"]["scored_postings_bytes"] > 0


def test_kept_postings_are_narrow_and_bounded_by_their_bytes(tmp_path: Path):
    index_dir = tmp_path / "index"
    body = "noi dung " * 300 + "bai bao"  # a frequency over 255 keeps a wider weight
    build(
        index_dir,
        [Article(id=f"a{i}", title=f"Tin {i}", body=body if i == 3 else "Nội dung bài báo.") for i in range(40)],
    )
    reader = _reader(index_dir)
    cache = segments.PostingsCache(budget=1 << 20)
    for word, weight_type in (("bai", np.uint8), ("noi", np.float32)):
        btext = reader.schema["folded"].to_bytes(word)
        ids, weights = segments.postings(reader, "folded", btext, cache)
        expected_ids, expected_weights, _ = readers.postings(reader, "folded", btext, values=False)
        assert np.array_equal(ids, expected_ids) and np.array_equal(weights, expected_weights)
        assert ids.dtype == np.int64 and weights.dtype == np.float64
        ((kept_ids, kept_weights),) = [v for k, v in cache._items.items() if k[2] == btext]
        assert kept_ids.dtype == np.uint16 and kept_weights.dtype == weight_type
    assert cache.size == sum(segments.ENTRY_BYTES + i.nbytes + w.nbytes for i, w in cache._items.values())
    small = segments.PostingsCache(budget=segments.ENTRY_BYTES + 100)
    for word in ("bai", "noi", "dung", "tin"):
        segments.postings(reader, "folded", reader.schema["folded"].to_bytes(word), small)
    assert small.size <= segments.ENTRY_BYTES + 100 or len(small._items) == 1
    assert np.array_equal(segments.narrow_ids(np.array([0, 70_000]), 70_001), [0, 70_000])
    assert segments.narrow_ids(np.array([1]), 70_001).dtype == np.int32


def test_kept_postings_join_at_offsets_their_narrow_ids_cannot_hold():
    """Two-byte ids of a later segment plus its offset run past two bytes (an archive of more
    than 65,536 articles in several segments): joined, they are the index's document numbers."""
    parts = [
        (np.array([5, 65_535], dtype=np.uint16), np.array([1, 2], dtype=np.uint8)),
        (np.zeros(0, dtype=np.uint16), np.zeros(0, dtype=np.uint8)),
        (np.array([0, 60_000], dtype=np.uint16), np.array([3.5, 4], dtype=np.float32)),
        (np.array([7], dtype=np.int32), np.array([9], dtype=np.uint8)),
    ]
    ids, weights = segments.joined(parts, [0, 65_536, 65_536, 200_000])
    assert ids.tolist() == [5, 65_535, 65_536, 125_536, 200_007]
    assert weights.tolist() == [1, 2, 3.5, 4, 9]
    assert ids.dtype == np.int64 and weights.dtype == np.float64
