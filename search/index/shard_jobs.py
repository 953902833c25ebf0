"""Building the shards of a fresh set, one job per shard: in local processes, or as Ray tasks
(`search.index.ray_build`), with the same job either way.

Why each job reads the whole corpus rather than being handed its articles: the corpus is at a
path every worker can reach, so a job needs only that path and its shard number, nothing goes
through the parent (or Ray's object store), and jobs on other machines start at once. A job
skips the articles of other shards as soon as it knows their ids (`iter_corpus(wanted=...)`),
so reading the rest costs it decompression and JSON, not cleaning or indexing.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol, cast

from search.corpus.article import Article
from search.corpus.errors import ParseError
from search.corpus.files import MAX_ARTICLE_BYTES, iter_corpus
from search.index.children import end_with_parent
from search.index.indexer import IndexIncomplete, IndexReport, write
from search.index.pool import DEFAULT_POOL_MB
from search.index.shards import shard_of
from search.index.store import create_index


@dataclass(frozen=True)
class Corpus:
    """Corpus files named by path (what a build job reads for itself), and the article size
    limit to read them with."""

    paths: tuple[Path, ...]
    max_article_bytes: int = MAX_ARTICLE_BYTES

    def items(self, shard: int = 0, shards: int = 1) -> Iterator[Article | ParseError]:
        """The articles of one shard (all of them with one shard) and every error."""
        wanted = None if shards == 1 else (lambda article_id: shard_of(article_id, shards) == shard)
        return iter_corpus(list(self.paths), self.max_article_bytes, wanted)


@dataclass(frozen=True)
class ShardJob:
    """Build shard `shard` of `shards` from `corpus` into `folder` (a fresh Whoosh index)."""

    corpus: Corpus
    shard: int
    shards: int
    folder: str
    pool_mb: int = DEFAULT_POOL_MB


@dataclass
class ShardResult:
    shard: int
    report: IndexReport
    #: The Whoosh generation the job committed, for the set's manifest.
    generation: int
    #: Documents in the committed shard: must be the articles the report says were added.
    documents: int


def run_job(job: ShardJob) -> ShardResult:
    """Build one shard. The folder is emptied first: a job that runs again (Ray retries a task
    whose worker died) must not find the pieces of the attempt before."""
    folder = Path(job.folder)
    if folder.exists():
        shutil.rmtree(folder)
    ix = create_index(folder)
    items = job.corpus.items(job.shard, job.shards)
    report = write(ix, items, None, keep_missing=True, fresh=True, pool_mb=job.pool_mb)
    return ShardResult(job.shard, report, ix.latest_generation(), ix.doc_count_all())


class Runner(Protocol):
    """Runs the jobs of a build, calling `done` as each finishes; raises if any failed."""

    #: Jobs that may run at once: the build's memory budget is shared among them.
    concurrency: int

    def __call__(self, jobs: Sequence[ShardJob], done: Callable[[ShardResult], None]) -> list[ShardResult]: ...


class LocalRunner:
    """Jobs in child processes, `procs` at a time, each a fresh process ("spawn": the parent
    may have threads) that dies with its parent. A process that dies without an answer (killed,
    out of memory) fails the build: its shard would be missing from the set."""

    def __init__(self, procs: int) -> None:
        self.concurrency = max(1, procs)

    def __call__(self, jobs: Sequence[ShardJob], done: Callable[[ShardResult], None]) -> list[ShardResult]:
        context = multiprocessing.get_context("spawn")
        pending = list(jobs)
        running: dict[Connection, tuple[Any, ShardJob]] = {}
        results: list[ShardResult] = []
        try:
            while pending or running:
                while pending and len(running) < self.concurrency:
                    job = pending.pop(0)
                    receiver, sender = context.Pipe(duplex=False)
                    process = context.Process(target=_run_and_send, args=(job, sender, os.getpid()), daemon=True)
                    process.start()
                    sender.close()
                    running[receiver] = (process, job)
                for ready in wait(list(running)):
                    receiver = cast(Connection, ready)
                    process, job = running.pop(receiver)
                    try:
                        answer: object = receiver.recv()
                    except EOFError:
                        answer = None
                    finally:
                        receiver.close()
                    process.join()
                    if isinstance(answer, BaseException):
                        raise answer
                    if not isinstance(answer, ShardResult):
                        raise IndexIncomplete(
                            f"the build process of shard {job.shard} died (exit status {process.exitcode})"
                        )
                    results.append(answer)
                    done(answer)
        finally:
            for process, _ in running.values():
                process.kill()
                process.join()
        return results


def _run_and_send(job: ShardJob, sender: Connection, parent: int) -> None:
    end_with_parent(parent)
    try:
        answer: object = run_job(job)
    except Exception as exc:  # sent to the parent, which raises it
        answer = exc
    try:
        sender.send(answer)
    except Exception as exc:  # an exception that cannot be pickled: its message still can
        sender.send(RuntimeError(f"building shard {job.shard} failed: {exc}"))
    finally:
        sender.close()


def merge_reports(reports: Sequence[IndexReport]) -> IndexReport:
    """One report for a build made by several jobs. Each job read every file, so an error in a
    file (or in a line, before its article's id) is reported by all of them, once here."""
    merged = IndexReport(rebuilt=True)
    failed: dict[tuple[str, int | None, str], ParseError] = {}
    for report in reports:
        merged.added += report.added
        merged.updated += report.updated
        merged.unchanged += report.unchanged
        merged.removed.extend(report.removed)
        merged.skipped.extend(report.skipped)
        merged.kept.extend(report.kept)
        for error in report.failed:
            failed.setdefault((error.path, error.line, error.reason), error)
    order = lambda e: (e.path, e.line or 0)  # noqa: E731
    merged.skipped.sort(key=order)
    merged.failed = sorted(failed.values(), key=order)
    return merged
