"""What the web layer costs per search request, before and after, and whether it answers the same.

    python -m bench.web_layer INDEX_DIR LIST --base OTHER_CHECKOUT [--turns 3] [--timed 3000] [--compare 2000]

Over HTTP a worker spends more per request than the same search costs in process; the difference
is the WSGI app around the search (middleware, routing, parameters, JSON) and the server.
This drives the real app (`create_app`, result cache off, a slot per worker as served) with
plain WSGI environs of the distinct list's `/search` requests (`bench.distinct`, as `bench.run`
sends them over HTTP), in child processes of this checkout and of `--base` in turns (as
`bench.alternate` runs them, each importing its own `search`): each warms up on the list's first
queries, then times the next ones, each seen once. Per request it prints the CPU of the whole
app call (process time, the body read out included) and of `SearchIndex.search` inside it, so
the layer's own share (`web_ms`) is visible. The access log goes to a file, as a server's
standard output would.

With `--compare`, both checkouts then answer the same requests (the list's, varied the way the
pages ask, and a fixed set of refused, missing, preflight and other routes) and this process
compares status, headers and body byte for byte (less the time a search took), the access lines
(less their time and duration) and the request counters of `/metrics`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from bench import distinct
from bench.alternate import check_imports
from bench.run import load

ROOT = Path(__file__).resolve().parent.parent

#: What each child runs in its own checkout: `time` or `answers` over a file of requests, one
#: JSON `[method, path, query_string, headers]` a line.
CHILD = """
import io, json, re, sys, time
from pathlib import Path
from falcon import testing
from search.searching.searcher import SearchIndex
from search.settings import Settings
from search.web.app import create_app

mode, index_dir, requests_file, warm, out, log = sys.argv[1:7]
requests = [json.loads(line) for line in open(requests_file, encoding="utf-8")]
searching = [0.0]
search = SearchIndex.search

def timed_search(self, request):
    started = time.process_time()
    try:
        return search(self, request)
    finally:
        searching[0] += time.process_time() - started

SearchIndex.search = timed_search
# Compared answers are never cut by the time budget (a loaded machine would cut different ones).
budget = {"search_budget_ms": 600_000} if mode == "answers" else {}
settings = Settings(index_dir=Path(index_dir), result_cache_entries=0, cors_origins=("https://example.com",), **budget)
app = create_app(settings)
sys.stdout = open(log, "w", encoding="utf-8")

def environ(method, path, query, headers):
    return testing.create_environ(path=path, query_string=query, method=method, headers=headers,
                                  remote_addr="127.0.0.1")

answered = []

def start_response(status, headers, exc_info=None):
    answered.append((status, headers))

def call(env):
    chunks = app(env, start_response)
    try:
        return b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()

for request in requests[: int(warm)]:
    call(environ(*request))
results = []
if mode == "time":
    spent = 0.0
    searching[0] = 0.0
    for request in requests[int(warm):]:
        env = environ(*request)
        started = time.process_time()
        call(env)
        spent += time.process_time() - started
    count = len(requests) - int(warm)
    results.append({"requests": count, "app_ms": 1000 * spent / count, "search_ms": 1000 * searching[0] / count})
else:
    took = re.compile(rb'"took_ms":[0-9.e-]+|<span class="took">[^<]*</span>')
    for request in requests[int(warm):]:
        answered.clear()
        raw = call(environ(*request))
        body = took.sub(b"(took)", raw)
        status, headers = answered[0]
        # The length varies with the time's digits: whether it is the body's is what is compared.
        headers = [(k, "of the body" if k == "content-length" and v == str(len(raw)) else v) for k, v in headers]
        results.append({"request": request, "status": status, "headers": headers, "body": body.decode("utf-8")})
    answered.clear()
    metrics = call(environ("GET", "/metrics", "", {})).decode("utf-8").splitlines()
    counted = [line for line in metrics if line.startswith("vnsearch_http_requests_total")
               or line.startswith("vnsearch_http_request_duration_seconds_count")]
    results.append({"metrics": sorted(counted)})
sys.stdout.close()
with open(out, "w", encoding="utf-8") as stream:
    for result in results:
        stream.write(json.dumps(result, ensure_ascii=False) + "\\n")
