"""Load and faults against `vnsearch serve`: mixed queries at saturating concurrency while a
reindex adds articles and one gunicorn worker is killed with SIGKILL.

Passes (exit 0) when: no response is a 5xx; the only requests without an answer are the ones
the killed worker was serving (sent before the kill; a threaded worker serves several at once,
and each client has one request in flight, so at most --concurrency); gunicorn replaces the
worker; the reindex succeeds; and at the end every added and every original article can be
fetched, the added ones are found by searching their titles, and the article count is exact.

    python bench/load_test.py                 # full run: 3 minutes, 5,000 added VNTC articles
    python bench/load_test.py --short         # CI: ~20 s of load, 300 generated articles

The full run reads VNTC from $VNSEARCH_DATA_DIR (default ../shared/data) and falls back to
generated articles when it is not there. Only 127.0.0.1 is contacted; every process started is
stopped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from search.corpus.article import Article
from search.corpus.files import iter_corpus, read_file
from search.index.indexer import build
from search.query.acronyms import load_synonyms
from search.text.normalize import WORD_RE, fold

ROOT = Path(__file__).resolve().parent.parent

SYLLABLES = (
    "bảo hiểm xã hội y tế người lao động chính sách tỉnh huyện thành phố năm tháng công tác "
    "tuyên truyền kinh tế giáo dục học sinh bệnh viện giao thông nông dân doanh nghiệp thuế "
    "đầu tư phát triển quốc hội chính phủ thủ tướng bộ trưởng công an tòa án"
).split()


@dataclass
class Tally:
    """What the load threads saw; one lock, updated once per request."""

    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    #: When each request that got no answer was sent (time.monotonic()).
    unanswered_sent: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    partial: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self, status: int | None, seconds: float, error: str | None = None, partial: bool = False, sent: float = 0
    ) -> None:
        with self.lock:
            if status is None:
                self.errors[error or "?"] += 1
                self.unanswered_sent.append(sent)
            else:
                self.statuses[status] += 1
                self.latencies.append(seconds)
            self.partial += partial

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# Articles


def vntc_articles(data_dir: Path, skip: int, count: int) -> list[Article]:
    path = data_dir / "vntc.jsonl.gz"
    items = itertools.islice(read_file(path, path.parent), skip, skip + count)
    return [item for item in items if isinstance(item, Article)]


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Everyday syllables first, then made-up ones, with Zipf weights as in running text."""
    onsets = "b c d đ g h k l m n ph th tr ng nh x v s".split()
    vowels = "a ă â e ê i o ô ơ u ư y".split()
    finals = ["", "c", "m", "n", "ng", "nh", "p", "t"]
    made_up = {rng.choice(onsets) + rng.choice(vowels) + rng.choice(finals) for _ in range(4000)}
    words = SYLLABLES + sorted(made_up - set(SYLLABLES))
    return words, [1 / (rank + 1) for rank in range(len(words))]


def generated_articles(prefix: str, count: int, seed: int) -> list[Article]:
    """Articles of Zipf-distributed syllables plus one made-up word each, so that each has
    exactly one match for that word."""
    rng = random.Random(seed)
    words, weights = _vocabulary(random.Random(0))
    articles = []
    for n in range(count):
        title = " ".join(rng.choices(words, weights, k=8)) + f" mã{prefix}{n}"
        body = "\n\n".join(" ".join(rng.choices(words, weights, k=60)) + "." for _ in range(4))
        articles.append(
            Article(
                id=f"{prefix}/{n:05d}",
                title=title,
                body=body,
                date=f"20{10 + n % 13:02d}-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                source=("VTC News", "Nhân Dân", "VOV")[n % 3],
            )
        )
    return articles


