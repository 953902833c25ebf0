"""Finding, opening, creating and switching the index on disk, and the lock its writers share.

Both the indexer and the service go through here so that the version check in
`search.schema` cannot be skipped by one of them.

Layout of an index folder:

- `CURRENT` names the live generation, a subfolder `gen-...` holding one Whoosh index. A fresh
  build or a `--rebuild` writes a new subfolder `gen-....building` beside the live one and, only
  once it is committed, renames it and replaces `CURRENT` with `os.replace`: readers see either
  the old index or the new one, never a half-built one. A build killed before the switch leaves
  a `.building` folder that the next writer removes.
- An index folder without `CURRENT` holding a Whoosh index itself (the layout before
  generations) is still opened and updated in place; a rebuild moves it to the new layout.
- `WRITELOCK` is an advisory lock taken by every writer (the CLI, the HTTP ingest endpoint,
  a rebuild) for its whole run: the kernel releases it when its holder dies, even by SIGKILL, so
  a stale lock never blocks the next run, while a live holder makes the next writer wait.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh import index
from whoosh.index import FileIndex

from search.index.schema import INDEX_NAME, SchemaMismatch, build_schema, other_versions

POINTER = "CURRENT"
LOCK_FILE = "WRITELOCK"
_GENERATION_PREFIX = "gen-"
_BUILDING_SUFFIX = ".building"
#: Files of a Whoosh index written straight into the index folder (the layout before generations).
_FLAT_FILE_RE = re.compile(r"^_?articles_v\d+_")


class IndexMissing(RuntimeError):
    """No index has been built in the directory yet."""


class IndexBusy(RuntimeError):
    """Another live process holds the write lock and did not let go in time."""


def live_dir(index_dir: Path) -> Path:
    """The folder holding the live Whoosh index: the generation `CURRENT` names, else the
    index folder itself (an index built before generations, or none yet)."""
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return index_dir
    if not name or "/" in name or name.startswith("."):
        raise IndexMissing(f"{index_dir / POINTER} is damaged ({name!r}); run `vnsearch index --rebuild`")
    return index_dir / name


#: How long after a change to `CURRENT` or the live folder `Watch` keeps looking at what they
#: hold, whatever their times say: far longer than the steps of a file system's clock.
SETTLE_SECONDS = 1.0

_Stamp = tuple[tuple[int, int, int] | None, tuple[int, int] | None]


class Watch:
    """Whether an index may have changed since a reader last looked: a `stat` of `CURRENT` and of
    the live folder (a commit adds its table of contents there; a switch replaces `CURRENT`)
    instead of reading the one and listing the other before every request.

    A time stamp steps coarsely, so a change made just after a look may leave it as it was:
    until both are older than `SETTLE_SECONDS` at the time of the look, nothing is unchanged.
    """

    def __init__(self, index_dir: Path) -> None:
        self._pointer = index_dir / POINTER  # joined once: a stamp is taken before every search
        self._settled: _Stamp | None = None

    def stamp(self, live: Path) -> _Stamp:
        """What `CURRENT` and `live` are now; take it before looking at what they hold."""
        try:
            pointer = os.stat(self._pointer)
            current = (pointer.st_ino, pointer.st_mtime_ns, pointer.st_size)
        except FileNotFoundError:
            current = None
        try:
            folder = os.stat(live)
            held = (folder.st_ino, folder.st_mtime_ns)
        except FileNotFoundError:
            held = None
        return current, held

    def unchanged(self, live: Path) -> bool:
        """True when neither changed since a look `looked` recorded as settled."""
        return self._settled is not None and self.stamp(live) == self._settled

    def looked(self, stamp: _Stamp, at: float) -> None:
        """Record a look that began at `at` (wall clock), with the `stamp` taken before it."""
        times = [part[1] for part in stamp if part is not None]
        settled = all(ns / 1e9 < at - SETTLE_SECONDS for ns in times)
        self._settled = stamp if settled else None


def index_exists(index_dir: Path) -> bool:
    try:
        where = live_dir(index_dir)
    except IndexMissing:
        return False
    return where.is_dir() and index.exists_in(str(where), indexname=INDEX_NAME)


def open_index(index_dir: Path) -> FileIndex:
    """Open the live current-version index, or explain what to run instead."""
    where = live_dir(index_dir)
    if not index_exists(index_dir):
        stale = other_versions(where)
        if stale:
            raise SchemaMismatch(
                f"the index in {index_dir} was built by an older version of vnsearch "
                f"({', '.join(stale)}); run `vnsearch index --rebuild`"
            )
        raise IndexMissing(f"no index in {index_dir}; run `vnsearch index` to build it")
    return index.open_dir(str(where), indexname=INDEX_NAME)


def create_index(index_dir: Path) -> FileIndex:
    """Create an empty current-version Whoosh index right in `index_dir`, replacing any index
    of that version there (the indexer creates it in a new generation instead)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    return index.create_in(str(index_dir), build_schema(), indexname=INDEX_NAME)


