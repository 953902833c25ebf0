"""Masks and scores at chosen documents are exactly the whole evaluation's."""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import query as wq

from search.query.acronyms import load_synonyms
from search.query.parse import QueryBuilder
from search.searching.evaluate import Evaluator
from search.searching.sparse import Evaluation
from tests.test_evaluate import QUERIES
from tests.test_evaluate import index as index  # noqa: F401 (the fixture: several segments, deletions)


@pytest.mark.parametrize("q", QUERIES)
def test_masks_and_scores_at_chosen_documents_are_the_whole_evaluations(index, q):
    """The same numbers, not close ones: a page ranked from `scores_at` is the page ranked
    from whole evaluations, ties included; with few documents (scored where they are) and with
    every document (the whole evaluation)."""
    searcher = index.searcher()
    parsed = QueryBuilder(load_synonyms()).parse(q, searcher.reader())
    rng = np.random.default_rng(15)
    size = searcher.reader().doc_count_all()
    for query in (parsed.any_word(), parsed.all_words()):
        whole = Evaluator(searcher).evaluate(query)
        evaluation = Evaluation(Evaluator(searcher))
        assert np.array_equal(evaluation.mask(query), whole.mask)
        matched = np.flatnonzero(whole.mask)
        # Three documents are searched for in each term's postings, forty read from its
        # scores spread over the index: both give the whole evaluation's numbers.
        for count in (3, 20):
            few = np.concatenate([matched[:count], rng.choice(size, count, replace=False)])
            assert np.array_equal(evaluation.scores_at(query, few), whole.scores[few])
        assert not evaluation._spreads  # scored where asked, nothing evaluated whole
        every = np.arange(size)
        assert np.array_equal(Evaluation(Evaluator(searcher)).scores_at(query, every), whole.scores)


def _shapes() -> list[wq.Query]:
    """Intersections with and without a union that holds one of their parts (nested, boosted),
    next to unions, optional parts and exclusions of them: every branch of the masks and of
    the scores computed over the whole index without the evaluation's masks."""
    a, b, c = wq.Term("folded", "bao"), wq.Term("folded", "nguoi", boost=1.5), wq.Term("folded", "thue")
    phrase = wq.Phrase("folded", ["y", "te"])
    pair = wq.Term("pairs", "bao_hiem", boost=2.0)
    held = wq.And([wq.Or([a, b, pair]), a, b])
    nested = wq.And([wq.Or([wq.Or([c, phrase], boost=0.5), pair]), phrase])
    free = wq.And([wq.Or([b, c]), a], boost=1.5)
    return [
        held,
        nested,
        free,
        wq.And([phrase, a, c]),
        wq.And([wq.Or([a, b]), wq.Or([b, c])]),
        wq.Or([held, free, c], boost=0.5),
        wq.AndMaybe(held, wq.Or([pair, phrase])),
        wq.AndNot(wq.Or([held, c]), wq.Or([phrase, b])),
    ]


@pytest.mark.parametrize("n", range(len(_shapes())))
def test_every_shape_masks_and_scores_as_the_whole_evaluation(index, n):
    """Built by hand rather than parsed: a union holding a part of its intersection is left
    out of the mask, a union that does not is intersected; the scores over every document
    (the whole-index path) and at a few (searched and spread) are the whole evaluation's."""
    searcher = index.searcher()
    query = _shapes()[n]
    whole = Evaluator(searcher).evaluate(query)
    evaluation = Evaluation(Evaluator(searcher))
    assert np.array_equal(evaluation.mask(query), whole.mask)
    size = searcher.reader().doc_count_all()
    few = np.flatnonzero(whole.mask)[:5]
    assert np.array_equal(evaluation.scores_at(query, few), whole.scores[few])
    every = np.arange(size)
    assert np.array_equal(evaluation.scores_at(query, every), whole.scores[every])
    assert np.array_equal(evaluation.scores_over(query, every), whole.scores)


