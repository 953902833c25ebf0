"""A differential property test: indexes grown step by step from articles that mix every
optional field answer every query, and end up answering as a fresh build of the same articles.

A segment in which no article has an outlet or a date has no column for it; per-document arrays
built over the whole index then came out shorter than the index and every search failed. Uniform
fixtures never showed it: here hypothesis draws small corpora (with and without each optional
field, NFD text, duplicate bodies, long and empty bodies) and sequences of what archivists and
newsroom systems do (CLI batches with and without --keep-missing, full runs that remove
articles, PUT, DELETE, updates that add or drop fields, rebuilds with one and two build
processes). After every step the index must answer the fixed queries below (both sorts, every
facet, outlet and date filters, paging) over HTTP, with the counts the articles imply; at the
end, exactly as a fresh one-process build of the final articles: the same totals, facets and
matching ids. Scores and the order among equal keys are not compared: deleted documents still
count in the BM25 statistics of the grown index until their segment is merged.

Stories (issue 13): after every step, articles with the same body (as folded words) share a
story, and `collapse=story` pages through each story once; at the end the grown index has
exactly the copy edges of the fresh build, so the same copy groups. Same-event edges are not
compared: they are weighed by document frequencies, which the grown index took as they were
when each article came in.

`VNSEARCH_PROPERTY_EXAMPLES` and `VNSEARCH_PROPERTY_STEPS` set how many sequences run and how
long each is (CI runs a bounded number; `python -m bench.mixed_fields` runs many more). The
tests after the state machine are the reproductions from the issue that found the bug.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import falcon.testing
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from search.cli import main as cli
from search.corpus import dates
from search.corpus.article import Article
from search.index import indexer
from search.index.store import live_dir, open_index
from search.index.stories import saved
from search.index.stories.graph import COPY
from search.index.stories.text import Signatures
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex
from search.settings import Settings
from search.web.app import create_app

EXAMPLES = int(os.environ.get("VNSEARCH_PROPERTY_EXAMPLES", "30"))
STEPS = int(os.environ.get("VNSEARCH_PROPERTY_STEPS", "6"))
TOKEN = "property-test-token"
IDS = [f"a{n}" for n in range(8)]
OUTLETS = ["Báo A", "Tuổi Trẻ", "VTC News"]
WORDS = [
    "bảo hiểm",
    "xã hội",
    "y tế",
    "giáo dục",
    "Hà Nội",
    "kinh tế",
    "người dân",
    "chính sách",
    "Quảng Ngãi",
    "hưu trí",
    "BHXH",
    "năm",
    "nam",
]
DATES = ["2019", "2019-05", "2019-05-17", "2020-01-02", "2021-12-31", "2022-06"]
#: Every title starts with "Tin": the query "tin" matches every article, so its counts can be
#: checked against the articles themselves after each step.
QUERIES = ["tin", "bảo hiểm", "bao hiem xa hoi", '"y tế"', "kinh te -giáo", "BHXH", "năm"]
FILTERS = [
    {},
    {"sort": "date"},
    {"source": "Tuổi Trẻ"},
    {"source": "Báo A", "sort": "date"},
    {"from": "2019-05"},
    {"from": "2019", "to": "2020-06", "sort": "date"},
    {"to": "2019-12"},
]


@dataclass(frozen=True)
class Stored:
    """An article as the index should hold it: its `path` is what decides whether a full run
    may remove it (articles sent with PUT have none)."""

    article: Article
    path: str | None


def _text(words: list[str], nfd: bool) -> str:
    text = " ".join(words)
    return unicodedata.normalize("NFD", text) if nfd else text


@st.composite
def articles(draw: st.DrawFn, article_id: str | None = None) -> Article:
    nfd = draw(st.booleans())
    length = draw(st.sampled_from(["empty", "short", "short", "long"]))
    body_words = {
        "empty": [],
        "short": draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12)),
        "long": draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=6)) * 400,
    }[length]
    body = draw(
        st.sampled_from(["Bài gốc về bảo hiểm xã hội và y tế."])
        if draw(st.integers(0, 4)) == 0
        else st.just(_text(body_words, nfd))
    )
    return Article(
        id=article_id or draw(st.sampled_from(IDS)),
        title=_text(["Tin"] + draw(st.lists(st.sampled_from(WORDS), min_size=0, max_size=4)), nfd),
        body=body,
        date=draw(st.none() | st.sampled_from(DATES)),
        source=draw(st.none() | st.sampled_from(OUTLETS)),
        author=draw(st.none() | st.just("Thanh Dũng")),
    )


def _record(article: Article) -> dict[str, str]:
    return {
        k: v
        for k, v in (
            ("id", article.id),
            ("title", article.title),
            ("body", article.body),
            ("date", article.date),
            ("source", article.source),
            ("author", article.author),
        )
        if v is not None
    }


def _normalised(article: Article) -> Article:
    """The article as the corpus reader gives it back (NFC text)."""
    return replace(
        article, title=unicodedata.normalize("NFC", article.title), body=unicodedata.normalize("NFC", article.body)
    )


def _params(q: str, extra: dict[str, str], page: int = 1, per_page: int = 50) -> dict[str, str]:
    return {"q": q, "page": str(page), "per_page": str(per_page), "collapse": "none", **extra}


def _answer(client: falcon.testing.TestClient, q: str, extra: dict[str, str]) -> dict:
    """Every hit of a query (pages of 3, to page through), checked for consistency."""
    first = client.simulate_get("/search", params=_params(q, extra, per_page=3))
    assert first.status_code == 200, (q, extra, first.text)
    body = first.json
    hits = list(body["hits"])
    page = 1
    while len(hits) < body["total"]:
        page += 1
        more = client.simulate_get("/search", params=_params(q, extra, page=page, per_page=3))
        assert more.status_code == 200, (q, extra, page, more.text)
        assert more.json["total"] == body["total"]
        assert more.json["hits"], (q, extra, page, body["total"])
        hits.extend(more.json["hits"])
    ids = [h["id"] for h in hits]
    assert len(ids) == len(set(ids)) == body["total"], (q, extra, ids)
    assert sum(body["facets"]["source"].values()) <= body["total"]
    assert sum(body["facets"]["year"].values()) <= body["total"]
    if extra.get("sort") == "date" and len(q.split()) == 1:  # longer queries: all-words matches first
        dates = [h["date"] or "" for h in hits]
        assert dates == sorted(dates, reverse=True), (q, extra, dates)
    return {
        "total": body["total"],
        "facets": body["facets"],
        "ids": sorted(ids),
        "dates": [h["date"] for h in hits] if extra.get("sort") == "date" else None,
        "stories": {h["id"]: h["story"]["id"] for h in hits},
    }


def _collapsed(client: falcon.testing.TestClient, q: str) -> tuple[list[str], int]:
    """The story ids of every page of `q` collapsed (pages of 2), and `total_stories`."""
    stories: list[str] = []
    page = 1
    while True:
        body = client.simulate_get("/search", params={**_params(q, {}, page, 2), "collapse": "story"}).json
        stories += [h["story"]["id"] for h in body["hits"]]
        if not body["hits"] or page * 2 >= body["total_stories"]:
            return stories, body["total_stories"]
        page += 1


def _copy_edges(index_dir: Path) -> set[frozenset[str]]:
    ix = open_index(index_dir)
    graph = saved.load(live_dir(index_dir), ix.latest_generation(), 0.14)
    return {frozenset((a, b)) for a, b, weight in graph.edges() if weight == COPY}


def _in_range(date: str | None, extra: dict[str, str]) -> bool:
    """Whether an article of `date` passes the request's date filter (a partial date stands
    for its first day, as the index stores it)."""
    if "from" not in extra and "to" not in extra:
        return True
    if date is None:
        return False
    day = dates.first_day(date)
    return (("from" not in extra) or day >= dates.bound(extra["from"])) and (
        ("to" not in extra) or day <= dates.bound(extra["to"], end=True)
    )


class GrownIndex(RuleBasedStateMachine):
    """One index and the articles it should hold, changed by the rules below."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="vnsearch-mixed-"))
        self.index_dir = self.root / "index"
        self.held: dict[str, Stored] = {}
        self.batches = 0
        self.last_batch: Path | None = None
        self.client = falcon.testing.TestClient(
            create_app(Settings(index_dir=self.index_dir, admin_token=TOKEN, result_cache_entries=0))
        )
        self.headers = {"Authorization": f"Bearer {TOKEN}"}

    def _cli(self, *args: str, procs: int = 1) -> dict:
        result = CliRunner().invoke(
            cli,
            ["index", *args, "--index-dir", str(self.index_dir), "--json"],
            env={"VNSEARCH_INDEX_PROCS": str(procs)},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def _write_batch(self, batch: list[Article]) -> Path:
        self.batches += 1
        folder = self.root / f"corpus-{self.batches}"
        folder.mkdir()
        (folder / "batch.jsonl").write_text(
            "".join(json.dumps(_record(a), ensure_ascii=False) + "\n" for a in batch), encoding="utf-8"
        )
        return folder

    def _apply_batch(self, batch: list[Article], keep_missing: bool, rebuild: bool = False) -> dict[str, int]:
        """What a run over `batch` leaves: the first of each id, unchanged content keeping the
        stored article (and its path), the rest replaced; a full run drops what it did not see
        unless it came without a file; a rebuild holds the batch alone. Returns the counts the
        run must report."""
        counts = Counter[str]()
        seen: dict[str, Article] = {}
        for article in batch:
            seen.setdefault(article.id, _normalised(article))
        held = {} if rebuild else dict(self.held)
        if not keep_missing and not rebuild:
            kept = {k: v for k, v in held.items() if k in seen or v.path is None}
            counts["removed"] = len(held) - len(kept)
            held = kept
        for article_id, article in seen.items():
            old = held.get(article_id)
            if old is None or old.article.content_hash != article.content_hash:
                held[article_id] = Stored(article, "batch.jsonl")
            counts[
                "added"
                if old is None
                else "updated"
                if old.article.content_hash != article.content_hash
                else "unchanged"
            ] += 1
        counts["skipped"] = len(batch) - len(seen)
        self.held = held
        return {name: counts[name] for name in ("added", "updated", "unchanged", "removed", "skipped")}

    def _run(self, batch: list[Article], *flags: str, procs: int = 1) -> None:
        """`vnsearch index` over a new corpus folder holding `batch`, its report checked."""
        self.last_batch = self._write_batch(batch)
        self._run_folder(batch, *flags, procs=procs)

    def _run_folder(self, batch: list[Article], *flags: str, procs: int = 1) -> None:
        assert self.last_batch is not None
        report = self._cli(str(self.last_batch), *flags, procs=procs)
        fresh = "--rebuild" in flags
        expected = self._apply_batch(batch, keep_missing="--keep-missing" in flags, rebuild=fresh)
        assert {name: report[name] for name in expected} == expected, (flags, report)

    @initialize(
        batch=st.lists(articles(), min_size=1, max_size=10),
        procs=st.sampled_from([1, 2]),
        build_batch=st.sampled_from([1, 2, 3, 100]),
    )
    def first_build(self, batch: list[Article], procs: int, build_batch: int) -> None:
        indexer.BUILD_BATCH = build_batch
        self.last_batch = self._write_batch(batch)
        self._run_folder(batch, "--rebuild", procs=procs)
        self.batch = batch

    @rule(batch=st.lists(articles(), min_size=1, max_size=8), keep_missing=st.booleans())
    def cli_batch(self, batch: list[Article], keep_missing: bool) -> None:
        self._run(batch, *(["--keep-missing"] if keep_missing else []))
        self.batch = batch

    @rule(keep_missing=st.booleans())
    def cli_same_batch_again(self, keep_missing: bool) -> None:
        """The last corpus folder again: unchanged articles are left alone; what was deleted or
        replaced through the API since is written back."""
        self._run_folder(self.batch, *(["--keep-missing"] if keep_missing else []))

    @rule(
        batch=st.lists(articles(), min_size=1, max_size=10),
        procs=st.sampled_from([1, 2]),
        build_batch=st.sampled_from([1, 2, 3, 100]),
    )
    def rebuild(self, batch: list[Article], procs: int, build_batch: int) -> None:
        indexer.BUILD_BATCH = build_batch
        self._run(batch, "--rebuild", procs=procs)
        self.batch = batch

    @rule(article=articles())
    def put(self, article: Article) -> None:
        response = self.client.simulate_put(f"/articles/{article.id}", json=_record(article), headers=self.headers)
        assert response.status_code in (200, 201), response.text
        stored = _normalised(article)
        old = self.held.get(article.id)
        if old is None or old.article.content_hash != stored.content_hash:
            self.held[article.id] = Stored(stored, None)
        assert response.json["result"] == (
            "added" if old is None else "unchanged" if old.article.content_hash == stored.content_hash else "updated"
        )

    @rule(article_id=st.sampled_from(IDS))
    def delete(self, article_id: str) -> None:
        response = self.client.simulate_delete(f"/articles/{article_id}", headers=self.headers)
        assert response.status_code == (204 if article_id in self.held else 404), response.text
        self.held.pop(article_id, None)

    @invariant()
    def answers_every_query(self) -> None:
        if not self.held and self.batches == 0:
            return
        for extra in FILTERS:
            found = _answer(self.client, "tin", extra)
            expected = [
                s.article
                for s in self.held.values()
                if _in_range(s.article.date, extra) and extra.get("source", s.article.source) == s.article.source
            ]
            assert found["ids"] == sorted(a.id for a in expected), extra
            assert found["facets"]["source"] == dict(Counter(a.source for a in expected if a.source)), extra
            assert found["facets"]["year"] == dict(Counter(a.date[:4] for a in expected if a.date)), extra
        for q in QUERIES[1:]:
            for extra in FILTERS[:3]:
                _answer(self.client, q, extra)
        page = self.client.simulate_get("/", params={"q": "bảo hiểm", "sort": "date"})
        assert page.status_code == 200

    @invariant()
    def copies_share_a_story(self) -> None:
        if not self.held and self.batches == 0:
            return
        story = _answer(self.client, "tin", {})["stories"]
        signatures = Signatures()
        by_body: dict[bytes, set[str]] = {}
        for s in self.held.values():
            value = signatures.column_value(s.article.body)
            if value:
                by_body.setdefault(value[:16], set()).add(s.article.id)
        for same in by_body.values():
            assert len({story[a] for a in same}) == 1, (same, story)
        assert all(s in story and story[s] == s for s in story.values())  # named by a member
        shown, total_stories = _collapsed(self.client, "tin")
        assert len(shown) == len(set(shown)) == total_stories == len(set(story.values()))

    def teardown(self) -> None:
        try:
            if self.batches:
                self._compare_with_fresh_build()
        finally:
            indexer.BUILD_BATCH = 100
            shutil.rmtree(self.root, ignore_errors=True)

    def _compare_with_fresh_build(self) -> None:
        fresh_dir = self.root / "fresh"
        indexer.build(fresh_dir, [s.article for s in self.held.values()])
        fresh = falcon.testing.TestClient(create_app(Settings(index_dir=fresh_dir, result_cache_entries=0)))
        for q in QUERIES:
            for extra in FILTERS:
                grown, expected = _answer(self.client, q, extra), _answer(fresh, q, extra)
                del grown["stories"], expected["stories"]  # compared by their copies below
                assert grown == expected, (q, extra)
        assert _copy_edges(self.index_dir) == _copy_edges(fresh_dir)


GrownIndex.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestGrownIndex = pytest.mark.slow(GrownIndex.TestCase)


def _jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("procs", [1, 2])
@pytest.mark.parametrize("field", ["source", "date"])
def test_a_second_batch_without_the_field(tmp_path: Path, procs: int, field: str) -> None:
    """The issue's reproduction: one article with an outlet (or a date), then one without,
    through the CLI; both orders; the CLI search, the API and the page answer."""
    value = {"source": "Báo A", "date": "2022-05-17"}[field]
    with_field = {"id": "a1", "title": "Bảo hiểm xã hội", "body": "Tin về bảo hiểm xã hội.", field: value}
    without = {"id": "b1", "title": "Bảo hiểm y tế", "body": "Tin về bảo hiểm y tế."}
    for order, (first, second) in enumerate([(with_field, without), (without, with_field)]):
        index_dir = tmp_path / f"ix-{order}"
        runner = CliRunner(env={"VNSEARCH_INDEX_PROCS": str(procs)})
        for n, record in enumerate((first, second)):
            args = ["index", str(_jsonl(tmp_path / f"{order}-{n}.jsonl", record)), "--index-dir", str(index_dir)]
            result = runner.invoke(cli, args + (["--keep-missing"] if n else []), catch_exceptions=False)
            assert result.exit_code == 0, result.output
        for sort in ("relevance", "date"):
            result = runner.invoke(
                cli,
                ["search", "bảo hiểm", "--index-dir", str(index_dir), "--sort", sort, "--json"],
                catch_exceptions=False,
            )
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout)["total"] == 2
        client = falcon.testing.TestClient(create_app(Settings(index_dir=index_dir)))
        for params in (
            {"q": "bảo hiểm"},
            {"q": "bảo hiểm", "sort": "date"},
            {"q": "bao hiem", "source": "Báo A"},
            {"q": "bảo hiểm", "from": "2022"},
        ):
            response = client.simulate_get("/search", params=params)
            assert response.status_code == 200, (params, response.text)
        body = client.simulate_get("/search", params={"q": "bảo hiểm"}).json
        assert body["total"] == 2
        facet = "source" if field == "source" else "year"
        assert body["facets"][facet] == {value if field == "source" else value[:4]: 1}
        assert client.simulate_get("/", params={"q": "bảo hiểm", "sort": "date"}).status_code == 200


