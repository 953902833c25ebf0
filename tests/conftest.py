"""Fixtures that build small real indexes: the bundled seed corpus, or articles a test writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from search.acronyms import load_synonyms
from search.article import Article
from search.corpus import iter_corpus
from search.indexer import build
from search.searcher import SearchIndex

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("seed-index")
    report = build(index_dir, iter_corpus([CORPUS]))
    assert report.added == 5 and not report.failed
    return index_dir


@pytest.fixture(scope="session")
def seed_index(seed_index_dir: Path) -> SearchIndex:
    return SearchIndex(seed_index_dir, load_synonyms())


@pytest.fixture
def make_index(tmp_path: Path) -> Callable[..., SearchIndex]:
    """Index the given articles (Article objects, or dicts of Article fields) in a fresh dir."""

    def make(*articles: Article | dict) -> SearchIndex:
        items = [a if isinstance(a, Article) else Article(**a) for a in articles]
        index_dir = tmp_path / "index"
        build(index_dir, items)
        return SearchIndex(index_dir, load_synonyms())

    return make


def ids(result) -> list[str]:
    return [hit.id for hit in result.hits]