def write_jsonl(articles: list[Article], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for a in articles:
            out.write(
                json.dumps(
                    {
                        "id": a.id,
                        "title": a.title,
                        "body": a.body,
                        "date": a.date,
                        "source": a.source,
                        "topic": a.topic,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )


# Load


def query_maker(articles: list[Article], seed: int):
    """A function returning the next request path: a mix of what readers type, and some
    requests that must be refused (400) or are not there (404). Safe to call from threads."""
    rng = random.Random(seed)
    lock = threading.Lock()
    titles = [[w for w in WORD_RE.findall(a.title)] for a in articles]
    titles = [t for t in titles if len(t) >= 3]
    ids = [a.id for a in articles]

    def words(k: int) -> list[str]:
        title = rng.choice(titles)
        start = rng.randrange(0, max(1, len(title) - k))
        return title[start : start + k]

    def make() -> str:
        with lock:
            return _make()

    def _make() -> str:
        kind = rng.random()
        params: dict[str, object] = {}
        if kind < 0.30:
            params["q"] = " ".join(words(rng.randint(1, 4)))
        elif kind < 0.45:
            params["q"] = fold(" ".join(words(rng.randint(2, 5))))
        elif kind < 0.55:
            params["q"] = '"' + " ".join(words(rng.randint(2, 3))) + '"'
        elif kind < 0.62:
            params["q"] = f"{words(1)[0]} OR {words(1)[0]} -{words(1)[0]}"
        elif kind < 0.70:
            params["q"] = " ".join(rng.choices(SYLLABLES, k=rng.randint(3, 12)))  # frequent words
        elif kind < 0.75:
            params["q"] = rng.choice(["BHXH", "UBND", "HĐND", "bảo hiểm xã hội", "trong có của và"])
        elif kind < 0.85:
            article_id = rng.choice(ids)
            return (
                "/articles/"
                + quote(article_id, safe="/")
                + ("?" + urlencode({"q": words(1)[0]}) if rng.random() < 0.5 else "")
            )
        elif kind < 0.90:
            return rng.choice(["/healthz", "/stats", "/articles/no/such/id", "/nope"])
        else:  # refused: 400
            return "/search?" + rng.choice(
                [
                    "q=",
                    "q=bhxh&page=0",
                    "q=bhxh&per_page=500",
                    "q=%FF",
                    "q=a%00",
                    "q=bhxh&q=bhyt",
                    "q=" + "x" * 600,
                    "q=bhxh&from=2022-13",
                ]
            )
        if rng.random() < 0.3:
            params["sort"] = "date"
        if rng.random() < 0.2:
            params["page"] = rng.randint(2, 5)
        if rng.random() < 0.2:
            params["per_page"] = rng.choice([5, 20, 50])
        if rng.random() < 0.1:
            params["from"], params["to"] = "2012", "2020-06"
        return "/search?" + urlencode(params)

    return make


def load(port: int, make_path, tally: Tally, stop: threading.Event) -> None:
    while not stop.is_set():
        path = make_path()
        sent, started = time.monotonic(), time.perf_counter()
        try:
            status, body = get(port, path)
        except (OSError, http.client.HTTPException) as exc:
            tally.record(None, 0, type(exc).__name__, sent=sent)
            continue
        partial = status == 200 and path.startswith("/search") and b'"partial": true' in body
        tally.record(status, time.perf_counter() - started, partial=partial)


def workers_of(master: int) -> set[int]:
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return {int(pid) for pid in children}
    except OSError:
        return set()


# The run


def run(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="vnsearch-load-"))
    index_dir = tmp / "index"
    data_dir = Path(args.data_dir)
    use_vntc = not args.generated and (data_dir / "vntc.jsonl.gz").exists()
    if use_vntc:
        base = vntc_articles(data_dir, 0, args.base)
        added = vntc_articles(data_dir, args.base, args.added)
    else:
        base = generated_articles("base", args.base, seed=1)
        added = generated_articles("added", args.added, seed=2)
    seed_items = [a for a in iter_corpus([ROOT / "corpus"]) if isinstance(a, Article)]
    started = time.perf_counter()
    build(index_dir, seed_items + base)
    print(
        f"initial index: {len(seed_items) + len(base)} articles in {time.perf_counter() - started:.1f} s "
        f"({'VNTC' if use_vntc else 'generated'})",
        flush=True,
    )
    added_file = tmp / "added.jsonl"
    write_jsonl(added, added_file)

    port = free_port()
    env = dict(
        os.environ, VNSEARCH_INDEX_DIR=str(index_dir), VNSEARCH_PORT=str(port), VNSEARCH_WORKERS="2", HOME=str(tmp)
    )
    env.pop("VNSEARCH_CONTROL_SOCKET", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "search", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    reindex = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "/healthz", timeout=5)[0] == 200 and len(workers_of(server.pid)) == 2:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                print("server did not start:", server.stderr.read().decode(errors="replace")[-2000:])
                return 2
            time.sleep(0.2)

        tally, stop = Tally(), threading.Event()
        make_path = query_maker(seed_items + base, seed=3)
        threads = [
            threading.Thread(target=load, args=(port, make_path, tally, stop), daemon=True)
            for _ in range(args.concurrency)
        ]
        load_started = time.monotonic()
        for thread in threads:
            thread.start()

        time.sleep(args.duration * 0.1)
        reindex_started = time.monotonic()
        reindex = subprocess.Popen(
            [sys.executable, "-m", "search", "index", str(added_file), "--keep-missing", "--index-dir", str(index_dir)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        time.sleep(max(0.0, load_started + args.duration * 0.4 - time.monotonic()))
        before = workers_of(server.pid)
        victim = min(before)
        errors_before_kill = sum(tally.errors.values())
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        replaced_after = None
        while time.monotonic() - killed_at < 60:
            now = workers_of(server.pid)
            if len(now) == 2 and victim not in now:
                replaced_after = time.monotonic() - killed_at
                break
            time.sleep(0.05)
        print(
            f"killed worker {victim}; replaced after "
            f"{'never' if replaced_after is None else f'{replaced_after:.2f} s'}",
            flush=True,
        )

        time.sleep(max(0.0, load_started + args.duration - time.monotonic()))
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        load_seconds = time.monotonic() - load_started
        out, err = reindex.communicate(timeout=1800)
        reindex_seconds = time.monotonic() - reindex_started
        print(
            f"reindex exit {reindex.returncode} after {reindex_seconds:.1f} s: {(out.strip().splitlines() or [''])[0]}",
            flush=True,
        )

        print(
            json.dumps(
                {
                    "load_phase": figures(
                        tally, load_seconds, args.concurrency, errors_before_kill, replaced_after, reindex_seconds
                    )
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
        missing_added, missing_base, not_found = check_articles(port, seed_items + base, added)
        status, body = get(port, "/stats")
        count = json.loads(body)["articles"] if status == 200 else None
        expected = len({a.id for a in seed_items + base + added})
    finally:
        if reindex is not None and reindex.poll() is None:
            reindex.kill()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)

    fivexx = sum(n for status, n in tally.statuses.items() if status >= 500)
    print(
        json.dumps(
            {
                **figures(tally, load_seconds, args.concurrency, errors_before_kill, replaced_after, reindex_seconds),
                "articles_added": len(added),
                "articles_expected": expected,
                "articles_counted": count,
                "added_missing": len(missing_added),
                "original_missing": len(missing_base),
                "added_not_found_by_search": len(not_found),
                "loadavg": os.getloadavg(),
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    problems = []
    if fivexx:
        problems.append(f"{fivexx} responses were 5xx")
    sent_after_kill = sum(sent >= killed_at for sent in tally.unanswered_sent)
    if sum(tally.errors.values()) > args.concurrency or errors_before_kill or sent_after_kill:
        problems.append(
            f"{dict(tally.errors)} requests got no answer, {sent_after_kill} of them sent after the kill "
            "(only those in flight in the killed worker may go unanswered)"
        )
    if replaced_after is None:
        problems.append("gunicorn did not replace the killed worker")
    if reindex.returncode != 0:
        problems.append(f"reindex failed: {err.strip()[-500:]}")
    if missing_added or missing_base or count != expected:
        problems.append(
            f"articles lost: {len(missing_added)} added, {len(missing_base)} original, "
            f"count {count} != {expected}; e.g. {(missing_added + missing_base)[:3]}"
        )
    if not_found:
        problems.append(f"{len(not_found)} added articles not found by searching for their words, e.g. {not_found[:3]}")
    for problem in problems:
        print("FAIL:", problem)
    print("PASS" if not problems else "FAILED")
    return 1 if problems else 0


def figures(
    tally: Tally,
    load_seconds: float,
    concurrency: int,
    errors_before_kill: int,
    replaced_after: float | None,
    reindex_seconds: float,
) -> dict[str, object]:
    lat = sorted(tally.latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else 0.0

    return {
        "load_seconds": round(load_seconds, 1),
        "concurrency": concurrency,
        "requests_sent": tally.sent,
        "requests_per_second": round(tally.sent / load_seconds, 1),
        "by_status": dict(sorted(tally.statuses.items())),
        "no_answer": dict(tally.errors),
        "no_answer_before_kill": errors_before_kill,
        "partial_results": tally.partial,
        "latency_ms": {
            "p50": pct(0.5),
            "p95": pct(0.95),
            "p99": pct(0.99),
            "max": pct(1.0),
            "mean": round(statistics.fmean(lat) * 1000, 1) if lat else 0.0,
        },
        "worker_replaced_after_s": None if replaced_after is None else round(replaced_after, 2),
        "reindex_seconds": round(reindex_seconds, 1),
    }


class Finder:
    """Queries that must bring a given article into the first 50 results: the fewest of its
    rarest words (folded, no acronyms) that at most 50 articles contain together. Those
    articles form the all-words tier, which ranks first; a query of one or two rare words is
    also far cheaper than a phrase, which matters when checking thousands of articles."""

    def __init__(self, articles: list[Article]) -> None:
        self.synonyms = load_synonyms()
        self.postings: dict[str, set[int]] = {}
        for n, article in enumerate(articles):
            for word in {fold(w) for w in WORD_RE.findall(f"{article.title} {article.body}")}:
                self.postings.setdefault(word, set()).add(n)

    def query(self, article: Article) -> str:
        words = sorted(
            {fold(w) for w in WORD_RE.findall(f"{article.title} {article.body}")} - {""},
            key=lambda w: len(self.postings.get(w, ())),
        )
        words = [w for w in words if not self.synonyms.find([w])]
        for k in range(1, min(12, len(words)) + 1):
            together = set.intersection(*(self.postings.get(w, set()) for w in words[:k]))
            if len(together) <= 50 and not self.synonyms.find(words[:k]):
                return " ".join(words[:k])
        return '"' + " ".join(WORD_RE.findall(article.title)[:8]) + '"'


def check_articles(port: int, base: list[Article], added: list[Article]) -> tuple[list[str], list[str], list[str]]:
    """Every article fetched by id, and every added one found by searching for its words (see
    `Finder`); a search cut short by the time budget is asked again."""
    finder = Finder(base + added)

    def fetch(article: Article) -> bool:
        return get(port, "/articles/" + quote(article.id, safe="/"))[0] == 200

    def found(article: Article) -> bool:
        path = "/search?" + urlencode({"q": finder.query(article), "per_page": 50})
        for _ in range(5):
            status, body = get(port, path)
            result = json.loads(body)
            if status == 200 and any(hit["id"] == article.id for hit in result["hits"]):
                return True
            if status != 200 or not result["partial"]:
                return False
        return False

    def parallel(func, articles: list[Article]) -> list[str]:
        results: dict[str, bool] = {}
        chunks = [articles[i::8] for i in range(8)]

        def work(chunk: list[Article]) -> None:
            for article in chunk:
                results[article.id] = func(article)

        threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [a.id for a in articles if not results.get(a.id)]

    searchable = [a for a in added if WORD_RE.search(a.title)]
    return parallel(fetch, added), parallel(fetch, base), parallel(found, searchable)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="CI mode: 20 s, 300 generated articles added")
    parser.add_argument("--duration", type=float, help="seconds of load [180; short: 20]")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads [16]")
    parser.add_argument("--base", type=int, help="articles in the index before the run [2000; short: 200]")
    parser.add_argument("--added", type=int, help="articles the reindex adds [5000; short: 300]")
    parser.add_argument("--generated", action="store_true", help="generated articles even if VNTC is there")
    parser.add_argument("--data-dir", default=os.environ.get("VNSEARCH_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    args = parser.parse_args()
    args.duration = args.duration or (20 if args.short else 180)
    args.base = args.base if args.base is not None else (200 if args.short else 2000)
    args.added = args.added if args.added is not None else (300 if args.short else 5000)
    args.generated = args.generated or args.short
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
