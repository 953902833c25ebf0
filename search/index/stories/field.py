"""The index field that keeps what finds an article's copies: its equal-body key and MinHash
signature, in a column of their own (see `search.index.stories.text.Signatures`).

The value is computed where the document is analysed, so a multi-process build spreads the
hashing over its processes like the rest of the analysis, and it is written with the document,
in the same commit. Its words come from a split of the body the text fields then reuse.
Whoosh pickles this class into the index schema: it must stay importable here.
"""

from __future__ import annotations

from typing import Any

from whoosh.fields import ID

from search.index.fields import folded_body_words
from search.index.stories.text import Signatures


class CopyColumn(ID):
    """A column of bytes made from the article's body; not a term, not stored."""

    indexed = False

    def __init__(self) -> None:
        super().__init__(stored=False, sortable=True)

    def to_column_value(self, value: Any) -> bytes:
        if isinstance(value, bytes):
            return value
        signatures = self.__dict__.get("_signatures")
        if signatures is None:
            signatures = self.__dict__["_signatures"] = Signatures()
        return signatures.column_value(value, folded_body_words(value))

    def from_column_value(self, value: bytes) -> bytes:
        return value

    def __getstate__(self) -> dict[str, object]:
        """The word-hash cache is not part of the schema pickled into the index."""
        state = self.__dict__.copy()
        state.pop("_signatures", None)
        return state
