"""What today's misses on ViNewsQA dev look like: how deep the answer lies (the ceiling of any
re-ranking of the top candidates), and how many of a missed question's words its answer
contains at all (vocabulary mismatch, which only a signal beyond exact words can bridge).

    python -m bench.meaning_gap [--data-dir ../shared/data]

A question's words are the clauses that rank on their own (common words and quoted phrases
aside), folded; an article contains one when the folded word occurs in its title or body.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.eval import DEFAULT_DATA_DIR, load_vinewsqa
from bench.meaning import MeaningEngine, sentences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("VNSEARCH_DATA_DIR", DEFAULT_DATA_DIR)))
    args = parser.parse_args(argv)
    judged = load_vinewsqa(args.data_dir)
    by_id = {doc.id: doc for doc in judged.docs}
    with tempfile.TemporaryDirectory(prefix="vnsearch-gap-") as tmp:
        engine = MeaningEngine(judged.docs, Path(tmp))
        words = {i: {w for s in sentences(f"{by_id[i].title}\n\n{by_id[i].body}") for w in s} for i in by_id}
        ranks: list[int | None] = []
        missed_answer, missed_top, found_answer = [], [], []
        for query in judged.queries:
            docs, _, parsed = engine.page(query.text)
            ranked = [engine.archive.ids[d] for d in docs]
            answer = min(query.relevant)
            rank = ranked.index(answer) + 1 if answer in ranked else None
            ranks.append(rank)
            own = [word for index, word in parsed.words.items() if index not in parsed.common]
            if not own:
                continue
            if rank is None or rank > 10:
                missed_answer.append(np.mean([w in words[answer] for w in own]))
                if ranked:
                    missed_top.append(np.mean([w in words[ranked[0]] for w in own]))
            elif rank == 1:
                found_answer.append(np.mean([w in words[answer] for w in own]))
        engine.close()
    n = len(ranks)
    for k in (1, 10, 50):
        print(f"answer in the top {k}: {sum(1 for r in ranks if r and r <= k) / n:.3f}")
    print(f"questions whose answer is not in the top 10: {len(missed_answer)} of {n}")
    answer_share, top_share = np.mean(missed_answer), np.mean(missed_top)
    print(f"  share of their words in the answer: {answer_share:.2f}, in the first hit: {top_share:.2f}")
    print(f"questions answered first: {len(found_answer)}; share of their words in it: {np.mean(found_answer):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
