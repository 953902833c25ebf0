"""The sharded index measured: the same articles in 1, 2 and 4 shards, built in local processes
and as Ray tasks, searched in process (the first pass over the query list, every cache cold),
over HTTP with distinct queries and each worker's result cache off (every request evaluated:
the cold phase), with the server's memory; then a fault run: one shard actor killed (SIGKILL)
during an HTTP load.

    nice python -m bench.shards [--data ../shared/data/vntc.jsonl.gz] [--limit N] [--duration 60]

Needs the `ray` extra and Debian's `wrk`. Figures go to `bench/results/<date>-shards.json` and
a Markdown table to `bench/results/shards.md`; the machine's load average is kept with each
phase. The 1-shard index is today's layout; every phase of a shard count runs on the same
index, and all phases run in one invocation, so that they compare under the same conditions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.run import (
    HERE,
    ROOT,
    PeakRss,
    _free_port,
    _lua,
    dir_mib,
    load,
    percentiles,
    prepare,
    raw_text_mib,
    read_queries,
    tree_rss_mib,
)

SHARD_COUNTS = (1, 2, 4)


#: Distinct queries the HTTP runs rotate through: more than a run sends, so none repeats.
DISTINCT_QUERIES = 40_000


def _paths() -> list[str]:
    found = []
    for q, source, sort in read_queries():
        params = {"q": q, **({"source": source} if source else {}), **({"sort": sort} if sort else {})}
        found.append("/search?" + urllib.parse.urlencode(params))
    return found


def distinct_paths(count: int = DISTINCT_QUERIES, seed: int = 16) -> list[str]:
    """The query list, then two-word queries made of its words (seeded), every one different:
    no answer is ever computed twice, as when readers search for many different things."""
    paths = _paths()
    seen = {q for q, _, _ in read_queries()}
    words = sorted({word for q in seen for word in q.replace('"', " ").split() if len(word) > 1})
    rng = random.Random(seed)
    while len(paths) < count:
        q = " ".join(rng.sample(words, 2))
        if q not in seen:
            seen.add(q)
            paths.append("/search?" + urllib.parse.urlencode({"q": q}))
    return paths


def build(corpus: Path, target: Path, shards: int, ray: bool) -> dict:
    """`vnsearch index --shards N [--ray auto]` in a child process: wall time, peak RSS of its
    process tree (Ray's own processes included when it starts them), size on disk."""
    command = [
        sys.executable,
        "-m",
        "search",
        "index",
        str(corpus),
        "--index-dir",
        str(target),
        "--shards",
        str(shards),
    ]
    command += ["--rebuild", "--json"] + (["--ray", "auto"] if ray else [])
    before = load()
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    sampler = PeakRss(child.pid)
    sampler.start()
    out, _ = child.communicate()
    seconds = time.perf_counter() - started
    peak = sampler.stop()
    if child.returncode:
        raise RuntimeError(f"the build of {shards} shard(s) failed ({child.returncode})")
    report = json.loads(out[out.index("{") :])
    return {
        "seconds": round(seconds, 1),
        "articles": report["added"],
        "articles_per_s": round(report["added"] / seconds, 1),
        "peak_rss_mib": round(peak),
        "index_mib": round(dir_mib(target), 1),
        "load_before": before,
        "load_after": load(),
    }


def child_cold(target: str) -> dict:
    """In a fresh process: open the index as `vnsearch serve` would and run the query list
    once (top 10 with snippets): every cache cold, as after a start or a new generation."""
    from search.query.acronyms import load_synonyms
    from search.searching.opening import open_searchable
    from search.searching.results import SearchRequest

    started = time.perf_counter()
    index = open_searchable(Path(target), load_synonyms())
    opened = (time.perf_counter() - started) * 1000
    samples, answers = [], []
    for q, source, sort in read_queries():
        request = SearchRequest(q=q, source=source or None, sort=sort or "relevance")
        started = time.perf_counter()
        result = index.search(request)
        samples.append((time.perf_counter() - started) * 1000)
        data = result.to_json()
        del data["took_ms"]
        for hit in data["hits"]:
            del hit["updated"]
        answers.append(data)
    return {
        "open_ms": round(opened),
        **percentiles(samples),
        "rss_mib": round(tree_rss_mib(os.getpid())),
        "answers": answers,
    }


def cold(target: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.shards", "--child-cold", str(target)], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout)


def _server(target: Path, port: int, ray: bool, replicas: int = 1) -> subprocess.Popen:
    env = {**os.environ, "VNSEARCH_CONTROL_SOCKET": "", "VNSEARCH_RESULT_CACHE_ENTRIES": "0"}
    command = [
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
    command += ["--ray", "auto", "--replicas", str(replicas)] if ray else []
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _get(url: str, timeout: float = 30) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def _started(server: subprocess.Popen, base: str, paths: list[str]) -> None:
    deadline = time.monotonic() + 300
    while True:
        try:
            if _get(base + "/healthz", 10)[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("the server did not start")
        time.sleep(0.5)
    for path in paths[:20] * 2:  # both workers open the index (and join Ray)
        _get(base + path)


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=120)


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as listing:
                children = [int(p) for p in listing.read().split()]
        except OSError:
            continue
        found += children
        todo += children
    return found


def actors(pid: int) -> list[int]:
    """The shard actors' processes under a `serve --ray` process (Ray names them by class)."""
    found = []
    for child in _descendants(pid):
        try:
            if Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"ray::ShardActor"):
                found.append(child)
        except OSError:
            continue
    return sorted(found)


def http(target: Path, ray: bool, duration: int, connections: int, work: Path) -> dict:
    """wrk sending distinct queries (`distinct_paths`: the cold phase, no answer computed
    twice), each worker's result cache off as well; the server's RSS (its whole process tree:
    gunicorn, and with Ray the actors and Ray's own processes)."""
    port, paths = _free_port(), distinct_paths()
    base = f"http://127.0.0.1:{port}"
    script = work / "rotate.lua"
    _lua(paths, script)
    server = _server(target, port, ray)
    try:
        _started(server, base, paths)
        before = load()
        sampler = PeakRss(server.pid, every=max(1.0, duration / 10))
        sampler.start()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(script), base],
            capture_output=True,
            text=True,
            check=True,
        )
        peak = sampler.stop()
        held = sum(tree_rss_mib(p) for p in actors(server.pid)) if ray else None
    finally:
        _stop(server)
    line = next(row for row in out.stdout.splitlines() if row.startswith("RESULT "))
    requests, micros, *errs, p50, p95, p99 = (int(x) for x in line.split()[1:])
    return {
        "req_per_s": round(requests / (micros / 1e6), 1),
        "errors": sum(errs),
        "p50": round(p50 / 1000, 1),
        "p99": round(p99 / 1000, 1),
        "server_rss_peak_mib": round(peak),
        "actors_rss_mib": None if held is None else round(held),
        "load_before": before,
        "load_after": load(),
    }


