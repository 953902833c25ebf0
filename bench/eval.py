"""Relevance on judged Vietnamese queries: vnsearch against the engines people would use instead.

Runs every question of ViNewsQA dev and ALQAC 2022/2023 through vnsearch's real search path
(`SearchIndex.search`, the same query builder and ranking the HTTP API uses) and, on the same
documents and the same query strings, through SQLite FTS5 (`unicode61 remove_diacritics 2`) and
Tantivy (simple tokenizer, lower case, ASCII folding), each ranked by its own BM25. Each query is
asked up to four ways: as written, with every diacritic removed ("đ" to "d", as typed on a phone
without a Vietnamese keyboard), in NFD, and with acronyms and full forms swapped ("BHXH" for
"bảo hiểm xã hội" and back, from vnsearch's acronym file; only the questions that have one).
Prints one table, engine × set × variant, with MRR@10, Recall@1 and Recall@10, and writes it to
`--out`.

    python bench/eval.py [--data-dir ../shared/data] [--limit N] [--out eval.md]

The data directory comes from `--data-dir` or `VNSEARCH_DATA_DIR` (default `../shared/data`);
nothing is copied. The peers live here, not in the product.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import re
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/eval.py`: the candidates live beside it
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.meaning import MEANING_ENGINES, in_tune_half
from search.corpus.article import Article
from search.index.indexer import build
from search.query.acronyms import DEFAULT_FILE as ACRONYM_FILE
from search.query.acronyms import load_synonyms
from search.query.parse import QueryError
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex
from search.text.analysis import folded_analyzer
from search.text.normalize import WORD_RE, fold, normalize

K = 10
DEFAULT_DATA_DIR = "../shared/data"


@dataclass
class Query:
    qid: str
    text: str
    relevant: frozenset[str]


@dataclass
class JudgedSet:
    """Documents and questions with their relevant document ids."""

    name: str
    docs: list[Article]
    queries: list[Query]


def _read_jsonl(path: Path) -> Iterable[dict]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_vinewsqa(data_dir: Path) -> JudgedSet:
    folder = data_dir / "vinewsqa"
    docs = [
        Article(id=d["id"], title=normalize(d.get("title") or ""), body=normalize(d.get("body") or ""))
        for d in _read_jsonl(folder / "docs.jsonl")
    ]
    queries = [Query(q["qid"], q["question"], frozenset([q["doc"]])) for q in _read_jsonl(folder / "qrels-dev.jsonl")]
    return JudgedSet("vinewsqa-dev", docs, queries)


def alqac_key(law_id: str, article_id: str) -> str:
    """A law article's document id: ALQAC keys documents by the (law, article) pair."""
    return f"{law_id}#{article_id}"


def load_alqac(data_dir: Path, year: int) -> JudgedSet:
    folder = data_dir / "alqac"
    questions = {2022: "questions-2022.json", 2023: "questions-2023-train.json"}[year]
    docs = []
    for law in json.loads((folder / f"law-{year}.json").read_text(encoding="utf-8")):
        for article in law["articles"]:
            heading, _, body = normalize(article["text"]).partition("\n")
            docs.append(Article(id=alqac_key(law["id"], article["id"]), title=heading.strip(), body=body.strip()))
    queries = [
        Query(
            q.get("id") or q["question_id"],
            q["text"],
            frozenset(alqac_key(r["law_id"], r["article_id"]) for r in q["relevant_articles"]),
        )
        for q in json.loads((folder / questions).read_text(encoding="utf-8"))
    ]
    return JudgedSet(f"alqac-{year}", docs, queries)


LOADERS: dict[str, Callable[[Path], JudgedSet]] = {
    "vinewsqa-dev": load_vinewsqa,
    "alqac-2022": lambda data_dir: load_alqac(data_dir, 2022),
    "alqac-2023": lambda data_dir: load_alqac(data_dir, 2023),
}


def vinewsqa_half(data_dir: Path, tune: bool) -> JudgedSet:
    """All the articles, the questions of one half (split by article: see `in_tune_half`)."""
    judged = load_vinewsqa(data_dir)
    queries = [q for q in judged.queries if in_tune_half(min(q.relevant)) == tune]
    return JudgedSet(f"vinewsqa-dev:{'tune' if tune else 'held'}", judged.docs, queries)


#: The halves that parameters are picked on and reported on; asked for by name only.
SPLITS: dict[str, Callable[[Path], JudgedSet]] = {
    "vinewsqa-dev:tune": lambda data_dir: vinewsqa_half(data_dir, True),
    "vinewsqa-dev:held": lambda data_dir: vinewsqa_half(data_dir, False),
}


# Query variants

_FOLDED = folded_analyzer()
_NO_MARKS = str.maketrans({"đ": "d", "Đ": "D", "\u00f0": "d", "\u00d0": "D"})


