"""What a result page costs after the ranking, before and after a change, in turns.

    python -m bench.page_cost INDEX_DIR LIST --base OTHER_CHECKOUT [--count 1000] [--turns 3]

`bench.alternate` times whole searches, most of whose time is the evaluator's; on a loaded
machine a change to the rest of a search drowns in their noise. Here each child (this checkout
and `--base`, alternating) runs the distinct list's warm-up queries, then ranks `--count` more
once each and keeps their pages (the documents and scores the evaluator chose); then it times,
in CPU seconds of its own process, everything a search does with such a page: parsing the
query, reading the hits' stored fields, marks, snippets, "did you mean", story summaries and
the result's assembly. A page is assembled several times over (`--rounds`, the median kept),
the per-process caches as a worker serving distinct queries has them after its first round;
the first round's figures (a story's summary is made once per commit) and the documents whose
stored fields it reads are printed too.
The ranked queries' whole searches are timed too, in CPU seconds of the searching thread (each
query new to the process), so that a loaded machine's other processes count less than in
`bench.alternate`'s wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(index_dir: Path, listed: Path, count: int, rounds: int) -> dict:
    """The per-page CPU milliseconds of the checkout this process imports `search` from."""
    import search
    from bench import distinct
    from search.query.acronyms import load_synonyms
    from search.searching import searcher as searching
    from search.searching.highlight import Highlighter
    from search.searching.results import SearchRequest

    index = searching.SearchIndex(index_dir, load_synonyms())
    queries = distinct.read(listed)
    requests = [SearchRequest(q=q, source=s or None, sort=o or "relevance") for q, s, o in queries]
    for request in requests[: distinct.WARM]:
        index.search(request)
    pages = []
    assemble = searching.assemble

    def keep(request, counted, *args):  # type: ignore[no-untyped-def]
        pages.append((request, counted))
        return assemble(request, counted, *args)

    searching.assemble = keep
    whole = []  # CPU of each whole search, its thread's: what other processes do counts less
    for request in requests[distinct.WARM : distinct.WARM + count]:
        started = time.thread_time()
        index.search(request)
        whole.append(1000 * (time.thread_time() - started))
    searching.assemble = assemble
    whole.sort()
    searcher, _ = index._current()
    evaluator = index._evaluator(searcher)
    # A table of its own, no story summarised yet: the ranked searches above made theirs in the
    # index's, and the first round makes them as a worker does for the stories it meets first.
    table = type(index.stories(searcher))(searcher, index._live)
    speller = index.speller(searcher)
    # What the checkout's own search parses with and reads the stored fields by, where it has
    # more than the evaluator and Whoosh's reader (kept word counts, stored fields read straight).
    counts = index._evaluation(searcher)[1] if hasattr(index, "_evaluation") else evaluator
    reader = searcher.reader()
    read = getattr(searching, "stored_fields", lambda reader, docnum: reader.stored_fields(docnum))

    def page_after_ranking() -> None:
        for request, counted in pages:
            parsed = index.queries.parse(request.q, counts)
            highlighter = Highlighter(parsed.highlight)
            stored = [read(reader, docnum) for docnum, _ in counted.page]
            result = assemble(request, counted, stored, highlighter, speller.suggest, False, index.utc_offset, 0.0)
            for found, fields in zip(result.hits, stored):
                found.story = table.summary(fields)

    # The first round also counts the documents whose stored fields it reads (inflated and
    # unpickled): the page's hits, and the articles of the stories not summarised yet.
    from search.index.engine.codec.stored import PerDocReader

    per_doc = PerDocReader.stored_fields
    reads = [0]

    def counted_read(self, docnum):  # type: ignore[no-untyped-def]
        reads[0] += 1
        return per_doc(self, docnum)

    spent = []
    for number in range(rounds):
        PerDocReader.stored_fields = counted_read if number == 0 else per_doc  # type: ignore[method-assign]
        started = time.process_time()
        page_after_ranking()
        spent.append(time.process_time() - started)
    PerDocReader.stored_fields = per_doc  # type: ignore[method-assign]
    return {
        "search": str(Path(search.__file__).resolve().parent.parent),
        "pages": len(pages),
        "hits": sum(len(counted.page) for _, counted in pages),
        "ms_per_page": round(1000 * statistics.median(spent) / max(1, len(pages)), 3),
        "first_round_ms_per_page": round(1000 * spent[0] / max(1, len(pages)), 3),
        "first_round_reads_per_page": round(reads[0] / max(1, len(pages)), 3),
        "search_cpu_p50_ms": round(whole[len(whole) // 2], 3),
        "search_cpu_p99_ms": round(whole[min(len(whole) - 1, int(0.99 * len(whole)))], 3),
        "search_cpu_mean_ms": round(statistics.fmean(whole), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("listed", type=Path)
    parser.add_argument("--base", type=Path, help="the checkout measured as 'before'")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.index_dir.resolve(), args.listed.resolve(), args.count, args.rounds)))
        return
    if args.base is None:
        parser.error("--base is required")
    sides = {"before": args.base.resolve(), "after": ROOT}
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    for number in range(args.turns):
        for name, checkout in sides.items():
            # The child imports `search` from the checkout (first on its path), this file's code.
            env = {**os.environ, "PYTHONPATH": str(checkout)}
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(args.index_dir), str(args.listed)]
                + ["--count", str(args.count), "--rounds", str(args.rounds)],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            found = json.loads(out.stdout.splitlines()[-1])
            if Path(found["search"]) != checkout:
                parser.error(f"a child in {checkout} imported search from {found['search']}")
            runs[name].append(found)
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(
                f"turn {number + 1} {name}: {found['ms_per_page']} ms CPU a page "
                f"(first round {found['first_round_ms_per_page']}, "
                f"{found['first_round_reads_per_page']} documents read), {found['hits']} hits, load {load}"
            )
    print("| median of the turns | before | after |")
    print("| --- | ---: | ---: |")
    for key in (
        "ms_per_page",
        "first_round_ms_per_page",
        "first_round_reads_per_page",
        "search_cpu_p50_ms",
        "search_cpu_p99_ms",
        "search_cpu_mean_ms",
    ):
        row = [statistics.median(run[key] for run in runs[name]) for name in sides]
        print(f"| {key} | {row[0]:.3f} | {row[1]:.3f} |")


if __name__ == "__main__":
    main()
