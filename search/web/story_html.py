"""The HTML of stories on the pages: a collapsed hit's "Cùng sự kiện" line, which opens (a
`<details>`, so without JavaScript too, and by keyboard: its summary is focusable) to the
story's other articles, and the article view's lists of its story and of related coverage.
Everything is escaped where it is placed, as in `search.web.render`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

_e = html.escape
#: Outlets named on a collapsed hit's line before "…".
SHOWN_SOURCES = 2


def _url(article_id: str, q: str | None) -> str:
    return f"/read/{quote(article_id, safe='')}" + (f"?{urlencode({'q': q})}" if q else "")


def _items(articles: Iterable[Mapping[str, Any]], q: str | None) -> str:
    rows = []
    for article in articles:
        meta = " · ".join(_e(str(part)) for part in (article.get("date"), article.get("source")) if part)
        rows.append(
            f'<li><a href="{_e(_url(str(article["id"]), q))}">{_e(str(article.get("title") or article["id"]))}</a>'
            + (f' <span class="meta">{meta}</span>' if meta else "")
            + "</li>"
        )
    return "".join(rows)


def hit_story(hit: Mapping[str, Any], q: str) -> str:
    """ "Cùng sự kiện: 4 bài (VOV, Tuổi Trẻ, …)" for a hit whose story has several articles."""
    story = hit.get("story") or {}
    size = int(story.get("size") or 1)
    if size < 2:
        return ""
    sources = [str(s) for s in story.get("sources") or []]
    named = ", ".join(_e(s) for s in sources[:SHOWN_SOURCES]) + (", …" if len(sources) > SHOWN_SOURCES else "")
    label = f"Cùng sự kiện: {size} bài" + (f" ({named})" if named else "")
    return f"""<details class="story">
<summary>{label}</summary>
<ul>{_items(hit.get("story_articles") or [], q)}</ul>
</details>"""


def article_lists(article: Mapping[str, Any], related: Iterable[Mapping[str, Any]], q: str | None) -> str:
    """The article view's "Cùng sự kiện" (the story's other articles) and "Bài liên quan"."""
    parts = []
    story = article.get("story") or {}
    mates = list(story.get("articles") or [])
    if mates:
        parts.append(
            f'<section class="story-articles" aria-labelledby="story-heading">'
            f'<h2 id="story-heading">Cùng sự kiện ({len(mates) + 1} bài)</h2><ul>{_items(mates, q)}</ul></section>'
        )
    others = [r for r in related if not r.get("same_story")]
    if others:
        parts.append(
            f'<section class="related" aria-labelledby="related-heading">'
            f'<h2 id="related-heading">Bài liên quan</h2><ul>{_items(others, q)}</ul></section>'
        )
    return "\n".join(parts)
