"""The commands as a user runs them: `vnsearch index --shards N --ray auto` and `vnsearch serve
--ray auto --replicas 2`, each starting its own local Ray; a shard actor's process killed during
requests (every answer 200), Ray restarting it, and the service stopped with its actors.

Without Ray these tests skip, except under CI, where a missing Ray is a failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from search.index.shards import read_manifest
from search.index.store import live_dir
from tests.conftest import ROOT, free_port
from tests.shard_corpus import write_corpus
from tests.test_ray import _ray

pytestmark = pytest.mark.slow

#: Generous bounds on waits that are expected to end; never measured figures.
START_WAIT = 180.0
RESTART_WAIT = 120.0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _actors(pid: int) -> list[int]:
    """The shard actors' processes under the service (Ray names them by their class)."""
    found = []
    for child in _descendants(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if command.startswith(b"ray::ShardActor"):
            found.append(child)
    return sorted(found)


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_index_and_serve_on_ray(tmp_path: Path):
    _ray()
    corpus, index_dir = write_corpus(tmp_path / "corpus.jsonl"), tmp_path / "index"
    command = [sys.executable, "-m", "search"]
    built = subprocess.run(
        [*command, "index", str(corpus), "--index-dir", str(index_dir), "--shards", "2", "--ray", "auto", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=START_WAIT,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert json.loads(built.stdout[built.stdout.index("{") :])["added"] > 300
    assert read_manifest(live_dir(index_dir)).shards == 2
    port = free_port()
    env = dict(os.environ, VNSEARCH_PORT=str(port), VNSEARCH_RESULT_CACHE_ENTRIES="0", VNSEARCH_WORKERS="2")
    serve = subprocess.Popen(
        [*command, "serve", "--ray", "auto", "--replicas", "2", "--index-dir", str(index_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_WAIT
        while True:
            try:
                if _get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert serve.poll() is None and time.monotonic() < deadline, serve.stderr.read().decode()[-3000:]
            time.sleep(0.5)
        status, complete = _get(base + "/search?q=bao+hiem+xa+hoi&per_page=20")
        assert status == 200 and not complete["partial"] and complete["total"] > 0
        actors = _actors(serve.pid)
        assert len(actors) == 4  # 2 shards x 2 replicas
        os.kill(actors[0], signal.SIGKILL)
        for page in range(1, 16):  # distinct requests while the actor is down and restarting
            status, data = _get(base + f"/search?q=bao+hiem&per_page=5&page={page}")
            assert status == 200
        deadline = time.monotonic() + RESTART_WAIT
        while len(set(_actors(serve.pid)) - {actors[0]}) < 4:  # Ray started a new process for it
            assert time.monotonic() < deadline, "Ray did not restart the shard actor"
            time.sleep(0.5)
        status, again = _get(base + "/search?q=bao+hiem+xa+hoi&per_page=20")
        assert status == 200 and again["hits"] == complete["hits"] and not again["partial"]
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    assert serve.returncode == 0
    deadline = time.monotonic() + RESTART_WAIT
    while any(Path(f"/proc/{pid}").exists() for pid in actors[1:]):  # the actors went with it
        assert time.monotonic() < deadline, "the shard actors outlived the service"
        time.sleep(0.5)
