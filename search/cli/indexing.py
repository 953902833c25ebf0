"""Running the indexer from the command line: progress, a summary for a person, and stopping
cleanly on SIGINT or SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import click
from tqdm import tqdm

from search.index.indexer import WRITE_LOCK_TIMEOUT, IndexReport
from search.index.shard_jobs import Corpus, ShardResult
from search.index.sharding import build
from search.settings import Settings


class Interrupted(BaseException):
    """SIGINT or SIGTERM during a build. A BaseException, like KeyboardInterrupt, so that it
    unwinds through the writer's and the store's cleanup: the build processes are stopped, a
    rebuild's unfinished generation removed, the lock released."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM stop the build cleanly instead of killing the process where it stands;
    a second signal during that cleanup is ignored rather than cutting it short."""

    def stop(signum: int, frame: object) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def interrupted(exc: Interrupted) -> NoReturn:
    name = signal.Signals(exc.signum).name
    click.echo(
        f"vnsearch index: stopped by {name}. The index keeps its last complete state (this run's "
        "changes are in it only if its commit had finished); the next run completes the job.",
        err=True,
    )
    sys.exit(128 + exc.signum)


def run_build(
    settings: Settings,
    paths: tuple[Path, ...],
    index_dir: Path,
    rebuild: bool,
    keep_missing: bool = False,
    wait: float = WRITE_LOCK_TIMEOUT,
    shards: int | None = None,
    ray: str | None = None,
) -> IndexReport:
    """A run of the indexer; a fresh set of several shards is built one process per shard, or
    with `ray` one Ray task per shard (the bar then moves a shard at a time)."""
    runner = None
    if ray:
        from search.index.ray_build import RayRunner  # imports Ray: only when asked for

        runner = RayRunner(ray, settings.index_procs)
    with stopped_by_signals(), tqdm(unit=" articles", desc="Indexing", disable=None, leave=False) as bar:

        def advance(item: object) -> None:
            bar.update()

        def shard_done(result: ShardResult) -> None:
            bar.update(result.report.added)

        return build(
            index_dir,
            Corpus(tuple(paths), settings.max_article_bytes),
            shards=shards,
            rebuild=rebuild,
            on_item=advance,
            keep_missing=keep_missing,
            lock_timeout=wait,
            procs=settings.index_procs,
            pool_mb=settings.pool_mb,
            runner=runner,
            on_shard=shard_done,
        )


def write_failed(exc: OSError, index_dir: Path) -> str:
    """A failed write (disk full, file size limit, permissions) as one line for a person."""
    reason = exc.strerror or str(exc)
    return (
        f"cannot write the index in {index_dir}: {reason}. Nothing was committed: the index keeps "
        f"its previous state and is still served; free some space and run `vnsearch index` again."
    )


def summary(report: IndexReport, index_dir: Path) -> None:
    if report.rebuilt:
        click.echo(f"Indexed {report.added} articles into a new index in {index_dir} and switched to it.")
    elif report.written:
        click.echo(
            f"Indexed {report.added + report.updated} articles into {index_dir} "
            f"({report.added} added, {report.updated} updated, {len(report.removed)} removed)."
        )
    else:
        click.echo(f"Nothing to write: the index in {index_dir} is up to date.")
    click.echo(
        f"{report.unchanged} unchanged, {len(report.removed)} removed, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed."
    )
    if report.removed:
        click.echo("Removed (no longer in the corpus; --keep-missing keeps them):")
        for article_id in report.removed:
            click.echo(f"  {article_id}")
    for note in report.kept:
        click.echo(f"Note: {note}", err=True)
    for label, errors in (("Skipped", report.skipped), ("Failed", report.failed)):
        if errors:
            click.echo(f"{label}:", err=True)
            for error in errors:
                where = f"{error.path}:{error.line}" if error.line else error.path
                click.echo(f"  {where}: {error.reason}", err=True)
