"""python -m bench.slow_clients: slow clients against the service, through nginx and without it.

Holds `--slow-headers` connections that send their request headers one line every
`--header-interval` seconds and never finish them, and `--stalled-bodies` connections that
send their headers and the start of an article body (an authorized `PUT /articles/{id}`, the
one path whose body the service reads) and then nothing, for `--duration` seconds, while
`--clients` clients search continuously with the committed query list, each from its own
loopback address and at most `--rate` searches a second (a person's pace, under the proxy's
limit for one address). An attacker connection that the server closes is opened again at once,
so the number held stays the same all along: per-connection timeouts do not make it go away.

It runs that through nginx (the `vnsearch nginx-config --standalone` configuration) in front of
`vnsearch serve`, then directly against the same `vnsearch serve`, and prints a table of
failed searches and latency for each; then a burst over the rate limit through the proxy (it
must get 429 with the JSON error body and Retry-After), and what /metrics counted. With
`--compare` it also runs the direct case against other worker settings (sync workers, threads
without the receive timeout) and prints a second table. Figures are printed, not asserted:
`tests/test_proxy.py` checks the same shape with fewer connections.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import secrets
import select
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.run import read_queries
from bench.servers import ProxyConfig, nginx, request, service
from search.corpus.files import iter_corpus
from search.index.indexer import build
from search.settings import Settings

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
#: Direct runs against other worker settings (--compare): what each row changes.
COMPARED = [
    (
        "sync, 2 workers, no receive timeout (before)",
        {"GUNICORN_CMD_ARGS": "--worker-class sync", "VNSEARCH_THREADS": "1", "VNSEARCH_CLIENT_TIMEOUT": "0"},
    ),
    ("sync, 2 workers, receive timeout 5 s", {"GUNICORN_CMD_ARGS": "--worker-class sync", "VNSEARCH_THREADS": "1"}),
    ("gthread, 2 × 32 threads, no receive timeout", {"VNSEARCH_THREADS": "32", "VNSEARCH_CLIENT_TIMEOUT": "0"}),
    ("gthread, 2 × 32 threads, receive timeout 5 s", {"VNSEARCH_THREADS": "32"}),
    ("gthread, 2 × 128 threads, no receive timeout", {"VNSEARCH_CLIENT_TIMEOUT": "0"}),
    ("gthread, 2 × 128 threads, receive timeout 5 s (the default)", {}),
]


@dataclass
class Tally:
    """What one run saw; one lock, taken once per request."""

    latencies: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    cut: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def figures(self, seconds: float) -> dict[str, object]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1) if ordered else None

        failed = sum(self.failures.values())
        return {
            "searches": len(ordered) + failed,
            "failed": failed,
            "failures": dict(self.failures),
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
            "per_second": round(len(ordered) / seconds, 1),
            "attackers_cut": dict(self.cut),
        }


def _hold(sock: socket.socket, stop: threading.Event, until: float) -> bool:
    """Wait until `until` (monotonic), `stop`, or the server closing or answering; True if the
    server did either (the connection is done for)."""
    while not stop.is_set():
        left = until - time.monotonic()
        if left <= 0:
            return False
        readable, _, _ = select.select([sock], [], [], min(left, 0.5))
        if readable:
            return True
    return False


def slow_header(port: int, interval: float, stop: threading.Event, tally: Tally) -> None:
    """Headers one line every `interval` seconds, never the blank line that ends them."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET /search?q=slow HTTP/1.1\r\nHost: bench\r\n")
                for line in itertools.count():
                    if _hold(sock, stop, time.monotonic() + interval) or stop.is_set():
                        break
                    sock.sendall(f"X-Slow-{line}: x\r\n".encode())
        except OSError:
            pass
        if not stop.is_set():
            with tally.lock:
                tally.cut["slow header"] += 1
            stop.wait(0.05)


def stalled_body(port: int, token: str, n: int, stop: threading.Event, tally: Tally) -> None:
    """An article upload that stops after its first kilobyte of 64."""
    head = (
        f"PUT /articles/stalled-{n} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: 65536\r\n\r\n"
    ).encode()
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(head + b'{"title": "' + b"a" * 1024)
                _hold(sock, stop, float("inf"))
        except OSError:
            pass
        if not stop.is_set():
            with tally.lock:
                tally.cut["stalled body"] += 1
            stop.wait(0.05)


