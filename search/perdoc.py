"""Arrays with one entry per document of the whole index, built segment by segment.

Whoosh writes a column file for a segment only when one of its documents has a value for the
field, and its `MultiReader.column_reader` silently leaves such segments out: an array built
from it over the whole index comes out shorter than the index, and every mask over the index
then fails against it. Building each array per segment, with the field's empty value where a
segment has no column, keeps every per-document array exactly `doc_count_all()` long, whatever
mix of fields the segments hold. Everything that needs a value per document goes through here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from whoosh.reading import IndexReader


class SegmentMismatch(RuntimeError):
    """A segment gave more or fewer values than it has documents."""


#: Makes one segment's values from its reader and document count; None when it has none.
SegmentValues = Callable[[IndexReader, int], Any]


def segments(reader: IndexReader) -> list[tuple[IndexReader, int]]:
    """The segment readers of `reader` with the document number each starts at, leaving out
    empty ones: an index whose every article was deleted has a reader with no segment at all."""
    return [(leaf, offset) for leaf, offset in reader.leaf_readers() if leaf.doc_count_all()]


def per_document(reader: IndexReader, values: SegmentValues, empty: Any, dtype: Any) -> np.ndarray:
    """One entry per document number of `reader` (deleted documents included): each segment's
    `values`, or `empty` for a segment that has none."""
    out = np.full(reader.doc_count_all(), empty, dtype=dtype)
    for leaf, offset in segments(reader):
        count = leaf.doc_count_all()
        part = values(leaf, count)
        if part is None:
            continue
        part = np.asarray(part, dtype=dtype)
        if len(part) != count:
            raise SegmentMismatch(f"{len(part)} values for a segment of {count} documents")
        out[offset:offset + count] = part
    return out


def column(reader: IndexReader, fieldname: str, empty: str = "") -> np.ndarray:
    """A sortable field's values per document (as objects), `empty` where a document or a whole
    segment has none."""

    def segment(leaf: IndexReader, count: int) -> list[Any] | None:
        if not leaf.has_column(fieldname):
            return None
        return [empty if v is None else v for v in leaf.column_reader(fieldname)]

    return per_document(reader, segment, empty, object)


def value(reader: IndexReader, fieldname: str, docnum: int, empty: str = "") -> Any:
    """One document's value of a sortable field, read from its own segment's column."""
    for leaf, offset in segments(reader):
        count = leaf.doc_count_all()
        if offset <= docnum < offset + count:
            if not leaf.has_column(fieldname):
                return empty
            found = leaf.column_reader(fieldname)[docnum - offset]
            return empty if found is None else found
    raise IndexError(f"no document {docnum} in an index of {reader.doc_count_all()}")


def live(reader: IndexReader) -> np.ndarray:
    """True for every document number that is not deleted."""

    def segment(leaf: IndexReader, count: int) -> np.ndarray | None:
        if not leaf.has_deletions():
            return None
        mask = np.zeros(count, dtype=bool)
        mask[np.fromiter(leaf.all_doc_ids(), dtype=np.int64)] = True
        return mask

    return per_document(reader, segment, True, bool)


def codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Values as codes into their sorted distinct values, so that ordering by code is ordering
    by value (and counting codes is counting values)."""
    distinct, inverse = np.unique(values.astype(str), return_inverse=True)
    return inverse.astype(np.int64), [str(v) for v in distinct]
