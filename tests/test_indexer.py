import json
from pathlib import Path

import pytest

from search.corpus.article import Article
from search.corpus.errors import ParseError
from search.index.indexer import build, delete
from search.index.schema import SchemaMismatch, to_document
from search.index.store import create_index, live_dir, open_index
from search.query.acronyms import load_synonyms
from search.query.parse import WEIGHTING
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex
from tests.conftest import stored_hashes


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
    items = [article(f"n{i}", " ".join(words[(i * k) % len(words)] for k in range(1, 2 + i % 5))) for i in range(250)]
    build(tmp_path / "one", items)
    report = build(tmp_path / "two", items, procs=2)
    assert report.added == 250
    one, two = SearchIndex(tmp_path / "one", load_synonyms()), SearchIndex(tmp_path / "two", load_synonyms())
    for q in ("bảo hiểm giáo dục", "thue", "y te lao dong", '"Hà Nội"'):
        a, b = (ix.search(SearchRequest(q=q, per_page=50)) for ix in (one, two))
        assert a.total == b.total > 0
        assert a.facets == b.facets
        if not q.startswith(("y", "b")):  # one clause, under 250 hits: every id on the first pages
            hits = [
                {h.id for page in range(1, 6) for h in ix.search(SearchRequest(q=q, page=page, per_page=50)).hits}
                for ix in (one, two)
            ]
            assert hits[0] == hits[1] and len(hits[0]) == a.total


# ---------------------------------------------------------------------------------------------
# Incremental runs over a corpus: removals, and what protects articles from removal


def from_file(id: str, path: str, body: str = "Nội dung bài viết.") -> Article:
    return Article(id=id, title=f"Tiêu đề {id}", body=body, path=path)


def test_articles_whose_source_is_gone_are_removed(tmp_path: Path):
    build(tmp_path, [from_file("a", "x.jsonl"), from_file("b", "x.jsonl"), from_file("c", "y.txt")])
    report = build(tmp_path, [from_file("a", "x.jsonl")])
    assert report.removed == ["b", "c"] and report.unchanged == 1 and report.written == 2
    assert set(stored_hashes(open_index(tmp_path))) == {"a"}


def test_keep_missing_keeps_them(tmp_path: Path):
    build(tmp_path, [from_file("a", "x.jsonl"), from_file("b", "y.jsonl")])
    report = build(tmp_path, [from_file("c", "z.jsonl")], keep_missing=True)
    assert report.removed == [] and report.added == 1
    assert set(stored_hashes(open_index(tmp_path))) == {"a", "b", "c"}


def test_a_file_that_failed_keeps_its_articles(tmp_path: Path):
    build(tmp_path, [from_file("a", "x.jsonl"), from_file("b", "broken.jsonl"), from_file("c", "bad.txt")])
    report = build(
        tmp_path,
        [
            from_file("a", "x.jsonl"),
            ParseError("broken.jsonl", 7, "invalid JSON"),
            ParseError("bad.txt", None, "not UTF-8 text"),
        ],
    )
    assert report.removed == [] and len(report.kept) == 2 and len(report.failed) == 2
    assert set(stored_hashes(open_index(tmp_path))) == {"a", "b", "c"}


def test_a_run_that_read_nothing_removes_nothing(tmp_path: Path):
    build(tmp_path, [from_file("a", "x.jsonl")])
    report = build(tmp_path, [])
    assert report.removed == [] and report.kept and open_index(tmp_path).doc_count() == 1


def test_articles_not_from_a_file_are_never_removed_by_a_corpus_run(tmp_path: Path):
    build(tmp_path, [from_file("a", "x.jsonl"), article("sent-by-api")])
    report = build(tmp_path, [from_file("a", "x.jsonl")])
    assert report.removed == [] and report.written == 0
    assert set(stored_hashes(open_index(tmp_path))) == {"a", "sent-by-api"}


def test_report_as_json_names_every_failure(tmp_path: Path):
    report = build(tmp_path, [from_file("a", "x.jsonl"), ParseError("x.jsonl", 2, "invalid JSON: oops")])
    data = report.to_json()
    assert data["added"] == 1 and data["failed"] == 1
    assert data["failures"] == [{"path": "x.jsonl", "line": 2, "reason": "invalid JSON: oops"}]
    json.dumps(data)


# ---------------------------------------------------------------------------------------------
# Generations: a fresh build or a rebuild is built beside the live index and switched to


