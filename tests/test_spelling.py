import gzip
import json
from pathlib import Path

from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.index.engine import readers
from search.index.engine.segments import TermCounts
from search.index.indexer import build
from search.query.acronyms import load_synonyms
from search.query.spelling import HitText, Speller, accented_forms
from search.searching.highlight import Highlighter
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex
from search.text.normalize import fold


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


def _hit(text: str, searched: frozenset[str]) -> HitText:
    """A hit as the searcher gives it, its matches found by the highlighter."""
    found = Highlighter(searched).find(text)
    return HitText(text, found.folded, [(0, found.matches)], searched)


def test_batched_spellings_and_scanned_hits_suggest_as_word_by_word(tmp_path: Path):
    # Three commits: several segments, the last adding a word the first two lack.
    index_dir = tmp_path / "index"
    build(index_dir, [Article(id="a", title="Bảo hiểm xã hội", body="Bảo hiểm y tế, BHXH 96/NQ-BCS năm 2019.")])
    build(index_dir, [Article(id="b", title="Báo chí", body="Báo cáo về bão số 9.")], keep_missing=True)
    index = SearchIndex(index_dir, load_synonyms())
    first = index.speller(index.searcher())
    assert first.suggest("bao") == "báo" and first.suggest("thue") is None
    build(index_dir, [Article(id="c", title="Thuế", body="Thuế thu nhập.")], keep_missing=True)
    reader = index.searcher().reader()
    assert len(readers.leaves(reader)) == 3
    speller = index.speller(index.searcher())
    assert speller is not first and speller.counts is index.term_counts
    assert speller.suggest("thue") == "thuế"  # the new commit's word: the tables follow it
    plain = Speller(reader)  # no kept counts: each form asked on its own
    for word in ("bao", "thue", "hiem", "zzz"):
        assert speller.spellings(word) == plain.spellings(word), word
    hits = ["Bảo hiểm xã hội và báo chí", "Báo cáo BHXH, bảo hiểm 96/NQ-BCS năm 2019"]
    for q in ("bao hiem", "Bao hiem BHXH", "BHXH 2019", "96/NQ-BCS", "bao -hiem", "báo hiem", "thuê", "zzz bao"):
        searched = frozenset(w for w in fold(q).split() if w.isalnum())
        expected = plain.suggest(q, hits)
        assert speller.suggest(q, hits) == expected, q
        assert speller.suggest(q, [_hit(text, searched) for text in hits]) == expected, q


def test_doc_frequencies_of_many_terms_are_those_of_each(tmp_path: Path):
    index_dir = tmp_path / "index"
    build(index_dir, [Article(id="a", title="Bảo hiểm", body="bảo hiểm y tế")])
    build(
        index_dir,
        [Article(id="b", title="Bão", body="bão số 9"), Article(id="a", title="Báo", body="báo")],
        keep_missing=True,
    )
    reader = SearchIndex(index_dir, load_synonyms()).searcher().reader()
    counts = TermCounts(per_segment=3)  # emptied while filled
    words = ["bảo", "bão", "báo", "zzz", "9", "bảo"]
    expected = [reader.doc_frequency("exact", word) for word in words]
    assert expected[:4] == [1, 1, 1, 0]  # the replaced article's words are still counted
    assert counts.doc_frequencies(reader, "exact", words) == expected
    assert counts.doc_frequencies(reader, "exact", words) == expected  # from what was kept
    assert [counts.doc_frequency(reader, "exact", word) for word in words] == expected
