"""Settings from the environment, so the CLI, `gunicorn wsgi:application` and the tests agree.

Every setting has a `VNSEARCH_` variable and a default relative to the working directory, which
is the repository root in the quick start; CLI options override the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from search.cache import DEFAULT_ENTRIES, DEFAULT_MIB


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
    #: Largest JSON article body PUT accepts, in bytes.
    max_article_bytes: int = 2 * 1024 * 1024
    #: Processes a full build uses (`VNSEARCH_INDEX_PROCS`): all the CPUs by default.
    index_procs: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: Search results each worker keeps for repeated requests (0: none), and their memory bound.
    result_cache_entries: int = DEFAULT_ENTRIES
    result_cache_mib: int = DEFAULT_MIB

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Read `VNSEARCH_*` variables; an unset or empty variable keeps the default."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if env.get("VNSEARCH_INDEX_DIR"):
            values["index_dir"] = Path(env["VNSEARCH_INDEX_DIR"])
        if env.get("VNSEARCH_CORPUS_DIR"):
            values["corpus_dirs"] = _paths(env["VNSEARCH_CORPUS_DIR"])
        if env.get("VNSEARCH_ACRONYMS"):
            values["acronym_files"] = _paths(env["VNSEARCH_ACRONYMS"])
        if env.get("VNSEARCH_HOST"):
            values["host"] = env["VNSEARCH_HOST"]
        if env.get("VNSEARCH_CORS_ORIGINS"):
            values["cors_origins"] = cors_origins(env["VNSEARCH_CORS_ORIGINS"])
        if env.get("VNSEARCH_ADMIN_TOKEN"):
            values["admin_token"] = env["VNSEARCH_ADMIN_TOKEN"]
        for name, kind in (("port", int), ("workers", int), ("write_timeout", float), ("max_article_bytes", int),
                           ("index_procs", int), ("result_cache_entries", int), ("result_cache_mib", int)):
            raw = env.get(f"VNSEARCH_{name.upper()}")
            if raw:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    what = "a whole number" if kind is int else "a number"
                    raise ValueError(f"VNSEARCH_{name.upper()} must be {what}, got {raw!r}") from None
        for name in ("result_cache_entries", "result_cache_mib"):
            if values.get(name, 0) < 0:
                raise ValueError(f"VNSEARCH_{name.upper()} cannot be negative, got {values[name]}")
        return cls(**values)  # type: ignore[arg-type]
