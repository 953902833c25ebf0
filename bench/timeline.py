"""What a timeline costs: the committed queries with and without `histogram=auto`, in process.

VNTC has no dates, so each article gets one derived from its id (a day of 2005-2006, the years
the corpus covers, a time of day, and one article in ten only its month: real archives mix
precisions), which the output says. The index is built once into the work folder (`--keep`
reuses it). Every query is run both ways in alternation, first pass and then `--rounds` warm
passes, with the result cache off, so both columns see the same machine at the same moment.

    python -m bench.timeline [--data ../shared/data/vntc.jsonl.gz] [--limit N] [--rounds 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.run import load, percentiles, read_queries
from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.index.indexer import build
from search.index.store import index_exists
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex

FIRST_DAY = dt.date(2005, 1, 1)
DAYS = 730


def dated(article: Article) -> Article:
    """The article with a date (and time) derived from its id: the same on every run."""
    digest = int.from_bytes(hashlib.sha256(article.id.encode()).digest()[:8], "big")
    day = FIRST_DAY + dt.timedelta(days=digest % DAYS)
    if digest % 10 == 0:
        return dataclasses.replace(article, date=day.strftime("%Y-%m"), time=None)
    minutes = (digest >> 16) % 1440
    return dataclasses.replace(article, date=day.isoformat(), time=f"{minutes // 60:02d}:{minutes % 60:02d}")


def articles(data: Path, limit: int | None) -> Iterator[Article]:
    for n, item in enumerate(iter_corpus([data])):
        if limit and n >= limit:
            return
        if isinstance(item, Article):
            yield dated(item)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/vntc.jsonl.gz"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--rounds", type=int, default=3, help="warm passes after the first")
    parser.add_argument("--work", type=Path, default=None, help="where the index goes (kept)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="vnsearch-timeline-"))
    index_dir = work / f"index-{args.limit or 'all'}"
    built = None
    if not index_exists(index_dir):
        started = time.perf_counter()
        report = build(index_dir, articles(args.data, args.limit), procs=2)
        built = {"articles": report.added, "seconds": round(time.perf_counter() - started, 1)}
    index = SearchIndex(index_dir, load_synonyms())
    queries = read_queries()
    samples: dict[str, dict[str, list[float]]] = {"first": {"plain": [], "auto": []}, "warm": {"plain": [], "auto": []}}
    for rounds, phase in ((1, "first"), (args.rounds, "warm")):
        for _ in range(rounds):
            for q, source, sort in queries:
                for histogram in (None, "auto") if len(samples[phase]["plain"]) % 2 else ("auto", None):
                    request = SearchRequest(q=q, source=source or None, sort=sort or "relevance", histogram=histogram)
                    started = time.perf_counter()
                    index.search(request)
                    samples[phase]["auto" if histogram else "plain"].append((time.perf_counter() - started) * 1000)
    figures = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes"),
        "data": f"{args.data} (first {args.limit} articles)" if args.limit else str(args.data),
        "dates": "derived from each article's id: a day of 2005-2006 with a time, one in ten its month only",
        "built": built,
        "articles": index.searcher().doc_count(),
        "queries": len(queries),
        "load": load(),
    }
    for phase, runs in samples.items():
        plain, auto = percentiles(runs["plain"]), percentiles(runs["auto"])
        figures[phase] = {"without": plain, "histogram=auto": auto, "p50 ratio": round(auto["p50"] / plain["p50"], 3)}
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