def test_a_union_holding_a_part_is_not_read_for_the_mask(index, monkeypatch):
    """The first tier's scored union holds each clause: its mask (and the pair term it alone
    holds) is never made, and the intersection is still the whole evaluation's."""
    searcher = index.searcher()
    a, b = wq.Term("folded", "bao"), wq.Term("folded", "nguoi")
    query = wq.And([wq.Or([a, b, wq.Term("pairs", "bao_hiem")]), a, b])
    evaluator = Evaluator(searcher)
    asked: list[str] = []
    term = evaluator.term
    monkeypatch.setattr(evaluator, "term", lambda field, text: asked.append(text) or term(field, text))
    mask = Evaluation(evaluator).mask(query)
    assert "bao_hiem" not in asked
    assert np.array_equal(mask, Evaluator(searcher).evaluate(query).mask)


@pytest.mark.parametrize("count", [2, 400])
def test_hits_search_few_documents_and_look_many_up(index, count):
    """Which documents a term, a phrase or a union of them matches: by binary search for a few
    documents, by look-up in a mask for many; deleted ones are among them and are answered
    as their postings say (the intersection's mask drops them after)."""
    searcher = index.searcher()
    docs = np.arange(min(count, searcher.reader().doc_count_all()))
    evaluator = Evaluator(searcher)
    evaluation = Evaluation(evaluator)
    for query in (wq.Term("folded", "thue"), wq.Phrase("folded", ["y", "te"]), wq.Or([wq.Term("folded", "bao")])):
        expected = np.zeros(searcher.reader().doc_count_all(), dtype=bool)
        for sub in getattr(query, "subqueries", [query]):
            leaf = evaluator.leaf(sub)
            assert leaf is not None
            expected[leaf.ids] = True
        assert np.array_equal(evaluation._hits(docs, query), expected[docs])


def test_the_bits_of_kept_lists_give_what_their_postings_give(index):
    """A kept list of one posting in `scored.BITS_SHARE` documents or more keeps its bits, and
    masks, the candidates that hold it and its scores at chosen documents are read from them:
    the same as an evaluator that keeps no bits reads from the postings alone, for lists with
    bits and lists without in the same queries."""
    searcher = index.searcher()
    size = searcher.reader().doc_count_all()
    builder = QueryBuilder(load_synonyms())
    with_bits, without = Evaluator(searcher), Evaluator(searcher)
    without.cache.documents = 0
    rng = np.random.default_rng(16)
    for q in QUERIES:
        parsed = builder.parse(q, searcher.reader())
        for query in (parsed.any_word(), parsed.all_words()):
            a, b = Evaluation(with_bits), Evaluation(without)
            assert np.array_equal(a.mask(query), b.mask(query))
            # An eighth of the index: scored where they are, not over the whole index.
            docs = np.sort(rng.choice(size, size // 8, replace=False))
            assert np.array_equal(a.scores_at(query, docs), b.scores_at(query, docs))
            assert np.array_equal(a._hits(docs, query), b._hits(docs, query))
    kept = list(with_bits.cache._items.values())
    assert any(p.bits is not None for p in kept) and any(p.bits is None and len(p.ids) for p in kept)
    assert all(p.bits is None for p in without.cache._items.values())


def test_an_accented_words_exact_form_is_not_read_for_the_mask(index, monkeypatch):
    """A word typed with marks is its exact form or its folded form; the exact form only adds
    a score (see `search.query.implied`), so the intersection of the first tier reads the
    folded forms alone, and is still the whole evaluation's."""
    searcher = index.searcher()
    query = QueryBuilder(load_synonyms()).parse("bảo hiểm xã hội", searcher.reader()).all_words()
    evaluator = Evaluator(searcher)
    asked: list[str] = []
    term = evaluator.term
    monkeypatch.setattr(evaluator, "term", lambda field, text: asked.append(field) or term(field, text))
    mask = Evaluation(evaluator).mask(query)
    assert asked and "exact" not in asked
    assert np.array_equal(mask, Evaluator(searcher).evaluate(query).mask)
