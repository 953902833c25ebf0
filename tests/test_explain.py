"""`explain=1`: each hit's score taken apart into the words, pairs, phrases and acronym forms
that matched, summing to the score the ranking gave it."""

from __future__ import annotations

import falcon
import pytest
from falcon import testing

from search.searching.results import SearchRequest, footprint
from search.settings import Settings
from search.web.app import create_app


def _parts(hit) -> dict[tuple[str, str], float]:
    return {(p["kind"], p["text"]): p["score"] for p in hit.explain["matched"]}


@pytest.mark.parametrize(
    "q",
    [
        "BHXH hưu trí",
        "bao hiem y te",
        '"bảo hiểm y tế" tỉnh -"Quảng Ngãi"',
        "chính sách OR lương hưu",
        "người lao động",
    ],
)
def test_parts_add_up_to_the_score(seed_index, q):
    result = seed_index.search(SearchRequest(q=q, explain=True, per_page=5))
    assert result.hits
    for hit in result.hits:
        assert hit.explain["score"] == pytest.approx(hit.score, abs=1e-3)
        assert sum(p["score"] for p in hit.explain["matched"]) == pytest.approx(hit.score, abs=1e-3)
        assert all(p["score"] > 0 for p in hit.explain["matched"])


def test_an_acronym_matched_through_its_full_form_is_named(seed_index):
    hit = seed_index.search(SearchRequest(q="BHXH", explain=True)).hits[0]
    kinds = _parts(hit)
    assert ("acronym", "bao hiem xa hoi") in kinds and ("word", "bhxh") in kinds


def test_words_pairs_and_exact_marks_are_told_apart(make_index):
    index = make_index(
        {"id": "together", "title": "Tin một", "body": "Chế độ hưu trí được điều chỉnh."},
        {"id": "apart", "title": "Tin hai", "body": "Về hưu, ông sống ở một nơi yên tĩnh và giữ trí nhớ tốt."},
        {"id": "other", "title": "Tin ba", "body": "Thời tiết hôm nay đẹp."},
    )
    hits = {hit.id: hit for hit in index.search(SearchRequest(q="hưu trí", explain=True)).hits}
    assert set(hits) == {"together", "apart"}
    together, apart = _parts(hits["together"]), _parts(hits["apart"])
    assert {key for key in together} == {
        ("word", "hưu"),
        ("word", "trí"),
        ("exact", "hưu"),
        ("exact", "trí"),
        ("pair", "hưu trí"),
    }
    assert ("pair", "hưu trí") not in apart and ("word", "hưu") in apart
    # Without marks: the same words and pair, and no exact share.
    folded = _parts(index.search(SearchRequest(q="huu tri", explain=True)).hits[0])
    assert {kind for kind, _ in folded} == {"word", "pair"}
    assert hits["together"].explain["tier"] == "all words"


def test_partial_matches_say_they_matched_some_words(make_index):
    index = make_index(
        {"id": "both", "title": "Tin một", "body": "Giá xăng tăng mạnh."},
        {"id": "one", "title": "Tin hai", "body": "Giá vàng ổn định."},
    )
    hits = {hit.id: hit for hit in index.search(SearchRequest(q="giá xăng", explain=True)).hits}
    assert hits["both"].explain["tier"] == "all words"
    assert hits["one"].explain["tier"] == "some words"
    assert set(_parts(hits["one"])) == {("word", "giá"), ("exact", "giá")}


def test_no_explanation_unless_asked(seed_index):
    hit = seed_index.search(SearchRequest(q="BHXH")).hits[0]
    assert hit.explain is None
    assert "explain" not in seed_index.search(SearchRequest(q="BHXH")).to_json()["hits"][0]


@pytest.fixture(scope="module")
def client(seed_index_dir) -> testing.TestClient:
    return testing.TestClient(create_app(Settings(index_dir=seed_index_dir)))


def test_the_api_explains_with_explain_1(client):
    body = client.simulate_get("/search", params={"q": "BHXH hưu trí", "explain": "1"}).json
    first = body["hits"][0]
    assert set(first["explain"]) == {"score", "tier", "matched"}
    assert {"kind", "text", "score"} == set(first["explain"]["matched"][0])
    assert "explain" not in client.simulate_get("/search", params={"q": "BHXH", "explain": "0"}).json["hits"][0]


def test_the_api_refuses_other_values(client):
    resp = client.simulate_get("/search", params={"q": "BHXH", "explain": "yes"})
    assert resp.status == falcon.HTTP_400 and "explain" in resp.json["description"] + resp.json["title"]


def test_a_phrase_typed_with_marks_has_one_exact_part(make_index):
    index = make_index(
        {"id": "exact", "title": "Tin một", "body": "Chính sách bảo hiểm cho người lao động."},
        {"id": "folded", "title": "Tin hai", "body": "Chinh sach bao hiem cho nguoi lao dong."},
    )
    hits = {hit.id: _parts(hit) for hit in index.search(SearchRequest(q='"bảo hiểm"', explain=True)).hits}
    assert set(hits["exact"]) == {("phrase", "bảo hiểm"), ("exact", "bảo hiểm")}
    assert set(hits["folded"]) == {("phrase", "bảo hiểm")}


def test_the_result_cache_counts_explanations(seed_index):
    """An explained page holds more memory than the plain one: the cache's bound must see it."""
    plain = seed_index.search(SearchRequest(q="BHXH hưu trí"))
    explained = seed_index.search(SearchRequest(q="BHXH hưu trí", explain=True))
    assert footprint(explained) > footprint(plain)
