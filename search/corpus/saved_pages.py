"""Saved HTML pages of news sites, read with trafilatura's main-content extraction.

A saved page holds the article among menus, banners, related-article lists, comment threads
and footers; telling them apart by hand-written tag rules breaks with every site redesign, so
the article text and its metadata (title, date, outlet, author, address) come from trafilatura,
which scores the page's blocks and reads the page's own metadata (Open Graph, JSON-LD, <meta>).
Dates are taken only from the page's markup and text, never guessed from elsewhere.
"""

from __future__ import annotations

import re
from typing import Any

import trafilatura

from search.corpus.article import Article
from search.corpus.dates import parse_datetime
from search.corpus.encodings import repair_font_text
from search.corpus.errors import NoContentError
from search.corpus.jsonl import json_body
from search.corpus.outlets import OUTLETS
from search.corpus.scraped import derive_title
from search.text.normalize import normalize

#: Fewer words than this is a menu, an error page or a stub, not an article (the shortest news
#: items in the corpora are a sentence or two).
MIN_WORDS = 12
#: Where a page states when it was published: <meta property="article:published_time"
#: content="..."> (either attribute order) or "datePublished": "..." in its JSON-LD.
_PUBLISHED_RE = re.compile(
    r"""(?:(?:property|itemprop|name)=["'](?:article:published_time|datePublished)["'][^>]*?content=["'](?P<value>[^"']+)"""
    r"""|content=["'](?P<value2>[^"']+)["'][^>]*?(?:property|itemprop|name)=["'](?:article:published_time|datePublished)"""
    r"""|"datePublished"\s*:\s*"(?P<value3>[^"]+)")""",
    re.I,
)
#: The metadata is in the page's head: no need to scan a whole saved page for it.
_HEAD_BYTES = 1 << 17


def parse_page(data: bytes, article_id: str) -> Article:
    """The article in a saved page; `NoContentError` when the page has no article text."""
    doc: Any = trafilatura.bare_extraction(
        data,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if doc is None or not (doc.text or "").strip():
        raise NoContentError("no article text found in the page")
    title = _clean(doc.title)
    lines = [repair_font_text(normalize(line)).strip() for line in doc.text.splitlines()]
    if title and lines and lines[0].casefold() == title.casefold():
        lines = lines[1:]  # the headline is extracted as the first line of the text too
    body = json_body("\n".join(lines))
    if len(body.split()) < MIN_WORDS:
        raise NoContentError("no article text found in the page")
    date = doc.date[:10] if doc.date else None
    return Article(
        id=article_id,
        title=title or derive_title(body.split("\n\n", 1)[0]),
        body=body,
        date=date,
        time=_published_time(data, date),
        source=_outlet(doc.hostname, doc.sitename),
        author=_clean(doc.author),
        url=_clean(doc.url),
    )


def _published_time(data: bytes, date: str | None) -> str | None:
    """The time of day the page's own metadata states for the date trafilatura found (Open
    Graph's `article:published_time`, schema.org's `datePublished`), when it is the same day:
    the extractor keeps only the day."""
    if date is None or len(date) != 10:
        return None
    for match in _PUBLISHED_RE.finditer(data[:_HEAD_BYTES].decode("utf-8", "replace")):
        parsed = parse_datetime(match["value"] or match["value2"] or match["value3"])
        if parsed is not None and parsed[0] == date and parsed[1] is not None:
            return parsed[1]
    return None


def _clean(value: str | None) -> str | None:
    return " ".join(repair_font_text(normalize(value)).split()) or None if value else None


def _outlet(hostname: str | None, sitename: str | None) -> str | None:
    """The outlet as the rest of the corpus names it when the domain is a known one."""
    host = (hostname or "").casefold().removeprefix("www.")
    return OUTLETS.get(host) or _clean(sitename)
