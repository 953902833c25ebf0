"""Hostile corpus files: each bad file (or JSONL line) is one error, and the rest is indexed.

Covers random bytes, truncated UTF-8, empty files, binary data named .txt, a JSONL file with a
broken line in the middle, deeply nested JSON, lone surrogates, a file name that is not UTF-8,
and a 200 MB file read without holding it in memory.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.corpus.article import Article
from search.corpus.errors import ParseError
from search.corpus.files import iter_corpus, read_file
from search.index.indexer import build
from search.index.store import open_index

GOOD_TEXT = "Bảo hiểm xã hội tỉnh Quảng Ngãi\n\nNgười lao động được hưởng chế độ bảo hiểm xã hội theo quy định.\n"
fuzz = settings(
    max_examples=int(os.environ.get("VNSEARCH_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def good_line(n: int) -> str:
    return json.dumps(
        {"id": f"j{n}", "title": f"Tin số {n}", "body": f"Nội dung bài {n} về bảo hiểm y tế."}, ensure_ascii=False
    )


@pytest.fixture
def hostile_corpus(tmp_path: Path) -> Path:
    """A folder mixing good articles with every kind of bad file, and what each should give."""
    root = tmp_path / "corpus"
    root.mkdir()
    rng = random.Random(7)
    (root / "good1.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (root / "sub").mkdir()
    (root / "sub" / "good2.txt").write_text(GOOD_TEXT.replace("Quảng Ngãi", "Nghệ An"), encoding="utf-8")
    (root / "random.txt").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    (root / "truncated.txt").write_bytes(GOOD_TEXT.encode("utf-8")[:-4] + "ả".encode()[:1])
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.txt").write_bytes(b" \n\t\r\n")
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (root / "controls.txt").write_bytes(b"\x01\x02\x03\x1b[0m" * 200 + b"chu")
    (root / "utf16.txt").write_bytes(GOOD_TEXT.replace("Quảng Ngãi", "Hà Tĩnh").encode("utf-16"))  # readable
    (root / "huge.txt").write_bytes(b"x" * 5000)  # over the test's 4500-byte article limit
    lines = [
        good_line(1),
        '{"id": "j2", "title": "hỏng',
        good_line(3),
        '{"id": "deep", "title": "t", "body": "b", "x": ' + "[" * 2000 + "]" * 2000 + "}",
        "[" * 100_000,
        '{"id": "\\ud800", "title": "t", "body": "b"}',
        json.dumps({"id": "long", "title": "t", "body": "y" * 5000}),
        good_line(4),
    ]
    (root / "mixed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "cut.jsonl.gz").write_bytes(gzip.compress(("\n".join(good_line(n) for n in range(5, 50))).encode())[:300])
    (root / "nested.jsonl").write_text("{" * 10 + "\n", encoding="utf-8")
    os.close(os.open(os.fsencode(root) + b"/bad-\xff-name.txt", os.O_WRONLY | os.O_CREAT, 0o644))
    return root


def test_every_bad_file_is_one_error_and_the_rest_is_indexed(hostile_corpus: Path, tmp_path: Path):
    items = list(iter_corpus([hostile_corpus], max_article_bytes=4500))
    report = build(tmp_path / "index", items)
    errors = {(e.path, e.line): e.reason for e in report.failed}
    for name in (
        "random.txt",
        "truncated.txt",
        "empty.txt",
        "blank.txt",
        "image.txt",
        "controls.txt",
        "huge.txt",
        "nested.jsonl",
        "bad-\\xff-name.txt",
    ):
        assert sum(path == name for path, _ in errors) == 1, (name, errors)
    assert "larger than 4500 bytes" in errors[("huge.txt", None)]
    assert "not UTF-8" in errors[("bad-\\xff-name.txt", None)]
    assert {line for path, line in errors if path == "mixed.jsonl"} == {2, 4, 5, 6, 7}
    assert "nested too deeply" in errors[("mixed.jsonl", 4)]
    assert "surrogate" in errors[("mixed.jsonl", 6)]
    assert "longer than 4500 bytes" in errors[("mixed.jsonl", 7)]
    assert any(path == "cut.jsonl.gz" and "cannot read" in reason for (path, _), reason in errors.items())
    ix = open_index(tmp_path / "index")
    with ix.searcher() as searcher:
        ids = {fields["id"] for fields in searcher.all_stored_fields()}
    cut_ids = {a.id for a in items if isinstance(a, Article) and a.path == "cut.jsonl.gz"}
    assert ids == {"good1", "sub/good2", "utf16", "j1", "j3", "j4"} | cut_ids
    assert report.added == len(ids)


@fuzz
@given(st.binary(max_size=3000))
def test_random_bytes_as_txt_give_one_article_or_one_error(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("bytes")
    (root / "x.txt").write_bytes(data)
    items = list(read_file(root / "x.txt", root))
    assert len(items) == 1 and isinstance(items[0], (Article, ParseError))


@fuzz
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from(
                [
                    b'{"id": "a", "title": "t", "body": "b"}',
                    b'{"id": "a"',
                    b"[" * 5000,
                    b'{"id": "\\udfff", "title": "t", "body": "b"}',
                    b'{"id": "b", "title": "t", "body": "b", "date": "2022-02-30"}',
                    b"\xef\xbb\xbf{}",
                    b"null",
                    b"\x00",
                ]
            ),
        ),
        max_size=20,
    )
)
def test_random_jsonl_lines_never_stop_the_batch(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("jsonl")
    (root / "x.jsonl").write_bytes(b"\n".join(lines))
    items = list(read_file(root / "x.jsonl", root))
    assert all(isinstance(item, (Article, ParseError)) for item in items)
    report = build(root / "index", items)
    assert report.added + report.unchanged + len(report.skipped) == sum(isinstance(i, Article) for i in items)


def test_a_lone_surrogate_from_a_library_caller_is_a_failure_not_a_crash(tmp_path: Path):
    report = build(tmp_path, [Article(id="ok", title="t", body="b"), Article(id="bad", title="\udc80", body="b")])
    assert report.added == 1 and len(report.failed) == 1 and "surrogate" in report.failed[0].reason


_MEASURE = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    from search.corpus.files import iter_corpus
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    items = [(type(i).__name__, getattr(i, "id", None) or i.reason) for i in iter_corpus([Path(sys.argv[1])])]
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(grown // 1024, items)
""")


def test_200_mb_files_are_refused_without_reading_them_into_memory(tmp_path: Path):
    """A 200 MB .txt and a JSONL file whose middle line is 200 MB: one error each, the JSONL's
    other lines indexed, and the reader's peak memory grows by far less than 200 MB."""
    root = tmp_path / "corpus"
    root.mkdir()
    with open(root / "dump.txt", "wb") as out:
        out.truncate(200 << 20)  # sparse: costs no disk, reads as 200 MB of NULs
    with open(root / "big.jsonl", "wb") as out:
        out.write(good_line(1).encode() + b"\n")
        chunk = b"x" * (1 << 20)
        for _ in range(200):
            out.write(chunk)
        out.write(b"\n" + good_line(2).encode() + b"\n")
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    grown_mb, items = proc.stdout.split(" ", 1)
    assert int(grown_mb) < 40, grown_mb
    assert "('Article', 'j1')" in items and "('Article', 'j2')" in items
    assert "line longer than" in items and "file larger than" in items
