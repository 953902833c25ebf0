"""Phrases alone, before and after: the phrases a distinct list makes, replayed by two checkouts in turns.

    python -m bench.phrase_cost INDEX_DIR LIST --base OTHER_CHECKOUT [--queries 6500] [--warm 100] [--turns 3]

Phrases (quoted ones, and acronyms expanded into phrases of common syllables) are a share of a
served query's time too small to see through the rest of a query on a shared machine. This
process searches the list's first `--queries` queries the way `/search` answers them
(collapsed) and records each phrase the evaluator matches (`phrases.matching`: its field and
words, in order; a phrase its evaluator already holds is not matched again, so not recorded).
Each checkout then replays them in its own child process (which imports its own `search`, and
only the API both versions share): the index opened, every word's document numbers read first
(untimed, as the evaluator has them when it asks), then each phrase matched once in order with
fresh caches, as a worker that has just started meets them. The first `--warm` phrases are not
timed. Prints, per turn and as the median of the turns, the CPU the timed phrases took, the
CPU of one phrase (p50, p90, p99, in µs) and a digest of every answer, which must be the same
for both sides.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import distinct
from bench.alternate import imported_from

ROOT = Path(__file__).resolve().parent.parent

#: What each child runs, in its own checkout.
CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
from search.index.engine import readers
from search.index.engine.segments import SegmentArrays
from search.index.store import open_index
from search.searching import phrases

index_dir, recorded, warm = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
calls = [(field, tuple(words)) for field, words in json.loads(recorded.read_text(encoding="utf-8"))]
with open_index(index_dir).searcher() as searcher:
    reader = searcher.reader()
    ids = {}
    for field, words in calls:
        for word in words:
            if (field, word) not in ids:
                btext = reader.schema[field].to_bytes(word)
                ids[field, word] = readers.postings(reader, field, btext, values=False)[0]
    arrays = SegmentArrays()
    digest = hashlib.sha256()
    samples = []
    for n, (field, words) in enumerate(calls):
        term_ids = [ids[field, word] for word in words]
        started = time.process_time()
        found = phrases.matching(reader, field, words, term_ids, arrays.postings, arrays.positions)
        spent = time.process_time() - started
        if n >= warm:
            samples.append(spent)
        digest.update(repr((field, words, found.tolist())).encode())
samples.sort()
at = lambda share: samples[min(len(samples) - 1, int(share * len(samples)))] * 1e6
print(json.dumps({
    "phrases": len(samples), "cpu_s": round(sum(samples), 3), "p50_us": round(at(0.5)),
    "p90_us": round(at(0.9)), "p99_us": round(at(0.99)), "answers": digest.hexdigest()[:16],
}))
"""


def record(index_dir: Path, listed: Path, count: int) -> list[tuple[str, list[str]]]:
    """The phrases the evaluator matches while this checkout searches the list's first `count`
    queries, collapsed."""
    from search.query.acronyms import load_synonyms
    from search.searching import phrases
    from search.searching.results import SearchRequest
    from search.searching.searcher import SearchIndex

    calls: list[tuple[str, list[str]]] = []
    matching = phrases.matching

    def recorded(reader: Any, fieldname: str, words: tuple[str, ...], term_ids: list, *caches: Any) -> Any:
        calls.append((fieldname, list(words)))
        return matching(reader, fieldname, words, term_ids, *caches)

    phrases.matching = recorded
    try:
        index = SearchIndex(index_dir, load_synonyms())
        for q, source, sort in distinct.read(listed)[:count]:
            index.search(SearchRequest(q=q, source=source or None, sort=sort or "relevance", collapse=True))
    finally:
        phrases.matching = matching
    return calls


def turn(checkout: Path, index_dir: Path, recorded: Path, warm: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(index_dir), str(recorded), str(warm)],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("listed", type=Path)
    parser.add_argument("--base", type=Path, required=True, help="the checkout measured as 'before'")
    parser.add_argument("--queries", type=int, default=6_500, help="queries of the list searched to record phrases")
    parser.add_argument("--warm", type=int, default=100, help="phrases replayed untimed first")
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    sides = {"before": args.base.resolve(), "after": ROOT}
    for side, checkout in sides.items():
        if imported_from(checkout) != checkout:
            raise SystemExit(f"{side}: a child in {checkout} imports search from {imported_from(checkout)}")
    calls = record(args.index_dir, args.listed, args.queries)
    print(f"{len(calls)} phrases from {args.queries} queries, {args.warm} untimed")
    results: dict[str, list[dict]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as work:
        recorded = Path(work) / "phrases.json"
        recorded.write_text(json.dumps(calls, ensure_ascii=False), encoding="utf-8")
        for n in range(args.turns):
            for side, checkout in sides.items():
                found = turn(checkout, args.index_dir, recorded, args.warm)
                results[side].append(found)
                print(f"turn {n + 1} {side}: {json.dumps(found)}", flush=True)
    print("| | before | after |\n| --- | ---: | ---: |")
    for key in ("cpu_s", "p50_us", "p90_us", "p99_us"):
        medians = [statistics.median(r[key] for r in results[side]) for side in sides]
        print(f"| {key} | {medians[0]} | {medians[1]} |")
    answers = {r["answers"] for side in sides for r in results[side]}
    print("answers: the same" if len(answers) == 1 else f"answers DIFFER: {sorted(answers)}")


if __name__ == "__main__":
    main()