"""

Request = tuple[str, str, str, dict[str, str]]

_ORIGIN = {"Origin": "https://example.com"}
#: Requests that are not a plain search: refused, missing, preflighted, other routes.
OTHERS: list[Request] = [
    ("GET", "/search", "", {}),
    ("GET", "/search", "q=a&q=b", {}),
    ("GET", "/search", "q=%ZZ", {}),
    ("GET", "/search", "q=%FF", {}),
    ("GET", "/search", "q=a%01b", {}),
    ("GET", "/search", "q=x&page=0", {}),
    ("GET", "/search", "q=x&sort=sideways", {}),
    ("GET", "/search", "q=(((", {}),
    ("GET", "/search", "q=b%E1%BA%A3o+hi%E1%BB%83m", _ORIGIN),
    ("GET", "/search", "q=b%E1%BA%A3o+hi%E1%BB%83m", {"Origin": "https://elsewhere.example"}),
    ("OPTIONS", "/search", "", {**_ORIGIN, "Access-Control-Request-Method": "GET"}),
    ("HEAD", "/search", "q=kinh+t%E1%BA%BF", {}),
    ("POST", "/search", "q=x", {}),
    ("GET", "/search", "q=x", {"Transfer-Encoding": "chunked"}),
    ("GET", "/", "", {}),
    ("GET", "/", "q=kinh+t%E1%BA%BF", {}),
    ("GET", "/nowhere", "", {}),
    ("GET", "/articles/no-such-article", "", {}),
    ("GET", "/read/no-such-article", "", {}),
    ("GET", "/suggest", "q=kinh", {}),
    ("GET", "/suggest", "q=kinh", _ORIGIN),
    ("GET", "/healthz", "", {}),
    ("GET", "/feed", "q=kinh+t%E1%BA%BF", {}),
    ("GET", "/search.csv", "q=kinh+t%E1%BA%BF", {}),
    ("GET", "/widget.js", "", {}),
    ("GET", "/static/style.css", "", {}),
    ("GET", "/static/nothing.css", "", {}),
    ("DELETE", "/articles/x", "", {}),
]


def searches(listed: Path, varied: bool) -> list[Request]:
    """The list's `/search` requests as `bench.run` sends them; `varied`, some also collapse
    stories, ask for the second page or a timeline, as the pages do."""
    found: list[Request] = []
    for number, (q, source, sort) in enumerate(distinct.read(listed)):
        params = {"q": q, **({"source": source} if source else {}), **({"sort": sort} if sort else {})}
        if varied:
            params.update({"collapse": "1"} if number % 2 == 0 else {})
            params.update({"page": "2"} if number % 5 == 4 else {})
            params.update({"histogram": "month"} if number % 7 == 6 else {})
        found.append(("GET", "/search", urllib.parse.urlencode(params), {}))
    return found


def child(checkout: Path, mode: str, index_dir: Path, requests: list[Request], warm: int, work: Path) -> list[dict]:
    """`checkout` running `requests` (the first `warm` untimed) in a child process: its JSON lines."""
    listed, out, log = work / "requests.jsonl", work / f"{mode}.jsonl", work / "access.log"
    listed.write_text("".join(json.dumps(request, ensure_ascii=False) + "\n" for request in requests), "utf-8")
    subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(index_dir), str(listed), str(warm), str(out), str(log)],
        cwd=checkout,
        check=True,
    )
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    if mode == "answers":
        results.append({"log": [_unstamped(line) for line in log.read_text(encoding="utf-8").splitlines()]})
    return results


def _unstamped(line: str) -> str:
    """An access line less what differs between two runs of one request: its time and duration."""
    return " ".join(
        part for part in line.split(" ") if not part.startswith("time=") and not part.startswith("duration_ms=")
    )


def differences(before: list[dict], after: list[dict]) -> list[str]:
    """What differs between two checkouts' answers, request by request."""
    found = [] if len(before) == len(after) else [f"{len(before)} answers before, {len(after)} after"]
    for old, new in zip(before, after):
        for key in sorted(set(old) | set(new)):
            was, now = json.dumps(old.get(key), ensure_ascii=False), json.dumps(new.get(key), ensure_ascii=False)
            if was != now:
                at = next((i for i, (a, b) in enumerate(zip(was, now)) if a != b), min(len(was), len(now)))
                shown = f"{was[at - 40 : at + 80]!r} | {now[at - 40 : at + 80]!r}"
                found.append(f"{old.get('request', key)} {key}: {shown}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("listed", type=Path)
    parser.add_argument("--base", type=Path, required=True, help="the checkout measured as 'before'")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--timed", type=int, default=distinct.TIMED)
    parser.add_argument("--compare", type=int, default=0, help="requests of the list whose answers are compared")
    args = parser.parse_args()
    sides = {"before": args.base.resolve(), "after": ROOT}
    check_imports(parser, sides.values())
    index_dir = args.index_dir.resolve()
    timed = searches(args.listed, varied=False)[: distinct.WARM + args.timed]
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory() as work:
        for number in range(args.turns):
            for name, checkout in sides.items():
                before = load()
                (figures,) = child(checkout, "time", index_dir, timed, distinct.WARM, Path(work))
                figures |= {"web_ms": figures["app_ms"] - figures["search_ms"], "load": before}
                runs[name].append(figures)
                shown = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
                print(json.dumps({"turn": number + 1, "side": name, **shown}), flush=True)
        for name, figures in runs.items() if args.turns else ():
            medians = {k: round(statistics.median(f[k] for f in figures), 3) for k in ("app_ms", "search_ms", "web_ms")}
            print(json.dumps({"side": name, "median_of_turns": len(figures), **medians}))
        if args.compare:
            compared = searches(args.listed, varied=True)[: distinct.WARM + args.compare] + OTHERS
            answers = {
                name: child(checkout, "answers", index_dir, compared, distinct.WARM, Path(work))
                for name, checkout in sides.items()
            }
            found = differences(answers["before"], answers["after"])
            print(json.dumps({"compared": len(compared) - distinct.WARM, "differing": len(found)}))
            for line in found[:10]:
                print(line)
    print("load", load())


if __name__ == "__main__":
    main()
