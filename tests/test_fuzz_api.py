"""No query, parameter combination or path a client can send gets a 500 or leaks internals.

Generated inputs (hypothesis) and a committed corpus of nasty ones (tests/data/nasty_queries.txt,
found while fuzzing) go through the real app over the seed index. The analyzer's own properties
(never raises, fold idempotent, NFC and NFD give the same tokens) are in test_analysis.py.
Set VNSEARCH_FUZZ_EXAMPLES to run more examples than the suite's default.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

import falcon
import pytest
from falcon import testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.query.acronyms import load_synonyms
from search.query.parse import QueryBuilder, QueryError
from search.settings import Settings
from search.web.app import create_app

NASTY = Path(__file__).parent / "data" / "nasty_queries.txt"
EXAMPLES = int(os.environ.get("VNSEARCH_FUZZ_EXAMPLES", "150"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
#: What an answer to any input may be: found, refused for the client's fault, or too big.
CLIENT_STATUSES = {200, 400, 404, 405, 411, 413, 414}
_LEAK_RE = re.compile(r"Traceback|File \"|/tmp/|/home/|/work/|site-packages|\.py\b|index_dir|Errno")


@pytest.fixture(scope="module")
def client(seed_index_dir: Path) -> testing.TestClient:
    return testing.TestClient(create_app(Settings(index_dir=seed_index_dir, max_body_bytes=4096)))


def check(resp: testing.Result) -> None:
    assert resp.status_code in CLIENT_STATUSES, (resp.status, resp.text[:300])
    body = resp.json
    assert isinstance(body, dict)
    if resp.status_code != 200:
        assert body["title"] and not _LEAK_RE.search(resp.text), resp.text
    elif "hits" in body:
        assert isinstance(body["partial"], bool) and len(body["hits"]) <= body["per_page"]


# Query text: everything Unicode has, weighted towards the syntax and Vietnamese.
syntax = st.sampled_from(
    [
        '"',
        "-",
        " OR ",
        "OR",
        "*",
        "?",
        "(",
        ")",
        ":",
        "~",
        "^",
        "\\",
        "/",
        "&",
        "%",
        "+",
        "\u201c",
        "\u201d",
        "\u00ab",
        "\u200b",
        "\ufeff",
        "\u0301",
        "\u0323",
        "\u202e",
        "\x00",
        "\t",
        "\n",
        " ",
        "bhxh",
        "bảo hiểm",
        "UBND",
        "96/NQ-BCS",
        "năm",
        "a" * 60,
    ]
)
query_text = st.lists(st.one_of(syntax, st.text(max_size=20)), max_size=40).map("".join)
param_value = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "-1",
            "50",
            "51",
            "1000",
            "99999999999999999999",
            "1e3",
            "relevance",
            "date",
            "2022",
            "2022-13",
            "2022-02-30",
            "VTC News",
            "٣",
            "¹",
            "Ⅻ",
        ]
    ),
)
params = st.fixed_dictionaries(
    {"q": query_text},
    optional={name: param_value for name in ("page", "per_page", "sort", "from", "to", "source", "other")},
)


@fuzz
@given(params)
def test_no_generated_search_gets_a_500(client, params):
    check(client.simulate_get("/search", params=params))


@fuzz
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["q", "page", "per_page", "sort", "from", "to", "source", "x", ""]), st.binary(max_size=12)
        ),
        max_size=6,
    )
)
def test_no_raw_query_string_gets_a_500(client, pairs):
    """Arbitrary bytes, percent-encoded or raw, repeated names, empty names."""
    parts = []
    for name, value in pairs:
        raw = quote(value, safe="") if value and value[0] % 2 else value.decode("latin-1")
        parts.append(f"{name}={raw}")
    check(client.simulate_get("/search", query_string="&".join(parts)))


@fuzz
@given(st.text(max_size=300))
def test_no_article_path_gets_a_500(client, article_id):
    resp = client.simulate_get("/articles/" + quote(article_id, safe="/"), params={"q": "bhxh"})
    check(resp)
    assert resp.status_code != 200 or resp.json["id"] == unicodedata.normalize("NFC", article_id)


@fuzz
@given(query_text)
def test_parse_raises_only_query_errors_and_ignores_normal_form(text):
    builder = QueryBuilder(load_synonyms())
    try:
        parsed = builder.parse(text)
    except QueryError:
        with pytest.raises(QueryError):
            builder.parse(unicodedata.normalize("NFD", text))
        return
    nfd = builder.parse(unicodedata.normalize("NFD", text))
    assert nfd.any_word() == parsed.any_word() and nfd.highlight == parsed.highlight


def nasty_queries() -> list[str]:
    lines = NASTY.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize("query_string", nasty_queries())
def test_nasty_queries_stay_answered(client, query_string):
    check(client.simulate_get("/search", query_string=query_string))
    check(client.simulate_get("/articles/003_50a1d9bb06e22414", query_string=query_string))


@pytest.mark.parametrize(
    "query_string, says",
    [
        ("q=" + "+".join(["a"] * 129), "128 words"),
        ("q=" + "+OR+".join(["a"] * 65), "128 words"),
        ("q=" + quote("1/" * 130), "128 words"),
        ("q=" + "x" * 501, "500 characters"),
        ("q=" + "+".join(f"w{n}" for n in range(65)), "64 distinct"),
        ("q=bhxh&per_page=51", "per_page"),
        ("q=bhxh&page=21&per_page=50", "1000"),
        ("q=bhxh&page=1001", "page"),
        ("q=*", "no words"),
        ("q=(((((", "no words"),
    ],
)
def test_query_limits_are_400s_that_say_which(client, query_string, says):
    resp = client.simulate_get("/search", query_string=query_string)
    assert resp.status == falcon.HTTP_400
    assert says in resp.json["description"]


@pytest.mark.parametrize("q", ["*", "a*", "*a", "bh*", "bảo*", "bh?", "?", "[a TO z]", "bao~", "BH*"])
def test_wildcards_are_separators(client, q):
    """`*`, `?` and the like separate words as a space does: the answer is the one for the
    query with spaces in their place."""
    spaced = re.sub(r"[*?\[\]~]", " ", q)
    resp = client.simulate_get("/search", params={"q": q, "per_page": 50})
    same = client.simulate_get("/search", params={"q": spaced, "per_page": 50})
    assert resp.status_code == same.status_code and resp.status_code in (200, 400)
    if resp.status_code == 200:
        assert [h["id"] for h in resp.json["hits"]] == [h["id"] for h in same.json["hits"]]


@pytest.mark.parametrize("q", ["a*", "b*", "bh*", "BH*", "x*", "*"])
def test_prefixes_cannot_enumerate_the_vocabulary(client, q):
    """As prefixes these would match every seed article ("bhxh", "bảo", "xã"...); as the words
    "a", "b", "bh", "x" they match none."""
    resp = client.simulate_get("/search", params={"q": q, "per_page": 50})
    assert resp.status_code == 400 or resp.json["total"] == 0


def test_star_is_a_separator_in_the_parsed_query():
    parsed = QueryBuilder(load_synonyms()).parse("bh* *xh")
    assert {term for field, term in parsed.any_word().iter_all_terms() if field == "folded"} == {"bh", "xh"}


def test_unavailable_index_errors_name_no_paths(tmp_path: Path):
    missing = testing.TestClient(create_app(Settings(index_dir=tmp_path / "none")))
    stale_dir = tmp_path / "stale"
    stale_dir.mkdir()
    (stale_dir / "_articles_v0_3.toc").write_bytes(b"old")
    stale = testing.TestClient(create_app(Settings(index_dir=stale_dir)))
    for client, says in ((missing, "vnsearch index"), (stale, "--rebuild")):
        for path in ("/search?q=bhxh", "/healthz", "/stats", "/articles/x"):
            resp = client.simulate_get(path)
            assert resp.status == falcon.HTTP_503 and says in resp.json["description"]
            assert str(tmp_path) not in resp.text and not _LEAK_RE.search(resp.text)


@pytest.mark.parametrize(
    "article_id",
    [
        "..",
        "../..",
        "../../etc/passwd",
        "%2e%2e/%2e%2e/etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "/etc/passwd",
        "//etc/passwd",
        "C:%5Cwindows%5Cwin.ini",
        "003_50a1d9bb06e22414/../../../etc/passwd",
        "x%00.txt",
        "_articles_v1_1.toc",
        "articles_v1_WRITELOCK",
        "~root/.ssh/id_rsa",
        "a" * 600,
    ],
)
def test_article_ids_never_reach_the_file_system(client, article_id):
    resp = client.simulate_get("/articles/" + article_id)
    assert resp.status_code in (400, 404)
    assert "root:" not in resp.text and not _LEAK_RE.search(resp.text)
