"""Distinct queries: the benchmark's phase without repeats, the way a long tail of readers asks.

The committed list (`bench/queries.tsv`) repeats every few hundred requests, so a result cache
answers most of them; real search traffic is mostly queries seen once. This phase draws
thousands of queries from the titles of the articles being indexed, with a fixed seed (the same
corpus gives the same list), none repeating even after folding and lower-casing: title fragments
of two to six syllables, half without diacritics, some quoted as phrases, some with an excluded
word, acronyms with a word beside them, an outlet filter on some and date order on others. Each
engine runs them with its result cache off (vnsearch's `VNSEARCH_RESULT_CACHE_ENTRIES=0`), in
process (after a warm-up on other queries from the same list, so per-process caches of posting
lists are as a worker that has been serving has them: every timed query is new to the process)
and over HTTP (`wrk` walks the list once, never wrapping: see `once_lua`).

    python -m bench.distinct CORPUS OUT.tsv [--count 40000] [--seed 15]

writes the list on its own (`bench.run` makes it in its work folder).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from bench.make_queries import ACRONYMS, SOURCES
from search.searching.results import SearchRequest
from search.text.normalize import WORD_RE, fold, normalize

#: Queries the standard phase draws: enough that neither vnsearch nor a peer runs out of them
#: during its HTTP run (`bench.run --distinct-duration`).
COUNT = 40_000
SEED = 15
#: Queries run untimed first in process (and spread over the workers over HTTP).
WARM = 500
#: Queries timed in process, each the first time the process sees it.
TIMED = 3_000

Query = tuple[str, str, str]


def titles(corpus: Path) -> list[str]:
    """The titles of a JSON Lines corpus (gzip-compressed or not), in file order."""
    opener = gzip.open if corpus.name.endswith(".gz") else open
    with opener(corpus, "rt", encoding="utf-8") as stream:
        return [normalize(json.loads(line).get("title") or "") for line in stream if line.strip()]


def make(heads: list[str], count: int = COUNT, seed: int = SEED) -> list[Query]:
    """`count` distinct (q, source, sort) triples from `heads` (fewer if the titles run out)."""
    rng = random.Random(seed)
    split = [words for words in (WORD_RE.findall(t) for t in heads) if len(words) >= 2]
    seen: set[tuple[str, str, str]] = set()
    out: list[Query] = []
    attempts = 0
    while len(out) < count and attempts < 20 * count and split:
        attempts += 1
        words = rng.choice(split)
        roll = rng.random()
        if roll < 0.04:  # an acronym and a word of a title beside it
            q = f"{rng.choice(ACRONYMS)} {rng.choice(words)}"
        else:
            size = min(len(words), rng.choice([2, 2, 3, 3, 3, 4, 4, 5, 6]))
            start = rng.randrange(len(words) - size + 1)
            fragment = words[start : start + size]
            q = " ".join(fragment)
            if rng.random() < 0.5:
                q = fold(q)
            elif rng.random() < 0.2:
                q = q.lower()
            if rng.random() < 0.12:
                q = f'"{q}"'
            elif rng.random() < 0.06:
                others = [w for w in words if w not in fragment]
                if others:
                    q = f"{q} -{rng.choice(others)}"
        source = rng.choice(SOURCES) if rng.random() < 1 / 8 else ""
        sort = "date" if rng.random() < 1 / 10 else ""
        key = (fold(q).lower(), source, sort)
        if key in seen:
            continue
        seen.add(key)
        out.append((q, source, sort))
    return out


def write(queries: list[Query], path: Path) -> str:
    """Writes the list as `q<TAB>source<TAB>sort` lines; returns its SHA-256, which the results
    record so that runs are compared over the same list."""
    text = "".join("\t".join(row) + "\n" for row in queries)
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()


def read(path: Path) -> list[Query]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        q, source, sort = (line.split("\t") + ["", ""])[:3]
        rows.append((q, source, sort))
    return rows


def page_request(q: str, source: str, sort: str) -> SearchRequest:
    """A row's request as `/search` asks it by default: one article per story, snippets on."""
    return SearchRequest(q=q, source=source or None, sort=sort or "relevance", collapse=True)


def timed_pass(search: Callable[[str, str, str], int], queries: list[Query]) -> tuple[list[tuple[float, Query]], int]:
    """Each query searched once: (milliseconds, query) of each in order, and how many failed
    (counted and reported: a benchmark query must never fail)."""
    timings, errors = [], 0
    for query in queries:
        started = time.perf_counter()
        try:
            search(*query)
        except Exception:
            errors += 1
        timings.append(((time.perf_counter() - started) * 1000, query))
    return timings, errors


def slowest(timings: list[tuple[float, Query]], count: int) -> list[list[object]]:
    """The `count` slowest of `timings`, as a result lists them: [ms, q, source, sort]."""
    return [[round(ms, 1), *query] for ms, query in sorted(timings, reverse=True)[:count]]


def child_query(search: Callable[[str, str, str], int], queries: list[Query], warm: int, timed: int) -> dict:
    """In process: `warm` queries untimed, then the next `timed` ones, each timed once."""
    from bench.run import percentiles, tree_rss_mib

    _, errors = timed_pass(search, queries[:warm])
    timings, failed = timed_pass(search, queries[warm : warm + timed])
    return {
        **percentiles([ms for ms, _ in timings]),
        "queries": len(timings),
        "warm": warm,
        "errors": errors + failed,
        "slowest": slowest(timings, 10),
        "rss_mib": round(tree_rss_mib(os.getpid()), 1),
    }


def once_lua(paths: list[str], out: Path) -> None:
    """A wrk script that sends each path once, in order, and stops the thread when the list is
    spent (so no request repeats; `exhausted` in the results says it happened)."""
    quoted = ",\n".join(json.dumps(p) for p in paths)
    out.write_text(
        "local paths = {\n" + quoted + "\n}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        "  if i > #paths then wrk.thread:stop() return wrk.format('GET', paths[#paths]) end\n"
        "  return wrk.format('GET', paths[i])\nend\n"
        "done = function(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        "  io.write(string.format('RESULT %d %d %d %d %d %d %d %d %d %d\\n', summary.requests,"
        " summary.duration, e.connect, e.read, e.write, e.status, e.timeout,"
        " latency:percentile(50), latency:percentile(95), latency:percentile(99)))\nend\n",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    queries = make(titles(args.corpus), args.count, args.seed)
    print(len(queries), write(queries, args.out))


if __name__ == "__main__":
    main()
