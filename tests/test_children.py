"""Build processes end with the process that started them, however it ends (`search.index.children`).

A multi-process `vnsearch index --rebuild` is killed from outside while its build processes
work: with SIGKILL (a deploy script, the OOM killer, a container stop) no process of the build
may be left 10 s later; with SIGTERM or Ctrl-C the command stops within 5 s, says so, exits
128 + the signal and leaves the previous index serving. Either way the next run completes with
every article exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search.corpus.files import iter_corpus
from search.index.indexer import build
from search.index.store import open_index
from tests.conftest import ROOT, stored_hashes

pytestmark = pytest.mark.slow

WORDS = (
    "bảo hiểm xã hội y tế giáo dục Hà Nội kinh tế người dân chính sách Quảng Ngãi hưu trí "
    "thị trường xuất khẩu gạo nông dân mùa vụ học sinh thi cử bệnh viện bác sĩ"
).split()


def _corpus(root: Path, articles: int, version: int) -> dict[str, str]:
    """Enough articles that a two-process build runs for a few seconds; `version` changes every
    body, so a rebuild of version 2 differs from version 1 everywhere. Each body is its own word
    sequence: a corpus of thousands of copies of one text would make one story of them all
    (`search.index.stories`), which is not what an archive is."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "batch.jsonl").open("w", encoding="utf-8") as out:
        for n in range(articles):
            pick = random.Random(f"{version}-{n}").choice
            body = " ".join(pick(WORDS) for _ in range(400))
            record = {"id": f"a{n}", "title": f"Tin {n} phiên bản {version}", "body": body}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {a.id: a.content_hash for a in iter_corpus([root])}


def _children(pid: int) -> set[int]:
    """Every living descendant of `pid` (zombies count as gone)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _start(corpus: Path, index_dir: Path, *flags: str) -> subprocess.Popen:
    env = dict(os.environ, VNSEARCH_INDEX_PROCS="2")
    return subprocess.Popen(
        [sys.executable, "-m", "search", "index", str(corpus), "--index-dir", str(index_dir), *flags],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _building(proc: subprocess.Popen, timeout: float = 60) -> set[int]:
    """Wait until the build's two processes run; their pids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = _children(proc.pid)
        if len(children) >= 2:
            return children
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the build processes never started")


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("children")
    v1, v2 = base / "v1", base / "v2"
    return v1, _corpus(v1, 300, 1), v2, _corpus(v2, 3000, 2)


def _serving_v1(tmp_path: Path, corpora) -> Path:
    v1, expected_v1, _, _ = corpora
    index_dir = tmp_path / "index"
    build(index_dir, iter_corpus([v1]))
    assert stored_hashes(open_index(index_dir)) == expected_v1
    return index_dir


@pytest.mark.parametrize("delay", [0.0, 0.4, 1.0])
def test_sigkill_leaves_no_build_process(tmp_path: Path, corpora, delay: float):
    _, expected_v1, v2, expected_v2 = corpora
    index_dir = _serving_v1(tmp_path, corpora)
    proc = _start(v2, index_dir, "--rebuild")
    _building(proc)
    time.sleep(delay)
    if proc.poll() is not None:
        pytest.skip(f"the rebuild finished within {delay} s: nothing to kill")
    children = _children(proc.pid)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while _alive(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(children) == set(), "build processes outlived their parent"
    assert stored_hashes(open_index(index_dir)) == expected_v1  # the old generation kept serving
    report = build(index_dir, iter_corpus([v2]), rebuild=True, procs=2, lock_timeout=0)
    assert report.added == len(expected_v2)
    assert stored_hashes(open_index(index_dir)) == expected_v2


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_stop_the_build_cleanly(tmp_path: Path, corpora, signum: int):
    _, expected_v1, v2, expected_v2 = corpora
    index_dir = _serving_v1(tmp_path, corpora)
    proc = _start(v2, index_dir, "--rebuild")
    children = _building(proc)
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5
    assert proc.returncode == 128 + signum
    assert f"stopped by {signal.Signals(signum).name}" in stderr.decode()
    deadline = time.monotonic() + 10
    while _alive(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(children) == set()
    assert stored_hashes(open_index(index_dir)) == expected_v1
    assert not list(index_dir.glob("*.building"))
    report = build(index_dir, iter_corpus([v2]), rebuild=True, procs=2, lock_timeout=0)
    assert report.added == len(expected_v2)
    assert stored_hashes(open_index(index_dir)) == expected_v2
