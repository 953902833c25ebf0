"""The archive-scale benchmark: build, query in process and query over HTTP, for vnsearch and
its two peers (SQLite FTS5, Tantivy) on the same articles and the same query list.

One command from the repository root (installs: `pip install -c constraints.txt -e '.[bench]'`,
and Debian's `wrk`):

    nice python -m bench.run [--data ../shared/data/vntc.jsonl.gz] [--limit N] [--duration 60]

Besides the committed query list (which repeats, so a result cache answers most of it), every
engine runs the distinct phase (`bench.distinct`): thousands of queries drawn from the corpus's
titles, none repeated, with vnsearch's result cache off, in process and over HTTP
(`--distinct 0` skips it).

Figures go to `bench/results/<date>.json` and a Markdown table to `bench/results/latest.md`
(copy it into the README). Every build runs in a child process whose whole process tree is
sampled for peak RSS; the machine's load average is recorded with each phase, since the
figures mean little without it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench import distinct
from search.corpus.article import Article
from search.corpus.files import iter_corpus

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUERIES = HERE / "queries.tsv"
ENGINES = ("vnsearch", "fts5", "tantivy")


# -- measuring ----------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _tree(pid: int) -> Iterator[int]:
    """A process and all its descendants."""
    stack = [pid]
    while stack:
        p = stack.pop()
        yield p
        stack.extend(_children(p))


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    return sum(map(_rss_kib, _tree(pid))) / 1024


def _cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) of a live process and all its live descendants: what a
    server spent, read before and after a load."""
    return sum(map(_cpu_s, _tree(pid)))


