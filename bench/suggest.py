"""Autocomplete at corpus scale: how long a worker takes to build its suggester, what it keeps
in memory, and how long a lookup takes.

    python bench/suggest.py [--data-dir ../shared/data] [--index-dir DIR]

Titles come from `vntc.jsonl.gz` (84k articles) in the data folder (`VNSEARCH_DATA_DIR`,
default `../shared/data`), or from a built index with `--index-dir` (which also times reading
the stored titles, and a whole build in a child process as the server does it).
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

from search.searching.suggest import Suggester, build_in_child, read_titles

PREFIXES = ["b", "ng", "bao hi", "bao hiem xa", "thu tuong", "viet nam ", "gia v", "nguye", "hlv", "cong an tp"]


def vntc_titles(data_dir: Path) -> list[tuple[str, str, str | None]]:
    with gzip.open(data_dir / "vntc.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [(a["id"], a["title"], a.get("date")) for a in map(json.loads, lines)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data")))
    parser.add_argument("--index-dir", type=Path)
    args = parser.parse_args()

    started = time.perf_counter()
    titles = read_titles(args.index_dir) if args.index_dir else vntc_titles(args.data_dir)
    print(
        f"titles: {len(titles)} read in {time.perf_counter() - started:.2f} s "
        f"({'index' if args.index_dir else 'vntc.jsonl.gz'})"
    )

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    suggester = Suggester(titles)
    print(
        f"build: {time.perf_counter() - started:.2f} s, {len(suggester.phrases)} phrases, "
        f"{len(suggester.titles)} titles, "
        f"peak RSS +{(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024:.0f} MB"
    )

    if args.index_dir:
        started = time.perf_counter()
        build_in_child(args.index_dir)
        print(
            f"build in a child process, as a worker does (read, build, hand over): "
            f"{time.perf_counter() - started:.2f} s"
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
