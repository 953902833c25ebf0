"""The in-memory posting pool must give the field writer exactly what Whoosh's own pool gives,
in every writer the indexer uses, and keep within its budget by writing more segments."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from whoosh.index import create_in
from whoosh.writing import PostingPool, SegmentWriter

from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.index import pool as pool_module
from search.index.engine.codec import Codec
from search.index.engine.writers import PoolMpWriter, PoolWriter
from search.index.indexer import build
from search.index.pool import MemoryPool
from search.index.schema import build_schema, to_document
from search.index.store import open_index

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
#: Articles in the built indexes: more than one batch of Whoosh's multi-process writer.
COUNT = 120

#: Text that stresses the analysis: NFD input, both tone placements, document numbers, numbers
#: with separators, acronyms, punctuation runs, a lone letter, mixed scripts and repeats.
AWKWARD = Article(
    id="awkward/1",
    title="Hoà bình — HOÀ BÌNH — hòa bình: 96/NQ-BCS, 05/2019/NQ-HĐTP",
    body=(
        "Thuý Kiều, thúy kiều; ĐẢNG ủy... BHXH & LĐTB&XH 252.199 đồng (88,7%) !!! a\n\n"
        "Tiếng Việt " * 3 + "naïve café 東京 ｆｕｌｌｗｉｄｔｈ x² ½ — đ Đ đđ\n\n" + "bảo hiểm xã hội " * 40
    ),
    date="2019-05",
    source='Báo "Thử"',
)


def _articles() -> list[Article]:
    return [a for a in iter_corpus([CORPUS]) if isinstance(a, Article)] + [AWKWARD]


def _many(count: int) -> list[Article]:
    """`count` distinct articles made from the seed corpus: each a seed article with a sentence
    of its own, so terms are shared across many documents and some are new in each."""
    seeds = _articles()
    return [
        replace(
            seeds[n % len(seeds)],
            id=f"many/{n}",
            path=None,
            body=f"{seeds[n % len(seeds)].body}\n\nBài số {n}, mã {n * 7919 % 1000}/QĐ-UBND.",
        )
        for n in range(count)
    ]


def _segment_files(index_dir: Path, writer_class: type, **kwargs: object) -> dict[str, bytes]:
    """Every file of the one segment written, by its name without the (random) segment id."""
    index_dir.mkdir()
    ix = create_in(str(index_dir), build_schema())
    writer = writer_class(ix, compound=False, codec=Codec(), **kwargs)
    for article in _articles():
        writer.add_document(**to_document(article, "2026-01-01T00:00:00+00:00"))
    writer.commit()
    (segment,) = ix._segments()
    segid = segment.segment_id()
    return {p.name.replace(segid, ""): p.read_bytes() for p in index_dir.iterdir() if segid in p.name}


def test_segment_files_equal_whooshs_writer(tmp_path):
    ours = _segment_files(tmp_path / "ours", PoolWriter)
    assert {".trm", ".pst", "._stored.col", "._pairs_len.col"} <= set(ours)
    assert ours == _segment_files(tmp_path / "stock", SegmentWriter)


def _postings_of(items) -> list[tuple]:
    return [tuple(item) for item in items]


@pytest.mark.parametrize("sort_postings", [1 << 21, 7])
def test_pool_yields_what_whooshs_pool_yields_from_any_order(tmp_path, monkeypatch, sort_postings):
    """Postings arriving out of document order (a merge adds them term by term) come out in
    Whoosh's order, duplicates of a term and document included, whether a field's postings are
    put in order at once or a few terms at a time, and a weight no float32 holds exactly (a
    fractional boost) comes out unrounded, as do the field's weights before it."""
    monkeypatch.setattr(pool_module, "_SORT_POSTINGS", sort_postings)
    schema = build_schema()
    postings = []
    for docnum, article in enumerate(_articles()):
        doc = to_document(article, "2026-01-01T00:00:00+00:00")
        for name in ("exact", "folded", "pairs", "id", "source"):
            if name in doc:
                postings += [(name, t, docnum, w, v) for t, _, w, v in schema[name].index(doc[name])]
    postings.append(("exact", postings[0][1], 0, 2.0, b"\x01\x07"))  # same term and document again
    random.Random(6).shuffle(postings)
    postings.append(("source", b"fractional", 0, 0.1, b""))  # after the field's whole weights
    whoosh_pool = PostingPool(_TempStore(tmp_path), None, limitmb=1)
    ours = MemoryPool()
    for item in postings:
        whoosh_pool.add(item)
        ours.add(item)
    expected = _postings_of(whoosh_pool.iter_postings())
    assert len(expected) == len(postings) and expected == sorted(postings)
    assert ours.fieldnames == whoosh_pool.fieldnames
    assert _postings_of(ours.iter_postings()) == expected
    assert len(ours) == 0  # the flush emptied it


