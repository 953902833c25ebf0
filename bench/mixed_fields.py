"""The differential property test of mixed-field indexes (tests/test_mixed_fields.py), run at
a size CI has no time for: many more sequences of indexing operations, and longer ones.

    python -m bench.mixed_fields [--examples 1000] [--steps 12] [--seed N]

Prints hypothesis's statistics (examples run, how long they took) and pytest's verdict; a
failure prints the shortest sequence of operations that breaks the index.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="sequences of operations to try")
    parser.add_argument("--steps", type=int, default=12, help="operations per sequence at most")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed, to repeat a run")
    args = parser.parse_args()
    env = dict(os.environ, VNSEARCH_PROPERTY_EXAMPLES=str(args.examples), VNSEARCH_PROPERTY_STEPS=str(args.steps))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-show-statistics",
        "tests/test_mixed_fields.py::TestGrownIndex",
    ]
    if args.seed is not None:
        command.append(f"--hypothesis-seed={args.seed}")
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env)
    print(
        f"{args.examples} examples of up to {args.steps} steps: "
        f"{'passed' if done.returncode == 0 else 'FAILED'} in {time.perf_counter() - started:.0f} s"
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
