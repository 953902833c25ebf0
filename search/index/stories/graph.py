"""Stories from the evidence between articles: copy edges and same-event edges, clustered.

A story is a function of the edges and the articles' days, never of the order they came in:
each edge is a symmetric test of a pair, a connected component is re-clustered from its edges
alone with ties broken by id, and a story's id is its smallest article id. So adding or
removing an article touches only its component and gives what a rebuild gives from the same
edges; the articles whose story id changed are returned, for the index to record with the
commit. Only articles with an edge are kept: every other article is a story of its own, named
by its own id, which is what keeps the graph (and the file it is saved in) small.

Copies are always together. Same-event edges join copy groups by complete linkage: every two
dated articles of a story must be that similar, so a chain of loosely related articles on a
busy day cannot merge distinct events (a wrong merge hides an article from a reader, which is
worse than a missed one); a pair with an undated side has no say.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

#: Edge weight of a copy: above any cosine.
COPY = 2.0


class StoryGraph:
    """The edges between articles and the stories they make (see the module doc)."""

    def __init__(self, same_event: float) -> None:
        self.same_event = same_event
        self._edges: dict[str, dict[str, float]] = {}
        self._days: dict[str, int | None] = {}
        self._story: dict[str, str] = {}
        #: Articles whose component changed since the stories were last worked out.
        self._pending: set[str] = set()
        #: Articles left without an edge since then, whose story was another's.
        self._released: dict[str, str] = {}

    def __contains__(self, article_id: str) -> bool:
        return article_id in self._edges

    def story_of(self, article_id: str) -> str:
        return self._story.get(article_id, article_id)

    def stories(self) -> dict[str, str]:
        """Story id of every article in a story of several (the others are their own)."""
        return dict(self._story)

    def edges(self) -> Iterable[tuple[str, str, float]]:
        """Each edge once, the smaller id first."""
        for a, neighbours in self._edges.items():
            for b, weight in neighbours.items():
                if a < b:
                    yield a, b, weight

    def days(self) -> dict[str, int | None]:
        return dict(self._days)

    def members(self, story_id: str) -> list[str]:
        """The story's articles, by id."""
        if story_id not in self._edges:
            return [story_id]
        return [a for a in self._component(story_id) if self.story_of(a) == story_id]

    def add(
        self,
        article_id: str,
        day: int | None,
        edges: dict[str, float],
        days: dict[str, int | None],
        settle: bool = True,
    ) -> dict[str, str]:
        """Add an article with its edges (`days` gives the day of each neighbour not yet in the
        graph); returns every article whose story id changed, the new one included. With
        `settle=False` the stories are worked out later, by `settle`, once for many changes: a
        component is re-clustered once per run, not once per article of it."""
        if article_id in self._edges:
            raise ValueError(f"{article_id!r} is already in the graph: remove it first")
        if not edges:
            return {}
        self._edges[article_id] = {}
        self._days[article_id] = day
        for other, weight in edges.items():
            if other not in self._edges:
                self._edges[other] = {}
                self._days[other] = days[other]
            self._edges[article_id][other] = self._edges[other][article_id] = weight
        self._pending.add(article_id)
        return self.settle() if settle else {}

    def remove(self, article_id: str, settle: bool = True) -> dict[str, str]:
        """Remove an article; returns the remaining articles whose story id changed (with
        `settle=False`, see `add`)."""
        neighbours = self._edges.pop(article_id, None)
        if neighbours is None:
            return {}
        del self._days[article_id]
        self._story.pop(article_id, None)
        self._pending.discard(article_id)
        for other in neighbours:
            del self._edges[other][article_id]
        self._pending.update(neighbours)
        for other in neighbours:  # left without an edge: a story of its own, not kept
            if not self._edges[other]:
                del self._edges[other], self._days[other]
                if self._story.pop(other, None) is not None:
                    self._released[other] = other
                self._pending.discard(other)
        return self.settle() if settle else {}

    def settle(self) -> dict[str, str]:
        """Re-cluster every component changed since the last call; returns the articles whose
        story id changed."""
        changed, self._released = self._released, {}
        seen: set[str] = set()
        for article_id in sorted(self._pending):
            if article_id not in seen:
                component = self._component(article_id)
                seen.update(component)
                changed.update(self._recluster(component))
        self._pending.clear()
        return changed

    def _component(self, start: str) -> list[str]:
        seen, todo = {start}, [start]
        while todo:
            for other in self._edges[todo.pop()]:
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return sorted(seen)

    def _recluster(self, component: list[str]) -> dict[str, str]:
        changed = {}
        for cluster in self._clusters(component):
            story = min(cluster)
            for article_id in cluster:
                if self.story_of(article_id) != story:
                    changed[article_id] = story
                if story == article_id:
                    self._story.pop(article_id, None)
                else:
                    self._story[article_id] = story
        return changed

    def _clusters(self, component: list[str]) -> list[list[str]]:
        """Copy groups, then complete linkage of them over the same-event edges: a missing edge
        between two dated articles forbids the merge. Highest link first, ties by position."""
        groups = self._copy_groups(component)
        if len(groups) == 1:
            return groups
        position = {a: g for g, members in enumerate(groups) for a in members}
        m = len(groups)
        link = np.full((m, m), np.nan)
        for g, members in enumerate(groups):
            for a in members:
                if self._days[a] is None:
                    continue
                for b in component:
                    h = position[b]
                    if h == g or self._days[b] is None:
                        continue
                    weight = self._edges[a].get(b, -np.inf)
                    link[g, h] = weight if np.isnan(link[g, h]) else min(link[g, h], weight)
        alive = list(range(m))
        while True:
            scores = np.nan_to_num(link, nan=-np.inf)
            np.fill_diagonal(scores, -np.inf)
            g, h = divmod(int(np.argmax(scores)), m)
            if scores[g, h] < self.same_event:
                break
            g, h = min(g, h), max(g, h)
            groups[g].extend(groups[h])
            groups[h] = []
            link[g, :] = link[:, g] = np.fmin(link[g, :], link[h, :])
            link[h, :] = link[:, h] = np.nan
            alive.remove(h)
        return [groups[g] for g in alive]

    def _copy_groups(self, component: list[str]) -> list[list[str]]:
        parent = {a: a for a in component}

        def root(a: str) -> str:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for a in component:
            for b, weight in self._edges[a].items():
                if weight == COPY:
                    ra, rb = root(a), root(b)
                    if ra != rb:
                        parent[max(ra, rb)] = min(ra, rb)
        groups: dict[str, list[str]] = {}
        for a in component:
            groups.setdefault(root(a), []).append(a)
        return [groups[r] for r in sorted(groups)]

    @classmethod
    def restore(
        cls, same_event: float, edges: list[list], days: dict[str, int | None], stories: dict[str, str]
    ) -> StoryGraph:
        """A graph as `search.index.stories.saved` wrote it."""
        graph = cls(same_event)
        graph.load(edges, days, stories)
        return graph

    def load(self, edges: list[list], days: dict[str, int | None], stories: dict[str, str]) -> None:
        for a, b, weight in edges:
            self._edges.setdefault(a, {})[b] = weight
            self._edges.setdefault(b, {})[a] = weight
        self._days = {a: days[a] for a in self._edges}
        self._story = dict(stories)
