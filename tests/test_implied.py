"""Which part of a parsed union matches wherever the union does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.query import And, Or, Phrase, Term

from search.query.acronyms import load_synonyms
from search.query.implied import covering, implies
from search.query.parse import QueryBuilder
from search.text.analysis import exact_analyzer, folded_analyzer
from search.text.normalize import fold

#: Letters and marks that make Vietnamese words awkward: precomposed and combining tones,
#: "đ", old and new tone places, capitals, digits and a few other scripts' letters.
_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
_TEXT = st.text(alphabet=_LETTERS + "\u0300\u0301\u0303\u0309\u0323 0123456789ßΩж-/.", max_size=40)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_a_words_exact_term_folds_to_its_folded_term(text):
    """What `implies` rests on: the exact and folded analyzers give one term each for the same
    words, and folding the exact one gives the folded one, so an article with the exact term
    has the folded term of the same word."""
    exact = [t.text for t in exact_analyzer()(text)]
    folded = [t.text for t in folded_analyzer()(text)]
    assert len(exact) == len(folded)
    assert [fold(word) for word in exact] == folded


def test_in_a_real_index_every_exact_term_stands_where_its_folded_term_does(seed_index):
    """The same rule over the bundled articles: each exact term's articles are among those of
    the folded term it folds to."""
    reader = seed_index.searcher().reader()
    exact_terms = [text.decode() for text in reader.lexicon("exact")]
    assert len(exact_terms) > 100
    for text in exact_terms:
        mine = set(reader.postings("exact", text).all_ids())
        assert mine <= set(reader.postings("folded", fold(text)).all_ids()), text


def test_an_accented_words_union_is_covered_by_its_folded_form():
    parsed = QueryBuilder(load_synonyms()).parse("Bảo")
    (clause,) = parsed.clauses
    assert isinstance(clause, Or)
    assert covering(clause) == Term("folded", "bao")


def test_an_accented_phrases_union_is_covered_by_the_folded_phrase():
    parsed = QueryBuilder(load_synonyms()).parse('"bảo hiểm"')
    (clause,) = parsed.clauses
    assert covering(clause) == Phrase("folded", ["bao", "hiem"])


def test_unions_of_different_words_have_no_cover():
    parsed = QueryBuilder(load_synonyms()).parse("năm OR hòa")
    (clause,) = parsed.clauses
    assert covering(clause) is None
    # An acronym's forms: none holds the others' articles.
    (acronym,) = QueryBuilder(load_synonyms()).parse("BHXH").clauses
    assert covering(acronym) is None


def test_what_implies_knows():
    bao = Term("folded", "bao")
    assert implies(Term("exact", "bão"), bao)
    assert implies(Term("folded", "bao", boost=2.0), bao)  # boosts aside
    assert not implies(bao, Term("exact", "bão"))  # folding loses the marks
    assert not implies(Term("exact", "bão"), Term("folded", "bo"))
    assert not implies(Term("exact", "bão"), Term("pairs", "bao"))
    phrase = Phrase("folded", ["y", "te"])
    assert implies(And([Phrase("folded", ["y", "te"], boost=0.0), Term("exact", "tế")]), phrase)
    assert not implies(Or([phrase, bao]), phrase)  # a union matches more than any part
    assert not implies(Phrase("folded", ["y", "te"], slop=2), phrase)
