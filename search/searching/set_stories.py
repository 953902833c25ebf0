"""Stories of a sharded set as its searchers see them: the one graph the set's writer saves with
each commit (`search.index.stories.sets`), read by every shard for what it collapses and counts
by (`ShardStories`) and by the front for what it shows of a story (`SetStories`).

Why collapsing in the shards and again in the front gives one index's page: a shard collapses
its own matches by the set's stories and offers the first stories of its ranking, each by its
best article there, up to the page's last position. A story's best article in the set is the
first of its story in its own shard, and every story that shard ranks above it is ranked above
it in the set too; so every story of the page is offered, by its best article, and the front,
keeping the first article of each story in the merged ranking, finds one index's window.

Stories are counted by number: the set's stories of several, their ids sorted (the same numbers
in every shard, which read the same graph), plus the matching articles that are a story of
their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.reading import IndexReader

from search.index.engine import readers
from search.index.stories import saved
from search.index.stories.text import DEFAULT
from search.searching.stories import ARTICLE_KEYS, CommitMemo

#: The stored fields of articles by id, as the front gets them from their shards.
Described = dict[str, dict]


class ShardStories:
    """The set's stories over one shard's documents: `codes[d]` is the same for the documents
    of a story held here, and `number[d]` is its story's number (-1: a story of its own)."""

    def __init__(self, live: Path, commit: int, reader: IndexReader) -> None:
        grouped = saved.load(live, commit, DEFAULT.same_event).stories()
        count = reader.doc_count_all()
        self.number = np.full(count, -1, dtype=np.int64)
        if grouped:
            numbers = {name: i for i, name in enumerate(sorted(set(grouped.values())))}
            ids = readers.column(reader, "id")
            for d in np.flatnonzero(readers.live(reader)).tolist():
                found = numbers.get(grouped.get(ids[d], ids[d]))
                if found is not None:
                    self.number[d] = found
        self.codes = np.where(self.number >= 0, count + self.number, np.arange(count))
        #: What related coverage and the set's counts make once for this commit.
        self.cached = CommitMemo()

    def count(self, mask: np.ndarray) -> tuple[int, np.ndarray]:
        """The matches of `mask` that are stories of their own, and the numbers of the other
        stories they are in."""
        numbers = self.number[mask]
        return int(np.count_nonzero(numbers < 0)), np.unique(numbers[numbers >= 0])


def total_stories(parts: Iterable[tuple[int, np.ndarray]]) -> int:
    """Stories of a search from the shards' `ShardStories.count`s: a story held by several
    shards counts once."""
    singles, numbers = 0, [np.zeros(0, dtype=np.int64)]
    for own, several in parts:
        singles += own
        numbers.append(several)
    return singles + len(np.unique(np.concatenate(numbers)))


class SetStories:
    """The set's stories for one commit, as the front shows them."""

    def __init__(self, live: Path, commit: int) -> None:
        self.graph = saved.load(live, commit, DEFAULT.same_event)
        self._members: dict[str, list[str]] = {}
        for article_id, story in sorted(self.graph.stories().items()):
            self._members.setdefault(story, [story]).append(article_id)

    def story_of(self, article_id: str) -> str:
        return self.graph.story_of(article_id)

    def members(self, story_id: str) -> list[str]:
        """The ids of a story of several (empty for an article that is a story of its own)."""
        return self._members.get(story_id, [])

    def first_of_each(self, ranked: Iterable[tuple[int, Any]], end: int) -> list[tuple[int, Any]]:
        """The first (shard, candidate) of each story in `ranked`, up to `end` stories."""
        chosen, seen = [], set()
        for entry in ranked:
            story = self.story_of(entry[1][1])
            if story not in seen:
                seen.add(story)
                chosen.append(entry)
                if len(chosen) >= end:
                    break
        return chosen

    def wanted(self, article_ids: Iterable[str]) -> list[str]:
        """Every member of the stories of `article_ids`, whose fields a summary shows."""
        return sorted({m for a in article_ids for m in self.members(self.story_of(a))})

    def articles(self, story_id: str, described: Described, leave_out: str | None = None) -> list[dict[str, object]]:
        """`{id, title, date, source}` of a story's articles, oldest first (undated last), as
        `StoryTable.articles` orders one index's."""
        found = [described[m] for m in self.members(story_id) if m in described]
        found.sort(key=lambda f: (not f.get("date"), f.get("date") or "", f["id"]))
        return [{name: f.get(name) for name in ARTICLE_KEYS} for f in found if f["id"] != leave_out]

    def summary(self, fields: dict, described: Described) -> dict[str, object]:
        """`{id, size, sources}` of the story an article is in (`StoryTable.summary`)."""
        story = self.story_of(fields["id"])
        members = self.articles(story, described)
        if not members:
            return {"id": story, "size": 1, "sources": [fields["source"]] if fields.get("source") else []}
        sources = list(dict.fromkeys(str(m["source"]) for m in members if m.get("source")))
        return {"id": story, "size": len(members), "sources": sources}
