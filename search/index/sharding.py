"""Writing an index of one shard or several: the entry points the CLI and the HTTP API call,
beside `indexer.build` and `indexer.delete`, which they hand an index of one shard to.

Everything that holds for one index holds for a set (see `search.index.shards` for the
layout): one write lock, the index folder's; a fresh build or a rebuild makes a new generation
folder holding every shard and switches `CURRENT` to it once all are complete; an incremental
run sends each article to the shard its id routes to, commits each changed shard without
deleting the generation it replaces, and then replaces the manifest: readers see all of a
run's changes or none, and a run killed before that replace leaves the set as it was (the next
writer drops the generations no manifest names). A fresh set from corpus files is built one
job per shard, in local processes or as Ray tasks (`search.index.shard_jobs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh.index import FileIndex

from search.corpus.article import Article
from search.corpus.errors import ParseError
from search.index import indexer
from search.index import shards as layout
from search.index.engine import pinned
from search.index.engine.codec import Codec
from search.index.engine.writers import PoolWriter
from search.index.indexer import WRITE_LOCK_TIMEOUT, Changes, IndexIncomplete, IndexReport, accept
from search.index.pool import DEFAULT_POOL_MB
from search.index.shard_jobs import Corpus, LocalRunner, Runner, ShardJob, ShardResult, merge_reports
from search.index.shards import MAX_SHARDS, Manifest, open_shard, shard_name, shard_of, shard_searcher, write_manifest
from search.index.store import (
    IndexMissing,
    create_index,
    discard,
    live_dir,
    new_generation,
    publish,
    remove_abandoned,
    write_lock,
)
from search.index.stories import sets as set_stories
from search.index.stories.update import Recorder, group_fresh

Items = Iterable[Article | ParseError]


class ShardCountMismatch(RuntimeError):
    """A run asked for another number of shards than the index has, without a rebuild."""


def build(
    index_dir: Path,
    source: Corpus | Items,
    shards: int | None = None,
    rebuild: bool = False,
    on_item: Callable[[Article | ParseError], None] | None = None,
    keep_missing: bool = False,
    lock_timeout: float = WRITE_LOCK_TIMEOUT,
    procs: int = 1,
    pool_mb: int = DEFAULT_POOL_MB,
    runner: Runner | None = None,
    on_shard: Callable[[ShardResult], None] | None = None,
) -> IndexReport:
    """`indexer.build` for an index of any number of shards: `shards` for a new index or a
    rebuild (default: as many as the index has, one for a new index). A fresh set from a
    `Corpus` is built one job per shard by `runner` (default: `procs` local processes at a
    time), each calling `on_shard` when done; otherwise articles are routed in this process."""
    if shards is not None and not 1 <= shards <= MAX_SHARDS:
        raise ValueError(f"an index has 1 to {MAX_SHARDS} shards, not {shards}")
    with write_lock(index_dir, lock_timeout):
        remove_abandoned(index_dir)
        existing = layout.shard_count(index_dir, check_schema=not rebuild)
        if not rebuild and existing is not None and shards is not None and shards != existing:
            raise ShardCountMismatch(
                f"the index in {index_dir} has {existing} shard{'s' * (existing > 1)}; "
                f"building it with {shards} takes `--rebuild`"
            )
        count = shards or existing or 1
        fresh = rebuild or existing is None
        if not fresh and count > 1:
            items = source.items() if isinstance(source, Corpus) else source
            return _update(index_dir, items, on_item, keep_missing, pool_mb)
        if fresh and isinstance(source, Corpus) and (count > 1 or runner is not None):
            return _fresh_jobs(index_dir, source, count, runner or LocalRunner(procs), pool_mb, on_shard)
        items = source.items() if isinstance(source, Corpus) else source
        if count == 1:
            return indexer.build_locked(index_dir, items, rebuild, on_item, keep_missing, procs, pool_mb)
        return _fresh_routed(index_dir, items, count, on_item, pool_mb)


def delete(index_dir: Path, article_id: str, lock_timeout: float = WRITE_LOCK_TIMEOUT) -> bool:
    """`indexer.delete` for an index of any number of shards: the article's shard only."""
    with write_lock(index_dir, lock_timeout):
        live = live_dir(index_dir)
        if not layout.is_sharded(live):
            return indexer.delete_locked(index_dir, article_id)
        manifest = layout.read_manifest(live)
        _recover(live, manifest)
        shard = shard_of(article_id, manifest.shards)
        ix = _recovered(live, manifest, shard)
        writer = pinned.HeldPoolWriter(ix, timeout=WRITE_LOCK_TIMEOUT, codec=Codec())
        if not indexer.delete_one(ix, article_id, writer):
            return False
        try:
            recorder = Recorder()
            recorder.remove(article_id)
            set_stories.bring_along(live, manifest.commit, recorder, [])
        except BaseException:
            _recovered(live, manifest, shard)  # committed, but no manifest names it: gone
            raise
        _switch(live, manifest, {shard: writer.generation})
        return True


def _recovered(live: Path, manifest: Manifest, shard: int) -> FileIndex:
    """A shard opened for writing at the generation the manifest names, without what a run
    killed before its manifest switch left (newer generations) or after it (older ones)."""
    ix = open_shard(live, shard)
    generation = manifest.generations[shard]
    if pinned.drop_newer(ix, generation) or pinned.generations(ix) != [generation]:
        pinned.keep_only(ix, generation)
    return ix


def _recover(live: Path, manifest: Manifest) -> None:
    """Every shard to the manifest's generations: the first thing a writer of the set does."""
    for shard in range(manifest.shards):
        _recovered(live, manifest, shard)


