"""The Whoosh schema, its version, and the mapping from an `Article` to a Whoosh document.

Whoosh pickles the schema (analyzers included) into the index, so a change to the fields or to
the analysis must bump `SCHEMA_VERSION`: the index name carries the version, and an index built
by another version is refused with a message to rebuild instead of silently giving wrong results.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from whoosh.fields import DATETIME, ID, STORED, Schema

from search.corpus import dates
from search.corpus.article import Article
from search.index.fields import ColumnOnly, DigestColumn, PairText, VietnameseText
from search.index.stories.field import CopyColumn
from search.text.analysis import exact_analyzer, folded_analyzer, pair_analyzer

SCHEMA_VERSION = 11
INDEX_NAME = f"articles_v{SCHEMA_VERSION}"
_INDEX_NAME_RE = re.compile(r"^_(articles_v\d+)_\d+\.toc$")


class SchemaMismatch(RuntimeError):
    """The index directory holds an index built by another schema or analyzer version."""


def build_schema() -> Schema:
    """Title and body go into one field each way: one field over both ranked better than BM25F
    over separate title and body fields on the judged Vietnamese sets. Only the folded field
    keeps positions: a phrase typed with diacritics is the folded phrase where each of its exact
    words occurs (see `query.exact_phrase`), and positions were half the exact field's size.
    `pairs` holds adjacent folded words as terms, for ranking multi-syllable words as units
    (see `PairTokenizer`). `time` sorts articles of one day; `indexed` is when the article was
    last written, for feeds of articles without a date. `copies` finds an article's copies for
    story grouping (`search.index.stories`)."""
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        hash=DigestColumn(),
        exact=VietnameseText(analyzer=exact_analyzer(), phrase=False),
        folded=VietnameseText(analyzer=folded_analyzer(), phrase=True),
        pairs=PairText(analyzer=pair_analyzer()),
        day=DATETIME(),
        date=ID(stored=True, sortable=True),
        time=ID(stored=True, sortable=True),
        year=ID(sortable=True),
        source=ID(stored=True, sortable=True),
        title=STORED(),
        body=STORED(),
        author=STORED(),
        url=STORED(),
        topic=STORED(),
        path=STORED(),
        indexed=ColumnOnly(stored=True),
        copies=CopyColumn(),
    )


def to_document(article: Article, indexed: str) -> dict[str, object]:
    """Whoosh fields for one article, written at `indexed` (an ISO datetime in UTC); a field the
    article lacks is left out, not filled in."""
    text = f"{article.title}\n\n{article.body}"
    doc: dict[str, object] = {
        "id": article.id,
        "hash": article.content_hash,
        "exact": text,
        "folded": text,
        "pairs": text,
        "title": article.title,
        "body": article.body,
        "indexed": indexed,
        "copies": article.body,  # the same string object: pickled once for a build process
    }
    if article.date:
        doc["date"] = article.date
        doc["day"] = dt.datetime.combine(dates.first_day(article.date), dt.time.min)
        doc["year"] = article.date[:4]
    for name in ("time", "source", "author", "url", "topic", "path"):
        value = getattr(article, name)
        if value:
            doc[name] = value
    return doc


def other_versions(index_dir: Path) -> list[str]:
    """Names of indexes in `index_dir` written by a schema version other than this one."""
    if not index_dir.is_dir():
        return []
    names = {m.group(1) for p in index_dir.iterdir() if (m := _INDEX_NAME_RE.match(p.name))}
    return sorted(names - {INDEX_NAME})
