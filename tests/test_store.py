"""The write lock and the live-generation pointer, with real processes holding the lock."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.cli import main
from search.corpus.article import Article
from search.index.indexer import build
from search.index.store import (
    POINTER,
    IndexBusy,
    IndexMissing,
    Watch,
    index_exists,
    live_dir,
    open_index,
    write_lock,
)
from tests.conftest import ROOT

_HOLD = """
import sys, time
from pathlib import Path
from search.index.store import write_lock
with write_lock(Path(sys.argv[1]), timeout=5):
    print("locked", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path: Path):
    """A live process holding the write lock of `tmp_path` until the test kills it."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait(timeout=10)


def article(id: str) -> Article:
    return Article(id=id, title=f"Tiêu đề {id}", body="Nội dung.")


def test_a_live_writer_makes_the_next_one_wait_then_fail_clearly(tmp_path: Path, holder):
    started = time.monotonic()
    with pytest.raises(IndexBusy, match=rf"pid {holder.pid}.*gave up after 0.3 s"):
        build(tmp_path, [article("a")], lock_timeout=0.3)
    assert time.monotonic() - started >= 0.3
    assert not index_exists(tmp_path)

    result = CliRunner().invoke(main, ["index", str(ROOT / "corpus"), "--index-dir", str(tmp_path), "--wait", "0.1"])
    assert result.exit_code == 2 and "being written by another process" in result.output


def test_a_writer_waits_for_the_lock_and_then_proceeds(tmp_path: Path, holder):
    def release_soon():
        time.sleep(0.3)
        holder.terminate()

    threading.Thread(target=release_soon).start()
    assert build(tmp_path, [article("a")], lock_timeout=10).added == 1


def test_the_lock_of_a_killed_writer_does_not_block(tmp_path: Path, holder):
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    assert (tmp_path / "WRITELOCK").exists()  # the file stays; the lock died with its holder
    with write_lock(tmp_path, timeout=0):
        pass
    assert build(tmp_path, [article("a")], lock_timeout=0).added == 1


def test_the_lock_excludes_a_second_holder_in_the_same_process(tmp_path: Path):
    with write_lock(tmp_path, timeout=0):
        with pytest.raises(IndexBusy):
            with write_lock(tmp_path, timeout=0):
                pass


def test_a_damaged_pointer_is_reported_not_followed(tmp_path: Path):
    build(tmp_path, [article("a")])
    (tmp_path / POINTER).write_text("../../etc\n")
    with pytest.raises(IndexMissing, match="damaged"):
        live_dir(tmp_path)
    assert not index_exists(tmp_path)
    build(tmp_path, [article("a")], rebuild=True)
    assert open_index(tmp_path).doc_count() == 1


_HOLD_AND_FORK = """
import os, signal, sys, time
from pathlib import Path
from search.index.store import write_lock
with write_lock(Path(sys.argv[1]), timeout=5):
    child = os.fork()
    if child == 0:  # a worker process the writer started, outliving it
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_writers_forked_children_do_not_keep_its_lock(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_AND_FORK, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    child = int(proc.stdout.readline())
    proc.wait(timeout=10)
    try:
        assert proc.returncode == -signal.SIGKILL and os.kill(child, 0) is None  # the child lives on
        with write_lock(tmp_path, timeout=0):
            pass
    finally:
        os.kill(child, signal.SIGKILL)


def _age(*paths: Path) -> None:
    """Date `paths` back a minute, as if their last change were long past."""
    past = time.time() - 60
    for path in paths:
        os.utime(path, (past, past))


def test_the_watch_sees_a_commit_and_a_switch_and_trusts_only_settled_looks(tmp_path: Path):
    build(tmp_path, [article("a")])
    watch = Watch(tmp_path)
    live = live_dir(tmp_path)
    stamp = watch.stamp(live)
    watch.looked(stamp, time.time())
    assert not watch.unchanged(live)  # just written: its times may not have stepped yet
    _age(tmp_path / POINTER, live)
    watch.looked(watch.stamp(live), time.time())
    assert watch.unchanged(live)
    build(tmp_path, [article("b")])  # a commit in the live folder
    assert not watch.unchanged(live)
    _age(tmp_path / POINTER, live)
    watch.looked(watch.stamp(live), time.time())
    build(tmp_path, [article("c")], rebuild=True)  # a new generation named by CURRENT
    assert live_dir(tmp_path) != live
    assert not watch.unchanged(live)
