"""The one settings object: read from the environment once, then passed down explicitly.

The CLI, `gunicorn wsgi:application` and the tests build a `Settings` and hand it (or the values
a layer needs) to what they create; nothing below this module reads `VNSEARCH_*` variables
itself, so a setting means the same wherever it is used. Every setting has a `VNSEARCH_`
variable (the README's table lists them all; a test checks it) and a default relative to the
working directory, which is the repository root in the quick start; CLI options override the
environment.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from search.corpus.files import MAX_ARTICLE_BYTES
from search.index.engine.segments import POSTINGS_BYTES
from search.index.pool import DEFAULT_POOL_MB, MAX_POOL_MB
from search.searching.cache import DEFAULT_ENTRIES, DEFAULT_MIB
from search.searching.evaluate import SCORED_BYTES
from search.searching.searcher import VIETNAM
from search.searching.vectors import VECTORS_MIB

#: Default time one search may take before it answers with what it has, marked partial.
SEARCH_BUDGET_MS = 2000
#: Default largest request body; larger ones get 413 before a byte of them is read.
MAX_BODY_BYTES = 4 << 20
#: Loopback, where a proxy on the same machine connects from.
LOOPBACK = ("127.0.0.0/8", "::1")
#: How access lines are written: `key=value` text, or one JSON object a line.
LOG_FORMATS = ("text", "json")


def _paths(value: str) -> tuple[Path, ...]:
    return tuple(Path(p) for p in value.split(os.pathsep) if p)


def cors_origins(value: str) -> tuple[str, ...]:
    """Origins separated by commas or spaces; a trailing "/" is dropped because browsers send
    the Origin header without one. "*" is refused: cross-origin use must be listed, not open."""
    origins = tuple(o.rstrip("/") for o in value.replace(",", " ").split())
    for origin in origins:
        if origin == "*" or not origin.startswith(("http://", "https://")):
            raise ValueError(f"VNSEARCH_CORS_ORIGINS lists origins like https://example.com, got {origin!r}")
    return origins


def address_list(value: str, variable: str) -> tuple[str, ...]:
    """Addresses or networks (`10.0.0.0/8`) separated by commas or spaces, checked and
    normalized. "*" is refused: trusting every address is what these lists exist to avoid."""
    entries = []
    for entry in value.replace(",", " ").split():
        if entry == "*":
            raise ValueError(f"{variable} lists addresses or networks; '*' (anyone) is not accepted")
        try:
            entries.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValueError(
                f"{variable} lists addresses or networks like 127.0.0.1 or 10.0.0.0/8, got {entry!r}"
            ) from None
    if not entries:
        raise ValueError(f"{variable} lists at least one address or network, got {value!r}")
    return tuple(entries)


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("index")
    corpus_dirs: tuple[Path, ...] = (Path("corpus"),)
    acronym_files: tuple[Path, ...] = field(default_factory=tuple)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    #: Origins (scheme://host[:port]) whose pages may call /search and /suggest from a browser.
    cors_origins: tuple[str, ...] = ()
    #: Enables PUT/DELETE /articles/{id} for clients sending it as a Bearer token; None: off.
    admin_token: str | None = None
    #: Seconds an HTTP write waits for the index lock before answering 503.
    write_timeout: float = 5.0
    #: Largest single article in bytes: a JSON body PUT accepts, a corpus file or JSONL line.
    max_article_bytes: int = MAX_ARTICLE_BYTES
    #: Processes a full build uses: all the CPUs by default.
    index_procs: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: Memory (MiB) a build keeps postings in, shared by its processes.
    pool_mb: int = DEFAULT_POOL_MB
    #: Search results each worker keeps for repeated requests (0: none), and their memory bound.
    result_cache_entries: int = DEFAULT_ENTRIES
    result_cache_mib: int = DEFAULT_MIB
    #: Memory (MiB) each worker keeps article vectors in for related coverage (0: none).
    related_cache_mib: int = VECTORS_MIB
    #: Memory (MiB) each worker keeps decoded posting lists in, across commits (the shards
    #: searched in one worker share it); phrase words' positions are kept in up to twice as much again.
    postings_cache_mib: int = POSTINGS_BYTES >> 20
    #: Memory (MiB) each worker keeps the scored posting lists of terms and phrases in, for the
    #: newest commit (the shards searched in one worker share it).
    scored_cache_mib: int = SCORED_BYTES >> 20
    #: Time one search may take; past it the answer is what was found by then, marked partial.
    search_budget_ms: int = SEARCH_BUDGET_MS
    #: Searches one worker runs at once, the others queued in order of arrival (0: no limit);
    #: None: one, or no limit when the shards are searched on Ray (the worker then mostly waits).
    search_slots: int | None = None
    #: Largest request body on any path; larger ones get 413 before the body is read.
    max_body_bytes: int = MAX_BODY_BYTES
    #: gunicorn's control socket; None keeps it off, so two instances never share one.
    control_socket: str | None = None
    #: The time zone of the times articles give, as an offset from UTC (feeds need one).
    utc_offset: dt.timedelta = VIETNAM
    #: The Ray cluster whose actors hold the shards (set by `vnsearch serve --ray`); None:
    #: the shards are searched in each worker.
    ray_address: str | None = None
    #: Actors per shard on Ray: a query goes to one of them, another takes over while one restarts.
    ray_replicas: int = 1
    #: Request threads per gunicorn worker: a slow client holds one thread, not a whole worker.
    threads: int = 128
    #: Seconds a client may go silent sending its request, or stop reading the answer (0: never).
    client_timeout: float = 5.0
    #: Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (gunicorn's too).
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    #: Client addresses (or networks) that may read /metrics.
    metrics_allow: tuple[str, ...] = LOOPBACK
    #: Access lines as `key=value` text or as JSON objects (`LOG_FORMATS`).
    log_format: str = "text"
    #: Whether access lines carry the query text; off, they carry its length only.
    log_queries: bool = False

    @property
    def slots(self) -> int:
        """`search_slots` resolved: how many searches a worker runs at once (0: no limit)."""
        if self.search_slots is not None:
            return self.search_slots
        return 0 if self.ray_address else 1

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read `VNSEARCH_*` variables; an unset or empty variable keeps the default.
        `ValueError` names the variable and says what a valid value is."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, convert in _CONVERTERS.items():
            raw = env.get(f"VNSEARCH_{name.upper()}")
            if raw:
                values[_FIELDS.get(name, name)] = convert(raw, f"VNSEARCH_{name.upper()}")
        return cls(**values)  # type: ignore[arg-type]


def variables() -> list[str]:
    """Every environment variable the settings are read from."""
    return [f"VNSEARCH_{name.upper()}" for name in _CONVERTERS]


def _text(raw: str, name: str) -> str:
    return raw


def _offset(raw: str, name: str) -> dt.timedelta:
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", raw.strip())
    if match is None or int(match[2]) > 14 or int(match[3]) > 59:
        raise ValueError(f"{name} must be an offset from UTC like +07:00, got {raw!r}")
    minutes = int(match[2]) * 60 + int(match[3])
    return dt.timedelta(minutes=-minutes if match[1] == "-" else minutes)


def _number(low: float, high: float | None = None, whole: bool = True) -> Callable[[str, str], object]:
    def convert(raw: str, name: str) -> int | float:
        what = "a whole number" if whole else "a number"
        try:
            value: int | float = int(raw) if whole else float(raw)
        except ValueError:
            raise ValueError(f"{name} must be {what}, got {raw!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {raw!r}")
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ValueError(f"{name} must be {what} {span}, got {raw!r}")
        return value

    return convert


def _choice(choices: tuple[str, ...]) -> Callable[[str, str], object]:
    def convert(raw: str, name: str) -> str:
        if raw not in choices:
            raise ValueError(f"{name} is one of {', '.join(choices)}, got {raw!r}")
        return raw

    return convert


def _flag(raw: str, name: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(f"{name} is 1 (on) or 0 (off), got {raw!r}")
    return raw == "1"


_CONVERTERS: dict[str, Callable[[str, str], object]] = {
    "index_dir": lambda raw, name: Path(raw),
    "corpus_dir": lambda raw, name: _paths(raw),
    "acronyms": lambda raw, name: _paths(raw),
    "host": _text,
    "port": _number(1, 65535),
    "workers": _number(1),
    "cors_origins": lambda raw, name: cors_origins(raw),
    "admin_token": _text,
    "write_timeout": _number(0, whole=False),
    "max_article_bytes": _number(1),
    "index_procs": _number(1),
    "pool_mb": _number(1, MAX_POOL_MB),
    "result_cache_entries": _number(0),
    "result_cache_mib": _number(0),
    "related_cache_mib": _number(0),
    "postings_cache_mib": _number(0),
    "scored_cache_mib": _number(0),
    "search_budget_ms": _number(1),
    "search_slots": _number(0),
    "max_body_bytes": _number(1),
    "control_socket": _text,
    "utc_offset": _offset,
    "ray_address": _text,
    "ray_replicas": _number(1, 64),
    "threads": _number(1),
    "client_timeout": _number(0, whole=False),
    "forwarded_allow_ips": lambda raw, name: address_list(raw, name),
    "metrics_allow": lambda raw, name: address_list(raw, name),
    "log_format": _choice(LOG_FORMATS),
    "log_queries": _flag,
}
#: Variables whose name is not the field's.
_FIELDS = {"corpus_dir": "corpus_dirs", "acronyms": "acronym_files"}
