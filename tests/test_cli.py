import json
from pathlib import Path

from click.testing import CliRunner

from search.cli import main
from tests.conftest import CORPUS


def test_index_then_reindex_then_search(tmp_path: Path):
    runner = CliRunner()
    index_dir = tmp_path / "idx"
    result = runner.invoke(main, ["index", str(CORPUS), "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert "Indexed 5 articles" in result.output and "0 failed" in result.output

    again = runner.invoke(main, ["index", str(CORPUS), "--index-dir", str(index_dir)])
    assert again.exit_code == 0 and "Nothing to write" in again.output and "5 unchanged" in again.output

    found = runner.invoke(main, ["search", "quang ngai", "--index-dir", str(index_dir)])
    assert found.exit_code == 0, found.output
    assert "1. Quảng Ngãi tăng cường" in found.output
    assert "Did you mean: quảng ngãi?" in found.output
    assert "<mark>" not in found.output and "004_7bdadf58e2716509" in found.output

    as_json = runner.invoke(main, ["search", "96/NQ-BCS", "--json", "--index-dir", str(index_dir)])
    assert json.loads(as_json.output)["hits"][0]["id"] == "003_50a1d9bb06e22414"


def test_index_reads_environment_and_reports_failures(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.jsonl").write_text(
        '{"id": "a1", "title": "Bảo hiểm y tế", "body": "Thẻ BHYT cho học sinh."}\n{not json\n', encoding="utf-8"
    )
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    env = {"VNSEARCH_INDEX_DIR": str(tmp_path / "idx"), "VNSEARCH_CORPUS_DIR": str(corpus)}
    result = CliRunner().invoke(main, ["index"], env=env)
    assert result.exit_code == 1
    assert "Indexed 1 articles" in result.output and "2 failed" in result.output
    assert "good.jsonl:2" in result.output and "empty.txt" in result.output
    found = CliRunner().invoke(main, ["search", "bao hiem y te"], env=env)
    assert "Bảo hiểm y tế" in found.output


def test_search_errors_are_messages_not_tracebacks(tmp_path: Path):
    runner = CliRunner()
    missing = runner.invoke(main, ["search", "bhxh", "--index-dir", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "vnsearch index" in missing.output
    bad_date = runner.invoke(main, ["search", "bhxh", "--from", "2022-13", "--index-dir", str(tmp_path)])
    assert bad_date.exit_code == 1 and "not" in bad_date.output and "Traceback" not in bad_date.output


def _jsonl(path: Path, *ids: str, body: str = "Bảo hiểm xã hội tỉnh.") -> None:
    lines = [json.dumps({"id": i, "title": f"Bài {i}", "body": body}, ensure_ascii=False) for i in ids]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_incremental_run_reports_each_kind_of_change_as_json(tmp_path: Path):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "idx"
    corpus.mkdir()
    _jsonl(corpus / "a.jsonl", "a1", "a2")
    _jsonl(corpus / "b.jsonl", "b1")
    runner = CliRunner()
    args = ["index", str(corpus), "--index-dir", str(index_dir), "--json"]
    assert json.loads(runner.invoke(main, args).output)["added"] == 3

    _jsonl(corpus / "a.jsonl", "a1", "a3")
    (corpus / "a.jsonl").write_text(
        (corpus / "a.jsonl").read_text(encoding="utf-8").replace('"Bài a1"', '"Bài a1 (sửa)"'), encoding="utf-8"
    )
    (corpus / "b.jsonl").unlink()
    (corpus / "c.jsonl").write_text('{"id": "c1", "title": "x"\n', encoding="utf-8")
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("added", "updated", "unchanged", "removed", "failed")} == {
        "added": 1,
        "updated": 1,
        "unchanged": 0,
        "removed": 2,
        "failed": 1,
    }
    assert sorted(summary["removed_ids"]) == ["a2", "b1"]
    assert summary["failures"][0]["path"] == "c.jsonl" and summary["failures"][0]["line"] == 1

    (corpus / "c.jsonl").unlink()
    noop = runner.invoke(main, args)
    assert noop.exit_code == 0 and json.loads(noop.output)["written"] == 0


def test_keep_missing_and_the_text_summary(tmp_path: Path):
    corpus, extra, index_dir = tmp_path / "corpus", tmp_path / "extra", tmp_path / "idx"
    corpus.mkdir(), extra.mkdir()
    _jsonl(corpus / "a.jsonl", "a1")
    _jsonl(extra / "new.jsonl", "n1")
    runner = CliRunner()
    runner.invoke(main, ["index", str(corpus), "--index-dir", str(index_dir)])
    kept = runner.invoke(main, ["index", str(extra), "--index-dir", str(index_dir), "--keep-missing"])
    assert kept.exit_code == 0 and "1 added" in kept.output and "0 removed" in kept.output
    mirrored = runner.invoke(main, ["index", str(extra), "--index-dir", str(index_dir)])
    assert mirrored.exit_code == 0 and "1 removed" in mirrored.output and "  a1" in mirrored.output
    rebuilt = runner.invoke(main, ["index", str(corpus), "--index-dir", str(index_dir), "--rebuild"])
    assert rebuilt.exit_code == 0 and "new index" in rebuilt.output and "switched" in rebuilt.output


def test_an_older_index_is_a_clear_error_with_exit_status_2(tmp_path: Path):
    (tmp_path / "_articles_v0_1.toc").write_bytes(b"old")
    result = CliRunner().invoke(main, ["index", str(CORPUS), "--index-dir", str(tmp_path), "--json"])
    assert result.exit_code == 2 and "--rebuild" in json.loads(result.stdout)["error"]


SAMPLE = Path(__file__).parent / "data" / "ktlab-sample.jsonl"


def _sample_index(tmp_path: Path) -> list[str]:
    result = CliRunner().invoke(main, ["index", str(SAMPLE), str(CORPUS), "--index-dir", str(tmp_path / "ix")])
    assert result.exit_code == 0, result.output
    return ["--index-dir", str(tmp_path / "ix")]


def test_search_formats_for_spreadsheets_scripts_and_feed_readers(tmp_path: Path):
    import csv
    import io

    import feedparser

    where = _sample_index(tmp_path)
    runner = CliRunner()
    as_csv = runner.invoke(main, ["search", "vàng", "--format", "csv", "--sort", "date", *where])
    assert as_csv.exit_code == 0 and as_csv.output.startswith("\ufeffid,date,source,author,title,url,score")
    rows = list(csv.DictReader(io.StringIO(as_csv.output.lstrip("\ufeff"))))
    assert rows[0]["date"] == "2013-11-08 00:01" and len(rows) >= 3
    lines = runner.invoke(main, ["search", "vàng", "--format", "jsonl", *where]).output.splitlines()
    assert len(lines) == len(rows) and json.loads(lines[0])["updated"].endswith("+07:00")
    atom = runner.invoke(main, ["search", "vàng", "--format", "atom", *where]).output
    feed = feedparser.parse(atom.encode())
    assert not feed.bozo and len(feed.entries) == len(rows)
    assert json.loads(runner.invoke(main, ["search", "vàng", "--json", *where]).output)["total"] == len(rows)


def test_search_prints_a_timeline_with_its_empty_periods(tmp_path: Path):
    where = _sample_index(tmp_path)
    out = CliRunner().invoke(main, ["search", "Pakistan OR vàng OR ảnh", "--histogram", "month", *where]).output
    assert "Timeline by month (1 undated):" in out  # a seed article without a date mentions "ảnh"
    months = [line.split()[0] for line in out.splitlines() if line.startswith("  2013-")]
    assert months == [f"2013-{m:02d}-01" for m in range(6, 13)]  # from June (the photo contest) on
    assert "  2013-07-01       0  " in out
    bad = CliRunner().invoke(main, ["search", "vàng", "--per-page", "200", *where])
    assert bad.exit_code == 2 and "--format csv" in bad.output
