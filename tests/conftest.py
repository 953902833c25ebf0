"""Fixtures that build small real indexes: the bundled seed corpus, or articles a test writes."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.index.engine import readers
from search.index.indexer import build
from search.query.acronyms import load_synonyms
from search.searching.searcher import SearchIndex

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("seed-index")
    report = build(index_dir, iter_corpus([CORPUS]))
    assert report.added == 5 and not report.failed
    return index_dir


@pytest.fixture
def seed_copy(seed_index_dir: Path, tmp_path: Path) -> Path:
    """A copy of the seed index that a test may write to."""
    shutil.copytree(seed_index_dir, tmp_path / "index")
    return tmp_path / "index"


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


def stored_hashes(ix) -> dict[str, str]:
    """Article id -> content hash of every live article of an open index: what a run left."""
    with ix.reader() as reader:
        ids, hashes = readers.column(reader, "id"), readers.column(reader, "hash")
        return {ids[n]: hashes[n] for n in reader.all_doc_ids()}


def ids(result) -> list[str]:
    return [hit.id for hit in result.hits]


#: An article written to break out of HTML wherever its text lands: in a tag, an attribute
#: (both quote styles), a <mark>, a link. Every page and the widget must show it as text.
XSS_ARTICLE = Article(
    id="xss/<b>1\"'",
    title="Tin độc <script>alert('title')</script> \"bảo hiểm\" 'xã hội' </mark><img src=x onerror=alert(1)>",
    body=(
        "Đoạn đầu <script>window.__xss = 1</script> nói về bảo hiểm.\n\n"
        '<img src=x onerror="window.__xss = 2"> " onmouseover="window.__xss=3" \' '
        '</mark><mark>bảo hiểm</mark> &lt;b&gt; &amp; <a href="javascript:window.__xss=4">link</a>'
    ),
    date="2023-03-04",
    source='<i>Báo "Độc"</i>',
    url="javascript:window.__xss=5",
)


@pytest.fixture(scope="session")
def web_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed corpus plus `XSS_ARTICLE`: what the page, widget and browser tests search."""
    index_dir = tmp_path_factory.mktemp("web-index")
    report = build(index_dir, [*iter_corpus([CORPUS]), XSS_ARTICLE])
    assert report.added == 6 and not report.failed
    return index_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(home: Path, **env: str) -> Iterator[str]:
    """A real `gunicorn wsgi:application` configured only by `VNSEARCH_*` variables (2 workers
    unless given), with its own HOME; yields its base URL once /healthz answers."""
    port = free_port()
    # `env` may name VNSEARCH_WORKERS too: a later key wins, where a repeated keyword would raise.
    environ = {**os.environ, "VNSEARCH_PORT": str(port), "VNSEARCH_WORKERS": "2", "HOME": str(home), **env}
    environ.pop("XDG_RUNTIME_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:application"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=5).close()
            break
        except urllib.error.HTTPError:
            break  # answering, if not healthy: the tests say what they expect
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("gunicorn did not start: " + proc.stderr.read().decode(errors="replace")[-2000:])
            time.sleep(0.2)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
