"""Story grouping alone: what a fresh build spends after its segments are written, and what its
build processes spend on copy signatures, for quick before/after figures.

    python -m bench.grouping [DATA] [--limit 20000] [--dated-days 0] [--index DIR] [--keep DIR]
                             [--repeat 3] [--profile N]

Indexes the first LIMIT articles of a JSONL corpus (default $VNSEARCH_DATA_DIR/vntc.jsonl.gz)
with the KTLAB story clusters (`stories/ktlab-dev.jsonl`, the only dated articles of that data)
in a temporary folder, or reads the index in `--index DIR` (for two checkouts timed on the same
index). With `--dated-days N`, each undated article gets a date among N days (by a hash of its
id), as an archive whose articles all have dates: every one of them is then weighed and compared
by its terms. Then it groups the index `--repeat` times (`update.grouped`, what `group_fresh`
saves) and prints, per run, the wall and CPU time, the edges and the stories of several
articles, with the machine's load; a digest of the graph tells whether two checkouts group the
same. Last, the copy column's cost: `Signatures.column_value` over the bodies, per 1,000
articles. `--profile N` prints the N functions with the most own time of one grouping run.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import hashlib
import json
import os
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

from search.corpus.files import iter_corpus
from search.index.indexer import build
from search.index.store import open_index
from search.index.stories.graph import StoryGraph
from search.index.stories.text import Signatures
from search.index.stories.update import IndexStatistics, grouped


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _lines(path: Path) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8") as f:
        yield from f


def write_corpus(data: Path, stories: Path, limit: int, dated_days: int, out: Path) -> int:
    """The corpus to index: LIMIT articles of `data` and the story clusters, undated ones given
    a date among `dated_days` days when asked."""
    first = date(2013, 1, 1)
    count = 0
    with out.open("w", encoding="utf-8") as dst:
        for line in [*islice(_lines(data), limit or None), *_lines(stories)]:
            row = json.loads(line)
            if dated_days and not row.get("date"):
                spread = int.from_bytes(hashlib.blake2b(row["id"].encode(), digest_size=4).digest(), "big")
                row["date"] = (first + timedelta(days=spread % dated_days)).isoformat()
            dst.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def digest(graph: StoryGraph) -> str:
    """The same for the same edges and stories, whatever order they were found in."""
    content = json.dumps([sorted((a, b, round(w, 9)) for a, b, w in graph.edges()), sorted(graph.stories().items())])
    return hashlib.blake2b(content.encode(), digest_size=8).hexdigest()


def main() -> None:
    data_dir = Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="?", default=data_dir / "vntc.jsonl.gz")
    parser.add_argument("--stories", type=Path, default=data_dir / "stories" / "ktlab-dev.jsonl")
    parser.add_argument("--limit", type=int, default=20000)
    parser.add_argument("--dated-days", type=int, default=0, metavar="N")
    parser.add_argument("--index", type=Path, metavar="DIR", help="group this index instead of building one")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the index here and keep it")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vnsearch-grouping-") as tmp:
        index_dir = args.index or args.keep or Path(tmp) / "index"
        if not args.index:
            corpus = Path(tmp) / "corpus.jsonl"
            count = write_corpus(args.data, args.stories, args.limit, args.dated_days, corpus)
            start = time.perf_counter()
            build(index_dir, iter_corpus([corpus]), procs=2)
            print(f"built {count} articles in {time.perf_counter() - start:.1f} s (grouping included)  load {load()}")
        ix = open_index(index_dir)
        with ix.reader() as reader:
            print(f"index {index_dir}: {reader.doc_count()} articles  load {load()}")
            for run in range(args.repeat):
                profile = cProfile.Profile() if args.profile and run == 0 else None
                cpu, wall = time.process_time(), time.perf_counter()
                if profile:
                    profile.enable()
                graph = grouped([reader], IndexStatistics(reader))
                if profile:
                    profile.disable()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                sizes = Counter(graph.stories().values())
                print(
                    f"grouping: wall {wall:.2f} s  CPU {cpu:.2f} s{'  (profiled)' if profile else ''}  "
                    f"edges {sum(1 for _ in graph.edges())}  stories of several {len(sizes)} "
                    f"({sum(sizes.values()) + len(sizes)} articles)  digest {digest(graph)}  load {load()}"
                )
                if profile:
                    pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
            bodies = [reader.stored_fields(d).get("body", "") for d in islice(reader.all_doc_ids(), 5000)]
        signatures = Signatures()
        cpu = time.process_time()
        for body in bodies:
            signatures.column_value(body)
        per_1000 = (time.process_time() - cpu) / max(len(bodies), 1) * 1000
        print(f"copy column: CPU {per_1000:.2f} s per 1,000 articles ({len(bodies)} bodies)  load {load()}")


if __name__ == "__main__":
    main()
