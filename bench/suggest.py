"""Autocomplete at corpus scale: how long building the tables of a set of titles takes, what
they keep in memory, and how long a lookup takes.

    python bench/suggest.py [--data-dir ../shared/data] [--index-dir DIR]

Titles come from `vntc.jsonl.gz` in the data folder (`VNSEARCH_DATA_DIR`, default
`../shared/data`), as one segment, or from a built index with `--index-dir`: its segments'
tables built in a child process as a worker does it, then looked up merged.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import time
from pathlib import Path

from search.index.engine import readers
from search.index.store import open_index
from search.searching.suggest import Part, Snapshot, Suggester
from search.searching.suggest_live import build_in_child

PREFIXES = ["b", "ng", "bao hi", "bao hiem xa", "thu tuong", "viet nam ", "gia v", "nguye", "hlv", "cong an tp"]


def vntc_titles(data_dir: Path) -> list[tuple[str, str, str | None]]:
    with gzip.open(data_dir / "vntc.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [(a["id"], a["title"], a.get("date")) for a in map(json.loads, lines)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data")))
    parser.add_argument("--index-dir", type=Path)
    args = parser.parse_args()

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    suggester: Snapshot
    if args.index_dir:
        with open_index(args.index_dir).reader() as reader:
            segids = [segid for _, _, segid, _ in readers.leaves(reader) if segid is not None]
        built = build_in_child(args.index_dir, segids)
        suggester = Snapshot([Part(tables) for tables in built.values()])
        source = f"{args.index_dir}, {len(segids)} segments, read and built in a child process"
    else:
        titles = vntc_titles(args.data_dir)
        started = time.perf_counter()
        suggester = Suggester(titles)
        source = "vntc.jsonl.gz, one segment"
    tables = [part.tables for part in suggester.parts]
    print(
        f"build: {time.perf_counter() - started:.2f} s ({source}): {sum(len(t) for t in tables)} titles, "
        f"{sum(len(t.phrases) for t in tables)} phrase entries, {suggester.nbytes() / 2**20:.0f} MiB of tables, "
        f"peak RSS of this process +{(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024:.0f} MB"
    )

    for prefix in PREFIXES:
        times = []
        for _ in range(200):
            t = time.perf_counter()
            result = suggester.suggest(prefix)
            times.append(time.perf_counter() - t)
        print(
            f"{prefix!r:>15}: median {statistics.median(times) * 1e3:.3f} ms, max {max(times) * 1e3:.3f} ms; "
            + " | ".join(s.text for s in result[:3])
        )
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
