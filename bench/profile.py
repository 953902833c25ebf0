"""Where a search spends its time: the benchmark's query list under cProfile, in process.

    python -m bench.profile INDEX_DIR [--top 25] [--rounds 1] [--cold] [--distinct LIST [--count 1000]]

Prints the functions with the most own time and the most cumulative time: of warm searches (each
query once first, untimed), or with `--cold` of the first pass, where every cache is empty (what
a query new to a worker, or the first after a commit, costs). With `--distinct` (a list written by
`python -m bench.distinct`), the list's first queries warm the process untimed and the next
`--count` are profiled, each seen once: the distinct phase of `bench.run`. cProfile inflates pure-Python code
several times over; `py-spy record -f raw -- python -m bench.profile ...` samples without that. For the build, run
py-spy on `vnsearch index` instead: `py-spy record --subprocesses -o build.svg -- vnsearch index ...`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from pathlib import Path

from bench import distinct
from bench.run import read_queries
from search.query.acronyms import load_synonyms
from search.searching.searcher import SearchIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cold", action="store_true", help="profile the first pass (one round, no warm-up)")
    parser.add_argument("--distinct", type=Path, help="profile queries of this list, each seen once")
    parser.add_argument("--count", type=int, default=1000, help="queries of the --distinct list profiled")
    args = parser.parse_args()
    index = SearchIndex(args.index_dir, load_synonyms())
    listed = distinct.read(args.distinct) if args.distinct else read_queries()
    requests = [distinct.page_request(*row) for row in listed]
    if args.distinct:
        for request in requests[: distinct.WARM]:
            index.search(request)
        requests = requests[distinct.WARM : distinct.WARM + args.count]
        args.rounds = 1
    elif args.cold:
        args.rounds = 1
    else:
        for request in requests:  # warm: the index's files are read once before timing
            index.search(request)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.rounds):
        for request in requests:
            index.search(request)
    profile.disable()
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
