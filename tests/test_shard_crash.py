"""A sharded index's runs killed with SIGKILL, for real, in a subprocess, at several points:
while articles are added, between the commits of two shards, just before and just after the
manifest is replaced, and a rebuild before its switch. After each, the set opens and answers
with exactly one complete state (never some shards' new commits with others' old ones), no lock
is left, and the next run completes the job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search.corpus.files import iter_corpus
from search.index import sharding
from search.index.engine.pinned import generations
from search.index.shard_jobs import Corpus
from search.index.shards import live_set, open_shard, stored_hashes
from search.index.store import live_dir
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.shard_set import LocalShards
from search.searching.sharded import ShardedIndex
from tests.conftest import ROOT
from tests.test_crash import _write_corpus

pytestmark = pytest.mark.slow

SHARDS = 4

#: Runs the CLI after arranging for the process to SIGKILL itself at one point: (point, n).
_CHILD = r"""
import os, signal, sys
import whoosh.filedb.filestore as filestore
import search.index.engine.writers as pool
import search.index.shards as shards
import search.index.store as store

point, n = sys.argv[1], int(sys.argv[2])

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if point == "add":  # while documents are being added to the shards' writers
    add, calls = pool.PoolWriter.add_document, [0]
    def add_document(self, **fields):
        calls[0] += 1
        if calls[0] == n:
            die()
        return add(self, **fields)
    pool.PoolWriter.add_document = add_document
elif point == "toc":  # the n-th shard committed (its table of contents in place), then killed
    rename, tocs = filestore.FileStorage.rename_file, [0]
    def rename_file(self, frm, to, safe=False):
        done = rename(self, frm, to, safe)
        if to.endswith(".toc"):
            tocs[0] += 1
            if tocs[0] == n:
                die()
        return done
    filestore.FileStorage.rename_file = rename_file
elif point in ("manifest", "manifested", "switch"):  # just before/after a replace
    replace = os.replace
    target = "CURRENT" if point == "switch" else "SHARDS"
    def replace_then(src, dst):
        if str(dst).endswith(target) and point != "manifested":
            die()
        replace(src, dst)
        if str(dst).endswith(target):
            die()
    shards.os.replace = replace_then
    store.os.replace = replace_then

from search.cli import main

main(sys.argv[3:])
"""


def _expected(corpus: Path) -> dict[str, str]:
    return {a.id: a.content_hash for a in iter_corpus([corpus])}


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory):
    """The committed version-1 set, and the id -> hash maps of both versions."""
    base = tmp_path_factory.mktemp("shard-crash")
    v1, v2 = base / "v1", base / "v2"
    _write_corpus(v1, 1)
    _write_corpus(v2, 2)
    index_dir = base / "index"
    sharding.build(index_dir, Corpus((v1,)), shards=SHARDS)
    return index_dir, v2, _expected(v1), _expected(v2)


def _copy(index_dir: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(index_dir, tmp_path / "index")
    return tmp_path / "index"


def _run_killed(index_dir: Path, corpus: Path, point: str, n: int, *extra: str) -> None:
    args = [sys.executable, "-c", _CHILD, point, str(n), "index", str(corpus), "--index-dir", str(index_dir), *extra]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode(errors="replace")[-2000:]


def _check_after_kill(index_dir: Path, allowed: list[dict[str, str]]) -> dict[str, str]:
    """The set opens, holds exactly one complete state, and answers searches with it."""
    state = stored_hashes(index_dir)
    assert state in allowed
    front = ShardedIndex(index_dir, load_synonyms(), LocalShards(index_dir))
    result = front.search(SearchRequest(q="bao hiem xa hoi", per_page=5))
    assert result.total == len(state) == front.doc_count()
    return state


def _finish(index_dir: Path, corpus: Path, expected: dict[str, str], rebuild: bool = False) -> None:
    """The next run completes within a lock timeout of zero: no stale lock, nothing lost or
    duplicated, each shard with one generation on disk, no other generation folder."""
    report = sharding.build(index_dir, Corpus((corpus,)), rebuild=rebuild, lock_timeout=0)
    assert not report.failed
    assert stored_hashes(index_dir) == expected
    live, manifest = live_set(index_dir)
    assert manifest.shards == SHARDS
    for shard in range(SHARDS):
        assert generations(open_shard(live, shard)) == [manifest.generations[shard]]
    assert [p for p in index_dir.iterdir() if p.is_dir()] == [live_dir(index_dir)]


@pytest.mark.parametrize(
    ("point", "n"), [("add", 1), ("add", 40), ("toc", 1), ("toc", 2), ("toc", 3), ("manifest", 1), ("manifested", 1)]
)
def test_incremental_run_killed(states, tmp_path: Path, point: str, n: int):
    base, v2, before, after = states
    index_dir = _copy(base, tmp_path)
    _run_killed(index_dir, v2, point, n)
    state = _check_after_kill(index_dir, [before, after])
    assert state == (after if point == "manifested" else before)
    _finish(index_dir, v2, after)


@pytest.mark.parametrize(("point", "n"), [("manifest", 1), ("switch", 1)])
def test_rebuild_killed_before_its_switch(states, tmp_path: Path, point: str, n: int):
    base, v2, before, after = states
    index_dir = _copy(base, tmp_path)
    live = live_dir(index_dir)
    _run_killed(index_dir, v2, point, n, "--rebuild")
    assert live_dir(index_dir) == live  # the old set still serves
    _check_after_kill(index_dir, [before])
    _finish(index_dir, v2, after, rebuild=True)


def test_killed_from_outside_at_a_random_moment(states, tmp_path: Path):
    """A plain SIGKILL from the parent at times spread over an incremental run and a rebuild
    (whose build processes die with it)."""
    base, v2, before, after = states
    for delay in (0.4, 1.0, 2.0):
        for rebuild in ((), ("--rebuild",)):
            index_dir = _copy(base, tmp_path / f"{delay}{rebuild}")
            proc = subprocess.Popen(
                [sys.executable, "-m", "search", "index", str(v2), "--index-dir", str(index_dir), *rebuild],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            _check_after_kill(index_dir, [before, after])
            _finish(index_dir, v2, after)
