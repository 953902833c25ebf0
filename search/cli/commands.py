"""The `vnsearch` command: build the index, serve it, search it from a terminal.

It mirrors the library (`search.index.indexer.build`, `search.searching.searcher.SearchIndex`) and reads the same
`VNSEARCH_*` settings as the service, so what a terminal user sees is what the API returns.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlencode

import click

from search.cli.indexing import Interrupted, interrupted, run_build, summary, write_failed
from search.corpus import dates
from search.index import shards as layout
from search.index.indexer import WRITE_LOCK_TIMEOUT, IndexIncomplete
from search.index.raycluster import RayMissing
from search.index.schema import SchemaMismatch
from search.index.sharding import ShardCountMismatch
from search.index.store import IndexBusy, IndexMissing
from search.query.acronyms import load_synonyms
from search.searching import formats
from search.searching.opening import open_searchable
from search.searching.results import MAX_PER_PAGE, MAX_RESULT_WINDOW, SORTS, SearchRequest, SearchResult
from search.searching.timeline import INTERVALS, Timeline
from search.settings import Settings

_MARK_RE = re.compile(r"<mark>(.*?)</mark>", re.S)
FORMATS = ("text", "json", "csv", "jsonl", "atom")
#: Characters of the longest bar of a timeline in the terminal.
TIMELINE_WIDTH = 40


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _index_dir_option(func):
    return click.option(
        "--index-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the index lives [env VNSEARCH_INDEX_DIR; default ./index].",
    )(func)


@click.group()
@click.version_option(package_name="vnsearch")
def main() -> None:
    """Full-text search over Vietnamese news articles."""


class IndexingError(click.ClickException):
    """The run could not be done at all (as opposed to some files failing): exit status 2."""

    exit_code = 2


@main.command("index")
@click.argument("corpus", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_index_dir_option
@click.option("--rebuild", is_flag=True, help="Build a fresh index beside the live one and switch to it when complete.")
@click.option(
    "--keep-missing", is_flag=True, help="Keep indexed articles that CORPUS no longer contains (default: remove them)."
)
@click.option(
    "--wait",
    type=click.FloatRange(0),
    default=WRITE_LOCK_TIMEOUT,
    show_default=True,
    help="Seconds to wait for another process writing to the index.",
)
@click.option(
    "--shards",
    type=click.IntRange(1, layout.MAX_SHARDS),
    default=None,
    help="Shard indexes to keep, each article in the one its id hashes to "
    "[default: as many as the index has; 1 for a new one].",
)
@click.option(
    "--ray",
    "ray_address",
    metavar="auto|ADDRESS",
    default=None,
    help="Build the shards as Ray tasks: auto starts Ray on this machine; ADDRESS is a cluster's "
    "(the corpus and the index must be at paths every node reaches).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def index_command(
    corpus: tuple[Path, ...],
    index_dir: Path | None,
    rebuild: bool,
    keep_missing: bool,
    wait: float,
    shards: int | None,
    ray_address: str | None,
    as_json: bool,
) -> None:
    """Build or update the index from CORPUS folders and files (.txt, .html, .jsonl; or .gz).

    Without CORPUS, reads VNSEARCH_CORPUS_DIR (default ./corpus). New articles are added,
    changed ones updated, unchanged ones left alone, and articles no longer in CORPUS removed
    (unless --keep-missing). Exit status 1 when any file or line failed (the others are
    indexed all the same), 2 when the run could not be done (index locked, older index).
    """
    settings = _settings()
    index_dir = index_dir or settings.index_dir
    try:
        report = run_build(
            settings, corpus or settings.corpus_dirs, index_dir, rebuild, keep_missing, wait, shards, ray_address
        )
    except Interrupted as exc:
        interrupted(exc)
    except (SchemaMismatch, IndexBusy, IndexMissing, IndexIncomplete, ShardCountMismatch, RayMissing, OSError) as exc:
        message = write_failed(exc, index_dir) if isinstance(exc, OSError) else str(exc)
        if as_json:
            click.echo(json.dumps({"error": message}, ensure_ascii=False))
        raise IndexingError(message) from None
    if as_json:
        click.echo(json.dumps(dict(index_dir=str(index_dir), **report.to_json()), ensure_ascii=False, indent=2))
    else:
        summary(report, index_dir)
    if report.failed:
        sys.exit(1)


@main.command()
@click.argument("query")
@_index_dir_option
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option(
    "--per-page",
    type=click.IntRange(1, MAX_RESULT_WINDOW),
    default=None,
    help=f"Hits per page [default: 10; csv and jsonl 1000; atom 50; text and json at most {MAX_PER_PAGE}].",
)
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--from", "date_from", metavar="DATE", help="Only articles from this date (YYYY[-MM[-DD]]).")
@click.option("--to", "date_to", metavar="DATE", help="Only articles up to this date (YYYY[-MM[-DD]]).")
@click.option("--source", help="Only articles from this outlet, as the facets name it.")
@click.option(
    "--histogram", type=click.Choice([*INTERVALS, "auto"]), default=None, help="Count every match by period too."
)
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal; json as the API answers; csv (for a spreadsheet) and jsonl for the hits; "
    "atom as the search's feed.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.option(
    "--collapse",
    type=click.Choice(["story", "none"]),
    default=None,
    help="story: one article per story (the default for text and json); none: every article "
    "(the default for csv, jsonl and atom, which give each article's story).",
)
def search(
    query: str,
    index_dir: Path | None,
    page: int,
    per_page: int | None,
    sort: str,
    date_from: str | None,
    date_to: str | None,
    source: str | None,
    histogram: str | None,
    output: str,
    as_json: bool,
    collapse: str | None,
) -> None:
    """Print ranked results for QUERY, with highlighted snippets, or write them as a file format.

    Syntax: words (all-words matches first), "quoted phrases", -word to exclude, OR.
    """
    settings = _settings()
    output = "json" if as_json else output
    if output in ("text", "json") and per_page is not None and per_page > MAX_PER_PAGE:
        raise click.UsageError(f"--per-page is at most {MAX_PER_PAGE} for {output}; use --format csv or jsonl")
    rows = per_page or {"csv": 1000, "jsonl": 1000, "atom": 50}.get(output, 10)
    if page * rows > MAX_RESULT_WINDOW:
        raise click.UsageError(f"--page × --per-page may not exceed {MAX_RESULT_WINDOW}")
    try:
        request = SearchRequest(
            q=query,
            page=page,
            per_page=rows,
            sort="updated" if output == "atom" else sort,
            source=source,
            date_from=dates.bound(date_from) if date_from else None,
            date_to=dates.bound(date_to, end=True) if date_to else None,
            histogram=histogram,
            snippets=output != "csv",
            collapse=(collapse or ("story" if output in ("text", "json") else "none")) == "story",
        )
        index = open_searchable(
            index_dir or settings.index_dir, load_synonyms(settings.acronym_files), utc_offset=settings.utc_offset
        )
        result = index.search(request)
    except (ValueError, IndexMissing, SchemaMismatch) as exc:  # QueryError is a ValueError
        raise click.ClickException(str(exc)) from None
    if output == "json":
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif output == "csv":
        click.echo(formats.csv_text(result.hits, formats.story_columns(result.hits)), nl=False)
    elif output == "jsonl":
        click.echo(formats.jsonl_text(result.hits), nl=False)
    elif output == "atom":
        base = f"http://{settings.host}:{settings.port}"
        wanted = {"q": query, "source": source, "from": date_from, "to": date_to}
        params = {k: v for k, v in wanted.items() if v}
        feed = formats.atom(result, params, base, f"{base}/feed?{urlencode(params)}", index.last_modified())
        click.echo(feed.decode("utf-8"))
    else:
        _print_text(result, query, page, rows)


def _print_text(result: SearchResult, query: str, page: int, per_page: int) -> None:
    first = (page - 1) * per_page + 1
    shown = f"{first}-{first + len(result.hits) - 1} of " if result.hits else ""
    stories = f" in {result.total_stories} stories" if result.total_stories is not None else ""
    click.echo(f"{shown}{result.total} results{stories} for {query!r} ({result.took_ms:.0f} ms)")
    if result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}?")
    if result.timeline is not None:
        _print_timeline(result.timeline)
    for rank, hit in enumerate(result.hits, start=first):
        when = f"{hit.date} {hit.time}" if hit.date and hit.time else hit.date
        meta = " · ".join(x for x in (when, hit.source, hit.author) if x)
        click.echo()
        click.echo(f"{rank}. {_render(hit.title_html)}")
        click.echo(click.style(f"   {hit.id}" + (f" · {meta}" if meta else ""), dim=True))
        click.echo(f"   {_render(hit.snippet_html)}")
        if hit.story and int(hit.story["size"]) > 1:  # type: ignore[call-overload]
            outlets = ", ".join(hit.story["sources"])  # type: ignore[arg-type]
            click.echo(f"   Cùng sự kiện: {hit.story['size']} bài" + (f" ({outlets})" if outlets else ""))


def _print_timeline(timeline: Timeline) -> None:
    """One line a bucket with a bar of `#`, the empty ones shown too (the gaps are the story)."""
    peak = max((n for _, n in timeline.buckets), default=0)
    click.echo(f"Timeline by {timeline.interval} ({timeline.undated} undated):")
    for start, count in timeline.buckets:
        bar = "#" * (round(TIMELINE_WIDTH * count / peak) if peak else 0) or ("." if count else "")
        click.echo(f"  {start}  {count:>6}  {bar}")


def _render(fragment: str) -> str:
    """Our snippet HTML for a terminal: marks in bold (plain when not a terminal)."""
    marked = _MARK_RE.sub(lambda m: click.style(m.group(1), bold=True, fg="yellow"), fragment)
    return html.unescape(marked)


@main.command()
@click.option("--host", default=None, help="Address to listen on [env VNSEARCH_HOST; default 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="[env VNSEARCH_PORT; default 8000]")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="[env VNSEARCH_WORKERS; default 2]")
@_index_dir_option
@click.option(
    "--ray",
    "ray_address",
    metavar="auto|ADDRESS",
    default=None,
    help="Search each shard in Ray actors (auto starts Ray on this machine; ADDRESS is a cluster's).",
)
@click.option(
    "--replicas",
    type=click.IntRange(1, 64),
    default=None,
    help="Actors per shard with --ray [env VNSEARCH_RAY_REPLICAS; default 1].",
)
def serve(
    host: str | None,
    port: int | None,
    workers: int | None,
    index_dir: Path | None,
    ray_address: str | None,
    replicas: int | None,
) -> None:
    """Serve the search API with gunicorn, building the index from the corpus first if needed."""
    settings = _settings()
    index_dir = index_dir or settings.index_dir
    if replicas is not None and not ray_address:
        raise click.UsageError("--replicas is for --ray")
    if not layout.present(index_dir):
        try:
            click.echo(f"No index in {index_dir}: building it from {', '.join(map(str, settings.corpus_dirs))}.")
            summary(run_build(settings, settings.corpus_dirs, index_dir, rebuild=False), index_dir)
        except Interrupted as exc:
            interrupted(exc)
        except (SchemaMismatch, IndexBusy) as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(write_failed(exc, index_dir)) from None
    env = dict(
        os.environ,
        VNSEARCH_INDEX_DIR=str(index_dir.resolve()),
        VNSEARCH_HOST=host or settings.host,
        VNSEARCH_PORT=str(port or settings.port),
        VNSEARCH_WORKERS=str(workers or settings.workers),
    )
    click.echo(f"Serving on http://{env['VNSEARCH_HOST']}:{env['VNSEARCH_PORT']}/search?q=... (Ctrl+C stops)")
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:search.web.gunicorn_conf", "wsgi:application"]
    if ray_address:
        from search.cli.ray_serve import serve_on_ray  # imports Ray: only when asked for

        try:
            sys.exit(serve_on_ray(ray_address, index_dir, replicas or settings.ray_replicas, settings, argv, env))
        except (RayMissing, IndexMissing, SchemaMismatch) as exc:
            raise click.ClickException(str(exc)) from None
    os.execvpe(argv[0], argv, env)