def searcher(port: int, source: str, paths: list[str], rate: float, stop: threading.Event, tally: Tally) -> None:
    for path in itertools.cycle(paths):
        if stop.is_set():
            return
        started = time.perf_counter()
        try:
            status, _, _ = request(port, path, timeout=10, source=source)
            error = None if status == 200 else f"HTTP {status}"
        except OSError as exc:
            error = type(exc).__name__
        took = time.perf_counter() - started
        with tally.lock:
            if error:
                tally.failures[error] += 1
            else:
                tally.latencies.append(took)
        stop.wait(max(0.0, 1 / rate - took))


def search_paths(limit: int | None = None) -> list[str]:
    paths = []
    for q, source, sort in read_queries():
        params = {"q": q, **({"source": source} if source else {}), **({"sort": sort} if sort else {})}
        paths.append("/search?" + urllib.parse.urlencode(params))
    return paths[:limit] if limit else paths


def run_load(port: int, args: argparse.Namespace, token: str) -> dict[str, object]:
    """Attackers first (given a moment to take their places), then the searchers, for the duration."""
    stop, tally = threading.Event(), Tally()
    threads = [
        threading.Thread(target=slow_header, args=(port, args.header_interval, stop, tally), daemon=True)
        for _ in range(args.slow_headers)
    ]
    threads += [
        threading.Thread(target=stalled_body, args=(port, token, n, stop, tally), daemon=True)
        for n in range(args.stalled_bodies)
    ]
    for thread in threads:
        thread.start()
    time.sleep(args.settle)
    paths = search_paths()
    searchers = [
        threading.Thread(
            target=searcher,
            daemon=True,
            args=(port, f"127.0.0.{20 + i}", paths[i * 37 :] + paths[: i * 37], args.rate, stop, tally),
        )
        for i in range(args.clients)
    ]
    started = time.monotonic()
    for thread in searchers:
        thread.start()
    time.sleep(args.duration)
    stop.set()
    seconds = time.monotonic() - started
    deadline = time.monotonic() + 15  # a search or connect in flight ends within its own timeout
    for thread in searchers + threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return tally.figures(seconds)


def burst(port: int, count: int, source: str = "127.0.0.99") -> dict[str, object]:
    """`count` searches back to back from one address: past the burst allowance they get 429."""
    statuses: Counter = Counter()
    refused = None
    for _ in range(count):
        status, headers, body = request(port, "/search?q=bao+hiem", source=source)
        statuses[status] += 1
        if status == 429 and refused is None:
            refused = {
                "content_type": headers.get("content-type"),
                "retry_after": headers.get("retry-after"),
                "body": json.loads(body),
            }
    return {"statuses": dict(statuses), "refused": refused}


def metrics_lines(port: int) -> list[str]:
    """The vnsearch series of /metrics, histogram buckets left out."""
    status, _, body = request(port, "/metrics")
    if status != 200:
        return [f"/metrics answered {status}"]
    return [
        line
        for line in body.decode().splitlines()
        if line.startswith("vnsearch_") and "_bucket{" not in line and not line.endswith(" 0.0")
    ]


def ensure_index(args: argparse.Namespace, work: Path) -> tuple[Path, int]:
    if args.index_dir:
        return args.index_dir, -1
    index_dir = work / "index"
    source = [args.data] if args.data else [CORPUS]
    items = iter_corpus(source)
    report = build(
        index_dir, itertools.islice(items, args.limit) if args.limit else items, procs=Settings.from_env().index_procs
    )
    return index_dir, report.added


def _row(label: str, f: dict[str, object]) -> str:
    cut = ", ".join(f"{k} {v}" for k, v in f["attackers_cut"].items()) or "none"  # type: ignore[union-attr]
    failures = ", ".join(f"{k} {v}" for k, v in f["failures"].items())  # type: ignore[union-attr]
    failed = f"{f['failed']}" + (f" ({failures})" if failures else "")
    return (
        f"| {label} | {f['searches']} | {failed} | {f['p50_ms']} | {f['p99_ms']} | {f['max_ms']} | "
        f"{f['per_second']} | {cut} |"
    )


