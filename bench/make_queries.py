"""Regenerate `bench/queries.tsv`, the fixed query list the benchmark runs (committed; rerun
only to change the list, since figures are comparable only over the same queries).

Queries are drawn from VNTC headlines with a fixed seed, the way a reader types them: runs of
one to six syllables, half without diacritics, some quoted as phrases, acronyms from the
synonym table, an outlet filter on some and date order on others (VNTC has no dates, so a date
filter is left out: it would match nothing). One query a line: `q<TAB>source<TAB>sort`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

from search.text.normalize import WORD_RE, fold, normalize

ACRONYMS = [
    "BHXH",
    "UBND",
    "HĐND",
    "BHYT",
    "TP.HCM",
    "WTO",
    "CSGT",
    "THPT",
    "ĐH",
    "HLV",
    "SEA Games",
    "NLĐ",
    "KCB",
    "GDP",
    "CNTT",
    "UBND TP.HCM",
    "BHXH tự nguyện",
    "ĐBSCL",
    "TAND",
    "VKSND",
]
SOURCES = ["vnexpress.net", "nld.com.vn", "tuoitre.vn", "thanhnien.vn"]


def headlines(path: Path, count: int, rng: random.Random) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        titles = [json.loads(line)["title"] for line in stream]
    return [normalize(t) for t in rng.sample(titles, count)]


def make(path: Path, count: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    queries: list[tuple[str, str, str]] = []
    for title in headlines(path, count, rng):
        words = WORD_RE.findall(title)
        if not words:
            continue
        size = min(len(words), rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6]))
        start = rng.randrange(len(words) - size + 1)
        q = " ".join(words[start : start + size])
        if rng.random() < 0.5:
            q = fold(q)
        elif rng.random() < 0.2:
            q = q.lower()
        if size > 1 and rng.random() < 0.15:
            q = f'"{q}"'
        queries.append((q, "", ""))
    for acronym in ACRONYMS:
        queries.append((acronym, "", ""))
    for i in rng.sample(range(len(queries)), len(queries) // 8):
        queries[i] = (queries[i][0], rng.choice(SOURCES), queries[i][2])
    for i in rng.sample(range(len(queries)), len(queries) // 10):
        queries[i] = (queries[i][0], queries[i][1], "date")
    rng.shuffle(queries)
    return queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/vntc.jsonl.gz"))
    parser.add_argument("--count", type=int, default=280)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("queries.tsv"))
    args = parser.parse_args()
    rows = make(args.data, args.count, args.seed)
    args.out.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
