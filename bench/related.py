"""Latency of related coverage (`/articles/{id}/related`) on the stories benchmark's pool, and
its quality there, optionally against another checkout of the project in the same run.

The pool is `bench/stories.py`'s (the KTLAB dev clusters and the first 10,000 VNTC articles),
built once (or read from `--index`, e.g. one kept with `--keep`). Each round opens the index in a
fresh process, asks one request of a distractor (the per-commit arrays are read then), and asks
`SearchIndex.related(id, 10)` for every KTLAB article in `--passes` passes: the first sees each
article for the first time, the later ones again, as repeated page views do. It reports p50,
p99 and mean per pass, with the load average, and R@5 and MRR@10 of the story mates. With
`--against DIR` (a checkout with its own `.venv`, e.g. `git worktree add ../before main`), rounds
alternate between this checkout and that one on the same index, so both see the same load.

    python -m bench.related [--data DIR] [--index DIR | --keep DIR] [--rounds 3] [--passes 2] [--against DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _default_data() -> Path:
    return Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data"))


def build_pool(data: Path, distractors: int, index_dir: Path) -> None:
    from bench.stories import _articles, load_ktlab
    from search.index.indexer import build

    ktlab, _ = load_ktlab(data)
    pool = ktlab + list(itertools.islice(_articles(data / "vntc.jsonl.gz"), distractors))
    build(index_dir, pool, procs=2)


def measure(data: Path, index_dir: Path, passes: int) -> dict:
    """One round in this process: the latencies (ms) of each pass and the rankings of the first.
    Only `SearchIndex(index_dir, synonyms).related(id, limit)` is used, which every checkout
    with related coverage has."""
    from search.query.acronyms import load_synonyms
    from search.searching.searcher import SearchIndex

    with (data / "stories" / "ktlab-dev.jsonl").open(encoding="utf-8") as lines:
        gold = {row["id"]: row["story"] for row in map(json.loads, lines)}
    queries = sorted(gold)
    index = SearchIndex(index_dir, load_synonyms())
    searcher = index.searcher()
    warm_up = next(
        fields["id"]
        for fields in (searcher.stored_fields(d) for d in searcher.reader().all_doc_ids())
        if fields["id"] not in gold
    )
    index.related(warm_up, 10)
    out: dict = {"passes": [], "rankings": {}, "load": []}
    for n in range(passes):
        took = []
        for article_id in queries:
            start = time.perf_counter()
            found = index.related(article_id, 10) or []
            took.append(1000 * (time.perf_counter() - start))
            if n == 0:
                out["rankings"][article_id] = [r.id for r in found]
        out["passes"].append(took)
        out["load"].append(os.getloadavg()[0])
    out["gold"] = gold
    return out


def _round(checkout: Path, args: argparse.Namespace, index_dir: Path) -> dict:
    """A round in a fresh process of `checkout`: this file run by its `.venv`, which imports
    that checkout's `search` package."""
    python = checkout / ".venv" / "bin" / "python"
    command = [str(python), __file__, "--measure", "--data", str(args.data), "--index", str(index_dir)]
    done = subprocess.run(
        [*command, "--passes", str(args.passes)], cwd=checkout, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def scores(rankings: dict[str, list[str]], gold: dict[str, int]) -> tuple[float, float]:
    from bench.stories import ranking_scores

    found = ranking_scores(rankings, gold)
    return found["R@5"], found["MRR@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--distractors", type=int, default=10_000)
    parser.add_argument("--index", type=Path, help="a pool index built before (with --keep)")
    parser.add_argument("--keep", type=Path, help="build the pool index here and keep it")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--against", type=Path, help="another checkout, with its .venv, to alternate with")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # one round, as JSON
    args = parser.parse_args()
    args.data = args.data.resolve()
    if args.measure:
        print(json.dumps(measure(args.data, args.index, args.passes)))
        return

    with tempfile.TemporaryDirectory(prefix="vnsearch-related-") as tmp:
        index_dir = args.index or args.keep or Path(tmp) / "index"
        if args.index is None:
            build_pool(args.data, args.distractors, index_dir)
        checkouts = {"this": ROOT} | ({"against": args.against.resolve()} if args.against else {})
        found: dict[str, list[dict]] = {name: [] for name in checkouts}
        for _ in range(args.rounds):
            for name, checkout in checkouts.items():
                found[name].append(_round(checkout, args, index_dir.resolve()))
    print(report(found, checkouts))


def report(found: dict[str, list[dict]], checkouts: dict[str, Path]) -> str:
    lines = [
        f"{os.cpu_count()} CPUs; rounds alternate between checkouts, each a fresh process",
        "",
        "| checkout | pass | p50 ms | p99 ms | mean ms | load (1 min) | R@5 | MRR@10 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, rounds in found.items():
        r5, mrr = scores(rounds[0]["rankings"], rounds[0]["gold"])
        same = all(r["rankings"] == rounds[0]["rankings"] for r in rounds)
        for n in range(len(rounds[0]["passes"])):
            took = np.concatenate([r["passes"][n] for r in rounds])
            load = np.mean([r["load"][n] for r in rounds])
            lines.append(
                f"| {name} ({checkouts[name].name}) | {n + 1} | {np.percentile(took, 50):.1f} "
                f"| {np.percentile(took, 99):.1f} | {took.mean():.1f} | {load:.1f} | {r5:.4f} | {mrr:.4f} |"
            )
        if not same:
            lines.append(f"{name}: rankings differ between rounds")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
