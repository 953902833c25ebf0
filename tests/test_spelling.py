import gzip
import json
from pathlib import Path

from search.corpus.files import iter_corpus
from search.query.spelling import Speller, accented_forms
from search.searching.results import SearchRequest


def test_accented_forms_cover_every_mark_in_canonical_tone_place():
    forms = accented_forms("bao")
    assert {"bao", "bảo", "báo", "bão", "bào", "bạo"} <= set(forms)
    assert "hòa" in accented_forms("hoa") and "hoà" not in accented_forms("hoa")
    assert {"đi", "di"} <= set(accented_forms("di"))
    assert accented_forms("2019") == [] and accented_forms("internationally") == []


def suggest(index, q):
    return index.search(SearchRequest(q=q)).suggestion


def test_query_without_marks_gets_the_form_its_hits_use(seed_index):
    assert suggest(seed_index, "bao hiem xa hoi") == "bảo hiểm xã hội"
    assert suggest(seed_index, "Tuyen truyen") == "Tuyên truyền"
    assert suggest(seed_index, "bảo hiem") == "bảo hiểm"


def test_misspelled_word_is_corrected_from_its_neighbours(seed_index):
    # The seed corpus has "nhiệu quả" once, as a typo; "hiệu quả" is in most articles.
    assert suggest(seed_index, "nhiệu quả") == "hiệu quả"


def test_nothing_to_suggest(seed_index):
    for q in ("bảo hiểm xã hội", "BHXH", "96/NQ-BCS", "hiệu quả"):
        assert suggest(seed_index, q) is None, q


def test_a_speller_belongs_to_one_generation(make_index):
    index = make_index({"id": "a", "title": "Bảo hiểm", "body": "bảo hiểm y tế"})
    first = index.speller(index.searcher())
    assert index.speller(index.searcher()) is first
    assert Speller(index.searcher().reader()).suggest("bao hiem") == "bảo hiểm"


def test_a_neighbouring_query_word_outweighs_lone_occurrences(seed_index):
    speller = Speller(seed_index.searcher().reader())
    lone = "Báo chí báo tin, báo động, báo cáo."
    assert speller.suggest("bao hiem", [lone, "Chính sách bảo, hiểm"]) == "bảo hiểm"
    assert speller.suggest("bao hiem", [lone, "Chính sách bảo và hiểm"]) == "báo hiểm"


#: Queries, hit texts (an index into the seed articles, or a text) and the suggestion the
#: speller of commit 51f56e7 made, before it visited only the query's words in the hits.
SPELLER_GOLDEN = Path(__file__).resolve().parent / "data" / "speller_golden.json.gz"


def test_same_suggestions_as_before(seed_index):
    root = Path(__file__).resolve().parent.parent
    seeds = [f"{a.title}\n\n{a.body}" for a in iter_corpus([root / "corpus"])]
    speller = Speller(seed_index.searcher().reader())
    for case in json.loads(gzip.decompress(SPELLER_GOLDEN.read_bytes())):
        hits = [seeds[h] if isinstance(h, int) else h for h in case["hits"]]
        assert speller.suggest(case["q"], hits) == case["suggestion"], case["q"]


def test_the_or_operator_is_not_a_word_to_correct(seed_index):
    speller = Speller(seed_index.searcher().reader())
    assert speller.suggest("bảo hiểm OR Quảng Ngãi") is None
    assert speller.suggest("bao hiem OR quang ngai") == "bảo hiểm OR quảng ngãi"
