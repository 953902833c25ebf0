"""The article record shared by the corpus reader, the indexer and the searcher.

An `Article` holds text that is already clean: the corpus reader normalises it (see
`search.text.normalize.normalize`) and removes site chrome before building one, so everything downstream
can trust its fields as they are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields

#: An id is looked up as a URL path (/articles/{id}): longer ones could not be asked for.
MAX_ID_CHARS = 512

#: Fields left out of `content_hash`: where an article was read from is not part of its content,
#: so moving a file or merging corpus folders does not make every article look changed.
_NOT_HASHED = frozenset({"path"})


@dataclass(frozen=True)
class Article:
    """One news article.

    `body` is the cleaned text, paragraphs separated by a blank line ("\\n\\n"). `date` is ISO:
    "YYYY-MM-DD", or "YYYY-MM" / "YYYY" when only that much is known. A field the source does not
    give is None rather than a guess; `time` ("HH:MM") is kept when the source states one for a
    full date. `path` is the source file relative to its corpus root, kept
    only so that problems can be traced back to a file.
    """

    id: str
    title: str
    body: str
    date: str | None = None
    #: "HH:MM", local time as the outlet gives it; only with a full `date`.
    time: str | None = None
    source: str | None = None
    author: str | None = None
    url: str | None = None
    topic: str | None = None
    path: str | None = None

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of every field but `path`, serialised canonically.

        The indexer stores it next to each document and compares it on the next run, so that an
        unchanged article is not rewritten and a changed one (any field, including metadata) is.
        Canonical JSON (sorted keys, fixed separators, None kept as null) makes the digest depend
        on the values only, and distinguishes a missing field from an empty one.
        """
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_HASHED}
        canonical = json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