def test_rebuild_is_invisible_to_readers_until_it_switches(tmp_path: Path):
    build(tmp_path, [article("old1"), article("old2")])
    reader = SearchIndex(tmp_path, load_synonyms())
    seen_during: list[int] = []

    def during(item):
        seen_during.append(reader.searcher().doc_count())

    build(tmp_path, [article("new")], rebuild=True, on_item=during)
    assert seen_during == [2]
    assert reader.searcher().doc_count() == 1  # the same reader follows the switch
    assert reader.article("new") is not None and reader.article("old1") is None
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [live_dir(tmp_path).name]


def test_a_rebuild_that_fails_leaves_the_old_index_serving_and_cleans_up(tmp_path: Path):
    build(tmp_path, [article("old")])
    live = live_dir(tmp_path)

    def explode(item):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        build(tmp_path, [article("new")], rebuild=True, on_item=explode)
    assert live_dir(tmp_path) == live and open_index(tmp_path).doc_count() == 1
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == [live]


def test_an_abandoned_build_is_removed_by_the_next_writer(tmp_path: Path):
    build(tmp_path, [article("a")])
    abandoned = tmp_path / "gen-20200101T000000-dead.building"
    abandoned.mkdir()
    (abandoned / "_articles_v1_1.toc").write_bytes(b"half")
    build(tmp_path, [article("a")])
    assert not abandoned.exists() and open_index(tmp_path).doc_count() == 1


def test_an_index_without_generations_is_updated_in_place_and_moved_by_a_rebuild(tmp_path: Path):
    with create_index(tmp_path).writer() as writer:  # the layout before generations
        writer.add_document(**to_document(article("flat"), "2026-01-01T00:00:00+00:00"))
    assert build(tmp_path, [article("flat"), article("more")], keep_missing=True).added == 1
    assert live_dir(tmp_path) == tmp_path and open_index(tmp_path).doc_count() == 2
    build(tmp_path, [article("fresh")], rebuild=True)
    assert live_dir(tmp_path) != tmp_path and open_index(tmp_path).doc_count() == 1
    assert not list(tmp_path.glob("*articles_v*"))


def test_an_older_generation_is_refused_by_the_service(tmp_path: Path):
    old = tmp_path / "gen-20200101T000000-0ld"
    old.mkdir()
    (old / "_articles_v0_3.toc").write_bytes(b"old")
    (tmp_path / "CURRENT").write_text(old.name + "\n")
    with pytest.raises(SchemaMismatch, match="--rebuild"):
        SearchIndex(tmp_path, load_synonyms())
    with pytest.raises(SchemaMismatch):
        build(tmp_path, [article("a")])
    build(tmp_path, [article("a")], rebuild=True)
    assert not old.exists() and SearchIndex(tmp_path, load_synonyms()).searcher().doc_count() == 1


def test_an_open_reader_sees_an_update_and_a_delete_once_committed(tmp_path: Path):
    """Whoosh's `Searcher.refresh()` would keep the old version of a replaced article."""
    build(tmp_path, [article("a", "Bản cũ."), article("b")])
    reader = SearchIndex(tmp_path, load_synonyms())
    assert reader.article("a").fields["body"] == "Bản cũ."
    build(tmp_path, [article("a", "Bản mới."), article("b")], keep_missing=True)
    assert reader.article("a").fields["body"] == "Bản mới."
    assert reader.searcher().doc_count() == 2
    delete(tmp_path, "b")
    assert reader.article("b") is None and reader.searcher().doc_count() == 1


def test_a_reader_reuses_unchanged_segments_and_drops_merged_ones(tmp_path: Path):
    build(tmp_path, [article("a"), article("b")])
    reader = SearchIndex(tmp_path, load_synonyms())
    [(first, _)] = reader.searcher().reader().leaf_readers()
    writer = open_index(tmp_path).writer()
    writer.add_document(**to_document(article("c"), "2026-01-01T00:00:00+00:00"))
    writer.commit(merge=False)
    leaves = [leaf for leaf, _ in reader.searcher().reader().leaf_readers()]
    assert len(leaves) == 2 and leaves[0] is first  # the untouched segment was not reopened
    assert reader.searcher().doc_count() == 3 and reader.searcher().weighting is WEIGHTING

    open_index(tmp_path).writer().commit(optimize=True)  # merges both segments into one
    assert len(reader.searcher().reader().leaf_readers()) == 1
    assert reader.searcher().doc_count() == 3 and reader.search(SearchRequest(q="Tiêu đề a")).total == 3
    assert len(list(reader.searcher().document_numbers(id="a"))) == 1

    delete(tmp_path, "a")  # a deletion in the one segment: its reader must not be reused
    assert reader.article("a") is None and reader.searcher().doc_count() == 2
