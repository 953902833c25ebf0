"""The load test's shortened mode (bench/load_test.py) as part of the suite: real gunicorn with 2
workers under concurrent mixed queries, a reindex adding articles, one worker SIGKILLed. The
script itself checks for 5xx, unanswered requests, the replacement worker and lost articles."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_short_load_run_loses_nothing():
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load_test.py"),
            "--short",
            "--duration",
            "8",
            "--base",
            "50",
            "--added",
            "100",
            "--concurrency",
            "8",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    figures = json.loads(proc.stdout[proc.stdout.rindex("\n{\n") : proc.stdout.rindex("}") + 1])
    assert figures["added_missing"] == figures["original_missing"] == 0
    assert figures["articles_counted"] == figures["articles_expected"] == 5 + 50 + 100
    assert not any(int(status) >= 500 for status in figures["by_status"])
    assert figures["worker_replaced_after_s"] is not None and figures["requests_sent"] > 0
