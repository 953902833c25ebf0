"""The live service while the index changes: real gunicorn, two workers, writes from the CLI
library, from HTTP, and a rebuild, with readers checking what they see meanwhile."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.index.indexer import build
from tests.conftest import CORPUS, gunicorn
from tests.test_server import _get

pytestmark = pytest.mark.slow

TOKEN = "live-test-token"


def _send(method: str, url: str, body: dict | None = None) -> int:
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    index_dir = tmp_path_factory.mktemp("live") / "index"
    build(index_dir, iter_corpus([CORPUS]))
    with gunicorn(
        tmp_path_factory.mktemp("home"), VNSEARCH_INDEX_DIR=str(index_dir), VNSEARCH_ADMIN_TOKEN=TOKEN
    ) as base:
        for _ in range(20):  # both workers open the index before the tests change it
            _get(base + "/healthz")
        yield base, index_dir


def _count(base: str, q: str) -> int:
    status, body = _get(base + "/search?" + urllib.parse.urlencode({"q": q}))
    assert status == 200, body
    return body["total"]


def _seen_everywhere_within(base: str, check, seconds: float = 2.0) -> float:
    """Seconds until every worker passes `check(base)`: from the start of the first run of
    20 requests in a row (spread over both workers) that all pass it."""
    started = time.monotonic()
    streak, streak_started = 0, started
    while streak < 20:
        if check(base):
            streak_started = time.monotonic() if streak == 0 else streak_started
            streak += 1
        else:
            streak = 0
        assert time.monotonic() - started < seconds + 10, f"workers still disagree after {seconds + 10} s"
    elapsed = streak_started - started
    assert elapsed < seconds
    return elapsed


def _has(article_id: str, present: bool = True):
    def check(base: str) -> bool:
        return (_get(f"{base}/articles/{urllib.parse.quote(article_id)}")[0] == 200) == present

    return check


def _total(q: str, expected: int):
    return lambda base: _count(base, q) == expected


def test_a_cli_commit_is_seen_by_every_worker_within_two_seconds(live):
    base, index_dir = live
    assert _has("cli-1", present=False)(base)
    build(
        index_dir,
        [Article(id="cli-1", title="Hà Giang tuyển sinh", body="Tỉnh Hà Giang tuyển sinh đầu cấp.")],
        keep_missing=True,
    )
    _seen_everywhere_within(base, _has("cli-1"))


def test_http_writes_are_seen_by_every_worker(live):
    base, _ = live
    article = {"title": "Cà Mau nuôi tôm", "body": "Nông dân Cà Mau nuôi tôm siêu thâm canh."}
    assert _send("PUT", base + "/articles/http-1", article) == 201
    _seen_everywhere_within(base, _has("http-1"))
    assert _send("DELETE", base + "/articles/http-1") == 204
    _seen_everywhere_within(base, _has("http-1", present=False))


def test_concurrent_puts_through_both_workers_are_serialized(live):
    base, _ = live
    before = _get(base + "/stats")[1]["articles"]
    statuses: dict[int, int] = {}

    def put(n: int) -> None:
        statuses[n] = _send(
            "PUT",
            f"{base}/articles/conc-{n}",
            {"title": f"Kon Tum sâm Ngọc Linh {n}", "body": "Sâm Ngọc Linh ở Kon Tum."},
        )

    threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses.values()) <= {201, 503} and 201 in statuses.values()
    for n, status in statuses.items():
        _seen_everywhere_within(base, _has(f"conc-{n}", present=status == 201))
    added = list(statuses.values()).count(201)
    _seen_everywhere_within(base, lambda base: _get(base + "/stats")[1]["articles"] == before + added)


def test_readers_during_a_rebuild_see_the_old_state_then_the_new(live):
    base, index_dir = live
    before = _count(base, "bảo hiểm")
    seen: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(_count(base, "bảo hiểm"))
            except Exception as exc:  # anything but a 200 with a total is what this test looks for
                errors.append(repr(exc))

    reader = threading.Thread(target=read)
    reader.start()
    extra = [
        Article(id=f"rb-{n}", title=f"Bảo hiểm y tế học sinh {n}", body="Bảo hiểm y tế bắt buộc.") for n in range(30)
    ]
    items = list(iter_corpus([CORPUS])) + extra
    report = build(index_dir, items, rebuild=True, on_item=lambda item: time.sleep(0.02))
    assert report.rebuilt
    after = _count(base, "bảo hiểm")
    _seen_everywhere_within(base, _total("bảo hiểm", after))
    stop.set()
    reader.join()
    assert not errors
    assert set(seen) <= {before, after} and seen[0] == before and len(seen) > 10
