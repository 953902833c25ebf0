"""/metrics and the access line, in process (one process: prometheus_client's ordinary mode).

Counters are shared by every app made in this process, so each test compares before and after.
Through gunicorn, with several workers, see tests/test_service_production.py.
"""

import io
import json
import re
import shutil
import sys
import threading
from pathlib import Path

import pytest
from falcon import testing

from search.settings import Settings
from search.web.accesslog import AccessLog
from search.web.app import create_app

TOKEN = "metrics-token"
#: The fields every access line starts with.
FIELDS = ("time", "client", "scheme", "method", "route", "status", "duration_ms", "query_chars")


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in an exposition, 0 when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match and match[1] == name:
            got = ",".join(sorted((match[2] or "").split(","))) if match[2] else ""
            if got == wanted:
                return float(match[3])
    return 0.0


@pytest.fixture
def app_dir(seed_index_dir: Path, tmp_path: Path) -> Path:
    shutil.copytree(seed_index_dir, tmp_path / "index")
    return tmp_path / "index"


def client(index_dir: Path, **settings) -> testing.TestClient:
    return testing.TestClient(create_app(Settings(index_dir=index_dir, **settings)))


def scrape(c: testing.TestClient) -> str:
    resp = c.simulate_get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return resp.text


def test_requests_are_counted_by_route_and_status(app_dir):
    c = client(app_dir)
    before = scrape(c)
    c.simulate_get("/search", params={"q": "bhxh"})
    c.simulate_get("/search", params={"q": "bhxh"})
    c.simulate_get("/search", params={"q": "bhxh", "page": "0"})
    c.simulate_get("/articles/no-such-id")
    c.simulate_get("/nowhere")
    after = scrape(c)

    def delta(**labels):
        return sample(after, "vnsearch_http_requests_total", **labels) - sample(
            before, "vnsearch_http_requests_total", **labels
        )

    assert delta(route="/search", method="GET", status="200") == 2
    assert delta(route="/search", method="GET", status="400") == 1
    assert delta(route="/articles/{article_id:path}", method="GET", status="404") == 1
    assert delta(route="unmatched", method="GET", status="404") == 1
    hist = "vnsearch_http_request_duration_seconds_count"
    assert sample(after, hist, route="/search") - sample(before, hist, route="/search") == 3
    searches = "vnsearch_search_duration_seconds_count"
    assert sample(after, searches) - sample(before, searches) == 2  # the 400 never searched
    # the second search came from the worker's result cache
    for name, grew in (("vnsearch_result_cache_hits_total", 1), ("vnsearch_result_cache_misses_total", 1)):
        assert sample(after, name) - sample(before, name) == grew


def test_the_page_searches_count_too(app_dir):
    c = client(app_dir)
    before = sample(scrape(c), "vnsearch_search_duration_seconds_count")
    assert c.simulate_get("/", params={"q": "bảo hiểm"}).status_code == 200
    assert sample(scrape(c), "vnsearch_search_duration_seconds_count") == before + 1


def test_feeds_and_exports_count_as_searches(app_dir):
    c = client(app_dir)
    before = sample(scrape(c), "vnsearch_search_duration_seconds_count")
    assert c.simulate_get("/feed", params={"q": "bảo hiểm"}).status_code == 200
    assert c.simulate_get("/search.csv", params={"q": "bảo hiểm"}).status_code == 200
    assert sample(scrape(c), "vnsearch_search_duration_seconds_count") == before + 2


def test_searches_cut_by_the_budget_are_counted(app_dir):
    c = testing.TestClient(create_app(Settings(index_dir=app_dir, search_budget_ms=0)))
    before = sample(scrape(c), "vnsearch_searches_partial_total")
    assert c.simulate_get("/search", params={"q": "bảo hiểm"}).json["partial"] is True
    assert sample(scrape(c), "vnsearch_searches_partial_total") == before + 1


def test_the_scrape_answers_without_an_index(tmp_path):
    c = client(tmp_path / "no-index")
    before = sample(scrape(c), "vnsearch_http_requests_total", route="/search", method="GET", status="503")
    assert c.simulate_get("/search", params={"q": "bhxh"}).status_code == 503
    after = sample(scrape(c), "vnsearch_http_requests_total", route="/search", method="GET", status="503")
    assert after == before + 1


