"""What goes wrong reading an input, as values: a bad file or a bad JSONL line becomes a
`ParseError` in the stream instead of an exception, so one broken input never stops a batch and
every problem is reported with its file and line.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ParseError:
    """An input that could not be read: the file (relative to its corpus root), the line for
    JSONL (1-based, None for a whole file) and a reason meant for a person, not a traceback."""

    path: str
    line: int | None
    reason: str


class NoContentError(ValueError):
    """A scraped text with nothing left once site chrome is removed."""


#: What reading a (possibly gzip-compressed) input may raise, besides decoding errors.
READ_ERRORS = (OSError, EOFError, zlib.error)


def os_reason(exc: BaseException) -> str:
    """Why a file could not be read, for a person (no traceback, no errno numbers)."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
