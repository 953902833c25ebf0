"""Stories as a search sees them: a code per document to collapse a page by, and each story's
members, from the graph saved with the commit the searcher reads (`search.index.stories.saved`).

Collapsing keeps the order of the uncollapsed ranking and shows the first (best) article of each
story in it: a page is a window over stories, not articles, and the total and the facets still
count every matching article.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.searching import Searcher

from search.index.engine import readers
from search.index.engine.codec.stored import stored_fields
from search.index.stories import saved
from search.index.stories.text import DEFAULT
from search.searching.evaluate import best

#: What a list of a story's articles gives of each.
ARTICLE_KEYS = ("id", "title", "date", "source")
#: (documents, keys) of one tier of a ranking: its sorted document numbers, and their ranking
#: keys in the same order, best first by descending key; both are made when first asked for (a
#: window the first tier fills never asks the second's).
Tier = tuple[Callable[[], np.ndarray], Callable[[], np.ndarray]]


class CommitMemo:
    """Things made once for one commit on first use, by name (per-document arrays, term
    statistics, kept vectors), shared by its requests."""

    def __init__(self) -> None:
        self._made: dict[str, Any] = {}

    def __call__(self, name: str, make: Callable[[], Any]) -> Any:
        found = self._made.get(name)
        if found is None:
            found = self._made[name] = make()
        return found


class StoryTable:
    """The stories of one commit: `codes[d]` is the same for every document of a story."""

    def __init__(self, searcher: Searcher, folder: Path) -> None:
        reader = searcher.reader()
        self.searcher = searcher
        graph = saved.load(folder, reader.generation(), DEFAULT.same_event)
        self.codes = np.arange(reader.doc_count_all(), dtype=np.int64)
        self._story: dict[str, str] = {}
        self._members: dict[str, list[int]] = {}
        #: (size, sources) of the stories of several articles that pages have shown, made once
        #: for this commit: a story's members and their stored fields stay as they are in it.
        self._summaries: dict[str, tuple[int, tuple[str, ...]]] = {}
        #: What related coverage makes once for this commit.
        self.cached = CommitMemo()
        grouped = graph.stories()
        if grouped:
            ids = readers.column(reader, "id")
            docnum = {ids[d]: int(d) for d in np.flatnonzero(readers.live(reader))}
            for article_id, story in sorted(grouped.items()):
                if article_id in docnum and story in docnum:
                    self._story[article_id] = story
                    self.codes[docnum[article_id]] = docnum[story]
                    self._members.setdefault(story, [docnum[story]]).append(docnum[article_id])
        # For `count`: documents whose code no other has are a story each; the others are
        # numbered by story from 0, so a page's stories are counted over a few small arrays.
        size = len(self.codes)
        self._several = np.flatnonzero(np.bincount(self.codes, minlength=size)[self.codes] > 1)
        codes, numbers = np.unique(self.codes[self._several], return_inverse=True)
        self._story_number = numbers.astype(np.int64)
        self._stories_of_several = len(codes)

    def count(self, mask: np.ndarray) -> int:
        """How many stories the documents of `mask` are in: `count` of this table's codes, over the
        few small arrays it keeps. The documents sharing a story are a small part of the index,
        so their numbers are looked up at their places alone, never over the whole mask."""
        several = self._story_number[mask[self._several]]
        found = np.count_nonzero(np.bincount(several, minlength=self._stories_of_several))
        return int(np.count_nonzero(mask)) - len(several) + int(found)

    def story_of(self, article_id: str) -> str:
        return self._story.get(article_id, article_id)

    def member_set(self, story_id: str) -> set[int]:
        """Document numbers of a story of several articles, in no order (none read)."""
        return set(self._members.get(story_id, ()))

    def _members_read(self, story_id: str) -> list[tuple[int, dict]]:
        """(document number, stored fields) of a story's articles, oldest first (undated last;
        empty for an article that is a story of its own): what sorting them reads is what a
        summary or a list of them shows, read once."""
        reader = self.searcher.reader()
        read = [(d, stored_fields(reader, d)) for d in self._members.get(story_id, [])]
        return sorted(read, key=lambda item: (not item[1].get("date"), item[1].get("date") or "", item[1]["id"]))

    def summary(self, fields: dict) -> dict[str, object]:
        """`{id, size, sources}` of the story an article (its stored fields) is in."""
        story = self.story_of(fields["id"])
        if story not in self._members:
            return {"id": story, "size": 1, "sources": [fields["source"]] if fields.get("source") else []}
        known = self._summaries.get(story)
        if known is None:
            members = self._members_read(story)
            sources = (member.get("source") for _, member in members)
            known = self._summaries[story] = (len(members), tuple(dict.fromkeys(s for s in sources if s)))
        return {"id": story, "size": known[0], "sources": list(known[1])}

    def articles(self, story_id: str, leave_out: str | None = None) -> list[dict[str, object]]:
        """`{id, title, date, source}` of a story's articles, oldest first."""
        out = []
        for _, fields in self._members_read(story_id):
            if fields["id"] != leave_out:
                out.append({name: fields.get(name) for name in ARTICLE_KEYS})
        return out


def collapsed_window(
    tiers: list[Tier],
    codes: np.ndarray,
    start: int,
    end: int,
    check: Callable[[], None] | None = None,
    order: Callable[[], np.ndarray] | None = None,
) -> list[int]:
    """Document numbers of stories `start` to `end` of the ranking made of `tiers` (the first
    tier ahead of the second, equal keys by `order`, as `evaluate.best` takes it), each story by
    its first document in that order. The ranking is read a growing prefix at a time: a page
    rarely needs more than a few times its length."""
    chosen: list[int] = []
    seen: set[int] = set()
    for tier_docs, keys in tiers:
        tier = tier_docs()
        available = len(tier)
        wanted = max(4 * end, 64)
        while True:
            docs = tier[best(tier, keys(), min(wanted, available), order)]
            if len(chosen) + len(set(codes[docs].tolist()) - seen) >= end or len(docs) >= available:
                break
            if check is not None:
                check()
            wanted *= 4
        for docnum in _first_of_each(docs, codes, seen):
            chosen.append(docnum)
            if len(chosen) >= end:
                return chosen[start:end]
    return chosen[start:end]


def count(codes: np.ndarray, mask: np.ndarray) -> int:
    """How many stories the documents of `mask` are in (`StoryTable.count` is faster for its own
    codes)."""
    found = codes[mask]
    return int(np.count_nonzero(np.bincount(found))) if len(found) else 0


def first_of_each(docs: list[int], codes: np.ndarray) -> list[int]:
    """`docs` (in ranking order) without the later articles of each story."""
    return _first_of_each(np.asarray(docs, dtype=np.int64), codes, set())


def _first_of_each(docs: np.ndarray, codes: np.ndarray, seen: set[int]) -> list[int]:
    out = []
    for docnum in docs.tolist():
        code = int(codes[docnum])
        if code not in seen:
            seen.add(code)
            out.append(docnum)
    return out
