"""Before and after without the host's noise: the instructions cold distinct queries execute.

    python -m bench.instructions INDEX_DIR LIST [--base OTHER_CHECKOUT] [--warm 200] [--timed 300]

Wall time on this shared machine drifts by more between two runs of the same code than most
single changes to a cold query save. The number of instructions a process executes hardly
does: run under valgrind's callgrind, with `PYTHONHASHSEED` fixed, two runs of one checkout
agree far more closely (`bench/results/2026-12-07-instructions.md`).

Here a child of each checkout (this one, and `--base` when given: a second worktree of the
older commit) opens `INDEX_DIR`, searches the distinct list's first `--warm` queries
uninstrumented (the caches a worker fills), then switches callgrind's instrumentation on for
itself (`callgrind_control -i on`), searches the next `--timed`, each once, as `/search` pages
(collapsed by story, with snippets), and switches it off.

Instructions are not time: a change that executes fewer instructions but misses the processor's
caches more can still be slower. So a change this says saves instructions is still timed
(`bench.alternate`). Needs `valgrind` (Debian's package).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.alternate import check_imports

ROOT = Path(__file__).resolve().parent.parent
#: Fewer queries than the timed phase's: callgrind runs them many times slower.
WARM, TIMED = 200, 300


#: The child, given to `python -c` in the checkout measured, so that it imports that checkout's
#: `search` and `bench` (the current directory comes first on its path), even one older than
#: this module: the warm-up uninstrumented, the timed queries instrumented.
CHILD = """
import os, subprocess, sys
from pathlib import Path
from bench import distinct
from search.query.acronyms import load_synonyms
from search.searching.searcher import SearchIndex

index_dir, listed, warm, timed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
index = SearchIndex(index_dir, load_synonyms())
requests = [distinct.page_request(*row) for row in distinct.read(listed)]
for request in requests[:warm]:
    index.search(request)
subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
for request in requests[warm : warm + timed]:
    index.search(request)
subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)
"""


def instructions(checkout: Path, index_dir: Path, listed: Path, warm: int, timed: int) -> int:
    """What the timed queries of a child started in `checkout` executed, from callgrind's totals."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
        command += [sys.executable, "-c", CHILD, str(index_dir), str(listed), str(warm), str(timed)]
        subprocess.run(
            command, cwd=checkout, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True, capture_output=True
        )
        found = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"callgrind wrote no totals for {checkout}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("listed", type=Path, help="a list written by `python -m bench.distinct`")
    parser.add_argument("--base", type=Path, help="the checkout measured as 'before'")
    parser.add_argument("--warm", type=int, default=WARM)
    parser.add_argument("--timed", type=int, default=TIMED)
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed (Debian: apt install valgrind)")
    sides = {"after": ROOT} if args.base is None else {"before": args.base.resolve(), "after": ROOT}
    check_imports(parser, sides.values())
    counts = {}
    for name, checkout in sides.items():
        counts[name] = instructions(checkout, args.index_dir.resolve(), args.listed.resolve(), args.warm, args.timed)
        print(f"{name}: {counts[name]:,} instructions, {counts[name] / args.timed / 1e6:.2f} M a query", flush=True)
    if "before" in counts:
        change = (counts["after"] - counts["before"]) / counts["before"]
        print(f"after against before: {change:+.3%}")


if __name__ == "__main__":
    main()