def test_index_figures_are_read_at_scrape_time(app_dir):
    c = client(app_dir, admin_token=TOKEN)
    text = scrape(c)
    assert sample(text, "vnsearch_index_articles") == 5
    generation = sample(text, "vnsearch_index_generation")
    put = c.simulate_put(
        "/articles/new-one",
        json={"title": "Tin mới", "body": "Nội dung mới về bảo hiểm."},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert put.status_code == 201
    text = scrape(c)
    assert sample(text, "vnsearch_index_articles") == 6
    assert sample(text, "vnsearch_index_generation") > generation
    assert sample(text, "vnsearch_index_last_commit_timestamp_seconds") > 1.7e9


def test_ingest_writes_and_failures(app_dir):
    c = client(app_dir, admin_token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = scrape(c)
    c.simulate_put("/articles/w1", json={"title": "Một", "body": "Nội dung một."}, headers=auth)
    c.simulate_put("/articles/w1", json={"title": "Một", "body": "Nội dung một, sửa."}, headers=auth)
    c.simulate_put("/articles/w1", body="{not json", headers=auth)
    c.simulate_put("/articles/w1", json={"title": "Một", "body": "x"}, headers={"Authorization": "Bearer wrong"})
    c.simulate_delete("/articles/w1", headers=auth)
    c.simulate_delete("/articles/w1", headers=auth)
    after = scrape(c)

    def delta(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("vnsearch_ingest_writes_total", operation="put", result="added") == 1
    assert delta("vnsearch_ingest_writes_total", operation="put", result="updated") == 1
    assert delta("vnsearch_ingest_writes_total", operation="delete", result="deleted") == 1
    assert delta("vnsearch_ingest_failures_total", operation="put", status="400") == 1
    assert delta("vnsearch_ingest_failures_total", operation="put", status="403") == 1
    assert delta("vnsearch_ingest_failures_total", operation="delete", status="404") == 1


def test_metrics_only_for_the_allowed_addresses(app_dir):
    c = client(app_dir)
    assert c.simulate_get("/metrics", remote_addr="127.0.0.1").status_code == 200
    assert c.simulate_get("/metrics").status_code == 200  # no address: a Unix socket, local
    refused = c.simulate_get("/metrics", remote_addr="198.51.100.7")
    assert refused.status_code == 403 and "VNSEARCH_METRICS_ALLOW" in refused.json["description"]
    # from the trusted proxy (loopback), the forwarded client decides, either way
    for peer in ("127.0.0.1", None):
        assert (
            c.simulate_get("/metrics", remote_addr=peer, headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 403
        )
        assert c.simulate_get("/metrics", remote_addr=peer, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
    # from anyone else the header is not believed
    spoofed = c.simulate_get("/metrics", remote_addr="198.51.100.7", headers={"X-Forwarded-For": "127.0.0.1"})
    assert spoofed.status_code == 403
    wide = client(app_dir, metrics_allow=("198.51.100.0/24",))
    assert wide.simulate_get("/metrics", remote_addr="198.51.100.7").status_code == 200
    assert wide.simulate_get("/metrics", remote_addr="127.0.0.1").status_code == 403


def test_one_access_line_per_request_without_the_query(app_dir, capsys):
    c = client(app_dir)
    c.simulate_get("/search", params={"q": "bảo hiểm xã hội"})
    c.simulate_get("/search", query_string="q=a&q=b")  # refused by the guard: still one line
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first = dict(part.split("=", 1) for part in lines[0].split(" "))
    assert first["route"] == "/search" and first["status"] == "200" and first["method"] == "GET"
    assert first["query_chars"] == str(len("bảo hiểm xã hội")) and float(first["duration_ms"]) >= 0
    assert first["client"] == "-" and first["scheme"] == "http"  # the test client has no address
    assert "bảo" not in lines[0] and "query=" not in lines[0]
    assert " status=400 " in lines[1]


def test_access_lines_as_json_with_the_query_when_asked(app_dir, capsys):
    c = client(app_dir, log_format="json", log_queries=True)
    c.simulate_get(
        "/search", params={"q": 'bảo "hiểm"\nx'}, remote_addr="127.0.0.1", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    c.simulate_get("/search", params={"q": "a"}, remote_addr="198.51.100.7", headers={"X-Forwarded-For": "203.0.113.9"})
    c.simulate_get("/stats")
    forwarded, direct, stats = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert forwarded["query"] == 'bảo "hiểm"\nx' and forwarded["query_chars"] == 12
    assert forwarded["client"] == "203.0.113.9"  # from the trusted proxy
    assert direct["client"] == "198.51.100.7"  # not from a proxy: the header is ignored
    assert stats["route"] == "/stats" and stats["query_chars"] is None and "query" not in stats


def test_text_lines_quote_what_could_break_them(app_dir, capsys):
    c = client(app_dir, log_queries=True)
    c.simulate_get("/search", params={"q": 'a b" c=d\nstatus=999'})
    (line,) = capsys.readouterr().out.splitlines()
    assert line.endswith(' query="a b\\" c=d\\nstatus=999"') and line.count("status=") == 2


def test_access_lines_stay_whole_from_many_threads(app_dir, capsys):
    c = client(app_dir)

    def ask(number: int) -> None:
        for turn in range(20):
            c.simulate_get("/search", params={"q": f"bảo hiểm {number} {turn}"})

    threads = [threading.Thread(target=ask, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 120
    for line in lines:  # each a whole line of its own: its fields once each, in order
        assert [part.partition("=")[0] for part in line.split(" ")][:8] == list(FIELDS), line


def test_a_closed_standard_output_does_not_fail_the_request(app_dir, monkeypatch, capsys):
    c = client(app_dir)
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    assert c.simulate_get("/search", params={"q": "bảo hiểm"}).status_code == 200
    assert "access line not written" in capsys.readouterr().err


def test_client_addresses_are_kept_only_for_short_headers():
    log = AccessLog(Settings())
    long = ", ".join(["127.0.0.1"] * 20) + ", 203.0.113.9"  # through twenty trusted proxies
    assert log.shown_client("127.0.0.1", long) == "203.0.113.9"
    assert log.shown_client("127.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert log.shown_client("198.51.100.7", "203.0.113.9") == "198.51.100.7"
    assert log.shown_client(None, None) is None
    assert log.shown_client("127.0.0.1", "203.0.113.9") == "203.0.113.9"  # kept, the same
    assert log._shown.cache_info().currsize == 3  # the long header was not kept
