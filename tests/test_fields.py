"""VietnameseText must index exactly what the analyzer produces, only faster."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pytest
from whoosh.fields import TEXT

from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.index.columns import position_columns
from search.index.engine import readers
from search.index.fields import DigestColumn, PairText, VietnameseText, folded_body_words
from search.index.indexer import build
from search.index.schema import to_document
from search.index.store import open_index
from search.text.analysis import PAIR_JOINER, exact_analyzer, folded_analyzer, pair_analyzer
from search.text.normalize import WORD_RE, fold, fold_keeps_words, normalize

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

AWKWARD = [
    "Bảo hiểm xã hội (BHXH) tỉnh Hoà Bình, hòa bình; Thuý thúy THUỶ",
    "Ðảng ủy ðồng chí 96/NQ-BCS 252.199 88,7% LĐTB&XH",
    "Ba\u0309o hie\u0302\u0309m NFD text, and İstanbul, ǅemal, ß, ﬁ ligature",
    "zero\u200bwidth soft\u00adhyphen no\u00a0break \ufeffbom stray \u0301 mark a\u0301\u0301",
    "ồ ơ ư ươ ừ ỷ ỹ 2018 ABC abc abc abc",
    'Câu một. Câu hai, vế ba; (ngoặc) "trích" – gạch\nxuống dòng… 252.199 đồng - hết! Hết? a:b',
    "",
]


@pytest.mark.parametrize("make", [exact_analyzer, folded_analyzer])
@pytest.mark.parametrize("text", AWKWARD)
def test_index_matches_the_analyzer(make, text):
    fast = VietnameseText(analyzer=make(), phrase=True)
    stock = TEXT(analyzer=make(), phrase=True)

    def postings(field):
        return sorted(
            (term, freq, weight, field.format.decode_positions(value))
            for term, freq, weight, value in field.index(text)
        )

    assert postings(fast) == postings(stock)
    assert postings(fast) == postings(stock)  # and again from the cache


def test_term_cache_is_not_pickled_into_the_schema():
    field = VietnameseText(analyzer=folded_analyzer(), phrase=True)
    list(field.index("bảo hiểm"))
    copy = pickle.loads(pickle.dumps(field))
    assert "_terms" not in copy.__dict__
    assert sorted(copy.index("bảo hiểm")) == sorted(field.index("bảo hiểm"))


@pytest.mark.parametrize(
    "positions", [[0], [255], [256], [70000], [3, 7, 300], [5, 70000, 70001], list(range(0, 5000, 3))]
)
def test_compact_positions_round_trip(positions):
    fmt = VietnameseText(analyzer=folded_analyzer(), phrase=True).format
    value = fmt.encode(positions)
    assert fmt.decode_positions(value) == positions
    assert fmt.decode_frequency(value) == len(positions)
    assert fmt.decode_position_boosts(value) == [(p, 1) for p in positions]


def _pair_postings(field, text):
    return sorted((term, freq, weight) for term, freq, weight, _ in field.index(text))


@pytest.mark.parametrize(
    "text", AWKWARD + [str(to_document(a, "2026-01-01T00:00:00+00:00")["pairs"]) for a in iter_corpus([CORPUS])]
)
def test_pair_field_indexes_what_the_pair_analyzer_did(text):
    """The same terms, frequencies and weights as the plain TEXT field the pairs used to be,
    on awkward text and on the real Vietnamese articles of the seed corpus."""
    fast = PairText(analyzer=pair_analyzer())
    stock = TEXT(analyzer=pair_analyzer(), phrase=False)
    expected = _pair_postings(stock, text)
    assert _pair_postings(fast, text) == expected
    assert _pair_postings(fast, text) == expected  # and again from the cache
    assert all(value == b"" for *_, value in fast.index(text))


def test_pair_postings_keep_their_frequencies_as_weights(tmp_path):
    build(
        tmp_path,
        [
            Article(id="a", title="Bảo hiểm", body="bảo hiểm xã hội. Bao hiem y tế"),
            Article(id="b", title="Hiểm họa", body="bảo hiểm"),
        ],
    )
    with open_index(tmp_path).searcher() as searcher:
        reader = searcher.reader()
        docs = {searcher.stored_fields(d)["id"]: d for d in range(reader.doc_count_all())}
        postings = dict(_weights(reader, "bao_hiem"))
        assert postings == {docs["a"]: 3.0, docs["b"]: 1.0}
        assert reader.frequency("pairs", "bao_hiem") == 4.0
        assert reader.doc_frequency("pairs", "hiem_hoa") == 1
        assert ("pairs", "hoi_bao") not in reader  # not paired across the full stop


def _weights(reader, term):
    matcher = reader.postings("pairs", term)
    while matcher.is_active():
        yield matcher.id(), matcher.weight()
        matcher.next()


@pytest.mark.parametrize("length", [1, 2, 300, 3000, 70_500])
def test_position_columns_encode_as_compact_positions(length):
    """Grouped and encoded all at once, each term's positions are the bytes `encode` gives
    them, whichever widths their deltas need (one byte, two, four), terms of one word included."""
    rng = random.Random(length)
    vocabulary = [f"t{n}".encode() for n in range(max(2, length // 50))]
    terms = [vocabulary[min(int(rng.paretovariate(0.6)), len(vocabulary)) - 1] for _ in range(length)]
    if length > 70_000:
        terms[70_400] = b"far"  # first at a position of four bytes
    fmt = VietnameseText(analyzer=folded_analyzer(), phrase=True).format
    expected: dict[bytes, list[int]] = {}
    for pos, term in enumerate(terms):
        expected.setdefault(term, []).append(pos)
    columns = position_columns(terms, 1.0)
    assert {t: (f, w, v) for t, f, w, v in columns.items()} == {
        t: (len(p), float(len(p)), fmt.encode(p)) for t, p in expected.items()
    }
    assert len(columns.terms) == len(expected)


TITLES = ["", "Tin mới -", "Hết.", "a\u0301 (ngoặc", "Giá 3×4 m2", AWKWARD[1]]
BODIES = [" - Câu đầu, vế sau.", "\u0301mark first", "- không phải ngắt", "Giá 200.000₫ ¶ x×y", *AWKWARD]


@pytest.mark.parametrize("title", TITLES)
@pytest.mark.parametrize("body", BODIES)
def test_title_and_body_split_apart_index_as_the_analyzers_do(title, body):
    """The copy column splits the body first and the text fields split only the title before
    it: the terms must be the analyzers' on the whole text, and the copy column's words those
    of the folded body, or None where folding would move a word's bounds."""
    words = folded_body_words(body)
    expected_words = WORD_RE.findall(fold(normalize(body)))
    assert words is None or words == expected_words
    if fold_keeps_words(normalize(body)):
        assert words == expected_words
    text = str(to_document(Article(id="a", title=title, body=body), "2026-01-01T00:00:00+00:00")["exact"])
    for make in (exact_analyzer, folded_analyzer):
        fast, stock = VietnameseText(analyzer=make(), phrase=True), TEXT(analyzer=make(), phrase=True)
        assert [
            (term, freq, weight, fast.format.decode_positions(value))
            for term, freq, weight, value in sorted(fast.index(text))
        ] == [
            (term, freq, weight, stock.format.decode_positions(value))
            for term, freq, weight, value in sorted(stock.index(text))
        ]
    expected = _pair_postings(TEXT(analyzer=pair_analyzer(), phrase=False), text)
    folded_body_words(body)
    assert _pair_postings(PairText(analyzer=pair_analyzer()), text) == expected


