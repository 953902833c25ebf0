"""The relevance harness (bench/eval.py) runs end to end on a tiny judged fixture."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

from bench.meaning import in_tune_half
from tests.conftest import ROOT

DOCS = [
    {"id": "d1", "title": "Bảo hiểm xã hội tỉnh Nghệ An", "body": "Ngành bảo hiểm xã hội chi trả lương hưu đúng hạn."},
    {"id": "d2", "title": "Đường sắt cao tốc", "body": "Dự án đường sắt tốc độ cao Bắc Nam được Quốc hội thông qua."},
    {"id": "d3", "title": "Nắng nóng kéo dài", "body": "Miền Trung nắng nóng, người dân cần uống đủ nước."},
]
QUESTIONS = [
    {"qid": "q1", "question": "Ai chi trả lương hưu của bảo hiểm xã hội?", "doc": "d1"},
    {"qid": "q2", "question": "Đường sắt tốc độ cao được ai thông qua?", "doc": "d2"},
    {"qid": "q3", "question": "Lương hưu do BHXH chi trả?", "doc": "d1"},
]
LAWS = [
    {
        "id": "45/2019/QH14",
        "articles": [
            {"id": "1", "text": "Phạm vi điều chỉnh\n\nBộ luật này quy định tiêu chuẩn lao động."},
            {"id": "2", "text": "Thời giờ làm việc\n\nThời giờ làm việc bình thường không quá 08 giờ trong 01 ngày."},
        ],
    }
]
LAW_QUESTIONS = [
    {
        "id": "q-1",
        "text": "Thời giờ làm việc bình thường là bao nhiêu giờ một ngày?",
        "relevant_articles": [{"law_id": "45/2019/QH14", "article_id": "2"}],
    }
]


def write_fixture(data: Path) -> None:
    (data / "vinewsqa").mkdir(parents=True)
    (data / "alqac").mkdir()
    (data / "vinewsqa" / "docs.jsonl").write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in DOCS))
    (data / "vinewsqa" / "qrels-dev.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS))
    for year, name in ((2022, "questions-2022.json"), (2023, "questions-2023-train.json")):
        (data / "alqac" / f"law-{year}.json").write_text(json.dumps(LAWS, ensure_ascii=False))
        questions = (
            LAW_QUESTIONS
            if year == 2022
            else [{"question_id": "DS-1", **{k: v for k, v in q.items() if k != "id"}} for q in LAW_QUESTIONS]
        )
        (data / "alqac" / name).write_text(json.dumps(questions, ensure_ascii=False))


def test_harness_prints_and_writes_one_row_per_engine_set_and_variant(tmp_path: Path) -> None:
    write_fixture(tmp_path / "data")
    out = tmp_path / "eval.md"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval.py"), "--data-dir", str(tmp_path / "data"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [line.split("|")[1:-1] for line in out.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    header, body = rows[0], rows[2:]
    assert [cell.strip() for cell in header[:6]] == ["engine", "set", "variant", "MRR@10", "R@1", "R@10"]
    cells = {(e.strip(), s.split("(")[0].strip(), v.split("(")[0].strip()): float(mrr) for e, s, v, mrr, *_ in body}
    engines, sets, variants = ({key[i] for key in cells} for i in range(3))
    assert engines == {"vnsearch", "sqlite-fts5", "tantivy"}
    assert sets == {"vinewsqa-dev", "alqac-2022", "alqac-2023"}
    assert variants == {"as-written", "no-diacritics", "nfd", "acronyms-swapped"}
    # Only the ViNewsQA fixture has questions with an acronym or a full form ("BHXH"), swapped.
    assert len(body) == 27 + 3
    assert "| vnsearch | vinewsqa-dev (3 q) | acronyms-swapped (2 q) |" in run.stdout
    # Each question has one obvious answer: vnsearch ranks it first however it is typed.
    assert all(
        cells[("vnsearch", s, v)] == 1.0 for s, v in itertools.product(sets, variants) if ("vnsearch", s, v) in cells
    )
    assert "| vnsearch | alqac-2022 (1 q) | as-written | 1.000 |" in run.stdout


def test_harness_refuses_a_missing_data_folder(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval.py"), "--data-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "VNSEARCH_DATA_DIR" in run.stderr


def test_meaning_candidates_run_beside_todays_ranking_on_both_halves(tmp_path: Path) -> None:
    """The issue-17 candidates (bench/meaning.py) are engines of the same run: each is asked the
    same questions as `vnsearch`, and the halves of ViNewsQA dev split its questions."""
    write_fixture(tmp_path / "data")
    out = tmp_path / "eval.md"
    engines = [
        "vnsearch",
        "vnsearch+none",
        "vnsearch+ft-rerank",
        "vnsearch+ft-expand",
        "vnsearch+rm3",
        "vnsearch+units",
        "vnsearch+combined",
    ]
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval.py"), "--data-dir", str(tmp_path / "data"), "--out", str(out),
         "--sets", "vinewsqa-dev:tune", "vinewsqa-dev:held", "--engines", *engines, "--variants", "as-written"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )  # fmt: skip
    rows = [line.split("|")[1:-1] for line in out.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    cells = {(e.strip(), s.strip()): float(mrr) for e, s, _, mrr, *_ in rows[2:]}
    # Every fixture article hashes into the tune half: the held half has no question, so no row.
    assert all(in_tune_half(q["doc"]) for q in QUESTIONS)
    assert {s for _, s in cells} == {f"vinewsqa-dev:tune ({len(QUESTIONS)} q)"}
    assert {e for e, _ in cells} == set(engines)
    # One obvious answer per question: the candidates must not lose it.
    assert all(mrr == 1.0 for mrr in cells.values())


def test_halves_split_questions_by_their_article() -> None:
    """About half the articles each way, and the same halves in every run (no salted hash)."""
    ids = [f"doc-{n}" for n in range(200)]
    tune = [i for i in ids if in_tune_half(i)]
    assert 60 < len(tune) < 140
    script = "from bench.meaning import in_tune_half; print(sum(in_tune_half(f'doc-{n}') for n in range(200)))"
    other = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PYTHONHASHSEED": "7"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(other.stdout) == len(tune)
