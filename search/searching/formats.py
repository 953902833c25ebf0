"""A page of results in the formats people take them away in: CSV for a spreadsheet, JSON Lines
for scripts, and an Atom feed (RFC 4287) for a feed reader following a saved search.

Shared by the web layer (`/search.csv`, `/feed`) and the CLI (`vnsearch search --format`), so
a file downloaded from the page and one written by the command are the same. Every text field
of an article may hold markup, quotes or formulas it was scraped with: the feed is built with
an XML serializer (which escapes everything), and CSV cells that a spreadsheet would run as a
formula are neutralised.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from urllib.parse import quote, urlencode

from search.searching.results import Hit, SearchResult

CSV_COLUMNS = ("id", "date", "source", "author", "title", "url", "score")
#: A byte-order mark: without it Excel reads a UTF-8 file as the machine's legacy code page.
BOM = "\ufeff"
#: What a spreadsheet takes a cell for a formula by (OWASP's list: tab and carriage return too).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

ATOM = "http://www.w3.org/2005/Atom"
#: Characters XML 1.0 cannot hold at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_NAMESPACE = uuid.UUID("2f7d3e1c-93c5-4f3e-9d8b-6c1f0a5e4b27")  # vnsearch's: ids are uuid5 in it


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _when(hit: Hit) -> str:
    return f"{hit.date} {hit.time}" if hit.date and hit.time else hit.date or ""


def csv_text(hits: Iterable[Hit], extra: dict[str, dict[str, object]] | None = None) -> str:
    """The hits as CSV with a header row (and a byte-order mark), one row a hit; `extra` adds
    columns (by hit id) after the standard ones."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = list(CSV_COLUMNS)
    extra = extra or {}
    added = sorted({name for row in extra.values() for name in row})
    writer.writerow(columns + added)
    for hit in hits:
        row: list[object] = [hit.id, _when(hit), hit.source, hit.author, hit.title, hit.url, hit.score]
        row += [extra.get(hit.id, {}).get(name) for name in added]
        writer.writerow([_cell("" if value is None else value) for value in row])
    return BOM + out.getvalue()


def story_columns(hits: Iterable[Hit]) -> dict[str, dict[str, object]]:
    """The `story` column of an export: each article's story id, so a spreadsheet can group."""
    return {hit.id: {"story": hit.story["id"]} for hit in hits if hit.story}


def jsonl_text(hits: Iterable[Hit]) -> str:
    """One JSON object a hit, as `/search` gives hits."""
    return "".join(json.dumps(vars(hit), ensure_ascii=False) + "\n" for hit in hits)


def entry_id(article_id: str) -> str:
    """An article's Atom id: the same for the same article in every feed, on every host."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, article_id)}"


def read_url(base: str, article_id: str, q: str | None = None) -> str:
    """The address of the article view, highlighted for `q`."""
    return f"{base}/read/{quote(article_id, safe='')}" + (f"?{urlencode({'q': q})}" if q else "")


def atom(
    result: SearchResult,
    query: dict[str, str],
    base: str,
    feed_url: str,
    updated: dt.datetime,
) -> bytes:
    """The hits as an Atom feed of the search `query` (its parameters, for the feed's id and
    links); `updated` is when the index last changed, which the feed's content follows."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "vi")
    described = ", ".join(f"{name} {value}" for name, value in sorted(query.items()) if name != "q")
    _text(feed, "title", f"vnsearch: {query.get('q', '')}" + (f" ({described})" if described else ""))
    _text(feed, "id", entry_id("feed?" + urlencode(sorted(query.items()))))
    _text(feed, "updated", updated.isoformat(timespec="seconds"))
    _link(feed, "self", feed_url, "application/atom+xml")
    _link(feed, "alternate", f"{base}/?{urlencode(query)}", "text/html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "vnsearch")
    _text(feed, "generator", "vnsearch")
    for hit in result.hits:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", entry_id(hit.id))
        _text(entry, "title", hit.title)
        _text(entry, "updated", hit.updated or updated.isoformat(timespec="seconds"))
        byline = ET.SubElement(entry, f"{{{ATOM}}}author")
        _text(byline, "name", hit.source or hit.author or "vnsearch")
        if hit.source:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=hit.source)
        _link(entry, "alternate", read_url(base, hit.id, query.get("q")), "text/html")
        if hit.snippet_html:
            _text(entry, "summary", hit.snippet_html).set("type", "html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    element.text = _NOT_XML.sub("", text)  # the serializer escapes; these it cannot
    return element


def _link(parent: ET.Element, rel: str, href: str, kind: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", rel=rel, href=href, type=kind)
