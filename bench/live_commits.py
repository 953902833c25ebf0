"""The service under a stream of one-article commits, as a newsroom's CMS sends them.

    python bench/live_commits.py [--data ../shared/data/vntc.jsonl.gz] [--limit N]
        [--index-dir PREBUILT] [--repo CHECKOUT] [--quiet 60] [--commits-for 60] [--every 5]

Serves an index with `vnsearch serve` (2 workers, result cache off, writes enabled), waits
until both workers have answered suggestions and gone idle, then sends from one client a
search and a suggestion alternately every `--interval` seconds: first for `--quiet` seconds,
then for `--commits-for` seconds while a new article is PUT every `--every` seconds, then on
(latencies no longer recorded) until every new title was suggested and the server is idle
again, so that work a commit set off counts wherever it ends. Reports the server's CPU seconds
per commit beyond the quiet rate (utime + stime of the arbiter and the workers, with their
reaped children, from /proc/<pid>/stat, over the commit phase and the drain), search and
suggest p50/p95 in both phases, how long after each PUT its title was first suggested (a
title not suggested within 90 s is counted as not seen), and the workers' peak resident
memory. The index is built from `--data` (its first `--limit` articles) or copied
from `--index-dir` into a temporary folder, so the PUTs never touch the original. `--repo`
serves another checkout's code (its own `.venv`), e.g. the branch point, for a before/after.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "live-commits-bench"
SEARCHES = [
    "bảo hiểm xã hội",
    "gia vang",
    "bong da",
    "thu tuong chinh phu",
    "benh vien",
    "ngân hàng",
    "giá xăng",
    "cong an tp hcm",
    "viet nam",
    "thị trường chứng khoán",
    "hlv",
    "tai nan giao thong",
    "dien thoai di dong",
    "hoc sinh",
    "world cup",
    "tham nhung",
    "Hà Nội",
    "xuat khau gao",
    "virus",
    "bầu cử",
]
PREFIXES = [
    "b",
    "ng",
    "bao hi",
    "bao hiem xa",
    "thu tuong",
    "viet nam ",
    "gia v",
    "nguye",
    "hlv",
    "cong an tp",
    "t",
    "x",
    "bong d",
    "ha n",
    "tai n",
    "chung kh",
    "dien th",
    "hoc s",
    "world",
    "tham nh",
]


def _pids(root: int) -> list[int]:
    """`root` and its descendants now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _cpu(pids: list[int]) -> float:
    """CPU seconds of the given processes, with the children they have reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / tick


def _rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in MiB."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(value.split()[0]) // 1024
    except OSError:
        pass
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


class Server:
    def __init__(self, repo: Path, index_dir: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = dict(os.environ, VNSEARCH_RESULT_CACHE_ENTRIES="0", VNSEARCH_ADMIN_TOKEN=TOKEN)
        self.proc = subprocess.Popen(
            [
                str(repo / ".venv/bin/vnsearch"),
                "serve",
                "--workers",
                "2",
                "--port",
                str(self.port),
                "--index-dir",
                str(index_dir),
            ],
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        return [pid for pid in _pids(self.proc.pid) if pid != self.proc.pid and _is_worker(pid)]

    def cpu(self) -> float:
        return _cpu(_pids(self.proc.pid))

    def get(self, path: str, **params: object) -> tuple[float, dict]:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as resp:
            body = json.load(resp)
        return time.perf_counter() - started, body

    def put(self, article: dict) -> None:
        request = urllib.request.Request(
            f"{self.base}/articles/{urllib.parse.quote(article['id'], safe='')}",
            method="PUT",
            data=json.dumps(article).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as resp:
            resp.read()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _is_worker(pid: int) -> bool:
    try:
        return "gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _articles(path: Path, skip: int, count: int) -> list[dict]:
    """`count` articles from the data after the first `skip`, as new ones (new ids, today's date)."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in itertools.islice(lines, skip, skip + count)]
    if len(rows) < count:  # the whole file is indexed: reuse its first articles under new ids
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            rows += [json.loads(line) for line in itertools.islice(lines, count - len(rows))]
    today = time.strftime("%Y-%m-%d")
    return [dict(row, id=f"live/{n}", date=today, url=None) for n, row in enumerate(rows)]


def _wait_ready(server: Server, limit: float) -> float:
    """Until suggestions are ready in both workers and the server has gone idle."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            server.get("/healthz")
            break
        except OSError:
            time.sleep(0.5)
    ready = 0
    while time.monotonic() - started < limit and ready < 20:
        _, body = server.get("/suggest", q="bao hi")
        ready = ready + 1 if body.get("ready") else 0
        time.sleep(0.1 if body.get("ready") else 1.0)
    while time.monotonic() - started < limit:  # no worker still building
        before = server.cpu()
        time.sleep(3)
        if server.cpu() - before < 0.3:
            break
    return time.monotonic() - started


def _phase(
    server: Server,
    seconds: float,
    interval: float,
    samples: dict,
    rss: list[int],
    until: Callable[[], bool] | None = None,
) -> tuple[float, float]:
    """One client: a search and a suggestion alternately, one request per `interval`, for
    `seconds` (then on until `until()` says stop, if given). Returns (CPU, wall) seconds."""
    cpu, started = server.cpu(), time.monotonic()
    deadline = started + seconds
    tick = started
    for n in itertools.count():
        now = time.monotonic()
        if now >= deadline and (until is None or until()):
            break
        if n % 2 == 0:
            took, _ = server.get("/search", q=SEARCHES[(n // 2) % len(SEARCHES)])
            samples["search"].append(took)
        else:
            took, _ = server.get("/suggest", q=PREFIXES[(n // 2) % len(PREFIXES)])
            samples["suggest"].append(took)
        if n % 10 == 0:
            rss.extend(_rss(pid)[0] for pid in server.workers())
        tick = max(tick + interval, time.monotonic() - interval)  # late: no burst to catch up
        time.sleep(max(0.0, tick - time.monotonic()))
    return server.cpu() - cpu, time.monotonic() - started


class Commits:
    """PUTs a new article every `every` seconds, and watches for each title to be suggested:
    one poll every `poll` seconds for the oldest title not yet seen (titles commit in order,
    so once one is seen the next are tried at once)."""

    def __init__(self, server: Server, articles: list[dict], every: float, poll: float = 0.2) -> None:
        self.server, self.articles, self.every, self.poll = server, articles, every, poll
        self.put_at: list[float] = []
        self.put_took: list[float] = []
        self.seen_after: dict[int, float] = {}
        self.done = threading.Event()
        self._threads = [threading.Thread(target=self._put), threading.Thread(target=self._watch)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def _put(self) -> None:
        started = time.monotonic()
        for n, article in enumerate(self.articles):
            time.sleep(max(0.0, started + n * self.every - time.monotonic()))
            t = time.monotonic()
            self.server.put(article)
            self.put_took.append(time.monotonic() - t)
            self.put_at.append(t)
        self.done.set()

    def _watch(self) -> None:
        n = 0
        while n < len(self.articles):
            if n >= len(self.put_at):
                time.sleep(0.02)
                continue
            if time.monotonic() - self.put_at[n] > 90:
                n += 1  # not seen within 90 s: reported as such
                continue
            article = self.articles[n]
            prefix = " ".join(article["title"].split()[:4])
            _, body = self.server.get("/suggest", q=prefix, limit=10)
            if any(s.get("id") == article["id"] for s in body.get("suggestions", [])):
                self.seen_after[n] = time.monotonic() - self.put_at[n]
                n += 1
                continue
            time.sleep(self.poll)

    def settled(self) -> bool:
        return self.done.is_set() and not self._threads[1].is_alive()


def _idle(server: Server) -> Callable[[], bool]:
    """A check that is true once the server used under 0.3 CPU seconds in the last 3 s."""
    last = [time.monotonic(), server.cpu()]

    def check() -> bool:
        now = time.monotonic()
        if now - last[0] < 3:
            return False
        cpu = server.cpu()
        idle = cpu - last[1] < 0.3 * (now - last[0]) / 3
        last[:] = [now, cpu]
        return idle

    return check


def _p(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("VNSEARCH_BENCH_DATA", ROOT.parent / "shared/data/vntc.jsonl.gz")),
    )
    parser.add_argument("--limit", type=int, default=0, help="index only the first N articles (0: all)")
    parser.add_argument("--index-dir", type=Path, help="an index of the same articles to copy instead of building")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose code serves")
    parser.add_argument("--quiet", type=float, default=60)
    parser.add_argument("--commits-for", type=float, default=60)
    parser.add_argument("--every", type=float, default=5)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--ready-timeout", type=float, default=900)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here too")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="live-commits-"))
    try:
        index_dir = work / "index"
        if args.index_dir:
            shutil.copytree(args.index_dir, index_dir, ignore=shutil.ignore_patterns("WRITELOCK"))
        else:
            corpus = work / "articles.jsonl.gz"
            with gzip.open(args.data, "rt", encoding="utf-8") as src, gzip.open(corpus, "wt", encoding="utf-8") as dst:
                dst.writelines(itertools.islice(src, args.limit or None))
            subprocess.run(
                [str(args.repo / ".venv/bin/vnsearch"), "index", str(corpus), "--index-dir", str(index_dir), "--json"],
                cwd=args.repo,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        articles = _articles(args.data, args.limit, int(args.commits_for // args.every))
        server = Server(args.repo.resolve(), index_dir)
        try:
            warm = _wait_ready(server, args.ready_timeout)
            _, stats = server.get("/stats")
            rss: list[int] = []
            quiet: dict[str, list[float]] = {"search": [], "suggest": []}
            quiet_cpu, quiet_seconds = _phase(server, args.quiet, args.interval, quiet, rss)
            commits = Commits(server, articles, args.every)
            live: dict[str, list[float]] = {"search": [], "suggest": []}
            commits.start()
            live_cpu, live_seconds = _phase(server, args.commits_for, args.interval, live, rss)
            # Then on, unmeasured for latency, until every title was seen and the server is
            # idle again: the work the commits started counts wherever it ends.
            idle, drain_until = _idle(server), time.monotonic() + 300
            drain_cpu, drain_seconds = _phase(
                server,
                0,
                args.interval,
                {"search": [], "suggest": []},
                rss,
                until=lambda: time.monotonic() > drain_until or commits.settled() and idle(),
            )
            peaks = [_rss(pid)[1] for pid in server.workers()]
            _, after = server.get("/stats")
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    total_cpu, total_seconds = live_cpu + drain_cpu, live_seconds + drain_seconds
    extra = (total_cpu - quiet_cpu / quiet_seconds * total_seconds) / max(1, len(commits.put_took))
    seen = list(commits.seen_after.values())
    put_times = commits.put_took
    figures = {
        "repo": str(args.repo),
        "articles": stats.get("articles"),
        "commits": len(put_times),
        "warm_up_s": round(warm, 1),
        "quiet_s": round(quiet_seconds, 1),
        "quiet_cpu_s": round(quiet_cpu, 2),
        "commit_phase_cpu_s": round(live_cpu, 2),
        "commit_phase_s": round(live_seconds, 1),
        "drain_s": round(drain_seconds, 1),
        "drain_cpu_s": round(drain_cpu, 2),
        "cpu_per_commit_s": round(extra, 2),
        "search_p50_ms": [round(_p(quiet["search"], 50), 1), round(_p(live["search"], 50), 1)],
        "search_p95_ms": [round(_p(quiet["search"], 95), 1), round(_p(live["search"], 95), 1)],
        "suggest_p50_ms": [round(_p(quiet["suggest"], 50), 1), round(_p(live["suggest"], 50), 1)],
        "suggest_p95_ms": [round(_p(quiet["suggest"], 95), 1), round(_p(live["suggest"], 95), 1)],
        "put_ms_median": round(statistics.median(put_times) * 1000) if put_times else None,
        "suggested_after_s": {
            "median": round(statistics.median(seen), 2) if seen else None,
            "max": round(max(seen), 2) if seen else None,
            "not_seen_within_90s": len(put_times) - len(seen),
        },
        "worker_rss_mib": {"max_sampled": max(rss, default=0), "peak_hwm": max(peaks, default=0)},
        "worker_stats_after": after.get("worker"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    q, c = figures["search_p95_ms"], figures["suggest_p95_ms"]
    print(f"\n| {figures['articles']} articles | quiet | with commits |\n| --- | ---: | ---: |")
    print(
        f"| search p50 / p95 (ms) | {figures['search_p50_ms'][0]} / {q[0]} | {figures['search_p50_ms'][1]} / {q[1]} |"
    )
    print(
        f"| suggest p50 / p95 (ms) | {figures['suggest_p50_ms'][0]} / {c[0]} | "
        f"{figures['suggest_p50_ms'][1]} / {c[1]} |"
    )
    print(f"| server CPU per commit beyond quiet (s) | | {figures['cpu_per_commit_s']} |")
    print(
        f"| PUT to suggested (s, median / max) | | {figures['suggested_after_s']['median']} / "
        f"{figures['suggested_after_s']['max']} ({figures['suggested_after_s']['not_seen_within_90s']} not seen) |"
    )
    print(f"| peak worker RSS (MiB) | | {figures['worker_rss_mib']['peak_hwm']} |")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