def _switch(live: Path, manifest: Manifest, changed: dict[int, int]) -> None:
    """The commit of a run (its story graph saved before): the manifest names the changed
    shards' new generations; then the generations they replace are deleted."""
    advanced = manifest.advanced(changed)
    write_manifest(live, advanced)
    for shard, generation in changed.items():
        pinned.keep_only(open_shard(live, shard), generation)
    set_stories.committed(live, advanced.commit)


def _update(
    index_dir: Path,
    items: Items,
    on_item: Callable[[Article | ParseError], None] | None,
    keep_missing: bool,
    pool_mb: int,
) -> IndexReport:
    """An incremental run over a set: `indexer.write`'s loop with one writer per shard, each
    opened when its first article arrives (a one-article write touches one shard)."""
    live = live_dir(index_dir)
    manifest = layout.read_manifest(live)
    _recover(live, manifest)
    share = max(1, pool_mb // manifest.shards)
    opened: dict[int, Changes] = {}
    recorder = Recorder()

    def changes(shard: int) -> Changes:
        found = opened.get(shard)
        if found is None:
            ix = _recovered(live, manifest, shard)
            writer = pinned.HeldPoolWriter(ix, pool_mb=share, timeout=WRITE_LOCK_TIMEOUT, codec=Codec())
            found = opened[shard] = Changes.open(ix, writer, keep_missing, fresh=False, stories=recorder)
        return found

    report = IndexReport()
    seen: set[str] = set()
    committed: dict[int, int] = {}
    try:
        for item in items:
            if on_item is not None:
                on_item(item)
            accepted = accept(item, seen, report)
            if accepted is not None:
                changes(shard_of(accepted[0].id, manifest.shards)).offer(*accepted, report)
        if not keep_missing:
            every = [changes(shard) for shard in range(manifest.shards)]
            if seen:
                for each in every:
                    each.remove_missing(seen, report)
            elif known := sum(len(each.known) for each in every):
                report.kept.append(indexer.nothing_read(known))
        if any(each.written for each in opened.values()):
            _save_stories(live, manifest, recorder)
        for shard, each in sorted(opened.items()):
            each.finish(each.written > 0)
            if each.written:
                committed[shard] = each.writer.generation
    except BaseException:
        for each in opened.values():
            each.abandon()
        for shard in committed:  # committed, but no manifest names them: gone for good
            _recovered(live, manifest, shard)
        raise
    if committed:
        _switch(live, manifest, committed)
    return report


def _save_stories(live: Path, manifest: Manifest, recorder: Recorder) -> None:
    """The set's story graph for the run's commit, from the shards at the commit it started
    from (opened only when the run adds articles, which are compared with them)."""
    searchers = [shard_searcher(live, manifest, k) for k in range(manifest.shards)] if recorder.adds else []
    try:
        set_stories.bring_along(live, manifest.commit, recorder, [s.reader() for s in searchers])
    finally:
        for searcher in searchers:
            searcher.close()


def _fresh_jobs(
    index_dir: Path,
    corpus: Corpus,
    count: int,
    runner: Runner,
    pool_mb: int,
    on_shard: Callable[[ShardResult], None] | None,
) -> IndexReport:
    """A new generation built one job per shard (with one shard, the job writes the index
    right into the generation folder: today's layout, built on Ray)."""
    building = new_generation(index_dir)
    try:
        folder = (lambda k: building / shard_name(k)) if count > 1 else (lambda k: building)
        share = max(1, pool_mb // min(count, runner.concurrency))
        jobs = [ShardJob(corpus, k, count, str(folder(k)), share) for k in range(count)]
        results = sorted(runner(jobs, on_shard or (lambda result: None)), key=lambda r: r.shard)
        if [r.shard for r in results] != list(range(count)):
            raise IndexIncomplete(f"{len(results)} of {count} shards were built")
        for result in results:
            if result.documents != result.report.added:
                raise IndexIncomplete(
                    f"shard {result.shard} holds {result.documents} of its {result.report.added} articles"
                )
        if count > 1:
            _publishable(building, Manifest(count, tuple(r.generation for r in results)))
        else:
            group_fresh(open_shard(building, 0))
    except BaseException:
        discard(building)
        raise
    publish(index_dir, building)
    return merge_reports([r.report for r in results])


def _fresh_routed(
    index_dir: Path, items: Items, count: int, on_item: Callable[[Article | ParseError], None] | None, pool_mb: int
) -> IndexReport:
    """A new set from articles given one by one (not files a job could read): routed to one
    writer per shard in this process."""
    building = new_generation(index_dir)
    every: list[Changes] = []
    try:
        share = max(1, pool_mb // count)
        for k in range(count):
            ix = create_index(building / shard_name(k))
            every.append(Changes.open(ix, PoolWriter(ix, pool_mb=share, codec=Codec()), True, fresh=True))
        report = IndexReport(rebuilt=True)
        seen: set[str] = set()
        for item in items:
            if on_item is not None:
                on_item(item)
            accepted = accept(item, seen, report)
            if accepted is not None:
                every[shard_of(accepted[0].id, count)].offer(*accepted, report)
        for each in every:
            each.finish(True)
        _publishable(building, Manifest(count, tuple(each.ix.latest_generation() for each in every)))
    except BaseException:
        for each in every:
            each.abandon()
        discard(building)
        raise
    publish(index_dir, building)
    return report


def _publishable(building: Path, manifest: Manifest) -> None:
    """A fresh set's manifest and story graph (in that order: the set is made visible by
    `publish`, which switches `CURRENT` to the folder, and the graph groups every shard)."""
    write_manifest(building, manifest)
    set_stories.group_set(building, manifest.commit, [open_shard(building, k) for k in range(manifest.shards)])


__all__ = ["Corpus", "IndexMissing", "ShardCountMismatch", "build", "delete"]