class PeakRss(threading.Thread):
    """Samples a process tree's RSS until stopped; keeps the peak and every sample."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0.0
        self.samples: list[float] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            rss = tree_rss_mib(self.pid)
            self.samples.append(rss)
            self.peak = max(self.peak, rss)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished children (wrk, once it has been waited for)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def dir_mib(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 2),
        "p95": round(cuts[94], 2),
        "p99": round(cuts[98], 2),
        "mean": round(statistics.fmean(samples_ms), 2),
    }


# -- data ---------------------------------------------------------------------------------


def articles(corpus: Path) -> Iterator[Article]:
    """The articles exactly as vnsearch reads them (normalised, cleaned), for the peers too."""
    return (a for a in iter_corpus([corpus]) if isinstance(a, Article))


def prepare(data: Path, limit: int | None, work: Path) -> Path:
    """The corpus file to index: `data` itself, or its first `limit` lines."""
    if not limit:
        return data
    out = work / f"corpus-{limit}.jsonl"
    opener = gzip.open if data.name.endswith(".gz") else open
    with opener(data, "rt", encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            if n >= limit:
                break
            dst.write(line)
    return out


def raw_text_mib(corpus: Path) -> tuple[int, float]:
    """Article count and the UTF-8 size of their titles and bodies: what "raw text" means."""
    count = size = 0
    for a in articles(corpus):
        count += 1
        size += len(a.title.encode()) + len(a.body.encode())
    return count, size / 2**20


def read_queries(path: Path = QUERIES) -> list[tuple[str, str, str]]:
    """The committed query list (a distinct list's format: query, outlet, sort)."""
    return distinct.read(path)


# -- child processes: one build or one query run each ----------------------------------------


def child_build(engine: str, corpus: Path, target: Path) -> None:
    if engine == "vnsearch":
        from search.cli import main

        sys.argv = ["vnsearch", "index", str(corpus), "--index-dir", str(target), "--rebuild"]
        try:
            main()
        except SystemExit as exc:
            if exc.code:
                raise
        return
    from bench.peers import PEERS

    PEERS[engine].build(target, articles(corpus))


def _vnsearch_searcher(target: Path):
    from search.query.acronyms import load_synonyms
    from search.searching.searcher import SearchIndex

    index = SearchIndex(target, load_synonyms())

    def search(q: str, source: str, sort: str) -> int:
        return len(index.search(distinct.page_request(q, source, sort)).hits)

    return search


def _peer_searcher(engine: str, target: Path):
    from bench.peers import PEERS

    peer = PEERS[engine](target)
    return lambda q, source, sort: len(peer.search(q, source, sort)["hits"])


def child_query(engine: str, target: Path, rounds: int) -> dict:
    """Each query once to warm up (timed too: "first pass", with every cache cold), then
    `rounds` timed passes; top 10 with snippets each."""
    search = _vnsearch_searcher(target) if engine == "vnsearch" else _peer_searcher(engine, target)
    queries = read_queries()
    first, errors = distinct.timed_pass(search, queries)
    timings = []
    for _ in range(rounds):
        found, failed = distinct.timed_pass(search, queries)
        timings += found
        errors += failed
    return {
        **percentiles([ms for ms, _ in timings]),
        "first_pass": percentiles([ms for ms, _ in first]),
        "queries": len(timings),
        "errors": errors,
        "slowest": distinct.slowest(timings, 5),
        "rss_mib": round(tree_rss_mib(os.getpid()), 1),
    }


# -- phases -------------------------------------------------------------------------------


def build(engine: str, corpus: Path, target: Path, count: int, raw_mib: float) -> dict:
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    before = load()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.run", "--child-build", engine, str(corpus), str(target)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    sampler = PeakRss(proc.pid)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - started
    peak = sampler.stop()
    if proc.returncode:
        raise RuntimeError(f"{engine} build failed: {err.decode()[-2000:]}")
    size = dir_mib(target)
    return {
        "seconds": round(seconds, 1),
        "articles_per_s": round(count / seconds, 1),
        "peak_rss_mib": round(peak, 1),
        "index_mib": round(size, 1),
        "index_vs_raw": round(size / raw_mib, 2),
        "load_before": before,
        "load_after": load(),
    }


def child_distinct(engine: str, target: Path, queries: Path, warm: int, timed: int) -> dict:
    """The distinct list in process, result cache off (the searcher here has none)."""
    search = _vnsearch_searcher(target) if engine == "vnsearch" else _peer_searcher(engine, target)
    return distinct.child_query(search, distinct.read(queries), warm, timed)


def query(engine: str, target: Path, rounds: int, distinct_list: Path | None = None) -> dict:
    before = load()
    args = ["--child-query", engine, str(target), str(rounds)]
    if distinct_list is not None:
        args = ["--child-distinct", engine, str(target), str(distinct_list), str(distinct.WARM), str(distinct.TIMED)]
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return {**json.loads(out.stdout.splitlines()[-1]), "load_before": before, "load_after": load()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lua(paths: list[str], out: Path) -> None:
    quoted = ",\n".join(json.dumps(p) for p in paths)
    out.write_text(
        "local paths = {\n" + quoted + "\n}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
        "done = function(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        "  io.write(string.format('RESULT %d %d %d %d %d %d %d %d %d %d\\n', summary.requests,"
        " summary.duration, e.connect, e.read, e.write, e.status, e.timeout,"
        " latency:percentile(50), latency:percentile(95), latency:percentile(99)))\nend\n",
        encoding="utf-8",
    )


def _server(
    engine: str, target: Path, port: int, extra_env: dict[str, str] | None = None, root: Path = ROOT
) -> subprocess.Popen:
    """The engine's server on `port`; ours runs the code of the checkout `root` (another
    checkout's, for `bench.alternate --http`)."""
    env = {**os.environ, "VNSEARCH_CONTROL_SOCKET": "", **(extra_env or {})}
    if engine == "vnsearch":
        cmd = [
            sys.executable,
            "-m",
            "search",
            "serve",
            "--index-dir",
            str(target),
            "--port",
            str(port),
            "--workers",
            "2",
        ]
    else:
        env.update(BENCH_PEER=engine, BENCH_PEER_PATH=str(target))
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "bench.peer_app:application",
        ]
    return subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as resp:
        resp.read()
        return resp.status


def _paths(queries: list[tuple[str, str, str]]) -> list[str]:
    paths = []
    for q, source, sort in queries:
        params = {"q": q, **({"source": source} if source else {}), **({"sort": sort} if sort else {})}
        paths.append("/search?" + urllib.parse.urlencode(params))
    return paths


def http(
    engine: str,
    target: Path,
    duration: int,
    connections: int,
    work: Path,
    distinct_list: Path | None = None,
    root: Path = ROOT,
) -> dict:
    """Load from wrk (one thread, `connections` connections) against 2 gunicorn workers:
    rotating through the query list, or with `distinct_list` walking it once with the result
    cache off (its first `distinct.WARM` queries warm the workers first); RSS of the whole
    server at start (warm) and end, and every tenth of the run in between (is memory flat?).
    `root`: the checkout whose code serves (see `_server`)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    if distinct_list is None:
        paths = _paths(read_queries())
        warm, script = paths[:20] * 2, work / "rotate.lua"
        _lua(paths, script)
        server = _server(engine, target, port, root=root)
    else:
        every = _paths(distinct.read(distinct_list))
        warm, paths, script = every[: distinct.WARM], every[distinct.WARM :], work / "once.lua"
        distinct.once_lua(paths, script)
        server = _server(engine, target, port, {"VNSEARCH_RESULT_CACHE_ENTRIES": "0"}, root)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base + paths[0])
                break
            except OSError as exc:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"{engine} server did not start") from exc
                time.sleep(0.3)
        for path in warm:  # both workers open their index and warm up
            _get(base + path)
        rss_start = tree_rss_mib(server.pid)
        before = load()
        sampler = PeakRss(server.pid, every=duration / 10)
        sampler.start()
        server_cpu, client_cpu = tree_cpu_s(server.pid), _children_cpu_s()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(script), base],
            capture_output=True,
            text=True,
            check=True,
        )
        server_cpu, client_cpu = tree_cpu_s(server.pid) - server_cpu, _children_cpu_s() - client_cpu
        sampler.stop()
        rss_end = tree_rss_mib(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    line = next(row for row in out.stdout.splitlines() if row.startswith("RESULT "))
    requests, micros, *errs, p50, p95, p99 = (int(x) for x in line.split()[1:])
    return {
        "requests": requests,
        **({"exhausted": requests >= len(paths)} if distinct_list is not None else {}),
        "req_per_s": round(requests / (micros / 1e6), 1),
        "errors": sum(errs),
        "p50": round(p50 / 1000, 1),
        "p95": round(p95 / 1000, 1),
        "p99": round(p99 / 1000, 1),
        "connections": connections,
        "seconds": duration,
        # Whether the rate is bound by the cores: the server's and wrk's CPU over the run.
        "server_cores": round(server_cpu / (micros / 1e6), 2),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(requests, 1), 2),
        "wrk_cpu_ms_per_request": round(client_cpu * 1000 / max(requests, 1), 3),
        "rss_start_mib": round(rss_start, 1),
        "rss_end_mib": round(rss_end, 1),
        "rss_every_tenth_mib": [round(x) for x in sampler.samples],
        "load_before": before,
        "load_after": load(),
    }


# -- report -------------------------------------------------------------------------------


def _ratio(ours: float, peer: float) -> str:
    return f"{ours / peer:.1f}×" if peer else "–"


def _value(figures: dict, key: str) -> float:
    if key.startswith("first_"):
        return figures["first_pass"][key[len("first_") :]]
    return figures[key]


def table(results: dict) -> str:
    r = results["engines"]
    rows = [
        ("build time (s)", "build", "seconds"),
        ("articles/s", "build", "articles_per_s"),
        ("build peak RSS (MiB)", "build", "peak_rss_mib"),
        ("index size (MiB)", "build", "index_mib"),
        ("index / raw text", "build", "index_vs_raw"),
        ("in-process p50 (ms)", "query", "p50"),
        ("in-process p95 (ms)", "query", "p95"),
        ("in-process p99 (ms)", "query", "p99"),
        ("in-process first pass p50 (ms)", "query", "first_p50"),
        ("in-process first pass p99 (ms)", "query", "first_p99"),
        ("HTTP req/s", "http", "req_per_s"),
        ("HTTP p50 (ms)", "http", "p50"),
        ("HTTP p95 (ms)", "http", "p95"),
        ("HTTP p99 (ms)", "http", "p99"),
        ("HTTP errors", "http", "errors"),
        ("server RSS start → end (MiB)", "http", "rss"),
        ("distinct, in process p50 (ms)", "distinct_query", "p50"),
        ("distinct, in process p95 (ms)", "distinct_query", "p95"),
        ("distinct, in process p99 (ms)", "distinct_query", "p99"),
        ("distinct, HTTP req/s", "distinct_http", "req_per_s"),
        ("distinct, HTTP p50 (ms)", "distinct_http", "p50"),
        ("distinct, HTTP p95 (ms)", "distinct_http", "p95"),
        ("distinct, HTTP p99 (ms)", "distinct_http", "p99"),
        ("distinct, HTTP errors", "distinct_http", "errors"),
    ]
    names = {"vnsearch": "vnsearch", "fts5": "SQLite FTS5", "tantivy": "Tantivy"}
    engines = [e for e in ENGINES if e in r]
    peers = [e for e in engines if e != "vnsearch"] if "vnsearch" in engines else []
    out = [
        "| | " + " | ".join(names[e] for e in engines) + "".join(f" | vnsearch / {names[p]}" for p in peers) + " |",
        "| --- |" + " ---: |" * (len(engines) + len(peers)),
    ]
    for label, phase, key in rows:
        if not engines or any(phase not in r[e] for e in engines):
            continue
        if key == "rss":
            cells = [f"{r[e][phase]['rss_start_mib']:.0f} → {r[e][phase]['rss_end_mib']:.0f}" for e in engines]
            out.append(f"| {label} | " + " | ".join(cells) + " |" + " |" * len(peers))
            continue
        values = {e: _value(r[e][phase], key) for e in engines}
        ratios = "".join(f" | {_ratio(values['vnsearch'], values[p])}" for p in peers)
        out.append(f"| {label} | " + " | ".join(f"{values[e]:g}" for e in engines) + ratios + " |")
    meta = results["meta"]
    out.append("")
    out.append(
        f"{meta['date']}, {meta['articles']:,} articles ({meta['raw_text_mib']:.0f} MiB of text) from "
        f"`{meta['data']}`, {meta['queries']} queries × {meta['rounds']} warm rounds in process, "
        f"HTTP: wrk, {meta['connections']} connections, {meta['duration']} s, gunicorn with 2 workers, "
        f"result cache entries: {meta.get('result_cache_entries', 'default')}. "
        + (
            f"Distinct: {meta['distinct']['timed']} queries first seen in process after "
            f"{meta['distinct']['warm']} others, then wrk walking {meta['distinct']['count']:,} distinct "
            f"queries once for up to {meta['distinct']['duration']} s, result cache off. "
            if "distinct" in meta
            else ""
        )
        + f"Machine: {meta['machine']}; load averages per phase in the JSON."
    )
    return "\n".join(out)


def compile_checkout(checkout: Path) -> None:
    """Writes the bytecode of a checkout's `search` and `bench`, so that the children and servers
    started in it load compiled modules. A fresh worktree has none when `PYTHONDONTWRITEBYTECODE`
    is set, and a checkout whose sources changed has stale files. Its children then compile those
    modules from source at every start, and ran about 8% slower at the median query than the
    same code loaded from bytecode (`bench/results/2026-12-07-bits.md`). `main` writes `ROOT`'s
    before it times anything; `bench.alternate` writes both sides'."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "search", "bench"], cwd=checkout, check=True, capture_output=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Build, query and load-test vnsearch, SQLite FTS5 and Tantivy.")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(
            os.environ.get(
                "VNSEARCH_BENCH_DATA", Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data")) / "vntc.jsonl.gz"
            )
        ),
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the query list in process (0: skip)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of HTTP load per engine (0: skip)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--distinct", type=int, default=distinct.COUNT, help="distinct queries drawn for that phase (0: skip it)"
    )
    parser.add_argument(
        "--distinct-duration", type=int, default=30, help="seconds of HTTP load over the distinct queries (0: skip)"
    )
    parser.add_argument("--work-dir", type=Path, default=None, help="where indexes go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the indexes (in --work-dir) and reuse them")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--child-build", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-query", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-distinct", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_build:
        engine, corpus, target = args.child_build
        child_build(engine, Path(corpus), Path(target))
        return
    if args.child_query:
        engine, target, rounds = args.child_query
        print(json.dumps(child_query(engine, Path(target), int(rounds)), ensure_ascii=False))
        return
    if args.child_distinct:
        engine, target, listed, warm, timed = args.child_distinct
        figures = child_distinct(engine, Path(target), Path(listed), int(warm), int(timed))
        print(json.dumps(figures, ensure_ascii=False))
        return

    compile_checkout(ROOT)
    data = args.data.resolve()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="vnsearch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = prepare(data, args.limit, work)
    count, raw_mib = raw_text_mib(corpus)
    results: dict = {
        "meta": {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "data": str(args.data),
            "articles": count,
            "raw_text_mib": round(raw_mib, 1),
            "queries": len(read_queries()),
            "rounds": args.rounds,
            "connections": args.connections,
            "duration": args.duration,
            "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()}",
            # The server's result cache (VNSEARCH_RESULT_CACHE_ENTRIES, 0: off) answers the
            # query list's repeats over HTTP; the in-process runs never use it.
            "result_cache_entries": os.environ.get("VNSEARCH_RESULT_CACHE_ENTRIES") or "default",
        },
        "engines": {},
    }
    distinct_list = None
    if args.distinct:
        distinct_list = work / "distinct.tsv"
        drawn = distinct.make(distinct.titles(corpus), args.distinct)
        results["meta"]["distinct"] = {
            "count": len(drawn),
            "seed": distinct.SEED,
            "sha256": distinct.write(drawn, distinct_list),
            "warm": distinct.WARM,
            "timed": distinct.TIMED,
            "duration": args.distinct_duration,
        }
    print(f"{count} articles, {raw_mib:.0f} MiB of text, work dir {work}", file=sys.stderr)
    try:
        for engine in args.engines.split(","):
            target = work / engine
            phases = results["engines"].setdefault(engine, {})
            saved = work / f"{engine}.build.json"
            if args.keep and target.exists() and saved.exists():  # built by an earlier --keep run
                phases["build"] = json.loads(saved.read_text())
            else:
                phases["build"] = build(engine, corpus, target, count, raw_mib)
                saved.write_text(json.dumps(phases["build"]))
                print(engine, "build", phases["build"], file=sys.stderr)
            if args.rounds:
                phases["query"] = query(engine, target, args.rounds)
                print(engine, "query", phases["query"], file=sys.stderr)
            if args.duration:
                phases["http"] = http(engine, target, args.duration, args.connections, work)
                print(engine, "http", phases["http"], file=sys.stderr)
            if distinct_list is not None:
                phases["distinct_query"] = query(engine, target, 0, distinct_list)
                print(engine, "distinct query", phases["distinct_query"], file=sys.stderr)
                if args.distinct_duration:
                    phases["distinct_http"] = http(
                        engine, target, args.distinct_duration, args.connections, work, distinct_list
                    )
                    print(engine, "distinct http", phases["distinct_http"], file=sys.stderr)
    finally:
        if not args.keep and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = results["meta"]["date"][:16].replace(" ", "T").replace(":", "")
    (args.out / f"{stamp}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    text = table(results)
    (args.out / "latest.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
