"""gunicorn server hooks: the metrics directory of one server start, and the client timeout.

**Metrics.** prometheus_client's multiprocess mode needs one directory that every worker
writes to and that holds nothing from an earlier run (old files would be added to the new
counts). The arbiter makes a fresh one as it starts, before any worker forks, and publishes it
as `PROMETHEUS_MULTIPROC_DIR` for the workers to inherit (a value set beforehand is replaced);
when a worker dies its live gauges are dropped, so the article count of a dead worker is not
reported, while its counters stay in the totals; the directory goes when the arbiter exits.
prometheus_client itself is never imported here at load time: the library picks its storage
on first import, and the workers must pick the files.

**Client timeout.** gunicorn reads request headers and bodies with blocking reads and no time
limit of its own: a client that stops sending holds the thread reading for it (with sync
workers, the whole worker) until the client gives up, or, for sync workers, until the arbiter
kills the worker for missing its heartbeat, together with every request it was serving. No
gunicorn setting bounds that read, but the kernel can: a receive timeout (SO_RCVTIMEO) set on
the listening socket is inherited by every connection accepted from it, so a blocking read
that waits longer fails with EAGAIN; gunicorn then closes that connection and the thread is
free again (a body read by the app is answered 408 by `search.web.errors`). A send timeout
(SO_SNDTIMEO) does the same for a client that stops reading its answer. It bounds each
silence, not the whole request: a client that trickles a byte just inside the timeout still
holds its thread for as long as it keeps trickling. That, and connections beyond the thread
count, are what only a buffering proxy absorbs (README, "Running in production").
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import struct
import tempfile
from collections.abc import Iterable
from typing import Any

from search.settings import Settings

METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR_PREFIX = "vnsearch-metrics-"


class _Start:
    """What the arbiter made as it started (the hooks below run in the arbiter)."""

    metrics_dir: str | None = None


def on_starting(server: Any) -> None:
    _Start.metrics_dir = tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX)
    os.environ[METRICS_DIR_VARIABLE] = _Start.metrics_dir


def when_ready(server: Any) -> None:  # gunicorn's Arbiter
    set_receive_timeout((listener.sock for listener in server.LISTENERS), Settings.from_env().client_timeout)


def post_worker_init(worker: Any) -> None:
    install_log_filter(Settings.from_env().client_timeout)


def child_exit(server: Any, worker: Any) -> None:
    directory = _Start.metrics_dir
    if directory and os.path.isdir(directory):
        from prometheus_client.multiprocess import mark_process_dead

        mark_process_dead(worker.pid, directory)


def on_exit(server: Any) -> None:
    directory, _Start.metrics_dir = _Start.metrics_dir, None
    if directory and os.path.basename(directory).startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)


def set_receive_timeout(sockets: Iterable[socket.socket], seconds: float) -> None:
    """Give every connection accepted from `sockets` receive and send timeouts (0: none)."""
    if seconds <= 0:
        return
    whole = int(seconds)
    value = struct.pack("ll", whole, int(round((seconds - whole) * 1_000_000)))
    for sock in sockets:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


class QuietReadTimeouts(logging.Filter):
    """gunicorn logs a connection cut by the receive timeout as a socket error with a
    traceback; it is an expected event (a slow or stalled client), so it becomes one line."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, BlockingIOError):
            record.msg = "Closed a connection that stalled for %gs (VNSEARCH_CLIENT_TIMEOUT)."
            record.args = (self.seconds,)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def install_log_filter(seconds: float) -> None:
    """In a gunicorn worker: shorten its log lines for connections the timeout cut."""
    if seconds > 0:
        logging.getLogger("gunicorn.error").addFilter(QuietReadTimeouts(seconds))
