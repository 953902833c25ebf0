"""Where the time of a cold distinct query goes, phase by phase, for fast, middle and slow queries.

    python -m bench.phases INDEX_DIR LIST [--warm 500] [--timed 3000] [--again]

`bench.profile` says which functions a run of searches spends its time in, summed over all of
them, so the slowest queries (phrases of common syllables) weigh most; a target on the median
query needs the median query's own split. Here the distinct list's first `--warm` queries warm
the process untimed, then each of the next `--timed` is searched once (a default `/search` page,
collapsed by story, with snippets) with the wall time of each phase taken around the functions
`SearchIndex.search` calls: the evaluation (`ranking.evaluated_page`, and inside it the mask of
every match and the scores of the documents ranked), reading the hits' stored fields, the page
after the ranking (`searcher.assemble`: finding the query's words, marks, snippets, "did you
mean") and parsing. The queries are then sorted by their whole time, and the mean of each phase
is printed for the fastest fifth, the middle fifth and the slowest fifth. The phases indented
under the evaluation overlap: the window of stories asks for the scores of the documents it
ranks. The wrappers add a few microseconds per call to what they time.

`--again` searches each timed query a second time straight away and prints that search's
phases beside the first's, for the same queries (banded by the first search's time): what the
second search no longer costs is what reading the query's terms for the first time cost, since
everything a process keeps across queries (postings, term counts, spellings) is then kept, and
nothing a request's result depends on is (the result cache is off).
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import time
from pathlib import Path
from typing import Any

from bench import distinct

#: (label, module path, owner attribute or None, function name): what is timed. A method is
#: wrapped on its class; a function on the module that calls it.
PHASES = (
    ("evaluation", "search.searching.searcher", "ranking", "evaluated_page"),
    ("  mask of every match", "search.searching.sparse", "Evaluation", "mask"),
    ("  scores of the ranked", "search.searching.sparse", "Evaluation", "scores_at"),
    ("  the first tier's documents", "search.searching.sparse", "Evaluation", "docs"),
    ("  the window of stories", "search.searching.stories", None, "collapsed_window"),
    ("stored fields", "search.searching.searcher", None, "stored_fields"),
    ("page after the ranking", "search.searching.searcher", None, "assemble"),
    ("  finding the words", "search.searching.highlight", "Highlighter", "find_all"),
    ("  snippets", "search.searching.highlight", "Highlighter", "snippet"),
    ("  did you mean", "search.query.spelling", "Speller", "suggest"),
    ("parsing", "search.query.parse", "QueryBuilder", "parse"),
)

#: The fifths of the queries by whole time that are printed: (first, last) fraction.
BANDS = ((0.0, 0.2), (0.4, 0.6), (0.8, 1.0))


def _install(spent: collections.Counter[str]) -> None:
    """Each phase's function replaced by a timed one: a nested call of the same function (a
    mask inside a mask) is counted once, by its outermost call only."""
    depth: collections.Counter[str] = collections.Counter()
    for label, module_name, owner_name, name in PHASES:
        module = importlib.import_module(module_name)
        owner = module if owner_name is None else getattr(module, owner_name)
        original = getattr(owner, name)

        def timed(*args: Any, _original: Any = original, _label: str = label, **kwargs: Any) -> Any:
            depth[_label] += 1
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                depth[_label] -= 1
                if not depth[_label]:
                    spent[_label] += time.perf_counter() - started

        setattr(owner, name, functools.wraps(original)(timed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("listed", type=Path, help="a list written by `python -m bench.distinct`")
    parser.add_argument("--warm", type=int, default=distinct.WARM)
    parser.add_argument("--timed", type=int, default=distinct.TIMED)
    parser.add_argument("--again", action="store_true", help="time each query a second time too")
    args = parser.parse_args()
    spent: collections.Counter[str] = collections.Counter()
    _install(spent)
    from search.query.acronyms import load_synonyms
    from search.searching.searcher import SearchIndex

    index = SearchIndex(args.index_dir, load_synonyms())
    requests = [distinct.page_request(*row) for row in distinct.read(args.listed)]
    for request in requests[: args.warm]:
        index.search(request)
    searches = range(2 if args.again else 1)
    rows: list[list[tuple[float, dict[str, float]]]] = []
    for request in requests[args.warm : args.warm + args.timed]:
        runs = []
        for _ in searches:
            spent.clear()
            started = time.perf_counter()
            index.search(request)
            runs.append((time.perf_counter() - started, dict(spent)))
        rows.append(runs)
    rows.sort(key=lambda runs: runs[0][0])
    bands = [rows[int(lo * len(rows)) : int(hi * len(rows))] for lo, hi in BANDS]
    names = [f"{int(lo * 100)}-{int(hi * 100)}%" for lo, hi in BANDS]
    if args.again:
        names = [f"{name} {which}" for name in names for which in ("first", "again")]
    print("| phase (ms) | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))

    def mean(band: list[list[tuple[float, dict[str, float]]]], run: int, label: str | None) -> str:
        total = sum(runs[run][0] if label is None else runs[run][1].get(label, 0.0) for runs in band)
        return f"{1000 * total / len(band):.3f}"

    print("| whole search | " + " | ".join(mean(band, run, None) for band in bands for run in searches) + " |")
    for label, *_ in PHASES:
        print(f"| {label} | " + " | ".join(mean(band, run, label) for band in bands for run in searches) + " |")
    told = "each twice in a row" if args.again else "each once"
    print(f"\n{len(rows)} queries after {args.warm}, {told}; mean of each fifth by the first search's time.")


if __name__ == "__main__":
    main()
