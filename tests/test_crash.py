"""Reindexing killed with SIGKILL, for real, in a subprocess, at several points.

Each case starts from a committed index of corpus version 1, runs `vnsearch index` on version 2
(articles added, changed, and a file removed) in a child process that dies by SIGKILL at a chosen
point, then checks that the index opens and answers with exactly one of the two complete states,
that no lock is left behind, and that the next run completes the job: every article once, with
its latest content.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search.corpus.files import iter_corpus
from search.index.indexer import build
from search.index.store import live_dir, open_index
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex
from tests.conftest import ROOT, stored_hashes

pytestmark = pytest.mark.slow

#: Runs the CLI after arranging for the process to SIGKILL itself at one point: (point, n).
_CHILD = r"""
import os, signal, sys
import whoosh.filedb.filestore as filestore
import whoosh.writing as writing
import search.index.engine.writers as pool
import search.index.store as store

point, n = sys.argv[1], int(sys.argv[2])

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def counting(original, name):
    calls = [0]
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == n:
            die()
        return original(*args, **kwargs)
    return wrapper

if point == "add":  # while documents are being added, before anything is committed
    pool.PoolWriter.add_document = counting(pool.PoolWriter.add_document, "add")
elif point == "toc":  # the n-th table of contents written but not yet renamed into place:
    rename = filestore.FileStorage.rename_file  # in a commit, the segment files are complete
    tocs = [0]
    def rename_file(self, frm, to, safe=False):
        if to.endswith(".toc"):
            tocs[0] += 1
            if tocs[0] == n:
                die()
        return rename(self, frm, to, safe)
    filestore.FileStorage.rename_file = rename_file
elif point == "committed":  # just after the commit, before the run cleans up and reports
    commit = writing.SegmentWriter.commit
    def commit_then_die(self, *args, **kwargs):
        commit(self, *args, **kwargs)
        die()
    writing.SegmentWriter.commit = commit_then_die
elif point == "switch":  # a rebuild complete on disk, killed just before the pointer switch
    replace = os.replace
    def replace_then(src, dst):
        if str(dst).endswith("CURRENT"):
            die()
        return replace(src, dst)
    store.os.replace = replace_then

from search.cli import main

main(sys.argv[3:])
"""


def _write_corpus(root: Path, version: int) -> None:
    """Version 1: files a, b, c with 60 articles each. Version 2: every 3rd article of `a`
    changed, 40 new articles in `d`, file `b` gone."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    files = {"a": range(60), "b": range(60, 120), "c": range(120, 180)}
    if version == 2:
        del files["b"]
        files["d"] = range(180, 220)
    for name, numbers in files.items():
        lines = []
        for n in numbers:
            edited = version == 2 and name == "a" and n % 3 == 0
            body = f"Bài số {n} về bảo hiểm xã hội tỉnh Quảng Ngãi." + (" Đã sửa." if edited else "")
            lines.append(json.dumps({"id": f"art-{n}", "title": f"Tin {n}", "body": body}, ensure_ascii=False))
        (root / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _expected(corpus: Path) -> dict[str, str]:
    return {a.id: a.content_hash for a in iter_corpus([corpus])}


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory):
    """The committed version-1 index, and the id -> hash maps of both versions."""
    base = tmp_path_factory.mktemp("crash")
    v1, v2 = base / "v1", base / "v2"
    _write_corpus(v1, 1)
    _write_corpus(v2, 2)
    index_dir = base / "index"
    build(index_dir, iter_corpus([v1]))
    return index_dir, v2, _expected(v1), _expected(v2)


