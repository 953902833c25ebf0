from pathlib import Path

import pytest

from search.acronyms import load_synonyms
from search.article import Article
from search.indexer import build, stored_hashes
from search.schema import SchemaMismatch
from search.searcher import SearchIndex, SearchRequest
from search.store import open_index


def article(id: str, body: str = "Nội dung bài viết.") -> Article:
    return Article(id=id, title=f"Tiêu đề {id}", body=body)


def test_adds_updates_and_skips_unchanged(tmp_path: Path):
    first = build(tmp_path, [article("a"), article("b")])
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    generation = open_index(tmp_path).latest_generation()

    same = build(tmp_path, [article("a"), article("b")])
    assert (same.added, same.updated, same.unchanged, same.written) == (0, 0, 2, 0)
    assert open_index(tmp_path).latest_generation() == generation  # nothing was written

    changed = build(tmp_path, [article("a", "Nội dung mới."), article("c")])
    assert (changed.added, changed.updated, changed.unchanged) == (1, 1, 0)
    ix = open_index(tmp_path)
    assert ix.doc_count() == 3
    assert set(stored_hashes(ix)) == {"a", "b", "c"}
    with ix.searcher() as searcher:
        assert searcher.document(id="a")["body"] == "Nội dung mới."


def test_duplicate_ids_in_one_run_are_skipped_with_a_reason(tmp_path: Path):
    report = build(tmp_path, [article("a"), article("a", "khác")])
    assert report.added == 1 and len(report.skipped) == 1
    assert "duplicate" in report.skipped[0].reason


def test_rebuild_starts_from_scratch(tmp_path: Path):
    build(tmp_path, [article("a"), article("b")])
    report = build(tmp_path, [article("c")], rebuild=True)
    assert report.added == 1 and open_index(tmp_path).doc_count() == 1


def test_index_of_another_schema_version_is_refused_until_rebuilt(tmp_path: Path):
    (tmp_path / "_articles_v0_3.toc").write_bytes(b"old")
    (tmp_path / "articles_v0_abc.seg").write_bytes(b"old")
    with pytest.raises(SchemaMismatch, match="--rebuild"):
        open_index(tmp_path)
    with pytest.raises(SchemaMismatch):
        build(tmp_path, [article("a")])
    build(tmp_path, [article("a")], rebuild=True)
    assert open_index(tmp_path).doc_count() == 1
    assert not list(tmp_path.glob("*articles_v0_*"))


def test_a_build_over_two_processes_finds_and_ranks_like_one(tmp_path):
    words = ["bảo hiểm", "xã hội", "y tế", "lao động", "Hà Nội", "thuế", "giáo dục"]
    items = [article(f"n{i}", " ".join(words[(i * k) % len(words)] for k in range(1, 2 + i % 5)))
             for i in range(250)]
    build(tmp_path / "one", items)
    report = build(tmp_path / "two", items, procs=2)
    assert report.added == 250
    one, two = SearchIndex(tmp_path / "one", load_synonyms()), SearchIndex(tmp_path / "two", load_synonyms())
    for q in ("bảo hiểm giáo dục", "thue", "y te lao dong", '"Hà Nội"'):
        a, b = (ix.search(SearchRequest(q=q, per_page=50)) for ix in (one, two))
        assert a.total == b.total > 0
        assert a.facets == b.facets
        if not q.startswith(("y", "b")):  # one clause, under 250 hits: every id on the first pages
            hits = [{h.id for page in range(1, 6) for h in ix.search(SearchRequest(q=q, page=page, per_page=50)).hits}
                    for ix in (one, two)]
            assert hits[0] == hits[1] and len(hits[0]) == a.total
