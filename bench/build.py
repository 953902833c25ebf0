"""Build time and index size alone, for quick before/after figures on the writer path.

    python -m bench.build [DATA] [--limit 3000] [--procs 2] [--profile 25] [--keep DIR]

Builds a fresh index of the first LIMIT articles of a JSONL corpus (default
$VNSEARCH_DATA_DIR/vntc.jsonl.gz, or ../shared/data/vntc.jsonl.gz; `--limit 0`: all of it) in a
temporary folder and prints the wall time, articles per second, index size and its ratio to the
raw text, the peak RSS of the process tree (sampled every 0.2 s) and the machine's load. With
`--profile N` the build runs in this process (one writer) under cProfile and the N functions
with the most own time are printed: where the writer's time goes. With `--keep DIR` the index
is built in DIR and left there (for `python -m bench.sizes DIR`: where the bytes go).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import tempfile
import time
from pathlib import Path

from bench.run import PeakRss, dir_mib, load, prepare, raw_text_mib
from search.corpus.files import iter_corpus
from search.index.indexer import build


def main() -> None:
    default = Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data")) / "vntc.jsonl.gz"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="?", default=default)
    parser.add_argument("--limit", type=int, default=3000)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the index here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vnsearch-build-") as tmp:
        work = Path(tmp)
        corpus = prepare(args.data, args.limit, work)
        count, raw = raw_text_mib(corpus)
        index_dir = args.keep or work / "index"
        procs = 1 if args.profile else args.procs
        profile = cProfile.Profile() if args.profile else None
        before = load()
        peak = PeakRss(os.getpid())
        peak.start()
        start = time.perf_counter()
        if profile:
            profile.enable()
        build(index_dir, iter_corpus([corpus]), procs=procs)
        if profile:
            profile.disable()
        seconds = time.perf_counter() - start
        peak_mib = peak.stop()
        size = dir_mib(index_dir)
        print(f"articles {count}  procs {procs}  build {seconds:.1f} s  {count / seconds:.0f} articles/s")
        print(
            f"raw text {raw:.1f} MiB  index {size:.1f} MiB  ratio {size / raw:.2f}  "
            f"peak RSS {peak_mib:.0f} MiB (process tree)"
        )
        print(f"load before {before}  after {load()}  CPU {_cpu_seconds():.1f} s (process tree)")
        if profile:
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)


def _cpu_seconds() -> float:
    """User and system time of this process and the build processes it waited for: on a shared
    machine the wall time swings with the load, this much less."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
