"""Shards on a real local Ray cluster: built as Ray tasks, searched by Ray actors with the
same answers as in process, a killed replica replaced by another and restarted by Ray, and a
shard with no replica left making answers partial (200, `missing_shards`), never an error.

Without Ray these tests skip, except under CI, where a missing Ray is a failure.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import ModuleType

import falcon
import pytest
from falcon import testing

from search.index import sharding
from search.index.ray_build import RayRunner
from search.index.raycluster import LOCAL_OBJECT_STORE_BYTES, namespace_for
from search.index.shard_jobs import Corpus
from search.index.shards import read_manifest, shard_of, stored_hashes
from search.index.store import live_dir
from search.query.acronyms import load_synonyms
from search.searching.ray_shards import RayShards, actor_name, start_actors
from search.searching.results import SearchRequest
from search.searching.shard_set import LocalShards
from search.searching.sharded import ShardedIndex
from search.settings import Settings
from search.web.app import create_app
from tests.shard_corpus import queries, write_corpus

pytestmark = pytest.mark.slow

SHARDS = 3
#: Generous: only a bound on a wait that is expected to end, never a measured figure.
RESTART_WAIT = 120.0


def _ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("the Ray tests cannot run under CI without Ray (pip install -e '.[test]')")
        pytest.skip("Ray is not installed")
    return ray


@pytest.fixture(scope="module")
def ray() -> ModuleType:
    """A local Ray instance for the module, sized for a shared machine."""
    ray = _ray()
    ray.init(num_cpus=2, object_store_memory=LOCAL_OBJECT_STORE_BYTES, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def built(ray: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Corpus]:
    base = tmp_path_factory.mktemp("ray")
    corpus = Corpus((write_corpus(base / "corpus.jsonl"),))
    report = sharding.build(base / "index", corpus, shards=SHARDS, runner=RayRunner("auto"))
    assert report.rebuilt and not report.failed
    return base / "index", corpus


def _actor(ray: ModuleType, index_dir: Path, shard: int, replica: int):
    return ray.get_actor(actor_name(SHARDS, shard, replica), namespace=namespace_for(index_dir))


def _copy(index_dir: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(index_dir, target)
    return target


def test_a_set_built_by_ray_tasks_is_the_set_built_in_processes(built, tmp_path: Path):
    index_dir, corpus = built
    assert read_manifest(live_dir(index_dir)).shards == SHARDS
    sharding.build(tmp_path / "local", corpus, shards=SHARDS, procs=2)
    assert stored_hashes(index_dir) == stored_hashes(tmp_path / "local")


def test_actors_answer_as_the_shards_in_process(ray: ModuleType, built, tmp_path: Path):
    index_dir = _copy(built[0], tmp_path / "index")
    actors = start_actors(index_dir, SHARDS, 2, Settings().utc_offset)
    synonyms = load_synonyms()
    remote = ShardedIndex(index_dir, synonyms, RayShards("auto", index_dir, 2))
    local = ShardedIndex(index_dir, synonyms, LocalShards(index_dir))
    answered = 0
    for n, (q, source, sort) in enumerate(queries()[::4]):
        request = SearchRequest(q=q, source=source, sort=sort, per_page=5, histogram="auto", explain=n % 2 == 0)
        expected, found = local.search(request).to_json(), remote.search(request).to_json()
        for data in (expected, found):
            del data["took_ms"]
        assert found == expected and not found["partial"], q
        answered += bool(found["hits"])
    assert answered > 20
    # Stories and related coverage through the actors: the set's one graph, the same lists.
    hits = local.search(SearchRequest(q="bảo hiểm xã hội", per_page=20)).hits
    grouped = [hit for hit in hits if hit.story and hit.story["size"] > 1]
    assert grouped, "the corpus holds re-posts, which make stories"
    for hit in hits[:8]:
        assert remote.related(hit.id, 12) == local.related(hit.id, 12), hit.id
    for hit in grouped:
        assert remote.story(hit.story["id"]) == local.story(hit.story["id"])
    assert remote.related("no-such-article") is None and remote.story("no-such-story") is None
    # A commit is followed by the actors: the article is found on the next search.
    sharding.build(index_dir, [_article("ray-new", "bài mới về Pskov và Quảng Ngãi")], keep_missing=True)
    assert "ray-new" in [h.id for h in remote.search(SearchRequest(q="Pskov Quảng Ngãi", per_page=50)).hits]
    for actor in actors:
        ray.kill(actor)


def _article(article_id: str, body: str):
    from search.corpus.article import Article

    return Article(id=article_id, title="Tin mới", body=body)


def test_a_killed_replica_is_replaced_and_restarted(ray: ModuleType, built, tmp_path: Path):
    index_dir = _copy(built[0], tmp_path / "index")
    actors = start_actors(index_dir, SHARDS, 2, Settings().utc_offset)
    front = ShardedIndex(index_dir, load_synonyms(), RayShards("auto", index_dir, 2), time_budget=30)
    request = SearchRequest(q="bảo hiểm xã hội", per_page=10)
    expected = front.search(request).to_json()
    victim = _actor(ray, index_dir, 1, 0)
    old = ray.get(victim.pid.remote())
    os.kill(old, signal.SIGKILL)
    for n in range(20):  # every answer complete: the other replica, or the restarted one, answers
        found = front.search(SearchRequest(q="bảo hiểm xã hội", per_page=10, page=1 + n % 2)).to_json()
        assert not found["partial"] and "missing_shards" not in found
    found = front.search(request).to_json()
    assert (found["total"], found["hits"]) == (expected["total"], expected["hits"])
    deadline = time.monotonic() + RESTART_WAIT
    while True:  # Ray restarts the actor (a new process), which opens its shard again
        try:
            new = ray.get(victim.pid.remote(), timeout=5)
            if new != old:
                break
        except ray.exceptions.RayError:
            pass
        assert time.monotonic() < deadline, "Ray did not restart the actor"
        time.sleep(0.5)
    for actor in actors:
        ray.kill(actor)


def test_with_no_replica_left_answers_are_partial_never_errors(ray: ModuleType, built, tmp_path: Path):
    index_dir = _copy(built[0], tmp_path / "index")
    actors = start_actors(index_dir, SHARDS, 1, Settings().utc_offset)
    client = testing.TestClient(create_app(Settings(index_dir=index_dir, ray_address="auto", ray_replicas=1)))
    # Not collapsed: a story whose best article is on the lost shard shows another one of it.
    complete = client.simulate_get("/search", params={"q": "bảo hiểm", "per_page": 50, "collapse": "none"}).json
    assert not complete["partial"] and complete["total"] > 0
    ray.kill(_actor(ray, index_dir, 0, 0), no_restart=True)  # gone for good: no replica answers
    # Another page size: the complete answer is in the worker's result cache, and rightly so.
    answer = client.simulate_get("/search", params={"q": "bảo hiểm", "per_page": 40, "collapse": "none"})
    assert answer.status == falcon.HTTP_200
    data = answer.json
    assert data["partial"] and data["missing_shards"] == [0]
    # What the other shards hold, in the order they rank it among all the matches.
    others = [hit for hit in complete["hits"] if shard_of(hit["id"], SHARDS) != 0]
    assert 0 < data["total"] < complete["total"]
    assert [hit["id"] for hit in data["hits"]][: len(others)] == [hit["id"] for hit in others][:40]
    page = client.simulate_get("/", params={"q": "bảo hiểm"})
    assert page.status == falcon.HTTP_200
    assert client.simulate_get("/stats").json["missing_shards"] == [0]
    for actor in actors[1:]:
        ray.kill(actor)
