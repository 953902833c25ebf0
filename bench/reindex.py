"""Incremental reindexing on a large index, and what a reader sees meanwhile.

Takes the first BASE articles of a JSONL corpus (default ../shared/data/vntc.jsonl.gz, or
$VNSEARCH_DATA_DIR/vntc.jsonl.gz) and builds an index of them once (kept in the work folder and
reused on the next run: it takes a while on Whoosh), then measures:

1. a no-op incremental run over the same BASE articles (reads, hashes, compares, writes nothing);
2. an incremental run over the first BASE + ADD articles on a copy of that index (adds ADD),
   while a reader in another process, opened as a gunicorn worker opens it, looks articles up
   and searches in a loop: its errors, its latency before, during and after the run, and how
   long after the run it saw the new articles.

    python bench/reindex.py [DATA] [--base 80000] [--add 1000] [--work DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import shutil
import statistics
import time
from pathlib import Path

from search.corpus.files import iter_corpus
from search.index.indexer import build
from search.index.store import index_exists
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex

#: Names rather than questions: a question's common syllables make each search take seconds
#: on stock Whoosh, and the point here is how the run disturbs a reader, not the ranking.
QUERIES = ("Hàm Thuận Bắc", "Đa Mi", "cúm gia cầm", "xuất khẩu gạo", "Quảng Ngãi", "World Cup")


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
    """Run `func`, printing wall time and this process's CPU time (on a shared machine the
    second says how much of the first was waiting for a CPU)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = func()
    seconds = time.perf_counter() - started
    print(
        f"{label}: {seconds:.1f} s wall, {time.process_time() - cpu:.1f} s CPU, load average {os.getloadavg()[0]:.1f}"
    )
    return result, seconds


def _reader(index_dir: str, kind: str, ids: list[str], probe: str, stop, out) -> None:
    """Read in a loop as a service worker does, one SearchIndex refreshed per request: article
    lookups (`GET /articles/{id}`: refresh, find, load), or searches. The lookup reader also
    notes when `probe`, an article the run adds, first becomes visible."""
    index = SearchIndex(Path(index_dir), load_synonyms())
    samples = []
    probe_seen = None
    n = 0
    while not stop.is_set():
        if kind == "lookup" and probe_seen is None and index.article(probe) is not None:
            probe_seen = time.time()
        started = time.perf_counter()
        try:
            count = index.searcher().doc_count()
            if kind == "search":
                index.search(SearchRequest(q=QUERIES[n % len(QUERIES)]))
            elif index.article(ids[n % len(ids)]) is None:
                raise LookupError(f"article {ids[n % len(ids)]!r} not found")
            samples.append((time.time(), time.perf_counter() - started, count, kind, None))
        except Exception as exc:  # the point is to count them
            samples.append((time.time(), time.perf_counter() - started, -1, kind, repr(exc)))
        n += 1
        if kind == "lookup":
            time.sleep(0.01)  # a steady trickle, not a CPU hog competing with the run
    out.put((samples, probe_seen))


def _latency(samples: list, kind: str, start: float, end: float) -> str:
    times = sorted(s[1] * 1000 for s in samples if s[3] == kind and start <= s[0] < end and s[4] is None)
    plural = {"search": "searches", "lookup": "lookups"}[kind]
    if not times:
        return f"no {plural}"
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"{len(times)} {plural}, p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms"


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
    if not index_exists(base_index):  # none yet, or one of an older schema version: rebuild
        report, _ = _timed(
            f"initial build of {args.base} articles",
            lambda: build(base_index, iter_corpus([base_file]), rebuild=True, lock_timeout=0),
        )
        print(f"  added {report.added}, failed {len(report.failed)}")

    report, _ = _timed(
        f"no-op incremental run over {args.base} articles",
        lambda: build(base_index, iter_corpus([base_file]), lock_timeout=0),
    )
    print(f"  written {report.written}, unchanged {report.unchanged}")
    assert report.written == 0, "the no-op run wrote something"

    run_index = args.work / "index-run"
    shutil.rmtree(run_index, ignore_errors=True)
    shutil.copytree(base_index, run_index)

    with open(base_file, "rb") as stream:
        ids = [json.loads(line)["id"] for _, line in zip(range(500), stream)]
    with open(plus_file, "rb") as stream:
        probe = json.loads(stream.readlines()[-1])["id"]
    stop, out = mp.Event(), mp.Queue()
    readers = [
        mp.Process(target=_reader, args=(str(run_index), kind, ids, probe, stop, out)) for kind in ("lookup", "search")
    ]
    for reader in readers:
        reader.start()
    time.sleep(20)  # the readers' steady state before the run
    run_start = time.time()
    report, seconds = _timed(
        f"incremental run adding {args.add} to {args.base} articles",
        lambda: build(run_index, iter_corpus([plus_file]), lock_timeout=0),
    )
    committed = time.time()
    print(f"  added {report.added}, unchanged {report.unchanged}, failed {len(report.failed)}")
    time.sleep(20)
    stop.set()
    samples, probe_seen = [], None
    for _ in readers:
        some, seen = out.get()
        samples += some
        probe_seen = probe_seen or seen
    for reader in readers:
        reader.join()

    errors = [s[4] for s in samples if s[4]]
    counts = sorted({s[2] for s in samples if s[4] is None})
    print(f"reader: {len(samples)} requests, {len(errors)} errors{': ' + errors[0] if errors else ''}")
    print(f"  article counts seen: {counts}")
    for label, start, end in (
        ("before the run", run_start - 20, run_start),
        ("during the run", run_start, committed),
        ("after the run", committed, committed + 20),
    ):
        print(f"  {label}: {_latency(samples, 'lookup', start, end)}; {_latency(samples, 'search', start, end)}")
    if probe_seen is not None:
        print(f"  the last added article was first found {probe_seen - committed:+.2f} s after the run returned")
    shutil.rmtree(run_index, ignore_errors=True)


if __name__ == "__main__":
    main()
