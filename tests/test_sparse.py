"""Masks and scores at chosen documents are exactly the whole evaluation's."""

from __future__ import annotations

import numpy as np
import pytest

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