def fault(target: Path, replicas: int, seconds: int, clients: int) -> dict:
    """Load from `clients` threads over the query list (result cache off) against `serve --ray`;
    a third of the way in, one shard actor's process is SIGKILLed. Counted: errors (anything
    but 200), partial answers, and the time from the kill until the last partial one."""
    port, paths = _free_port(), _paths()
    base = f"http://127.0.0.1:{port}"
    server = _server(target, port, ray=True, replicas=replicas)
    lock, stop = threading.Lock(), threading.Event()
    tally = {"requests": 0, "errors": 0, "partial": 0, "last_partial": 0.0, "latencies": []}

    def client(offset: int) -> None:
        n = offset
        while not stop.is_set():
            n += 1
            started = time.monotonic()
            try:
                status, data = _get(base + paths[n % len(paths)] + f"&page={1 + n % 3}")
            except OSError:
                status, data = 0, {}
            done = time.monotonic()
            with lock:
                tally["requests"] += 1
                tally["latencies"].append((done - started) * 1000)
                if status != 200:
                    tally["errors"] += 1
                elif data.get("partial"):
                    tally["partial"] += 1
                    tally["last_partial"] = done

    try:
        _started(server, base, paths)
        threads = [threading.Thread(target=client, args=(k * 97,), daemon=True) for k in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(seconds / 3)
        killed_at = time.monotonic()
        os.kill(actors(server.pid)[0], signal.SIGKILL)
        time.sleep(seconds * 2 / 3)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        restarted = len(actors(server.pid))
    finally:
        _stop(server)
    until = tally["last_partial"] - killed_at if tally["partial"] else 0.0
    return {
        "replicas": replicas,
        "clients": clients,
        "seconds": seconds,
        "requests": tally["requests"],
        "errors": tally["errors"],
        "partial": tally["partial"],
        "complete_again_after_s": round(max(0.0, until), 2),
        "actors_after": restarted,
        "latency": percentiles(tally["latencies"]),
        "load_after": load(),
    }


def table(results: dict) -> str:
    rows = [
        ("build, local processes (s)", "build_local", "seconds"),
        ("build, Ray tasks (s)", "build_ray", "seconds"),
        ("build peak RSS, local (MiB)", "build_local", "peak_rss_mib"),
        ("index size (MiB)", "build_local", "index_mib"),
        ("in process, cold p50 (ms)", "cold", "p50"),
        ("in process, cold p99 (ms)", "cold", "p99"),
        ("in process RSS after the pass (MiB)", "cold", "rss_mib"),
        ("HTTP in process: req/s", "http_local", "req_per_s"),
        ("HTTP in process: p99 (ms)", "http_local", "p99"),
        ("HTTP in process: server RSS (MiB)", "http_local", "server_rss_peak_mib"),
        ("HTTP on Ray: req/s", "http_ray", "req_per_s"),
        ("HTTP on Ray: p99 (ms)", "http_ray", "p99"),
        ("HTTP on Ray: server RSS, all (MiB)", "http_ray", "server_rss_peak_mib"),
        ("HTTP on Ray: shard actors RSS (MiB)", "http_ray", "actors_rss_mib"),
        ("HTTP errors (in process / Ray)", None, None),
    ]
    counts = sorted(results["shards"], key=int)
    lines = [
        "| | " + " | ".join(f"{n} shard{'s' * (int(n) > 1)}" for n in counts) + " |",
        "| --- |" + " ---: |" * len(counts),
    ]
    for label, phase, key in rows:
        cells = []
        for n in counts:
            figures = results["shards"][n]
            if phase is None:
                cells.append(f"{figures['http_local']['errors']} / {figures['http_ray']['errors']}")
            else:
                value = figures.get(phase, {}).get(key)
                cells.append("–" if value is None else f"{value:g}" if isinstance(value, float) else str(value))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"{results['started']}, {results['articles']:,} articles ({results['raw_text_mib']} MiB of text) from "
        f"`{results['data']}`{' (the first ' + str(results['limit']) + ' lines)' if results['limit'] else ''}; "
        f"HTTP: wrk, {results['connections']} connections, {results['duration']} s of distinct queries, "
        "2 gunicorn workers, result cache off. Load averages per phase in the JSON."
    )
    for run in results.get("fault", []):
        lines.append(
            f"Fault, {run['replicas']} replica(s) per shard, {run['clients']} clients, {run['seconds']} s, one actor "
            f"SIGKILLed: {run['requests']} requests, {run['errors']} errors, {run['partial']} partial, complete "
            f"again {run['complete_again_after_s']} s after the kill."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child-cold":
        print(json.dumps(child_cold(sys.argv[2]), ensure_ascii=False))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("VNSEARCH_BENCH_DATA", ROOT.parent / "shared/data/vntc.jsonl.gz")),
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles (0: all)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of each HTTP run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--fault-seconds", type=int, default=90)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="vnsearch-shards-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = prepare(args.data, args.limit or None, work)
    count, raw = raw_text_mib(corpus)
    results: dict = {
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "articles": count,
        "raw_text_mib": round(raw, 1),
        "data": os.path.relpath(args.data, ROOT),
        "limit": args.limit,
        "duration": args.duration,
        "connections": args.connections,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "shards": {},
    }
    answers = {}
    for shards in SHARD_COUNTS:
        target = work / f"index-{shards}"
        figures: dict = {"build_ray": build(corpus, target, shards, ray=True)}
        figures["build_local"] = build(corpus, target, shards, ray=False)  # the index measured below
        cold_figures = cold(target)
        answers[shards] = cold_figures.pop("answers")
        figures["cold"] = cold_figures
        figures["http_local"] = http(target, False, args.duration, args.connections, work)
        figures["http_ray"] = http(target, True, args.duration, args.connections, work)
        results["shards"][str(shards)] = figures
        print(json.dumps({shards: figures}), flush=True)
    results["identical_answers"] = {str(n): answers[n] == answers[1] for n in SHARD_COUNTS[1:]}
    results["fault"] = [
        fault(work / f"index-{SHARD_COUNTS[-1]}", replicas, args.fault_seconds, 4) for replicas in (1, 2)
    ]
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H%M")
    out = HERE / "results" / f"{stamp}-shards.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "results" / "shards.md").write_text(table(results), encoding="utf-8")
    print(table(results))
    print(json.dumps({"identical_answers": results["identical_answers"], "fault": results["fault"]}, indent=2))


if __name__ == "__main__":
    main()