def test_text_postings_through_numbered_words_equal_the_fields_columns():
    """A document's text fields added through the segment's numbered words (`add_text`) give
    the postings and field lengths of the fields' own columns, for documents whose words are
    new, seen before, or new to one field only (case variants share an exact term), with a
    merge's pair postings added as bytes into the same pool at the commit, after the documents
    (where a term of both is counted twice against the budget, which no longer matters). Whether
    the pool is over a budget is told right without the pair terms counted first."""
    schema = build_schema()
    numbered, columns = MemoryPool(), MemoryPool()
    articles = _many(30)
    for docnum, article in enumerate(articles):
        doc = to_document(article, "2026-01-01T00:00:00+00:00")
        for name in ("exact", "folded", "pairs"):
            field, boost = schema[name], 1.0 + docnum % 3
            length = numbered.add_text(name, docnum + 1, field, doc[name], boost)
            cols = field.posting_columns(doc[name])
            assert length == columns.add_columns(name, docnum + 1, cols, boost, field.scorable)
        limits = [columns.nbytes() + delta for delta in (-20_000, -1, 0, 1, 5_000, 100_000)]
        over = [numbered.over(limit) for limit in limits]  # before nbytes() counts the pairs
        assert numbered.nbytes() == columns.nbytes()
        assert over == [columns.nbytes() > limit for limit in limits]
    for pool in (numbered, columns):
        pool.add(("pairs", b"bao_hiem", 0, 3.0, b""))
        pool.add(("pairs", b"zzz_zzz", 0, 1.0, b""))
    assert numbered.fieldnames == columns.fieldnames
    assert _postings_of(numbered.iter_postings()) == _postings_of(columns.iter_postings())


class _TempStore:
    """The part of a Whoosh storage `PostingPool` spills its runs through."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def create_file(self, name: str):
        return _Raw(open(self.folder / name, "wb"))

    def open_file(self, name: str):
        return _Raw(open(self.folder / name, "rb"))

    def delete_file(self, name: str) -> None:
        (self.folder / name).unlink()


class _Raw:
    def __init__(self, f) -> None:
        self.f = f

    def raw_file(self):
        return self.f


def _index_postings(index_dir: Path) -> dict[tuple[str, bytes], list[tuple[str, float, bytes]]]:
    """Every live posting of an index as (field, term) -> sorted (article id, weight, value):
    the same whatever the segments and document numbers."""
    ix = open_index(index_dir)
    found: dict[tuple[str, bytes], list[tuple[str, float, bytes]]] = {}
    with ix.reader() as reader:
        ids = reader.column_reader("id")
        for fieldname, term in reader.all_terms():
            matcher = reader.postings(fieldname, term)
            rows = []
            while matcher.is_active():
                rows.append((ids[matcher.id()], matcher.weight(), matcher.value()))
                matcher.next()
            if rows:  # a term of deleted documents only stays in the term table until a merge
                found[fieldname, term] = sorted(rows)
    return found


def _stored(index_dir: Path) -> dict[str, tuple[dict, int]]:
    """Article id -> (stored fields but when each was written, length of the exact field)."""
    with open_index(index_dir).reader() as reader:
        return {
            fields["id"]: ({k: v for k, v in fields.items() if k != "indexed"}, reader.doc_field_length(n, "exact"))
            for n, fields in reader.iter_docs()
        }


def _segment_count(index_dir: Path) -> int:
    return len(open_index(index_dir)._segments())


@pytest.fixture(scope="module")
def one_segment(tmp_path_factory) -> Path:
    index_dir = tmp_path_factory.mktemp("one-segment")
    build(index_dir, _many(COUNT))
    assert _segment_count(index_dir) == 1
    return index_dir


def test_a_full_pool_writes_a_segment_and_goes_on(tmp_path, one_segment):
    build(tmp_path, _many(COUNT), pool_mb=1)
    assert _segment_count(tmp_path) >= 3
    assert _index_postings(tmp_path) == _index_postings(one_segment)
    assert _stored(tmp_path) == _stored(one_segment)


def test_multi_process_build_equals_single_process(tmp_path, one_segment):
    build(tmp_path / "two", _many(COUNT), procs=2)  # batches of 100 articles: two processes
    assert _index_postings(tmp_path / "two") == _index_postings(one_segment)
    assert _stored(tmp_path / "two") == _stored(one_segment)
    build(tmp_path / "small", _many(COUNT), procs=2, pool_mb=1)  # the processes flush too
    assert _segment_count(tmp_path / "small") >= 3
    assert _index_postings(tmp_path / "small") == _index_postings(one_segment)


def test_updates_and_merges_equal_a_fresh_build(tmp_path, one_segment):
    """Articles added one commit at a time (Whoosh merges the small segments through the pool
    as it goes), some replaced, end up indexed exactly as in one build."""
    articles = _many(COUNT)
    build(tmp_path, articles[:-10])
    for article in articles[-10:]:
        build(tmp_path, [article], keep_missing=True)
    changed = replace(articles[3], body=articles[3].body + " Đã sửa.")
    build(tmp_path, [changed], keep_missing=True)
    assert _segment_count(tmp_path) < 10  # merged on the way
    build(tmp_path, [articles[3]], keep_missing=True)
    assert _index_postings(tmp_path) == _index_postings(one_segment)
    assert _stored(tmp_path) == _stored(one_segment)


def test_a_cancelled_multi_process_build_stops_its_processes(tmp_path):
    ix = create_in(str(tmp_path), build_schema())
    writer = PoolMpWriter(ix, procs=2, batchsize=10, codec=Codec())
    for article in _many(30):
        writer.add_document(**to_document(article, "2026-01-01T00:00:00+00:00"))
    assert writer.tasks
    writer.cancel()
    assert not any(task.is_alive() for task in writer.tasks)
    assert ix.doc_count_all() == 0


def test_the_processes_of_a_build_share_its_budget(tmp_path):
    writer = PoolMpWriter(create_in(str(tmp_path), build_schema()), procs=2, pool_mb=64, codec=Codec())
    try:
        assert writer.subargs["pool_mb"] == 32 and writer.pool_limit == 32 * 2**20
    finally:
        writer.cancel()
