"""Whoosh's W3 codec with one cost of its writer removed: the files it writes are the same.

When a writer flushes its postings, Whoosh looks up the document's field length for every
posting (a seek and a read in the length column through three layers of calls, about 5 µs),
although a document has one length per field: on the news archive that was an eighth of the
build. `LengthsOnce` reads each length once per field and remembers it.

Segments are made by the stock `W3Codec`, so the table of contents Whoosh pickles names only
Whoosh's classes, and readers never see this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3Segment


class LengthsOnce:
    """A per-document reader whose `doc_field_length` is read once per document and field.

    Postings reach the field writer sorted by field, so only the current field's lengths are
    kept."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._fieldname: str | None = None
        self._lengths: dict[int, int] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        if fieldname != self._fieldname:
            self._fieldname, self._lengths = fieldname, {}
        found = self._lengths.get(docnum)
        if found is None:
            found = self._lengths[docnum] = self._reader.doc_field_length(docnum, fieldname, default)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class FieldWriter(W3FieldWriter):
    def add_postings(self, schema: Any, lengths: Any, items: Iterable[tuple]) -> None:
        super().add_postings(schema, LengthsOnce(lengths) if lengths else lengths, items)


class Codec(W3Codec):
    """The codec our writers use; see the module's docstring."""

    def field_writer(self, storage: Any, segment: W3Segment) -> FieldWriter:
        return FieldWriter(self, storage, segment)

    def new_segment(self, storage: Any, indexname: str) -> W3Segment:
        return W3Codec(self._blocklimit, self._compression, self._inlinelimit).new_segment(storage, indexname)
