"""Disk full while indexing: the run fails with a clear message, the previous index keeps serving.

A full disk is simulated without root or a mount: the indexing process runs with RLIMIT_FSIZE
(and SIGXFSZ ignored), so a write past the limit fails with EFBIG ("File too large") exactly
where ENOSPC would, inside Whoosh's segment writer.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from search.corpus.files import iter_corpus
from search.index.indexer import build
from search.index.store import open_index
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex
from tests.conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow

FILE_LIMIT = 16 * 1024


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # ignored signals stay ignored across exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, resource.RLIM_INFINITY))


@pytest.fixture
def big_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "more.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for n in range(400):
            words = " ".join(f"từ{n * 31 + k}" for k in range(40))
            out.write(json.dumps({"id": f"m{n}", "title": f"Bài thêm {n}", "body": words}, ensure_ascii=False) + "\n")
    return path


def test_disk_full_fails_clearly_and_the_previous_index_keeps_serving(tmp_path: Path, big_corpus: Path):
    index_dir = tmp_path / "index"
    build(index_dir, iter_corpus([CORPUS]))
    serving = SearchIndex(index_dir, load_synonyms())
    before = serving.search(SearchRequest(q="bảo hiểm xã hội")).to_json()

    proc = subprocess.run(
        [sys.executable, "-m", "search", "index", str(big_corpus), "--keep-missing", "--index-dir", str(index_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_file_size,
    )
    assert proc.returncode == 2
    assert "cannot write the index" in proc.stderr and "File too large" in proc.stderr
    assert "still served" in proc.stderr and "Traceback" not in proc.stderr

    after = serving.search(SearchRequest(q="bảo hiểm xã hội")).to_json()
    before.pop("took_ms"), after.pop("took_ms")
    assert after == before and serving.stats()["articles"] == 5
    assert open_index(index_dir).doc_count() == 5

    report = build(index_dir, iter_corpus([big_corpus]), keep_missing=True)  # space again: it succeeds
    assert report.added == 400 and open_index(index_dir).doc_count() == 405
    assert not list(index_dir.rglob("*.tmp"))


_SAME_PROCESS = textwrap.dedent(
    """
    import json, resource, signal, sys
    from pathlib import Path
    from search.corpus.article import Article
    from search.index.indexer import build
    from search.index.store import open_index
    index_dir = Path(sys.argv[1])
    build(index_dir, [Article(id="a", title="bảo hiểm", body="xã hội")])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (%d, resource.RLIM_INFINITY))
    articles = [Article(id=f"n{n}", title=f"bài {n}", body=" ".join(f"từ{n * 31 + k}" for k in range(40)))
                for n in range(400)]
    try:
        build(index_dir, articles)
        failed = None
    except OSError as exc:
        failed = exc.strerror
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    writer = open_index(index_dir).writer(timeout=0)  # LockError if the failed run kept the lock
    writer.cancel()
    print(json.dumps({"failed": failed, "articles": open_index(index_dir).doc_count()}))
"""
    % FILE_LIMIT
)


def test_a_failed_write_releases_the_lock_in_a_long_lived_process(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-c", _SAME_PROCESS, str(tmp_path / "index")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == {"failed": "File too large", "articles": 1}


_HTTP_WRITE = textwrap.dedent(
    """
    import json, resource, signal, sys
    from pathlib import Path
    from falcon import testing
    from search.web.app import create_app
    from search.corpus.article import Article
    from search.settings import Settings
    from search.index.indexer import build
    index_dir = Path(sys.argv[1])
    build(index_dir, [Article(id="a", title="bảo hiểm", body="xã hội")])
    client = testing.TestClient(create_app(Settings(index_dir=index_dir, admin_token="t")))
    def put(article_id, words):
        body = json.dumps({"title": "bài", "body": " ".join(f"từ{k}" for k in range(words))}).encode()
        return client.simulate_put("/articles/" + article_id, body=body,
                                   headers={"Authorization": "Bearer t", "Content-Type": "application/json"})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (%d, resource.RLIM_INFINITY))
    full = put("big", 20000)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    again = put("small", 5)
    print(json.dumps({"full": [full.status_code, full.text], "again": again.status_code,
                      "articles": client.simulate_get("/stats").json["articles"]}))
"""
    % FILE_LIMIT
)


def test_disk_full_during_an_http_write_is_a_503_and_the_next_write_works(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-c", _HTTP_WRITE, str(tmp_path / "index")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    status, text = result["full"]
    assert status == 503 and "File too large" in text and str(tmp_path) not in text
    assert result["again"] == 201 and result["articles"] == 2
