"""The story graph saved with each commit, when a run is killed with SIGKILL around it.

Version 1 of a corpus holds a syndicated copy; version 2 adds a copy of another article
and changes one. A child process runs `vnsearch index` on version 2 and dies at a chosen point:
just after it saved the new graph but before the commit (the Whoosh commit of one index, the
manifest of a sharded set), or just after the commit. The index must then group exactly as a
fresh build of the state it holds, and the next run must leave the stories of a fresh build of
version 2: for a set of shards, the stories one index of the same articles has.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from search.corpus.files import iter_corpus
from search.index import sharding
from search.index.indexer import build
from search.index.shard_jobs import Corpus
from search.index.shards import live_set, stored_hashes
from search.index.stories import saved
from tests.conftest import ROOT
from tests.test_story_index import partition, repost, seeds, stories_of

pytestmark = pytest.mark.slow

_CHILD = r"""
import os, signal, sys
import whoosh.writing as writing
import search.index.shards as shards
import search.index.stories.saved as saved

point = sys.argv[1]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if point == "saved":  # the new graph on disk, its commit not yet written
    save = saved.save
    def save_then_die(*args, **kwargs):
        save(*args, **kwargs)
        die()
    saved.save = save_then_die
elif point == "committed":
    commit = writing.SegmentWriter.commit
    def commit_then_die(self, *args, **kwargs):
        commit(self, *args, **kwargs)
        die()
    writing.SegmentWriter.commit = commit_then_die
elif point == "manifested":  # a set's manifest naming the new commit in place
    replace = os.replace
    def replace_then_die(src, dst):
        replace(src, dst)
        if str(dst).endswith(shards.MANIFEST):
            die()
    shards.os.replace = replace_then_die

from search.cli import main

main(sys.argv[2:])
"""


def _write(root: Path, version: int) -> Path:
    """The seed articles and a re-post of one (version 2: a re-post of another too, and the
    first seed rewritten away from its copy)."""
    root.mkdir(parents=True, exist_ok=True)
    s = seeds()
    articles = [*s.values(), repost(s["001"], "r001", "BHXH tỉnh tổng kết năm 2017")]
    if version == 2:
        articles.append(repost(s["003"], "r003", "Quảng Nam: truyền thông BHXH hiệu quả"))
        articles[1] = replace(articles[1], body="Bài đã được gỡ theo yêu cầu của tòa soạn.")
    rows = [{"id": a.id, "title": a.title, "body": a.body} for a in articles]
    (root / "batch.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return root


def _fresh(corpus: Path, tmp_path: Path, name: str) -> set[frozenset[str]]:
    build(tmp_path / name, iter_corpus([corpus]))
    return partition(stories_of(tmp_path / name))


@pytest.mark.parametrize("point", ["saved", "committed"])
def test_a_run_killed_around_its_graph(tmp_path: Path, point: str) -> None:
    v1, v2 = _write(tmp_path / "v1", 1), _write(tmp_path / "v2", 2)
    before, after = _fresh(v1, tmp_path, "f1"), _fresh(v2, tmp_path, "f2")
    s = seeds()
    assert frozenset({s["001"].id, "r001"}) in before and frozenset({s["003"].id, "r003"}) in after
    assert frozenset({"r001"}) in after
    index_dir = tmp_path / "index"
    build(index_dir, iter_corpus([v1]))
    args = [sys.executable, "-c", _CHILD, point, "index", str(v2), "--index-dir", str(index_dir)]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode(errors="replace")[-2000:]
    assert partition(stories_of(index_dir)) == (before if point == "saved" else after)
    build(index_dir, iter_corpus([v2]), lock_timeout=0)
    assert partition(stories_of(index_dir)) == after


def _set_partition(index_dir: Path) -> set[frozenset[str]]:
    """The stories of a set's live articles, from the graph saved with its manifest's commit."""
    live, manifest = live_set(index_dir)
    graph = saved.load(live, manifest.commit, 0.14)
    return partition({a: graph.story_of(a) for a in stored_hashes(index_dir)})


@pytest.mark.parametrize("point", ["saved", "manifested"])
def test_a_set_run_killed_around_its_graph(tmp_path: Path, point: str) -> None:
    v1, v2 = _write(tmp_path / "v1", 1), _write(tmp_path / "v2", 2)
    before, after = _fresh(v1, tmp_path, "f1"), _fresh(v2, tmp_path, "f2")
    index_dir = tmp_path / "index"
    sharding.build(index_dir, Corpus((v1,)), shards=4)
    assert _set_partition(index_dir) == before
    args = [sys.executable, "-c", _CHILD, point, "index", str(v2), "--index-dir", str(index_dir)]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode(errors="replace")[-2000:]
    assert _set_partition(index_dir) == (before if point == "saved" else after)
    sharding.build(index_dir, Corpus((v2,)), lock_timeout=0)
    assert _set_partition(index_dir) == after