HEADER = (
    "| target | searches | failed | p50 ms | p99 ms | max ms | searches/s "
    "| attacker connections closed by the server |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per run [60]")
    parser.add_argument("--slow-headers", type=int, default=50)
    parser.add_argument("--stalled-bodies", type=int, default=50)
    parser.add_argument("--header-interval", type=float, default=5, help="seconds between header lines [5]")
    parser.add_argument("--clients", type=int, default=4, help="searching clients [4]")
    parser.add_argument("--rate", type=float, default=8, help="searches a second per client at most [8]")
    parser.add_argument("--settle", type=float, default=2, help="seconds the attackers get before the searches [2]")
    parser.add_argument("--burst", type=int, default=60, help="back-to-back searches of the rate-limit burst [60]")
    parser.add_argument("--compare", action="store_true", help="also run direct with other worker settings")
    parser.add_argument("--index-dir", type=Path, help="an existing index (default: build one)")
    parser.add_argument("--data", type=Path, help="corpus to build from (default: the bundled one)")
    parser.add_argument("--limit", type=int, help="articles of --data to index")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    for name in ("duration", "header_interval", "rate"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be above 0")
    token = secrets.token_urlsafe(16)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="vnsearch-slow-") as tmp:
        work = Path(tmp)
        index_dir, articles = ensure_index(args, work)
        load = os.getloadavg()[0]
        with service(index_dir, work / "service", VNSEARCH_ADMIN_TOKEN=token) as app:
            config = ProxyConfig.from_settings(Settings.from_env(), upstream=f"127.0.0.1:{app.port}")
            with nginx(config, work / "nginx") as proxy:
                results["proxy"] = run_load(proxy.port, args, token)
                time.sleep(1)  # the rate limit's bucket refills
                results["burst"] = burst(proxy.port, args.burst)
                results["metrics_after_proxy_run"] = metrics_lines(proxy.port)
            results["direct"] = run_load(app.port, args, token)
            results["metrics_after_both"] = metrics_lines(app.port)
        compared = {}
        if args.compare:
            for label, env in COMPARED:
                with service(index_dir, work / f"compare-{len(compared)}", VNSEARCH_ADMIN_TOKEN=token, **env) as app:
                    compared[label] = run_load(app.port, args, token)
        results["compared"] = compared
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"{when}, {platform.machine()}, {os.cpu_count()} CPUs, load {load:.1f} at the start; "
        f"index: {articles if articles >= 0 else 'given'} articles; {args.slow_headers} slow-header "
        f"(a line every {args.header_interval:g} s) and {args.stalled_bodies} stalled-body connections held "
        f"for {args.duration:g} s while {args.clients} clients searched at up to {args.rate:g}/s each.\n"
    )
    print(HEADER)
    print(_row("through nginx (vnsearch nginx-config)", results["proxy"]))  # type: ignore[arg-type]
    print(_row("direct to vnsearch serve", results["direct"]))  # type: ignore[arg-type]
    if compared:
        print("\nDirect, other worker settings:\n")
        print(HEADER)
        for label, figures in compared.items():
            print(_row(label, figures))
    b = results["burst"]
    print(
        f"\nBurst of {args.burst} searches from one address through nginx: statuses {b['statuses']}; "  # type: ignore[index]
        f"first 429: {json.dumps(b['refused'], ensure_ascii=False)}"
    )  # type: ignore[index]
    print("\n/metrics after the run through nginx (series that are not zero, no buckets):")
    print("\n".join("    " + line for line in results["metrics_after_proxy_run"]))  # type: ignore[union-attr]
    print("\n/metrics after the direct run as well:")
    print("\n".join("    " + line for line in results["metrics_after_both"]))  # type: ignore[union-attr]
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    proxy_ok = results["proxy"]["failed"] == 0  # type: ignore[index]
    return 0 if proxy_ok and b["refused"] else 1  # type: ignore[index]


if __name__ == "__main__":
    sys.exit(main())
