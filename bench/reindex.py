"""Incremental reindexing on a large index, and what a reader sees meanwhile.

Takes the first BASE articles of a JSONL corpus (default ../shared/data/vntc.jsonl.gz, or
$VNSEARCH_DATA_DIR/vntc.jsonl.gz) and builds an index of them once (kept in the work folder and
reused on the next run: it takes a while on Whoosh), then measures:

1. a no-op incremental run over the same BASE articles (reads, hashes, compares, writes nothing);
2. an incremental run over the first BASE + ADD articles on a copy of that index (adds ADD),
   while a reader in another process, opened as a gunicorn worker opens it, searches in a loop:
   its errors, its latency before, during and after the run, and how long after the commit it
   saw the new articles.

    python bench/reindex.py [DATA] [--base 80000] [--add 1000] [--work DIR]
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import os
import shutil
import statistics
import time
from pathlib import Path

from search.acronyms import load_synonyms
from search.corpus import iter_corpus
from search.indexer import build
from search.searcher import SearchIndex, SearchRequest
from search.store import index_exists

QUERIES = ("bảo hiểm xã hội", "giá vàng hôm nay", "tai nạn giao thông", "bóng đá Việt Nam",
           "thị trường chứng khoán", "học sinh thi tốt nghiệp", "xuất khẩu gạo", "cúm gia cầm")


def _default_data() -> Path:
    return Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data")) / "vntc.jsonl.gz"


def _slice(data: Path, target: Path, count: int) -> Path:
    """The first `count` lines of `data`, written once and reused."""
    if not target.exists():
        opener = gzip.open if data.name.endswith(".gz") else open
        temp = target.with_suffix(".tmp")
        with opener(data, "rb") as src, open(temp, "wb") as dst:
            for n, line in enumerate(src):
                if n == count:
                    break
                dst.write(line)
        temp.rename(target)
    return target


def _timed(label: str, func):
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.1f} s")
    return result, seconds


def _reader(index_dir: str, stop, out) -> None:
    """Search in a loop as a service worker does: one SearchIndex, refreshed per query."""
    index = SearchIndex(Path(index_dir), load_synonyms())
    samples = []
    n = 0
    while not stop.is_set():
        q = QUERIES[n % len(QUERIES)]
        n += 1
        started = time.perf_counter()
        try:
            count = index.searcher().doc_count()
            index.search(SearchRequest(q=q))
            samples.append((time.time(), time.perf_counter() - started, count, None))
        except Exception as exc:  # the point is to count them
            samples.append((time.time(), time.perf_counter() - started, -1, repr(exc)))
    out.put(samples)


def _latency(samples: list, start: float, end: float) -> str:
    times = sorted(s[1] * 1000 for s in samples if start <= s[0] < end and s[3] is None)
    if not times:
        return "no queries"
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"{len(times)} queries, p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", type=Path, default=_default_data())
    parser.add_argument("--base", type=int, default=80_000)
    parser.add_argument("--add", type=int, default=1_000)
    parser.add_argument("--work", type=Path, default=Path("bench-work"), help="kept between runs")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    base_file = _slice(args.data, args.work / f"first-{args.base}.jsonl", args.base)
    plus_file = _slice(args.data, args.work / f"first-{args.base + args.add}.jsonl", args.base + args.add)
    base_index = args.work / f"index-{args.base}"
    print(f"load average: {os.getloadavg()[0]:.1f}, cpus: {os.cpu_count()}")
    if not index_exists(base_index):
        report, _ = _timed(f"initial build of {args.base} articles",
                           lambda: build(base_index, iter_corpus([base_file]), lock_timeout=0))
        print(f"  added {report.added}, failed {len(report.failed)}")

    report, _ = _timed(f"no-op incremental run over {args.base} articles",
                       lambda: build(base_index, iter_corpus([base_file]), lock_timeout=0))
    print(f"  written {report.written}, unchanged {report.unchanged}")
    assert report.written == 0, "the no-op run wrote something"

    run_index = args.work / "index-run"
    shutil.rmtree(run_index, ignore_errors=True)
    shutil.copytree(base_index, run_index)

    stop, out = mp.Event(), mp.Queue()
    reader = mp.Process(target=_reader, args=(str(run_index), stop, out))
    reader.start()
    time.sleep(5)  # the reader's steady state before the run
    run_start = time.time()
    report, seconds = _timed(f"incremental run adding {args.add} to {args.base} articles",
                             lambda: build(run_index, iter_corpus([plus_file]), lock_timeout=0))
    committed = time.time()
    print(f"  added {report.added}, unchanged {report.unchanged}, failed {len(report.failed)}")
    time.sleep(5)
    stop.set()
    samples = out.get()
    reader.join()

    errors = [s[3] for s in samples if s[3]]
    counts = sorted({s[2] for s in samples if s[3] is None})
    new_seen = [s[0] for s in samples if s[2] == args.base + report.added]
    print(f"reader: {len(samples)} queries, {len(errors)} errors{': ' + errors[0] if errors else ''}")
    print(f"  article counts seen: {counts}")
    print(f"  before the run: {_latency(samples, run_start - 5, run_start)}")
    print(f"  during the run: {_latency(samples, run_start, committed)}")
    print(f"  after the commit: {_latency(samples, committed, committed + 5)}")
    if new_seen:
        print(f"  new articles seen {max(0.0, min(new_seen) - committed):.2f} s after the run returned")
    shutil.rmtree(run_index, ignore_errors=True)


if __name__ == "__main__":
    main()