def new_generation(index_dir: Path) -> Path:
    """A new, empty folder for a generation being built; invisible to readers until `publish`."""
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = index_dir / f"{_GENERATION_PREFIX}{stamp}-{secrets.token_hex(4)}{_BUILDING_SUFFIX}"
    path.mkdir()
    return path


def publish(index_dir: Path, building: Path) -> None:
    """Make a completely written generation the live one, atomically, then delete the previous
    one. Readers that still hold its files keep reading them (they stay until closed) and
    move to the new generation on their next refresh."""
    final = building.with_name(building.name.removesuffix(_BUILDING_SUFFIX))
    os.rename(building, final)
    _fsync_dir(index_dir)
    temp = index_dir / f"{POINTER}.tmp"
    with open(temp, "w", encoding="utf-8") as stream:
        stream.write(final.name + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temp, index_dir / POINTER)
    _fsync_dir(index_dir)
    remove_abandoned(index_dir)


def remove_abandoned(index_dir: Path) -> None:
    """Delete what is not the live index: generations being built by a run that died, earlier
    generations, and the files of an index written straight into the folder once `CURRENT`
    exists (or of another schema version). Only a holder of the write lock may call this."""
    try:
        live = live_dir(index_dir)
    except IndexMissing:  # a damaged pointer: nothing can be told apart until a rebuild
        return
    if not index_dir.is_dir():
        return
    for path in index_dir.iterdir():
        if path == live:
            continue
        if path.is_dir() and path.name.startswith(_GENERATION_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
        elif live != index_dir and path.is_file() and _FLAT_FILE_RE.match(path.name):
            path.unlink(missing_ok=True)
    (index_dir / f"{POINTER}.tmp").unlink(missing_ok=True)


def discard(building: Path) -> None:
    """Remove a generation whose build failed before it was published."""
    shutil.rmtree(building, ignore_errors=True)


#: One lock per index folder for the threads of this process: POSIX record locks are held by
#: a process, so they do not keep two threads of one process (gthread workers) apart.
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextmanager
def write_lock(index_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the index folder's write lock, waiting up to `timeout` seconds for another writer.

    The lock is a POSIX record lock (`lockf`) rather than `flock`: the kernel drops it when its
    process dies, and unlike `flock` it is not shared with forked children (Whoosh's
    multiprocessing writer forks), which could outlive a killed parent and keep it held. The
    holder's pid and start time are written into the file only for the message of a waiting
    writer.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_FILE
    deadline = time.monotonic() + timeout
    with _THREAD_LOCKS_GUARD:
        in_process = _THREAD_LOCKS.setdefault(str(path.resolve()), threading.Lock())
    if not in_process.acquire(timeout=max(0.0, timeout)):
        raise _busy(index_dir, f"another thread of this process (pid {os.getpid()})", timeout)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EACCES, errno.EAGAIN):
                        raise
                    if time.monotonic() >= deadline:
                        raise _busy(
                            index_dir, os.pread(fd, 200, 0).decode("utf-8", "replace").strip(), timeout
                        ) from None
                    time.sleep(0.05)
            os.ftruncate(fd, 0)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            os.pwrite(fd, f"pid {os.getpid()}, since {stamp}".encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # releases the record lock
    finally:
        in_process.release()


def _busy(index_dir: Path, holder: str, timeout: float) -> IndexBusy:
    return IndexBusy(
        f"the index in {index_dir} is being written by another process"
        f"{f' ({holder})' if holder else ''}; gave up after {timeout:g} s, try again later"
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
