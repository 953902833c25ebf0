"""What a search asks and answers: the request, the hits, the page of results, an article.

These are plain values shared by the searcher, the web layer and the CLI; `to_json` gives the
API's shape.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from search.searching.timeline import Timeline

SORTS = ("relevance", "date")
#: Besides `SORTS`, feeds order by "updated": the date and time, or when indexed (undated).
ORDERS = (*SORTS, "updated")
MAX_PER_PAGE = 50
MAX_RESULT_WINDOW = 1000
SNIPPET_CHARS = 240


@dataclass(frozen=True)
class SearchRequest:
    """What the user asked for; validated by the caller (the API or the CLI)."""

    q: str
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    source: str | None = None
    #: A timeline of every match by "day", "week", "month", "year" or "auto"; None: no timeline.
    histogram: str | None = None
    #: False for lists that show no text (exports, feeds built elsewhere): highlighting is skipped.
    snippets: bool = True
    #: One article per story (the best), paginated by story; off for exports and feeds, which
    #: list every article (`/search` and `vnsearch search` turn it on).
    collapse: bool = False
    #: True: each hit says what matched and what each part added (`search.searching.explain`).
    explain: bool = False


@dataclass
class Hit:
    id: str
    title: str
    date: str | None
    time: str | None
    source: str | None
    author: str | None
    score: float | None
    title_html: str
    snippet_html: str
    #: ISO datetime with offset: the article's date and time, or (undated) when it was indexed.
    updated: str | None = None
    #: The article's own address, where the source gives one.
    url: str | None = None
    #: `{id, size, sources}` of the article's story (`search.searching.stories`).
    story: dict[str, object] | None = None
    #: What matched and what each part added, when the request asked (`Explanation.to_json`).
    explain: dict[str, Any] | None = None


_HIT_FIELDS = tuple(f.name for f in dataclasses.fields(Hit))


def _hit_json(hit: Hit) -> dict[str, Any]:
    """A hit's fields, in their order: a copy of the instance's dict (its `__init__` sets every
    field in order), many times cheaper than a `getattr` per field, unless something else was
    set on it; `explain` only when asked for (`explain=1`)."""
    data = dict(vars(hit))
    if len(data) != len(_HIT_FIELDS):
        data = {name: getattr(hit, name) for name in _HIT_FIELDS}
    if data["explain"] is None:
        del data["explain"]
    return data


@dataclass
class SearchResult:
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    #: "Did you mean": the query with marks restored or a misspelling corrected, else None.
    suggestion: str | None = None
    #: True when the time budget ran out: the hits and counts are what was found by then.
    partial: bool = False
    #: Matches over time, when the request asked for it.
    timeline: Timeline | None = None
    #: Shards of a sharded index that could not answer (the result is then partial); None
    #: when every shard answered.
    missing_shards: list[int] | None = None
    #: How many stories the matching articles are in.
    total_stories: int | None = None

    def to_json(self) -> dict[str, object]:
        """The fields as JSON types: new dicts and lists over the same (immutable) values, which
        is what `dataclasses.asdict` gives at a fraction of the cost (it deep-copies each one).
        A timeline is there only when one was asked for, `missing_shards` only when some were."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["hits"] = [_hit_json(hit) for hit in self.hits]
        data["facets"] = {name: dict(counts) for name, counts in self.facets.items()}
        if self.timeline is None:
            del data["timeline"]
        else:
            data["timeline"] = self.timeline.to_json()
        if self.missing_shards is None:
            del data["missing_shards"]
        return data


@dataclass
class ArticleView:
    """A stored article, and its text highlighted when a query is given."""

    fields: dict[str, object]
    title_html: str | None = None
    body_html: str | None = None
    first_match: int | None = None
    #: `{id, size, articles: [{id, title, date, source}]}`: the story, its other articles.
    story: dict[str, object] | None = None

    def to_json(self) -> dict[str, object]:
        data = {
            k: self.fields.get(k) for k in ("id", "title", "date", "time", "source", "author", "url", "topic", "body")
        }
        if self.story is not None:
            data["story"] = self.story
        if self.body_html is not None:
            data.update(title_html=self.title_html, body_html=self.body_html, first_match=self.first_match)
        return data


def footprint(result: SearchResult) -> int:
    """About how many bytes a result holds: its strings at two bytes a character (Vietnamese
    text is stored as UCS-2) plus the objects around them."""
    chars = sum(
        len(h.id)
        + len(h.title)
        + len(h.title_html)
        + len(h.snippet_html)
        + len(h.source or "")
        + len(h.author or "")
        + len(h.date or "")
        for h in result.hits
    )
    facets = sum(len(name) for counts in result.facets.values() for name in counts)
    objects = 8 * len(result.hits) + 2 * sum(len(counts) for counts in result.facets.values()) + 8
    if result.timeline is not None:
        objects += 3 * len(result.timeline.buckets)
    for hit in result.hits:
        if hit.explain is not None:  # a few dicts per matched part
            parts = hit.explain["matched"]
            chars += sum(len(part["text"]) for part in parts)
            objects += 4 * len(parts) + 4
    return 2 * (chars + facets + len(result.suggestion or "")) + 64 * objects