def strip_diacritics(text: str) -> str:
    """The query as typed without a Vietnamese keyboard: marks dropped, "đ" as "d", case kept."""
    decomposed = unicodedata.normalize("NFD", text.translate(_NO_MARKS))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _folded_words(text: str) -> tuple[str, ...]:
    return tuple(token.text for token in _FOLDED(text))


@functools.lru_cache(maxsize=1)
def _swaps() -> dict[tuple[str, ...], str]:
    """Folded form -> what to write instead: an acronym's full form, a full form's acronym,
    as written in vnsearch's own acronym file."""
    swaps: dict[tuple[str, ...], str] = {}
    for line in ACRONYM_FILE.read_text(encoding="utf-8").splitlines():
        line = normalize(line).split("#", 1)[0].strip()
        acronym, _, full = line.partition("=")
        if not full:
            continue
        fulls = [form.strip() for form in full.split("|")]
        swaps.setdefault(_folded_words(acronym), fulls[0])
        for form in fulls:
            swaps.setdefault(_folded_words(form), acronym.strip())
    return swaps


def swap_acronyms(text: str) -> str | None:
    """The query with each acronym written out and each full form abbreviated ("Bộ luật Hình
    sự" as "BLHS"), as a reader might type it; None when it has neither."""
    swaps = _swaps()
    text = normalize(text)
    words = list(WORD_RE.finditer(text))
    folded = [fold(word.group()) for word in words]
    pieces, last, start = [], 0, 0
    while start < len(words):
        for end in range(min(len(words), start + 8), start, -1):
            replacement = swaps.get(tuple(folded[start:end]))
            if replacement is not None:
                pieces += [text[last : words[start].start()], replacement]
                last, start = words[end - 1].end(), end
                break
        else:
            start += 1
    return "".join(pieces) + text[last:] if pieces else None


#: How a reader may type each question; a variant returns None for a question it does not apply to.
VARIANTS: dict[str, Callable[[str], str | None]] = {
    "as-written": lambda text: text,
    "no-diacritics": strip_diacritics,
    "nfd": lambda text: unicodedata.normalize("NFD", text),
    "acronyms-swapped": swap_acronyms,
}


# Engines: each is built over one set's documents and returns ranked ids for a query string.

Ranker = Callable[[str], list[str]]


class VnsearchEngine:
    """The product: the index the indexer builds, searched by `SearchIndex.search`."""

    name = "vnsearch"

    def __init__(self, docs: list[Article], workdir: Path) -> None:
        index_dir = workdir / "vnsearch"
        build(index_dir, docs, rebuild=True)
        self.index = SearchIndex(index_dir, load_synonyms())

    def __call__(self, text: str) -> list[str]:
        try:
            result = self.index.search(SearchRequest(q=text, per_page=K))
        except QueryError:
            return []
        return [hit.id for hit in result.hits]

    def close(self) -> None:
        self.index.close()


_FTS_WORD = re.compile(r"[^\s\"]+")


class Fts5Engine:
    """SQLite FTS5 as shipped in the standard library: unicode61 with diacritics removed."""

    name = "sqlite-fts5"

    def __init__(self, docs: list[Article], workdir: Path) -> None:
        self.db = sqlite3.connect(workdir / "fts5.db")
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, text, tokenize = 'unicode61 remove_diacritics 2')"
        )
        self.db.executemany("INSERT INTO docs VALUES (?, ?)", ((d.id, f"{d.title}\n\n{d.body}") for d in docs))
        self.db.commit()

    def __call__(self, text: str) -> list[str]:
        # Every whitespace-separated chunk as a quoted string (FTS5 turns it into a phrase of its
        # tokens), any of them: the natural "bag of words" query, safe from FTS5's syntax.
        terms = " OR ".join(f'"{word}"' for word in _FTS_WORD.findall(text))
        if not terms:
            return []
        try:
            rows = self.db.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?", (terms, K))
        except sqlite3.OperationalError:
            return []
        return [row[0] for row in rows]

    def close(self) -> None:
        self.db.close()


_TANTIVY_SYNTAX = re.compile(r"[+\-&|!(){}\[\]^\"~*?:\\/'<>=`]")


class TantivyEngine:
    """Tantivy through its Python binding: simple tokenizer, lower case, ASCII folding (which
    maps "đ" to "d"), configured with the binding's `TextAnalyzerBuilder`."""

    name = "tantivy"

    def __init__(self, docs: list[Article], workdir: Path) -> None:
        import tantivy

        analyzer = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .build()
        )
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("text", tokenizer_name="vi_fold")
        path = workdir / "tantivy"
        path.mkdir()
        self.index = tantivy.Index(builder.build(), path=str(path))
        self.index.register_tokenizer("vi_fold", analyzer)
        writer = self.index.writer(heap_size=64_000_000, num_threads=1)
        for doc in docs:
            writer.add_document(tantivy.Document(id=doc.id, text=f"{doc.title}\n\n{doc.body}"))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def __call__(self, text: str) -> list[str]:
        # The query parser ORs the terms by default; its operators are blanked out and the
        # text lower-cased (the analyzer does so anyway) so that "?", ":" or a capitalised
        # "AND"/"OR"/"NOT"/"IN" in a question is not syntax; leniently, should more remain.
        cleaned = _TANTIVY_SYNTAX.sub(" ", text).strip().lower()
        if not cleaned:
            return []
        query, _ = self.index.parse_query_lenient(cleaned, ["text"])
        hits = self.searcher.search(query, K).hits
        return [self.searcher.doc(address)["id"][0] for _, address in hits]

    def close(self) -> None:
        pass


