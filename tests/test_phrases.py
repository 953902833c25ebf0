"""Phrase matching must find exactly where Whoosh's phrase query finds the words in order,
whether a word's positions are decoded in the candidates' blocks, decoded whole and kept, or
read back from the positions kept by an earlier phrase."""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh import query as wq

from search.corpus.article import Article
from search.index.engine import readers
from search.index.engine.segments import PostingsCache, SegmentArrays
from search.index.indexer import build
from search.index.schema import to_document
from search.index.store import open_index
from search.searching import phrases
from search.searching.evaluate import Evaluator

WORDS = "có người của các cũng đã thị đô để phát hiện ủy ban nhân dân hà nội".split()
FOLDED = "co nguoi cua cac cung da thi do de phat hien uy ban nhan dan ha noi".split()


def _articles(rng: random.Random, count: int, version: int) -> list[Article]:
    out = []
    for n in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 80))]
        out.append(Article(id=f"a{n}", title=" ".join(words[:4]), body=" ".join(words[4:]) + f". v{version}"))
    return out


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory):
    """Several segments with deletions, and one article longer than 65,536 words (positions
    that do not fit two bytes)."""
    rng = random.Random(15)
    index_dir = tmp_path_factory.mktemp("phrases")
    long_body = " ".join(rng.choice(WORDS) for _ in range(70_000)) + " có người"
    articles = _articles(rng, 300, 1) + [Article(id="long", title="dài", body=long_body)]
    build(index_dir, articles, procs=2)
    writer = open_index(index_dir).writer()
    for article in _articles(rng, 80, 2):
        writer.update_document(**to_document(article, "2026-01-01T00:00:00+00:00"))
    writer.commit(merge=False)
    with open_index(index_dir).searcher() as found:
        assert len(list(found.reader().leaf_readers())) > 2 and found.reader().has_deletions()
        yield found


def _phrases(count: int) -> list[tuple[str, ...]]:
    rng = random.Random(7)
    out = [("co", "nguoi"), ("co", "co"), ("ha", "noi", "ha", "noi"), ("uy", "ban", "nhan", "dan")]
    while len(out) < count:
        out.append(tuple(rng.choice(FOLDED) for _ in range(rng.randint(2, 4))))
    return out


@pytest.fixture(scope="module")
def whooshs(searcher):
    """Where Whoosh's phrase query finds each phrase (asked once per phrase: it is slow)."""
    return {words: sorted(searcher.docs_for_query(wq.Phrase("folded", list(words)))) for words in _phrases(40)}


@pytest.mark.parametrize("share", [0, 1, phrases.WHOLE_SHARE, 10**9])
def test_the_same_documents_as_whooshs_decoded_or_kept(searcher, whooshs, monkeypatch, share):
    """With `share` 0 no word is read whole, with 10**9 every word is; the second pass reads
    the kept positions. Deleted documents are Whoosh's to leave out, so they are left out here."""
    monkeypatch.setattr(phrases, "WHOLE_SHARE", share)
    evaluator = Evaluator(searcher)
    reader = searcher.reader()
    live = evaluator.live
    kept = PostingsCache()
    for round_ in range(2):
        for words in _phrases(40):
            term_ids = [evaluator.term("folded", word).ids for word in words]
            for positions in (None, kept):
                found = phrases.matching(reader, "folded", words, term_ids, None, positions)
                assert found.tolist() == sorted(found.tolist())
                assert [int(d) for d in found if live[d]] == whooshs[words], (words, round_)
    if share:
        # the long article's positions do not fit two bytes: its segment's keys take eight
        assert kept.size and any(keys.dtype == np.int64 for keys, _ in kept._items.values())
    else:
        assert not kept.size


def test_kept_positions_are_read_back_not_decoded_again(searcher, monkeypatch):
    arrays = SegmentArrays()
    reader = searcher.reader()
    first = Evaluator(searcher, arrays=arrays)
    words = ("co", "nguoi")
    expected = first.phrase("folded", words).ids
    assert len(arrays.positions._items) == 2 * len(readers.leaves(reader))
    decoded: list[bytes] = []
    original = readers.postings

    def counted(*args, **kwargs):
        if kwargs.get("values"):  # positions, not the words' document numbers
            decoded.append(args[2])
        return original(*args, **kwargs)

    monkeypatch.setattr(readers, "postings", counted)
    again = Evaluator(searcher, arrays=arrays)  # a new generation's evaluator: nothing in its own cache
    arrays.postings.retain(set())  # the phrase's own answer forgotten: its words must be read
    assert np.array_equal(again.phrase("folded", words).ids, expected)
    assert b"co" not in decoded and b"nguoi" not in decoded


def test_intersections_by_search_and_by_merge():
    rng = np.random.default_rng(3)
    for small, large in [(5, 100_000), (50_000, 60_000), (0, 10), (1, 1), (30_000, 30_000)]:
        a = np.unique(rng.integers(0, 200_000, small))
        b = np.unique(rng.integers(0, 200_000, large))
        for x, y in ((a, b), (b, a)):
            got = phrases.intersect(x, y)
            assert got.dtype == (x if len(x) <= len(y) else y).dtype
            assert np.array_equal(got, np.intersect1d(x, y))
