"""Shards on disk: routing, the layout and its manifest, and writes (CLI, library, HTTP) that go
to the article's shard under the one write lock and become visible together."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import falcon
import pytest
from click.testing import CliRunner
from falcon import testing

from search.cli import main
from search.corpus.article import Article
from search.index import sharding
from search.index.engine import readers
from search.index.engine.pinned import generations
from search.index.indexer import ShardedIndex, build, delete
from search.index.shard_jobs import Corpus
from search.index.shards import (
    MANIFEST,
    live_set,
    open_shard,
    read_manifest,
    shard_count,
    shard_of,
    shard_searcher,
    stored_hashes,
)
from search.index.store import IndexBusy, live_dir, write_lock
from search.query.acronyms import load_synonyms
from search.searching.shard_set import LocalShards
from search.searching.sharded import ShardedIndex as ShardedIndexFront
from search.searching.suggest_live import build_in_child
from search.settings import Settings
from search.web.app import create_app
from tests.conftest import CORPUS
from tests.shard_corpus import KTLAB

TOKEN = "tok"


def _holder(index_dir: Path, article_id: str) -> int:
    """The shard whose live generation holds `article_id`."""
    live, manifest = live_set(index_dir)
    found = []
    for shard in range(manifest.shards):
        with shard_searcher(live, manifest, shard) as searcher:
            if searcher.document_number(id=article_id) is not None:
                found.append(shard)
    assert len(found) <= 1
    return found[0] if found else -1


def test_routing_is_stable_and_even():
    # Fixed values: a change of the scheme would send existing articles to other shards.
    assert [shard_of(i, 4) for i in ("art-1", "art-2", "Test_Full/x.txt", "bảo hiểm")] == [0, 3, 0, 3]
    counts = Counter(shard_of(f"article-{n}", 8) for n in range(8000))
    assert set(counts) == set(range(8)) and all(900 < n < 1100 for n in counts.values())
    # Jump hashing: growing from 4 to 5 shards moves articles to the new shard only.
    moved = [n for n in range(4000) if shard_of(f"a{n}", 4) != shard_of(f"a{n}", 5)]
    assert all(shard_of(f"a{n}", 5) == 4 for n in moved) and 0.15 < len(moved) / 4000 < 0.25
    assert all(shard_of(f"a{n}", 1) == 0 for n in range(100))


def test_one_shard_is_todays_layout(tmp_path: Path):
    sharding.build(tmp_path, Corpus((CORPUS,)))
    live = live_dir(tmp_path)
    assert not (live / MANIFEST).exists() and shard_count(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CURRENT", "WRITELOCK", live.name]
    report = build(tmp_path, [Article(id="x", title="t", body="b")], keep_missing=True)  # today's writer
    assert report.added == 1


def test_a_sharded_build_and_its_manifest(tmp_path: Path):
    report = sharding.build(tmp_path, Corpus((CORPUS, KTLAB)), shards=4, procs=2)
    assert report.rebuilt and report.added == 24 and not report.failed
    live = live_dir(tmp_path)
    manifest = read_manifest(live)
    assert manifest.shards == 4 and manifest.commit == 1
    shards = ["shard-000", "shard-001", "shard-002", "shard-003"]
    assert sorted(p.name for p in live.iterdir()) == [MANIFEST, *shards, "stories_1.json"]  # the set's one graph
    hashes = stored_hashes(tmp_path)
    assert len(hashes) == 24
    assert all(_holder(tmp_path, article_id) == shard_of(article_id, 4) for article_id in hashes)


def test_updates_go_to_the_articles_shard_and_commit_once(tmp_path: Path):
    sharding.build(tmp_path, Corpus((CORPUS,)), shards=3)
    before = read_manifest(live_dir(tmp_path))
    new = [Article(id=f"new-{n}", title=f"Tin {n}", body="bảo hiểm xã hội") for n in range(6)]
    report = sharding.build(tmp_path, new, keep_missing=True)
    assert report.added == 6
    after = read_manifest(live_dir(tmp_path))
    touched = {shard_of(a.id, 3) for a in new}
    assert after.commit == before.commit + 1
    assert {k for k in range(3) if after.generations[k] != before.generations[k]} == touched
    for article in new:
        assert _holder(tmp_path, article.id) == shard_of(article.id, 3)
    for k in range(3):  # the generations replaced are gone; the live one only is on disk
        assert generations(open_shard(live_dir(tmp_path), k)) == [after.generations[k]]
    unchanged = sharding.build(tmp_path, new, keep_missing=True)
    assert unchanged.written == 0 and read_manifest(live_dir(tmp_path)).commit == after.commit
    edited = sharding.build(tmp_path, [Article(id="new-2", title="Tin 2", body="đã sửa")], keep_missing=True)
    assert edited.updated == 1 and _holder(tmp_path, "new-2") == shard_of("new-2", 3)
    assert sharding.delete(tmp_path, "new-2") and _holder(tmp_path, "new-2") == -1
    assert not sharding.delete(tmp_path, "new-2")


def test_a_run_mirrors_the_corpus_across_shards(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [json.dumps({"id": f"a{n}", "title": f"Tin {n}", "body": "bảo hiểm"}) for n in range(12)]
    (corpus / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    index_dir = tmp_path / "index"
    sharding.build(index_dir, Corpus((corpus,)), shards=4)
    (corpus / "a.jsonl").write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")
    report = sharding.build(index_dir, Corpus((corpus,)))
    assert sorted(report.removed) == sorted(f"a{n}" for n in range(5, 12))
    assert sorted(stored_hashes(index_dir)) == sorted(f"a{n}" for n in range(5))
    (corpus / "a.jsonl").write_text("", encoding="utf-8")  # reads no article: removes nothing
    report = sharding.build(index_dir, Corpus((corpus,)))
    assert not report.removed and report.kept == ["5 indexed articles were kept: this run read no article at all"]


def test_another_number_of_shards_takes_a_rebuild(tmp_path: Path):
    sharding.build(tmp_path, Corpus((CORPUS,)), shards=2)
    with pytest.raises(sharding.ShardCountMismatch, match="has 2 shards"):
        sharding.build(tmp_path, Corpus((CORPUS,)), shards=3)
    sharding.build(tmp_path, Corpus((CORPUS,)), rebuild=True)  # keeps its 2 shards
    assert shard_count(tmp_path) == 2
    sharding.build(tmp_path, Corpus((CORPUS,)), shards=3, rebuild=True)
    assert shard_count(tmp_path) == 3 and len(stored_hashes(tmp_path)) == 5
    sharding.build(tmp_path, Corpus((CORPUS,)), shards=1, rebuild=True)  # and back to one index
    assert shard_count(tmp_path) == 1 and not (live_dir(tmp_path) / MANIFEST).exists()
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [live_dir(tmp_path).name]


def test_the_single_index_writer_refuses_a_set(tmp_path: Path):
    sharding.build(tmp_path, Corpus((CORPUS,)), shards=2)
    with pytest.raises(ShardedIndex):
        build(tmp_path, [Article(id="x", title="t", body="b")], keep_missing=True)
    with pytest.raises(ShardedIndex):
        delete(tmp_path, "x")


def test_one_write_lock_for_the_set(tmp_path: Path):
    sharding.build(tmp_path, Corpus((CORPUS,)), shards=2)
    with write_lock(tmp_path, timeout=1):
        with pytest.raises(IndexBusy):
            sharding.build(tmp_path, [Article(id="x", title="t", body="b")], keep_missing=True, lock_timeout=0.2)
        with pytest.raises(IndexBusy):
            sharding.delete(tmp_path, "x", lock_timeout=0.2)


def test_the_cli_builds_searches_and_refuses_a_mismatch(tmp_path: Path):
    runner = CliRunner()
    index_dir = str(tmp_path / "index")
    done = runner.invoke(main, ["index", str(CORPUS), str(KTLAB), "--index-dir", index_dir, "--shards", "3", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["added"] == 24
    found = runner.invoke(main, ["search", "bảo hiểm xã hội", "--index-dir", index_dir, "--json"])
    assert found.exit_code == 0 and json.loads(found.output)["total"] > 0
    refused = runner.invoke(main, ["index", str(CORPUS), "--index-dir", index_dir, "--shards", "2"])
    assert refused.exit_code == 2 and "takes `--rebuild`" in refused.output


def test_http_writes_go_to_the_articles_shard(tmp_path: Path):
    sharding.build(tmp_path, Corpus((CORPUS,)), shards=4)
    client = testing.TestClient(create_app(Settings(index_dir=tmp_path, admin_token=TOKEN)))
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    body = json.dumps({"title": "Tin mới", "body": "Bảo hiểm xã hội Quảng Ninh chi trả lương hưu."}).encode()
    for n in range(8):
        assert client.simulate_put(f"/articles/put-{n}", body=body, headers=headers).status == falcon.HTTP_201
        assert _holder(tmp_path, f"put-{n}") == shard_of(f"put-{n}", 4)
    # Copies of one text: one story, collapsed by default.
    found = client.simulate_get(
        "/search", params={"q": "lương hưu Quảng Ninh", "per_page": 50, "collapse": "none"}
    ).json
    assert {f"put-{n}" for n in range(8)} <= {hit["id"] for hit in found["hits"]}
    assert client.simulate_get("/articles/put-3").json["title"] == "Tin mới"
    assert client.simulate_delete("/articles/put-3", headers=headers).status == falcon.HTTP_204
    assert client.simulate_get("/articles/put-3").status == falcon.HTTP_404
    assert client.simulate_get("/healthz").json == {"status": "ok", "articles": 12}
    assert client.simulate_get("/stats").json["shards"] == 4


def test_a_set_groups_stories_over_http_and_follows_puts_and_deletes(tmp_path: Path):
    """A set collapses by story, lists a story and answers related coverage as one index does;
    a PUT of a re-post joins its story (whichever shard holds it) and a DELETE leaves it, in
    the set and in one index alike."""
    one, four = tmp_path / "one", tmp_path / "four"
    sharding.build(one, Corpus((CORPUS, KTLAB)))
    sharding.build(four, Corpus((CORPUS, KTLAB)), shards=4)
    clients = [testing.TestClient(create_app(Settings(index_dir=d, admin_token=TOKEN))) for d in (one, four)]
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    seed = clients[0].simulate_get("/search", params={"q": "bảo hiểm xã hội"}).json["hits"][0]
    body = clients[0].simulate_get(f"/articles/{seed['id']}").json["body"]
    repost = json.dumps({"title": "Tin tổng hợp", "body": f"{body}\n\nTheo TTXVN", "source": "baotintuc.vn"})
    reposts = [f"repost-{n}" for n in range(6)]
    assert {shard_of(r, 4) for r in reposts} != {shard_of(seed["id"], 4)}

    def answers() -> list[tuple]:
        found = []
        for client in clients:
            search = client.simulate_get("/search", params={"q": "bảo hiểm xã hội", "per_page": 50}).json
            hits = [(hit["id"], hit["story"]) for hit in search["hits"]]  # scores after writes: see test_shard_equality
            story = client.simulate_get(f"/stories/{seed['id']}").json
            related = client.simulate_get(f"/articles/{seed['id']}/related").json
            article = client.simulate_get(f"/articles/{seed['id']}").json["story"]
            found.append((hits, search["total"], search["total_stories"], story, related, article))
        return found

    before = answers()
    assert before[0] == before[1] and before[0][3]["size"] == 1
    for r in reposts:
        for client in clients:
            assert (
                client.simulate_put(f"/articles/{r}", body=repost.encode(), headers=headers).status == falcon.HTTP_201
            )
    grown = answers()
    assert grown[0] == grown[1]
    assert grown[0][3]["size"] == 7 and grown[0][2] == before[0][2]  # the re-posts joined the story
    assert sum(r["same_story"] for r in grown[0][4]["related"]) == 6
    for client in clients:
        assert client.simulate_delete(f"/articles/{reposts[0]}", headers=headers).status == falcon.HTTP_204
    shrunk = answers()
    assert shrunk[0] == shrunk[1] and shrunk[0][3]["size"] == 6
    fresh = tmp_path / "fresh"  # a rebuild of what the set holds groups the same
    sharding.build(
        fresh,
        [
            *Corpus((CORPUS, KTLAB)).items(),
            *(
                Article(id=r, title="Tin tổng hợp", body=f"{body}\n\nTheo TTXVN", source="baotintuc.vn")
                for r in reposts[1:]
            ),
        ],
        shards=4,
    )
    rebuilt = testing.TestClient(create_app(Settings(index_dir=fresh))).simulate_get(f"/stories/{seed['id']}").json
    assert rebuilt == shrunk[1][3]
    assert clients[1].simulate_get("/articles/no-such-article/related").status == falcon.HTTP_404
    assert clients[1].simulate_get("/stories/no-such-story").status == falcon.HTTP_404
    page = clients[1].simulate_get(f"/read/{seed['id']}")
    assert page.status == falcon.HTTP_200 and "Bài liên quan" in page.text


@pytest.mark.slow
def test_gunicorn_serves_a_set_in_process_and_follows_a_rebuild_to_one_index(tmp_path: Path):
    """Plain `gunicorn wsgi:application` on a sharded index: each worker searches the shards
    itself, a PUT lands in its shard and is found, and a rebuild to one index (or back) is
    followed by the workers without a restart."""
    import urllib.request

    from tests.conftest import gunicorn

    index_dir = tmp_path / "index"
    sharding.build(index_dir, Corpus((CORPUS, KTLAB)), shards=3)

    def get(url: str) -> dict:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return json.load(answer)

    with gunicorn(tmp_path, VNSEARCH_INDEX_DIR=str(index_dir), VNSEARCH_ADMIN_TOKEN=TOKEN) as base:
        assert get(base + "/stats")["shards"] == 3
        assert get(base + "/search?q=bao+hiem+xa+hoi")["total"] > 0
        body = json.dumps({"title": "Tin Pskov", "body": "Lính dù Pskov diễn tập ở Quảng Ngãi."}).encode()
        put = urllib.request.Request(
            base + "/articles/served-1",
            data=body,
            method="PUT",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(put, timeout=30) as answer:
            assert answer.status == 201
        for _ in range(4):  # both workers
            assert "served-1" in [h["id"] for h in get(base + "/search?q=Pskov+Quang+Ngai&per_page=50")["hits"]]
        total = get(base + "/search?q=bao+hiem")["total"]
        sharding.build(index_dir, Corpus((CORPUS, KTLAB)), shards=1, rebuild=True)
        for _ in range(4):
            assert "shards" not in get(base + "/stats") and get(base + "/search?q=bao+hiem")["total"] == total
        sharding.build(index_dir, Corpus((CORPUS, KTLAB)), shards=2, rebuild=True)
        for _ in range(4):
            assert get(base + "/stats")["shards"] == 2 and get(base + "/search?q=bao+hiem")["total"] == total


def test_suggestions_of_a_set_are_those_of_one_index(tmp_path: Path):
    one, four = tmp_path / "one", tmp_path / "four"
    sharding.build(one, Corpus((CORPUS, KTLAB)))
    sharding.build(four, Corpus((CORPUS, KTLAB)), shards=4)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    body = json.dumps({"title": "Bảo hiểm thất nghiệp tăng", "body": "Tin mới."}).encode()
    clients = [testing.TestClient(create_app(Settings(index_dir=d, admin_token=TOKEN))) for d in (one, four)]
    prefixes = ["b", "bao", "bao hiem", "gia", "q", "t", "zz"]

    def answers(client: testing.TestClient) -> list[dict]:
        return [client.simulate_get("/suggest", params={"q": p, "limit": "10"}).json for p in prefixes]

    assert answers(clients[0]) == answers(clients[1])
    assert any(answer["suggestions"] for answer in answers(clients[1]))
    for client in clients:  # a commit to one shard is suggested at once
        assert client.simulate_put("/articles/new-1", body=body, headers=headers).status == falcon.HTTP_201
    found = answers(clients[1])
    assert found == answers(clients[0])
    assert "Bảo hiểm thất nghiệp tăng" in {s["text"] for s in found[1]["suggestions"]}

    # Large segments are counted in a child process, which reads every shard's.
    reader = ShardedIndexFront(four, load_synonyms(), LocalShards(four)).reader()
    segment_ids = [segid for _, _, segid, _ in readers.leaves(reader)]
    assert len(segment_ids) >= 4
    built = build_in_child(four, segment_ids)
    assert sorted(built) == sorted(segment_ids)
    assert sum(len(tables) for tables in built.values()) == reader.doc_count_all()


_WITHOUT_RAY = """
import sys
from pathlib import Path
from click.testing import CliRunner
from falcon import testing
from search.cli import main
from search.settings import Settings
from search.web.app import create_app

corpus, one, four = sys.argv[1:4]
runner = CliRunner()
for args in (["index", corpus, "--index-dir", one], ["index", corpus, "--index-dir", four, "--shards", "4"]):
    assert runner.invoke(main, args).exit_code == 0
for index_dir in (one, four):
    assert runner.invoke(main, ["search", "bảo hiểm", "--index-dir", index_dir]).exit_code == 0
    client = testing.TestClient(create_app(Settings(index_dir=Path(index_dir))))
    assert client.simulate_get("/search", params={"q": "bảo hiểm"}).json["total"] > 0
    assert client.simulate_get("/suggest", params={"q": "bao"}).status_code == 200
print(sorted(name for name in sys.modules if name == "ray" or name.startswith("ray.")))
"""


def test_ray_is_not_imported_unless_asked_for(tmp_path: Path):
    """The quick start and a sharded index served in process never load Ray."""
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_RAY, str(CORPUS), str(tmp_path / "one"), str(tmp_path / "four")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
