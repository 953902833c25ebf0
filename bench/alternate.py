"""Before and after in the same run: the distinct phase of `bench.run`, from two checkouts, in turns.

    python -m bench.alternate INDEX_DIR LIST --base OTHER_CHECKOUT [--base-index DIR] [--turns 2] [--timed 3000]
    python -m bench.alternate INDEX_DIR LIST --base OTHER_CHECKOUT --http SECONDS [--turns 2]

The machine is shared and its load drifts, so figures of two code versions measured an hour
apart say little; here the same index (built once, its schema unchanged between the versions;
when the schema changed, `--base-index` names the same articles built by the older checkout)
and the same distinct list (`bench.distinct`, or `distinct.tsv` in a `bench.run --keep` work
folder) are run by this checkout and by `--base` (a second worktree of the older commit) in
alternating child processes, each warming up on the list's first queries and timing the next
ones, each seen once. The side that goes first changes every turn, so that whatever the host
does to the second run of a turn does not always fall on the same side (in two runs that only
swapped their sides' indexes, the side run second was the slower in five turns of six).
Both checkouts' bytecode is written first (`compile_checkout`). Prints each turn and the
median of the turns per side, with the CPU time each child used (user and system, warm-up and
index opening included): on a shared machine, wall time also counts the time other processes
held the cores. The last column is the mean of the turns' after / before ratios and its
standard error.

With `--http`, each turn serves the list over HTTP instead (`bench.run.http`: 2 gunicorn
workers started from that side's checkout, the result cache off, wrk with 8 connections for
that many seconds): requests a second, latency, and the server's CPU a request, which is what
the rate is bound by when the server's cores are busy.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bench import distinct
from bench.run import compile_checkout, http, load

ROOT = Path(__file__).resolve().parent.parent


def imported_from(checkout: Path) -> Path:
    """Where a child started in `checkout` imports `search` from: its own tree (the current
    directory comes first on a child's path), not the package this interpreter has installed."""
    out = subprocess.run(
        [sys.executable, "-c", "import search; print(search.__file__)"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()).resolve().parent.parent


def check_imports(parser: argparse.ArgumentParser, checkouts: Iterable[Path]) -> None:
    """Stops with a usage error unless a child started in each checkout imports its own `search`."""
    for checkout in checkouts:
        found = imported_from(checkout)
        if found != checkout:
            parser.error(f"a child in {checkout} would import search from {found}")


def turn(checkout: Path, index_dir: Path, listed: Path, timed: int) -> dict:
    """One child process of `checkout` running the distinct list against `index_dir`, with the
    CPU seconds it used (`cpu_s`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", "--child-distinct", "vnsearch", str(index_dir), str(listed)]
        + [str(distinct.WARM), str(timed)],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {**json.loads(out.stdout.splitlines()[-1]), "cpu_s": round(cpu, 2)}


def in_turn(sides: dict[str, Path], number: int) -> list[tuple[str, Path]]:
    """The sides in the order turn `number` (from 0) runs them: as given, then reversed, and so
    on, so that neither side always runs second."""
    order = list(sides.items())
    return order if number % 2 == 0 else order[::-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("listed", type=Path)
    parser.add_argument("--base", type=Path, required=True, help="the checkout measured as 'before'")
    parser.add_argument("--base-index", type=Path, help="the index the base reads (default: INDEX_DIR)")
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--timed", type=int, default=distinct.TIMED)
    parser.add_argument("--http", type=int, default=0, help="seconds of HTTP load a turn instead (0: in process)")
    args = parser.parse_args()
    sides = {"before": args.base.resolve(), "after": ROOT}
    indexes = {"before": (args.base_index or args.index_dir).resolve(), "after": args.index_dir.resolve()}
    check_imports(parser, sides.values())
    for checkout in sides.values():
        compile_checkout(checkout)
    if args.http:
        served(sides, indexes, args.listed.resolve(), args.http, args.turns)
        return
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    for number in range(args.turns):
        for name, checkout in in_turn(sides, number):
            before = load()
            figures = turn(checkout, indexes[name], args.listed.resolve(), args.timed)
            runs[name].append(figures)
            print(
                f"turn {number + 1} {name}: p50 {figures['p50']} p95 {figures['p95']} p99 {figures['p99']} "
                f"mean {figures['mean']} ms, {figures['errors']} errors, CPU {figures['cpu_s']} s, load {before}",
                flush=True,
            )
    medians(runs, (("p50", "ms"), ("p95", "ms"), ("p99", "ms"), ("mean", "ms"), ("cpu_s", "s")))


#: What a served turn reports, with its unit, in the order printed.
SERVED = (
    ("req_per_s", "req/s"),
    ("p50", "ms"),
    ("p95", "ms"),
    ("p99", "ms"),
    ("errors", "requests"),
    ("server_cpu_ms_per_request", "ms"),
    ("server_cores", "cores"),
    ("rss_end_mib", "MiB"),
)


def served(sides: dict[str, Path], indexes: dict[str, Path], listed: Path, seconds: int, turns: int) -> None:
    """`--http`: each side's checkout serving the list in turns, then the medians."""
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    for number in range(turns):
        for name, checkout in in_turn(sides, number):
            before = load()
            with tempfile.TemporaryDirectory() as work:
                figures = http("vnsearch", indexes[name], seconds, 8, Path(work), listed, root=checkout)
            runs[name].append(figures)
            shown = ", ".join(f"{key} {figures[key]}" for key, _ in SERVED)
            print(f"turn {number + 1} {name}: {shown}, load {before}", flush=True)
    medians(runs, SERVED)


def medians(runs: dict[str, list[dict]], rows: Iterable[tuple[str, str]]) -> None:
    """The median of the turns of each side, a row per (figure, unit), as a Markdown table,
    and the turns' after / before ratios (`paired`)."""
    print("| | before | after | after / before, by turn |\n| --- | ---: | ---: | ---: |")
    for key, unit in rows:
        found = (statistics.median(r[key] for r in turns) for turns in runs.values())
        ratio = paired([r[key] for r in runs["before"]], [r[key] for r in runs["after"]])
        print(f"| {key} ({unit}) | " + " | ".join(f"{m:.2f}" for m in found) + f" | {ratio} |")


def paired(before: list[float], after: list[float]) -> str:
    """The mean of each turn's after / before, with its standard error from two turns on. The
    two sides of a turn run one after the other, so a turn's ratio leaves out how the host
    drifts between turns, which the medians of each side keep: a change smaller than the
    drift can still show, as a mean more than two standard errors from 1."""
    ratios = [a / b for a, b in zip(after, before) if b]
    if not ratios:
        return "–"
    mean = statistics.fmean(ratios)
    if len(ratios) < 2:
        return f"{mean:.3f}"
    return f"{mean:.3f} ± {statistics.stdev(ratios) / math.sqrt(len(ratios)):.3f}"


if __name__ == "__main__":
    main()
