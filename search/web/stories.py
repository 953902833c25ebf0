"""Stories and related coverage over HTTP: `/articles/{id}/related`, `/stories/{id}`, and what
the pages show of them.

Article ids may contain "/", so `/articles/{id}` takes the rest of the path, and an id may
itself end in "/related". The exact article wins: `/articles/x/related` is the article
"x/related" when there is one, else the related coverage of "x"; `?view=related` asks for the
related coverage of the whole id, whatever it ends in (`/articles/x?view=related`).
"""

from __future__ import annotations

import falcon

from search.searching.opening import Searchable
from search.searching.related import MAX_RELATED
from search.web import params
from search.web.errors import InvalidParam
from search.web.holder import IndexHolder

SUFFIX = "/related"
VIEWS = ("article", "related")


def related_of(index: Searchable, req: falcon.Request, article_id: str) -> str | None:
    """The id whose related coverage `req` asks for, or None when it asks for the article."""
    view = req.get_param("view") or "article"
    if view not in VIEWS:
        raise InvalidParam(f"Expected one of: {', '.join(VIEWS)}.", "view")
    if view == "related":
        return article_id
    if article_id.endswith(SUFFIX) and index.article(article_id) is None:
        return article_id[: -len(SUFFIX)]
    return None


def related_answer(index: Searchable, req: falcon.Request, article_id: str) -> dict[str, object]:
    limit = params.whole(req, "limit", 10, 1, MAX_RELATED)
    found = index.related(article_id, limit)
    if found is None:
        raise _not_found("article", article_id)
    return {"id": article_id, "related": [r.to_json() for r in found]}


def _not_found(kind: str, key: str) -> falcon.HTTPNotFound:
    shown = key if len(key) <= 80 else key[:80] + "…"
    return falcon.HTTPNotFound(title=f"No such {kind}", description=f"No {kind} has the id {shown!r}.")


class StoryResource:
    """`/stories/{id}`: a story's articles, oldest first."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def on_get(self, req: falcon.Request, resp: falcon.Response, story_id: str) -> None:
        found = self.holder.get().story(story_id)
        if found is None:
            raise _not_found("story", story_id)
        resp.media = found


def page_stories(index: Searchable, result: dict) -> None:
    """Adds to each hit of a story of several the story's other articles, for the page to list."""
    for hit in result.get("hits", []):
        story = hit.get("story") or {}
        if int(story.get("size") or 1) > 1:
            found = index.story(str(story["id"]))
            articles: list[dict] = found["articles"] if found else []  # type: ignore[assignment]
            hit["story_articles"] = [a for a in articles if a["id"] != hit["id"]]
