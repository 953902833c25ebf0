"""Story grouping and related coverage on real story clusters, through the index.

The KTLAB dev clusters (`stories/ktlab-dev.jsonl`: each cluster one news story covered by two to
five outlets, with dates) are indexed together with the first 10,000 VNTC articles as
distractors (`search.index.indexer.build`, as `vnsearch index` does: the stories are grouped at
index time), and one run reports:

- related coverage: for each KTLAB article, R@5 of its story mates (with its 5th and 95th
  percentiles over resampled clusters) and MRR@10 of the first mate,
  for `SearchIndex.related` (what `/articles/{id}/related` answers), Tantivy's
  `more_like_this_query` and Whoosh's `more_like`, each over the same pool (the peers with their
  default settings and with more query terms);
- grouping: B-cubed precision, recall and F1 of the index's story ids against the clusters over
  the KTLAB articles (a distractor in a KTLAB article's story counts against its precision),
  with a bootstrap over clusters (what another draw of 100 clusters would give);
- with `--full`: the whole VNTC archive indexed (or the index in `--index`, built from it with
  `python -m bench.build --limit 0 --keep DIR`): whether every set of articles with identical
  bodies is in one story, and how many first pages of `bench/queries.tsv` (through
  `SearchIndex.search`, collapsed as `/search` is by default) show two articles with the same
  body, against the same pages uncollapsed.

    python -m bench.stories [--data DIR] [--distractors 10000] [--full] [--index DIR] [--out bench/results]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import itertools
import json
import os
import platform
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.run import read_queries
from search.corpus.article import Article
from search.corpus.jsonl import read_jsonl
from search.index.indexer import build
from search.index.store import live_dir, open_index
from search.index.stories import saved
from search.index.stories.text import DEFAULT
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex

BOOTSTRAP = 1000
LIMIT = 2 * 2**20


def _default_data() -> Path:
    return Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data"))


def _articles(path: Path) -> Iterator[Article]:
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as stream:
        yield from (a for a in read_jsonl(stream, path.name, LIMIT) if isinstance(a, Article))  # type: ignore[arg-type]


def load_ktlab(data: Path) -> tuple[list[Article], dict[str, int]]:
    path = data / "stories" / "ktlab-dev.jsonl"
    with path.open(encoding="utf-8") as lines:
        gold = {row["id"]: row["story"] for row in map(json.loads, lines)}
    return list(_articles(path)), gold


# --- related coverage ------------------------------------------------------------------------


def ranking_scores(rankings: dict[str, list[str]], gold: dict[str, int]) -> dict[str, float]:
    by_story = defaultdict(set)
    for article_id, story in gold.items():
        by_story[story].add(article_id)
    recall, rr = [], []
    by_cluster: dict[int, list[float]] = defaultdict(list)
    for article_id, ranked in rankings.items():
        mates = by_story[gold[article_id]] - {article_id}
        ranked = [r for r in ranked if r != article_id][:10]
        recall.append(len(mates & set(ranked[:5])) / len(mates))
        by_cluster[gold[article_id]].append(recall[-1])
        rr.append(next((1 / (k + 1) for k, r in enumerate(ranked) if r in mates), 0.0))
    low, high = recall_interval(by_cluster)
    return {"R@5": float(np.mean(recall)), "MRR@10": float(np.mean(rr)), "R@5_p5": low, "R@5_p95": high}


def recall_interval(by_cluster: dict[int, list[float]], seed: int = 0) -> tuple[float, float]:
    """5th and 95th percentiles of R@5 over resampled sets of clusters (as many as there are):
    how far another draw of clusters would move the figure."""
    draws = [np.mean(recalls) for recalls in resampled(by_cluster, seed)]
    return float(np.percentile(draws, 5)), float(np.percentile(draws, 95))


def resampled(clusters: dict[int, list], seed: int = 0) -> Iterator[list]:
    """`BOOTSTRAP` draws of as many clusters as there are, with replacement: each draw the
    members of its clusters, one list."""
    rng = np.random.default_rng(seed)
    keys = sorted(clusters)
    for _ in range(BOOTSTRAP):
        yield [member for k in rng.choice(keys, len(keys)) for member in clusters[k]]


def tantivy_rankings(pool: list[Article], queries: list[str], **mlt: object) -> dict[str, list[str]]:
    """Tantivy with the same folding as bench/eval.py; its more-like-this reads the stored text."""
    import tantivy

    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("text", stored=True, tokenizer_name="vi_fold")
    schema = builder.build()
    with tempfile.TemporaryDirectory() as workdir:
        index = tantivy.Index(schema, path=workdir)
        index.register_tokenizer("vi_fold", analyzer)
        writer = index.writer(heap_size=64_000_000, num_threads=1)
        for doc in pool:
            writer.add_document(tantivy.Document(id=doc.id, text=f"{doc.title}\n\n{doc.body}"))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        searcher = index.searcher()
        out = {}
        for article_id in queries:
            hit = searcher.search(tantivy.Query.term_query(schema, "id", article_id), 1).hits
            query = tantivy.Query.more_like_this_query(hit[0][1], **mlt)
            out[article_id] = [searcher.doc(a)["id"][0] for _, a in searcher.search(query, 11).hits]
        return out


def whoosh_rankings(
    pool: list[Article], queries: list[str], numterms_list: tuple[int, ...]
) -> dict[int, dict[str, list[str]]]:
    """Whoosh's own more-like-this over the project's folded analyzer (BM25F ranking, Bo1 term
    selection: its defaults)."""
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.filedb.filestore import RamStorage

    from search.text.analysis import folded_analyzer

    schema = Schema(id=ID(stored=True, unique=True), text=TEXT(analyzer=folded_analyzer()))
    index = RamStorage().create_index(schema)
    writer = index.writer(limitmb=256)
    for doc in pool:
        writer.add_document(id=doc.id, text=f"{doc.title}\n\n{doc.body}")
    writer.commit()
    texts = {a.id: f"{a.title}\n\n{a.body}" for a in pool}
    out: dict[int, dict[str, list[str]]] = {n: {} for n in numterms_list}
    with index.searcher() as searcher:
        for article_id in queries:
            docnum = searcher.document_number(id=article_id)
            for n in numterms_list:
                hits = searcher.more_like(docnum, "text", text=texts[article_id], top=11, numterms=n)
                out[n][article_id] = [h["id"] for h in hits]
    return out


# --- grouping --------------------------------------------------------------------------------


def index_stories(index_dir: Path, ids: list[str]) -> dict[str, str]:
    """Story id of each of `ids`, from the graph saved with the live commit."""
    graph = saved.load(live_dir(index_dir), open_index(index_dir).latest_generation(), DEFAULT.same_event)
    return {a: graph.story_of(a) for a in ids}


def bcubed_items(stories: dict[str, str], gold: dict[str, int]) -> dict[str, tuple[float, float]]:
    """Per KTLAB article, B-cubed precision and recall; members of its story that are not KTLAB
    articles count as wrong."""
    members = defaultdict(set)
    for article_id, story in stories.items():
        members[story].add(article_id)
    by_gold = defaultdict(set)
    for article_id, story in gold.items():
        by_gold[story].add(article_id)
    items = {}
    for article_id, cluster in gold.items():
        predicted = members[stories[article_id]]
        right = len(predicted & by_gold[cluster])
        items[article_id] = (right / len(predicted), right / len(by_gold[cluster]))
    return items


def prf(items: dict[str, tuple[float, float]], ids: list[str] | None = None) -> tuple[float, float, float]:
    values = np.array([items[i] for i in (ids if ids is not None else items)])
    p, r = values.mean(axis=0)
    return float(p), float(r), float(2 * p * r / (p + r))


def bootstrap(items: dict[str, tuple[float, float]], gold: dict[str, int], seed: int = 0) -> dict[str, float]:
    """5th percentiles of P and F1 over resampled sets of clusters (as many as there are), and
    how often a resample meets both targets (P >= 0.95 and F1 >= 0.92)."""
    clusters = defaultdict(list)
    for article_id, story in gold.items():
        clusters[story].append(article_id)
    ps, fs, met = [], [], 0
    for ids in resampled(clusters, seed):
        p, _, f = prf(items, ids)
        ps.append(p)
        fs.append(f)
        met += p >= 0.95 and f >= 0.92
    return {
        "P_p5": float(np.percentile(ps, 5)),
        "F1_p5": float(np.percentile(fs, 5)),
        "targets_met": met / BOOTSTRAP,
    }


# --- full archive ----------------------------------------------------------------------------


def _digest(body: str) -> bytes:
    return hashlib.blake2b(body.encode(), digest_size=16).digest()


def run_full(data: Path, index_dir: Path | None) -> dict:
    """Copies on the whole archive: identical bodies in one story, and first pages without two
    articles of the same (non-empty) body."""
    with tempfile.TemporaryDirectory(prefix="vnsearch-stories-") as tmp:
        built = None
        if index_dir is None:
            index_dir = Path(tmp) / "index"
            start = time.perf_counter()
            build(index_dir, _articles(data / "vntc.jsonl.gz"), procs=2)
            built = round(time.perf_counter() - start, 1)
        same_body: dict[bytes, list[str]] = defaultdict(list)
        for article in _articles(data / "vntc.jsonl.gz"):
            if article.body:
                same_body[_digest(article.body)].append(article.id)
        groups = [ids for ids in same_body.values() if len(ids) > 1]
        stories = index_stories(index_dir, [i for ids in groups for i in ids])
        together = sum(len({stories[i] for i in ids}) == 1 for ids in groups)
        index = SearchIndex(index_dir, load_synonyms())
        pages = {True: 0, False: 0}
        queries = read_queries()
        for q, source, sort in queries:
            for collapse in (True, False):
                request = SearchRequest(q, source=source or None, sort=sort or "relevance", collapse=collapse)
                hits = index.search(request).hits
                # An empty body (the article is its title) is no copy of another empty one.
                stored = (index.searcher().document(id=h.id)["body"] for h in hits)
                bodies = [_digest(body) for body in stored if body]
                pages[collapse] += len(set(bodies)) < len(bodies)
        graph = saved.load(live_dir(index_dir), open_index(index_dir).latest_generation(), DEFAULT.same_event)
        grouped = graph.stories()
        return {
            "articles": index.searcher().doc_count(),
            "identical_body_groups": len(groups),
            "identical_body_extra_copies": sum(len(g) - 1 for g in groups),
            "groups_in_one_story": together,
            "articles_in_multi_article_stories": len(grouped) + len(set(grouped.values())),
            "queries": len(queries),
            "first_pages_with_a_repeated_body": pages[True],
            "first_pages_with_a_repeated_body_uncollapsed": pages[False],
            "build_seconds": built,
        }


# --- report ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--distractors", type=int, default=10_000)
    parser.add_argument("--full", action="store_true", help="also the copies on the whole VNTC archive")
    parser.add_argument("--index", type=Path, help="with --full: a built index of the whole archive to use")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    ktlab, gold = load_ktlab(args.data)
    distractors = list(itertools.islice(_articles(args.data / "vntc.jsonl.gz"), args.distractors))
    articles = ktlab + distractors
    queries = [a.id for a in ktlab]
    result: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "params": vars(DEFAULT),
        "pool": {"ktlab": len(ktlab), "distractors": len(distractors)},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()},
    }
    with tempfile.TemporaryDirectory(prefix="vnsearch-stories-") as tmp:
        index_dir = Path(tmp) / "index"
        start = time.perf_counter()
        build(index_dir, articles, procs=2)
        built = time.perf_counter() - start
        index = SearchIndex(index_dir, load_synonyms())
        start = time.perf_counter()
        ours = {i: [r.id for r in index.related(i, 10) or []] for i in queries}
        took = time.perf_counter() - start
        stories = index_stories(index_dir, [a.id for a in articles])
    result["cost"] = {"build_s": round(built, 1), "related_ms_per_query": round(1000 * took / len(queries), 1)}
    related = {"vnsearch related": ranking_scores(ours, gold)}
    for label, mlt in (("tantivy mlt (defaults)", {}), ("tantivy mlt (50 terms)", {"max_query_terms": 50})):
        related[label] = ranking_scores(tantivy_rankings(articles, queries, **mlt), gold)
    for n, ranking in whoosh_rankings(articles, queries, (5, 25)).items():
        related[f"whoosh more_like ({n} terms{', default' if n == 5 else ''})"] = ranking_scores(ranking, gold)
    result["related"] = related
    items = bcubed_items(stories, gold)
    p, r, f = prf(items)
    ktlab_stories = {stories[k] for k in queries}
    result["grouping"] = {
        "P": p,
        "R": r,
        "F1": f,
        **bootstrap(items, gold),
        "distractors_in_ktlab_stories": sum(1 for a in distractors if stories[a.id] in ktlab_stories),
    }
    if args.full:
        result["full"] = run_full(args.data, args.index)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H%M}-stories.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(report(result))
    print(f"\nwritten {out}")


def report(result: dict) -> str:
    lines = [
        f"{result['pool']['ktlab']} KTLAB articles + {result['pool']['distractors']} VNTC distractors, "
        f"load average {result['machine']['load_average'][0]:.1f}",
        "",
        "| related coverage | R@5 | R@5 5th-95th pct | MRR@10 |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {name} | {s['R@5']:.3f} | {s['R@5_p5']:.3f}-{s['R@5_p95']:.3f} | {s['MRR@10']:.3f} |"
        for name, s in result["related"].items()
    ]
    g = result["grouping"]
    lines += [
        "",
        "| grouping | P | R | F1 | P 5th pct | F1 5th pct | targets met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| threshold {result['params']['same_event']}, window {result['params']['window_days']} d "
        f"| {g['P']:.3f} | {g['R']:.3f} | {g['F1']:.3f} | {g['P_p5']:.3f} | {g['F1_p5']:.3f} "
        f"| {g['targets_met']:.0%} |",
        f"distractors in KTLAB stories: {g['distractors_in_ktlab_stories']}; build {result['cost']['build_s']} s, "
        f"related {result['cost']['related_ms_per_query']} ms a query",
    ]
    if "full" in result:
        f = result["full"]
        lines += [
            "",
            f"full VNTC: {f['articles']} articles, {f['identical_body_groups']} groups of identical bodies "
            f"({f['identical_body_extra_copies']} extra copies), {f['groups_in_one_story']} in one story; "
            f"{f['articles_in_multi_article_stories']} articles in stories of several; first pages of "
            f"{f['queries']} queries with two articles of the same body: {f['first_pages_with_a_repeated_body']} "
            f"collapsed, {f['first_pages_with_a_repeated_body_uncollapsed']} uncollapsed",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
