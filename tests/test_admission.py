"""Searches taking turns: the slots themselves with threads, then through the real app
(falcon.testing, the seed index)."""

import random
import threading
import time
from pathlib import Path

import pytest
from falcon import testing

from search.settings import Settings
from search.web.admission import Admission
from search.web.app import create_app


def _until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.001)


def test_waiters_are_let_in_in_the_order_they_came():
    admission = Admission(1)
    assert admission.enter(0)
    order: list[int] = []

    def wait(number: int) -> None:
        assert admission.enter(10)
        order.append(number)
        admission.leave()

    threads = []
    for number in range(6):
        thread = threading.Thread(target=wait, args=(number,))
        thread.start()
        _until(lambda n=number: admission.waiting == n + 1)  # queued before the next one starts
        threads.append(thread)
    admission.leave()
    for thread in threads:
        thread.join()
    assert order == list(range(6))


def test_no_more_than_the_slots_run_at_once():
    admission = Admission(2)
    inside, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        assert admission.enter(10)
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.005)
        with lock:
            inside -= 1
        admission.leave()

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 2


def test_a_wait_that_runs_out_leaves_the_queue():
    admission = Admission(1)
    assert admission.enter(0)
    started = time.monotonic()
    assert not admission.enter(0.05)
    assert time.monotonic() - started >= 0.05
    assert admission.waiting == 0
    admission.leave()
    assert admission.enter(0)  # the slot is free again, not handed to the waiter that left
    assert not admission.enter(0)


def test_no_slot_is_lost_or_made_when_waits_run_out_as_slots_are_handed_on():
    admission = Admission(3)
    rng = random.Random(7)
    plans = [(rng.choice([0.0, 0.0005, 0.002]), rng.random() * 0.002) for _ in range(300)]

    def work(timeout: float, hold: float) -> None:
        if admission.enter(timeout):
            time.sleep(hold)
            admission.leave()

    threads = [threading.Thread(target=work, args=plan) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admission.waiting == 0
    assert [admission.enter(0) for _ in range(4)] == [True, True, True, False]


def test_at_least_one_slot():
    with pytest.raises(ValueError, match="at least one slot"):
        Admission(0)


def test_default_slots():
    assert Settings().slots == 1
    assert Settings(ray_address="auto").slots == 0  # the worker mostly waits on the actors
    assert Settings(search_slots=0).slots == 0
    assert Settings.from_env({"VNSEARCH_SEARCH_SLOTS": "3"}).slots == 3
    with pytest.raises(ValueError, match="VNSEARCH_SEARCH_SLOTS"):
        Settings.from_env({"VNSEARCH_SEARCH_SLOTS": "-1"})


@pytest.fixture
def held(seed_index_dir: Path):
    """An app whose one slot the test holds, and the slot."""
    admission = Admission(1)
    client = testing.TestClient(create_app(Settings(index_dir=seed_index_dir, search_budget_ms=30), admission))
    assert client.simulate_get("/search", params={"q": "bảo hiểm"}).status_code == 200  # opened
    assert admission.enter(0)
    yield client, admission


def test_a_search_that_finds_no_slot_in_time_is_a_json_503(held):
    client, admission = held
    for path, params in (("/search", {"q": "bảo hiểm"}), ("/", {"q": "bhxh"}), ("/suggest", {"q": "bao"})):
        resp = client.simulate_get(path, params=params)
        assert resp.status_code == 503
        assert resp.headers["retry-after"] == "1"
        assert resp.json["title"] == "Too busy"
    assert admission.waiting == 0


def test_cheap_routes_do_not_wait_for_a_slot(held):
    client, _ = held
    assert client.simulate_get("/healthz").status_code == 200
    assert client.simulate_get("/static/app.js").status_code == 200
    assert client.simulate_get("/widget.js").status_code == 200


def test_every_answer_gives_its_slot_back(held):
    client, admission = held
    admission.leave()
    answers = [
        client.simulate_get("/search", params={"q": "bảo hiểm xã hội"}),
        client.simulate_get("/search", params={"q": "bhxh", "page": "0"}),  # refused with a 400
        client.simulate_get("/articles/no-such-article"),  # 404
        client.simulate_get("/search"),  # no q: 400
    ]
    assert [a.status_code for a in answers] == [200, 400, 404, 400]
    assert admission.enter(0)
    assert not admission.enter(0)


def test_a_waiting_search_is_answered_once_the_slot_is_free(seed_index_dir: Path):
    admission = Admission(1)
    client = testing.TestClient(create_app(Settings(index_dir=seed_index_dir), admission))
    assert admission.enter(0)
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(r=client.simulate_get("/search", params={"q": "bhyt"})))
    thread.start()
    _until(lambda: admission.waiting == 1)
    admission.leave()
    thread.join()
    assert answer["r"].status_code == 200 and answer["r"].json["total"] >= 1
