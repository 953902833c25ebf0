"""Query latency on a fixed query list, to compare two builds of vnsearch on the same machine.

Indexes ViNewsQA's 898 articles, then times `SearchIndex.search` (the HTTP API's path, snippets
and facets included) over a fixed list: the first `--questions` dev questions as written and
without diacritics, and the first five words of each article's title (short, headline-like
queries). Prints p50, p90 and mean per kind of query. Run another build by putting its source
first on the path: `PYTHONPATH=/path/to/other/checkout python bench/latency.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval import DEFAULT_DATA_DIR, load_vinewsqa, machine, strip_diacritics  # noqa: E402

from search.index.indexer import build
from search.query.acronyms import load_synonyms
from search.query.parse import QueryError
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("VNSEARCH_DATA_DIR", DEFAULT_DATA_DIR)))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the list; the first warms caches")
    args = parser.parse_args(argv)
    judged = load_vinewsqa(args.data_dir)
    questions = [q.text for q in judged.queries[: args.questions]]
    kinds = {
        "questions": questions,
        "questions, no diacritics": [strip_diacritics(q) for q in questions],
        "title words (5)": [" ".join(d.title.split()[:5]) for d in judged.docs[: args.questions] if d.title.strip()],
    }
    with tempfile.TemporaryDirectory(prefix="vnsearch-latency-") as tmp:
        started = time.perf_counter()
        build(Path(tmp), judged.docs)
        print(f"indexed {len(judged.docs)} articles in {time.perf_counter() - started:.1f} s; {machine()}")
        index = SearchIndex(Path(tmp), load_synonyms())
        for kind, queries in kinds.items():
            for _ in range(args.rounds):
                times = []
                for q in queries:
                    started = time.perf_counter()
                    try:
                        index.search(SearchRequest(q=q))
                    except QueryError:
                        continue  # refused by this build's query limits: not timed
                    times.append((time.perf_counter() - started) * 1000)
            times.sort()
            print(
                f"{kind:26} n={len(times):4}  p50 {times[len(times) // 2]:7.1f} ms  "
                f"p90 {times[int(len(times) * 0.9)]:7.1f} ms  mean {statistics.fmean(times):7.1f} ms"
            )
        index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