ENGINES = {engine.name: engine for engine in (VnsearchEngine, Fts5Engine, TantivyEngine)}
#: vnsearch with the meaning candidates of issue 17 (bench/meaning.py); asked for by name only.
CANDIDATES = {**ENGINES, **MEANING_ENGINES}


# Metrics


@dataclass
class Scores:
    queries: int = 0
    reciprocal_ranks: float = 0.0
    recall_1: float = 0.0
    recall_k: float = 0.0
    seconds: list[float] = field(default_factory=list)

    def add(self, ranked: list[str], relevant: frozenset[str], seconds: float) -> None:
        self.queries += 1
        self.seconds.append(seconds)
        top = ranked[:K]
        rank = next((i for i, doc in enumerate(top, 1) if doc in relevant), None)
        self.reciprocal_ranks += 1 / rank if rank else 0.0
        self.recall_1 += len(relevant & set(top[:1])) / len(relevant)
        self.recall_k += len(relevant & set(top)) / len(relevant)

    def row(self) -> dict[str, float]:
        n = max(self.queries, 1)
        latencies = sorted(self.seconds) or [0.0]
        return {
            "MRR@10": self.reciprocal_ranks / n,
            "R@1": self.recall_1 / n,
            "R@10": self.recall_k / n,
            "p50 ms": latencies[len(latencies) // 2] * 1000,
        }


def evaluate(ranker: Ranker, queries: list[Query], variant: Callable[[str], str | None]) -> Scores:
    scores = Scores()
    for query in queries:
        text = variant(query.text)
        if text is None:
            continue
        started = time.perf_counter()
        ranked = ranker(text)
        scores.add(ranked, query.relevant, time.perf_counter() - started)
    return scores


def machine() -> str:
    cpus = os.cpu_count() or 0
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{platform.system()} {platform.machine()}, {cpus} cores {model}{load}, Python {platform.python_version()}"


def table(rows: list[tuple[str, str, str, dict[str, float]]]) -> str:
    header = "| engine | set | variant | MRR@10 | R@1 | R@10 | p50 ms |"
    lines = [header, "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for engine, name, variant, row in rows:
        lines.append(
            f"| {engine} | {name} | {variant} | {row['MRR@10']:.3f} | {row['R@1']:.3f} | "
            f"{row['R@10']:.3f} | {row['p50 ms']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("VNSEARCH_DATA_DIR", DEFAULT_DATA_DIR)),
        help="the shared data folder (env VNSEARCH_DATA_DIR, default %(default)s)",
    )
    parser.add_argument("--sets", nargs="+", choices=[*LOADERS, *SPLITS], default=list(LOADERS))
    parser.add_argument("--engines", nargs="+", choices=list(CANDIDATES), default=list(ENGINES))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions of each set (0: all)")
    parser.add_argument("--out", type=Path, default=Path("eval-results.md"), help="where the table is written")
    args = parser.parse_args(argv)
    if not args.data_dir.is_dir():
        parser.error(f"no data folder at {args.data_dir}; pass --data-dir or set VNSEARCH_DATA_DIR")

    rows: list[tuple[str, str, str, dict[str, float]]] = []
    order: list[tuple[int, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="vnsearch-eval-") as tmp:
        for name in args.sets:
            judged = {**LOADERS, **SPLITS}[name](args.data_dir)
            queries = judged.queries[: args.limit] if args.limit else judged.queries
            for engine_name in args.engines:
                workdir = Path(tmp) / name / engine_name
                workdir.mkdir(parents=True)
                started = time.perf_counter()
                engine = CANDIDATES[engine_name](judged.docs, workdir)
                print(
                    f"{engine_name}: indexed {name} ({len(judged.docs)} docs) in {time.perf_counter() - started:.1f} s",
                    file=sys.stderr,
                )
                try:
                    for variant in args.variants:
                        scores = evaluate(engine, queries, VARIANTS[variant])
                        if not scores.queries:
                            continue
                        label = variant if scores.queries == len(queries) else f"{variant} ({scores.queries} q)"
                        rows.append((engine_name, f"{name} ({len(queries)} q)", label, scores.row()))
                        order.append(
                            (args.sets.index(name), args.variants.index(variant), args.engines.index(engine_name))
                        )
                        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr)
                finally:
                    engine.close()
    rows = [row for _, row in sorted(zip(order, rows))]
    report = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}\n\n{table(rows)}\n"
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