def _copy(index_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(index_dir, target)
    return target


def _check_after_kill(index_dir: Path, allowed: list[dict[str, str]]) -> dict[str, str]:
    """The index opens, holds exactly one complete state, and answers searches."""
    state = stored_hashes(open_index(index_dir))
    assert state in allowed
    reader = SearchIndex(index_dir, load_synonyms())
    result = reader.search(SearchRequest(q="bao hiem xa hoi", per_page=5))
    assert result.total == len(state) and reader.searcher().doc_count() == len(state)
    return state


def _finish(index_dir: Path, corpus: Path, expected: dict[str, str], rebuild: bool = False) -> None:
    """The next run completes within its lock timeout of zero: no stale lock, nothing lost or
    duplicated, no abandoned generation left on disk."""
    report = build(index_dir, iter_corpus([corpus]), rebuild=rebuild, lock_timeout=0)
    assert not report.failed
    ix = open_index(index_dir)
    assert stored_hashes(ix) == expected and ix.doc_count() == len(expected)
    with ix.searcher() as searcher:
        for article_id in expected:
            assert len(list(searcher.document_numbers(id=article_id))) == 1
    assert [p for p in index_dir.iterdir() if p.is_dir()] == [live_dir(index_dir)]


def _run_killed(
    index_dir: Path, corpus: Path, point: str, n: int, *extra: str, procs: int = 1
) -> subprocess.CompletedProcess:
    """With `procs` > 1 a rebuild's documents are added in child processes: those are the
    ones that die, and the run itself must fail instead of publishing what is left."""
    args = [sys.executable, "-c", _CHILD, point, str(n), "index", str(corpus), "--index-dir", str(index_dir), *extra]
    env = dict(os.environ, VNSEARCH_INDEX_PROCS=str(procs))
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=60, env=env)
    if procs == 1:
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode(errors="replace")[-2000:]
    return proc


@pytest.mark.parametrize(("point", "n"), [("add", 1), ("add", 30), ("toc", 1), ("committed", 1)])
def test_incremental_run_killed(states, tmp_path: Path, point: str, n: int):
    base, v2, before, after = states
    index_dir = _copy(base, tmp_path)
    _run_killed(index_dir, v2, point, n)
    state = _check_after_kill(index_dir, [before, after])
    if point != "committed":
        assert state == before  # the last committed state, untouched
    _finish(index_dir, v2, after)


#: A rebuild writes its first table of contents when it creates the empty index, its second
#: when it commits.
@pytest.mark.parametrize(("point", "n"), [("add", 50), ("toc", 1), ("toc", 2), ("switch", 1)])
def test_rebuild_killed_before_its_switch(states, tmp_path: Path, point: str, n: int):
    base, v2, before, after = states
    index_dir = _copy(base, tmp_path)
    live = live_dir(index_dir)
    _run_killed(index_dir, v2, point, n, "--rebuild")
    assert live_dir(index_dir) == live  # the old index still serves
    _check_after_kill(index_dir, [before])
    assert any(p.name.endswith(".building") or p != live for p in index_dir.iterdir() if p.is_dir())
    _finish(index_dir, v2, after)


def test_rebuild_whose_build_process_is_killed_is_not_published(states, tmp_path: Path):
    base, v2, before, after = states
    index_dir = _copy(base, tmp_path)
    live = live_dir(index_dir)
    proc = _run_killed(index_dir, v2, "add", 5, "--rebuild", procs=2)
    assert proc.returncode not in (0, -signal.SIGKILL) and b"a build process died" in proc.stderr
    assert live_dir(index_dir) == live
    _check_after_kill(index_dir, [before])
    _finish(index_dir, v2, after, rebuild=True)


def test_killed_from_outside_at_a_random_moment(states, tmp_path: Path):
    """The same with a plain SIGKILL from the parent, at times spread over the run."""
    base, v2, before, after = states
    for delay in (0.3, 0.8, 1.5):
        index_dir = _copy(base, tmp_path / str(delay))
        proc = subprocess.Popen(
            [sys.executable, "-m", "search", "index", str(v2), "--index-dir", str(index_dir)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _check_after_kill(index_dir, [before, after])
        _finish(index_dir, v2, after)
