"""Picks the weights of the meaning candidates (bench/meaning.py) on the tune half of ViNewsQA
dev only, so that what `bench/eval.py` reports on the held-out half and on ALQAC was not fitted
to those questions.

    python -m bench.meaning_tune [--data-dir ../shared/data] [--step 1] [--out tune.md]

Each question's page under today's ranking is computed once and every setting of the grid
starts from it; one row per (candidate, setting), MRR@10 on the questions as written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench.eval import DEFAULT_DATA_DIR, SPLITS
from bench.meaning import MEANING_ENGINES, MeaningEngine, Params
from search.query.parse import QueryError

GRID: dict[str, list[dict[str, float]]] = {
    "vnsearch+ft-rerank": [{"rerank": w} for w in (0.05, 0.1, 0.2, 0.4, 0.8)],
    "vnsearch+ft-expand": [
        {"neighbours": n, "expand": w} for n, w in ((1, 0.1), (1, 0.3), (2, 0.1), (2, 0.2), (2, 0.4), (3, 0.2))
    ],
    "vnsearch+rm3": [
        {"rm3_docs": d, "rm3_terms": t, "rm3": w}
        for d, t, w in ((3, 10, 0.2), (3, 20, 0.4), (5, 10, 0.2), (5, 20, 0.4), (5, 20, 0.8), (10, 20, 0.4))
    ],
    "vnsearch+units": [{"units": w} for w in (0.25, 0.5, 1.0, 2.0)],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("VNSEARCH_DATA_DIR", DEFAULT_DATA_DIR)))
    parser.add_argument("--step", type=int, default=1, help="every STEP-th question of the tune half")
    parser.add_argument("--engines", nargs="+", choices=list(GRID), default=list(GRID))
    parser.add_argument("--out", type=Path, default=Path("meaning-tune.md"))
    args = parser.parse_args(argv)
    judged = SPLITS["vinewsqa-dev:tune"](args.data_dir)
    queries = judged.queries[:: args.step]
    lines = [f"tune half: {len(queries)} questions", "", "| candidate | setting | MRR@10 |", "| --- | --- | ---: |"]
    with tempfile.TemporaryDirectory(prefix="vnsearch-tune-") as tmp:
        for name in args.engines:
            workdir = Path(tmp) / name
            workdir.mkdir()
            engine: MeaningEngine = MEANING_ENGINES[name](judged.docs, workdir)
            settings = [Params(**setting) for setting in GRID[name]]  # type: ignore[arg-type]
            totals = [0.0] * (len(settings) + 1)
            for query in queries:
                try:
                    base = engine.page(query.text)
                except QueryError:
                    continue
                today = [engine.archive.ids[d] for d in base[0][:10]]
                rankings = [today] + [engine.rank(query.text, base, p) for p in settings]
                for i, ranked in enumerate(rankings):
                    rank = next((r for r, doc in enumerate(ranked, 1) if doc in query.relevant), None)
                    totals[i] += 1 / rank if rank else 0.0
            rows = [("today", totals[0])] + [
                (", ".join(f"{k}={v}" for k, v in GRID[name][i].items()), totals[i + 1]) for i in range(len(settings))
            ]
            for setting, total in rows:
                lines.append(f"| {name} | {setting} | {total / len(queries):.4f} |")
                print(lines[-1], file=sys.stderr, flush=True)
            engine.close()
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