def test_a_put_without_an_outlet(tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    indexer.build(index_dir, [Article(id="a1", title="Bảo hiểm xã hội", body="Tin.", source="Báo A", date="2020")])
    client = falcon.testing.TestClient(create_app(Settings(index_dir=index_dir, admin_token=TOKEN)))
    put = client.simulate_put(
        "/articles/b1",
        json={"id": "b1", "title": "Bảo hiểm y tế", "body": "Tin."},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert put.status_code == 201
    for sort in ("relevance", "date"):
        response = client.simulate_get("/search", params={"q": "bảo hiểm", "sort": sort})
        assert response.status_code == 200 and response.json["total"] == 2
        assert response.json["facets"] == {"source": {"Báo A": 1}, "year": {"2020": 1}}


def test_a_fresh_two_process_build_with_outletless_batches(tmp_path: Path) -> None:
    """141 articles, 26 with an outlet and a date, all in the last batch: the first build
    process writes a segment that has neither column."""
    items = [
        Article(
            id=f"n{n:03d}",
            title=f"Tin bảo hiểm số {n}",
            body="Bảo hiểm xã hội.",
            source="Báo A" if n >= 115 else None,
            date="2021-03-04" if n >= 115 else None,
        )
        for n in range(141)
    ]
    index_dir = tmp_path / "ix"
    report = indexer.build(index_dir, items, procs=2)
    assert report.added == 141
    index = SearchIndex(index_dir, load_synonyms())
    assert len(index.searcher().reader().leaf_readers()) >= 2
    for sort in ("relevance", "date"):
        result = index.search(SearchRequest("bảo hiểm", sort=sort, per_page=50, page=1))
        assert result.total == 141
        assert result.facets == {"source": {"Báo A": 26}, "year": {"2021": 26}}
    dated = index.search(SearchRequest("bảo hiểm", sort="date", per_page=26))
    assert {hit.date for hit in dated.hits} == {"2021-03-04"}
    assert index.search(SearchRequest("bảo hiểm", source="Báo A")).total == 26


def test_whoosh_fallback_agrees_on_mixed_segments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Queries the evaluator does not take go through Whoosh's own collectors: on segments
    that lack a column they count and sort as the evaluator does."""
    index_dir = tmp_path / "ix"
    indexer.build(index_dir, [Article(id="a1", title="Bảo hiểm xã hội", body="Tin.", source="Báo A", date="2020")])
    indexer.build(index_dir, [Article(id="b1", title="Bảo hiểm y tế", body="Tin.")], keep_missing=True)
    indexer.build(index_dir, [Article(id="c1", title="Bảo hiểm", body="Tin.", date="2019-02")], keep_missing=True)
    index = SearchIndex(index_dir, load_synonyms())
    requests = [
        SearchRequest("bảo hiểm", sort=sort, source=source)
        for sort in ("relevance", "date")
        for source in (None, "Báo A")
    ]
    evaluated = [index.search(r) for r in requests]
    monkeypatch.setattr(SearchIndex, "_evaluator", lambda self, searcher: None)
    for request, expected in zip(requests, evaluated):
        found = index.search(request)
        assert (found.total, found.facets) == (expected.total, expected.facets)
        assert sorted(h.id for h in found.hits) == sorted(h.id for h in expected.hits)
        if request.sort == "date":
            assert [h.date for h in found.hits] == [h.date for h in expected.hits]
