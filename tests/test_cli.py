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
    assert "<mark>" not in found.output and "004_7bdadf58e2716509" in found.output

    as_json = runner.invoke(main, ["search", "96/NQ-BCS", "--json", "--index-dir", str(index_dir)])
    assert json.loads(as_json.output)["hits"][0]["id"] == "003_50a1d9bb06e22414"


def test_index_reads_environment_and_reports_failures(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.jsonl").write_text(
        '{"id": "a1", "title": "Bảo hiểm y tế", "body": "Thẻ BHYT cho học sinh."}\n'
        "{not json\n", encoding="utf-8")
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
