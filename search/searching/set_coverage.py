"""Stories and related coverage at the front of a sharded set, answered as one index of the
same articles answers them: a story's articles from the set's graph (`set_stories.SetStories`)
with their fields from their shards, and related coverage (`search.searching.related`) with the
set's document frequencies.

Related coverage takes rounds: the article from its shard; the set's counts of its terms (every
shard's added up, kept for the commit as one index keeps its own); each shard's best candidates
for the article's strongest terms, weighed with those counts (`related.candidates`, equal scores
by id as in one index), merged; the candidates' and the story mates' stored text from their
shards, and the counts of their terms; then the exact cosines, made at the front with one
vocabulary, as one index makes them.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from search.index.shards import shard_of
from search.index.stories.text import DEFAULT, Vector, story_terms
from search.index.stories.update import MAX_CACHED_TERMS
from search.searching.related import Related, candidate_count, ranked, strongest
from search.searching.set_stories import Described, SetStories
from search.searching.shard import Version
from search.searching.shard_set import ShardSet, ShardsUnavailable, same
from search.searching.stories import ARTICLE_KEYS
from search.searching.vectors import VECTORS_MIB, ArticleVectors, VectorSession


class SetCounts:
    """The set's document frequencies of story terms (`TermStatistics`) for one commit,
    asked of every shard for the terms not known yet, in one round (`learn`)."""

    def __init__(self, shards: ShardSet, version: Version, count: int) -> None:
        self.shards, self.version, self.count = shards, version, count
        self._lock = threading.Lock()
        self._known: dict[str, int] = {}
        self._documents: int | None = None

    def learn(self, terms: Iterable[str]) -> dict[str, int]:
        """The counts of `terms`, those not known yet asked of every shard at once."""
        wanted = set(terms)
        with self._lock:
            if len(self._known) + len(wanted) > MAX_CACHED_TERMS:
                self._known.clear()
            missing = sorted(wanted.difference(self._known))
            if not missing and self._documents is not None:
                return {t: self._known[t] for t in wanted}
        answers, lost = self.shards.call("story_counts", same((self.version, missing)), range(self.count), self.count)
        if lost:
            raise ShardsUnavailable(f"shards {lost} cannot answer: related coverage would be weighed wrongly")
        found = {term: sum(counts[i] for _, counts in answers.values()) for i, term in enumerate(missing)}
        with self._lock:
            self._documents = sum(documents for documents, _ in answers.values())
            self._known.update(found)
            return {t: self._known.get(t, found.get(t, 0)) for t in wanted}

    def document_count(self) -> int:
        if self._documents is None:
            self.learn(())
        assert self._documents is not None
        return self._documents

    def document_frequencies(self, terms: Sequence[str]) -> np.ndarray:
        known = self.learn(terms)
        return np.fromiter((known[t] for t in terms), dtype=np.float64, count=len(terms))


class Coverage:
    """Stories and related coverage for the front of the set in `index_dir`, reached through
    `shards`; the graph and the term counts are kept for the live commit."""

    def __init__(self, index_dir: Path, shards: ShardSet, cache_bytes: int = VECTORS_MIB << 20) -> None:
        self.index_dir, self.shards, self.cache_bytes = index_dir, shards, cache_bytes
        self._lock = threading.Lock()
        self._stories: tuple[Version, SetStories] | None = None
        self._counts: tuple[SetCounts, ArticleVectors] | None = None

    def stories(self, version: Version) -> SetStories:
        """The set's stories of the commit `version`, read once per commit."""
        with self._lock:
            kept = self._stories
            if kept is None or kept[0] != version:
                kept = self._stories = (version, SetStories(self.index_dir / version.folder, version.commit))
            return kept[1]

    def described(
        self, version: Version, count: int, ids: Iterable[str], keys: tuple[str, ...] | None = ARTICLE_KEYS
    ) -> Described:
        """The stored fields (of `keys`, or all) of articles by id, each asked of its shard;
        those of a shard that cannot answer are left out."""
        held: defaultdict[int, list[str]] = defaultdict(list)
        for article_id in ids:
            held[shard_of(article_id, count)].append(article_id)
        answers, _ = self.shards.call("described", lambda k: (version, held[k], keys), sorted(held), count)
        return {fields["id"]: fields for found in answers.values() for fields in found if fields is not None}

    def summaries(self, version: Version, count: int, hits: list[dict]) -> list[dict[str, object]]:
        """`{id, size, sources}` of the story of each hit (its stored fields)."""
        table = self.stories(version)
        described = self.described(version, count, table.wanted(fields["id"] for fields in hits))
        return [table.summary(fields, described) for fields in hits]

    def of_article(self, version: Version, count: int, article_id: str) -> dict[str, object]:
        """`{id, size, articles}` of an article's story, its other articles oldest first."""
        table = self.stories(version)
        story = table.story_of(article_id)
        described = self.described(version, count, table.members(story))
        return {
            "id": story,
            "size": max(1, len(table.articles(story, described))),
            "articles": table.articles(story, described, leave_out=article_id),
        }

    def story(self, version: Version, count: int, story_id: str) -> dict[str, object] | None:
        """`{id, size, articles}` of a story, oldest first; None when no story has that id."""
        table = self.stories(version)
        if table.story_of(story_id) != story_id:
            return None
        described = self.described(version, count, table.members(story_id) or [story_id])
        articles = table.articles(story_id, described)
        if not articles:  # a story of one article, when there is one
            if story_id not in described:
                return None
            articles = [described[story_id]]
        return {"id": story_id, "size": len(articles), "articles": articles}

    def counts(self, version: Version, count: int) -> tuple[SetCounts, ArticleVectors]:
        """The set's counts for the commit, and the vectors weighed with them."""
        with self._lock:
            kept = self._counts
            if kept is None or kept[0].version != version or kept[0].count != count:
                statistics = SetCounts(self.shards, version, count)
                kept = self._counts = (statistics, ArticleVectors(statistics, self.cache_bytes))
            return kept

    def related(self, version: Version, count: int, fields: dict, limit: int) -> list[Related]:
        """Up to `limit` articles most like the article of `fields`, its story's first."""
        article_id = fields["id"]
        statistics, vectors = self.counts(version, count)
        session = vectors.session()
        mine = session.get(article_id) or self._weighed(session, statistics, [fields])[0]
        table = self.stories(version)
        mates = {m for m in table.members(table.story_of(article_id)) if m != article_id}
        terms = strongest(session.vocabulary, mine)
        frequencies = [int(f) for f in statistics.document_frequencies([t for t, _ in terms])]
        wanted = candidate_count(limit)
        args = (version, article_id, terms, statistics.document_count(), frequencies, wanted)
        answers, _ = self.shards.call("related_candidates", same(args), range(count), count)
        offered = sorted((c for found in answers.values() for c in found), key=lambda c: (-c[1], c[0]))
        chosen = sorted(mates | {other for other, _ in offered[:wanted]})
        kept = {other: session.get(other) for other in chosen}
        # The text is asked for only when a vector has to be made of it.
        keys = None if None in kept.values() else ARTICLE_KEYS
        described = self.described(version, count, chosen, keys)
        stored = [described[other] for other in chosen if other in described]
        made = iter(self._weighed(session, statistics, [f for f in stored if kept[f["id"]] is None]))
        found = [kept[f["id"]] or next(made) for f in stored]
        return ranked(mine, stored, found, mates, limit)

    @staticmethod
    def _weighed(session: VectorSession, statistics: SetCounts, stored: list[dict]) -> list[Vector]:
        """The vectors of articles (their stored fields), their terms' counts asked of the
        shards in one round."""
        counts = [story_terms(f.get("title", ""), f.get("body", ""), DEFAULT.title_weight) for f in stored]
        statistics.learn(t for terms in counts for t in terms)
        return [session.weigh(f["id"], terms) for f, terms in zip(stored, counts)]