def test_no_word_character_folds_to_the_pair_joiner():
    """The pool counts pair terms by the two words' fold numbers (`search.index.segment_words`):
    two different pairs of folds must never join into one term."""
    word_chars = (c for c in map(chr, range(0x110000)) if WORD_RE.fullmatch(c))
    assert not [c for c in word_chars if PAIR_JOINER in fold(c) or WORD_RE.fullmatch(fold(c)) is None]


def test_folding_keeps_words_unless_a_character_changes_sides():
    assert fold_keeps_words("Bảo hiểm xã hội 96/NQ-BCS Ðảng")
    assert fold_keeps_words("")
    assert not fold_keeps_words("3×4")  # "×" folds to the letter "x"
    assert not fold_keeps_words("giá 5₫")
    assert not fold_keeps_words("emoji \U0001f600 beyond the BMP")


def test_content_hashes_read_back_as_their_hex_from_a_column_of_their_bytes(tmp_path):
    articles = [a for a in iter_corpus([CORPUS]) if isinstance(a, Article)][:40]
    build(tmp_path, articles)
    ix = open_index(tmp_path)
    with ix.reader() as reader:
        ids, hashes = readers.column(reader, "id"), readers.column(reader, "hash")
        assert dict(zip(ids, hashes)) == {a.id: a.content_hash for a in articles}
        column = reader.column_reader("hash", translate=False)
        assert {len(column[d]) for d in range(reader.doc_count_all())} == {32}


@pytest.mark.parametrize("value", ["abc", "zz" * 32, "a " * 32, b"\x00" * 32, None])
def test_a_digest_column_refuses_what_is_not_its_hex_digest(value):
    with pytest.raises(ValueError, match="64 hex digits"):
        DigestColumn().to_column_value(value)
