import pytest
from whoosh.query import And, AndNot, Or, Phrase, Term

from search.query.acronyms import load_synonyms
from search.query.parse import EXACT_BOOST, OR, Item, QueryBuilder, QueryError, lex


@pytest.fixture(scope="module")
def builder() -> QueryBuilder:
    return QueryBuilder(load_synonyms())


def test_lex_words_phrases_exclusions_and_or():
    assert lex('bảo hiểm "y tế" -Nghệ -"Hà Tĩnh" BHXH OR BHYT') == [
        Item("bảo"),
        Item("hiểm"),
        Item("y tế", phrase=True),
        Item("Nghệ", negated=True),
        Item("Hà Tĩnh", phrase=True, negated=True),
        Item("BHXH"),
        OR,
        Item("BHYT"),
    ]


def test_lex_unclosed_quote_runs_to_the_end():
    assert lex('"bảo hiểm xã') == [Item("bảo hiểm xã", phrase=True)]


def test_lowercase_or_is_a_word():
    assert Item("or") in lex("ban or")


def test_query_without_diacritics_uses_only_the_folded_field(builder):
    parsed = builder.parse("quang ngai")
    fields = {t[0] for q in parsed.clauses for t in q.iter_all_terms()}
    assert fields == {"folded"}


def test_query_with_diacritics_also_matches_the_exact_field(builder):
    parsed = builder.parse("Quảng Ngãi")
    assert parsed.clauses[0] == Or([Term("exact", "quảng", boost=EXACT_BOOST), Term("folded", "quang")])
    assert EXACT_BOOST > 0  # an exact match always adds to the folded one


def test_tone_placement_and_nfd_do_not_change_the_query(builder):
    import unicodedata

    assert builder.parse("hoà bình").all_words() == builder.parse("hòa bình").all_words()
    assert builder.parse(unicodedata.normalize("NFD", "hòa bình")).all_words() == builder.parse("hòa bình").all_words()


def test_acronym_expands_to_full_form(builder):
    (clause,) = builder.parse("BHXH").clauses
    assert Term("folded", "bhxh") in clause.subqueries
    assert Phrase("folded", ["bao", "hiem", "xa", "hoi"]) in clause.subqueries


def test_full_form_expands_to_acronym_as_one_clause(builder):
    parsed = builder.parse("bảo hiểm xã hội tỉnh")
    assert len(parsed.clauses) == 2
    assert Term("folded", "bhxh") in parsed.clauses[0].subqueries
    assert {"bhxh", "bao", "hiem", "xa", "hoi", "tinh"} <= parsed.highlight


def test_document_number_is_a_phrase_of_its_parts(builder):
    (clause,) = builder.parse("96/NQ-BCS").clauses
    assert clause == Phrase("folded", ["96", "nq", "bcs"])


def test_adjacent_words_score_their_pair_term(builder):
    parsed = builder.parse("chính sách mới")
    assert [term.text for term in parsed.boosts] == ["chinh_sach", "sach_moi"]
    assert all(term.fieldname == "pairs" for term in parsed.boosts)
    assert isinstance(parsed.all_words(), And)


def test_exclusion_and_or(builder):
    parsed = builder.parse('"tuyên truyền" -Nghệ')
    assert isinstance(parsed.all_words(), AndNot)
    assert parsed.excluded == [Term("exact", "nghệ")]
    parsed = builder.parse("BHTN OR thất nghiệp")
    assert len(parsed.clauses) == 2 and isinstance(parsed.clauses[0], Or)


def test_all_words_requires_every_clause(builder):
    parsed = builder.parse('hội nghị "y tế"')
    assert parsed.tiered
    scored, *required = parsed.all_words().children()
    assert required == parsed.clauses


@pytest.mark.parametrize("text", ["", "   ", "***", "-bhxh", '""', "-a -b", "!!! ??"])
def test_queries_with_nothing_to_search_are_refused(builder, text):
    with pytest.raises(QueryError):
        builder.parse(text)


def test_overlong_query_is_refused(builder):
    with pytest.raises(QueryError, match="longer"):
        builder.parse("bảo " * 200)


def test_wildcards_are_separators_not_expansions(builder):
    parsed = builder.parse("bao*")
    assert parsed.clauses == [Term("folded", "bao")]


@pytest.mark.parametrize(
    "text, words",
    [
        ("OR bhxh", {"bhxh"}),
        ("-bhyt OR bhxh", {"bhxh"}),
        ("bhxh OR OR y", {"bhxh", "y"}),
    ],
)
def test_an_or_without_a_searchable_item_before_it_is_ignored(builder, text, words):
    parsed = builder.parse(text)
    assert {term for field, term in parsed.any_word().iter_all_terms() if field == "folded"} >= words
