"""Reading an index through Whoosh's internals: what the searcher needs that Whoosh's public
interface gives too slowly or wrongly.

- Arrays with one entry per document of the whole index, built segment by segment. Whoosh
  writes a column file for a segment only when one of its documents has a value for the field,
  and its `MultiReader.column_reader` silently leaves such segments out: an array built from it
  over the whole index comes out shorter than the index, and every mask over the index then
  fails against it. Building each array per segment, with the field's empty value where a
  segment has no column, keeps every per-document array exactly `doc_count_all()` long,
  whatever mix of fields the segments hold. Everything that needs a value per document goes
  through here.
- Posting lists of our codec as numpy arrays (`postings`), and field lengths read as the bytes
  W3 stores them (`lengths`), for the evaluator.
- A searcher on the newest commit that reuses the readers of unchanged segments
  (`newest_searcher`).
- Segment identity (`leaves`) and `SegmentArrays`: a segment never changes once written
  except by gaining deletions, so what was computed from it can be kept, under its id, for as
  long as it is part of the index. A commit that adds one article then costs the arrays of one
  tiny segment and a concatenation, not a pass over the archive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, overload

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.index import TOC, FileIndex
from whoosh.reading import EmptyReader, IndexReader, MultiReader, SegmentReader
from whoosh.scoring import WeightingModel
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from search.index.engine.codec.arrays import PostingList, value_deltas
from search.index.engine.codec.terms import TermsReader, entry_doc_frequency

_LENGTH_TABLE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_NO_IDS = np.zeros(0, np.int64)
_NO_WEIGHTS = np.zeros(0, np.float64)
#: The attribute of a reader under which `leaves` keeps its segments.
_LEAVES = "_vnsearch_leaves"


class SegmentMismatch(RuntimeError):
    """A segment gave more or fewer values than it has documents."""


#: Makes one segment's values from its reader and document count; None when it has none.
SegmentValues = Callable[[IndexReader, int], Any]


def segments(reader: IndexReader) -> list[tuple[IndexReader, int]]:
    """The segment readers of `reader` with the document number each starts at, leaving out
    empty ones: an index whose every article was deleted has a reader with no segment at all."""
    return [(leaf, offset) for leaf, offset in reader.leaf_readers() if leaf.doc_count_all()]


def leaves(reader: IndexReader) -> list[tuple[IndexReader, int, str | None, int]]:
    """(segment reader, first document number, segment id, deleted count) of every non-empty
    segment; the id is None for a reader that is not one of Whoosh's segments. A reader's
    segments never change, so they are found once per reader (every term a search reads asks
    for them), and only the deleted counts read again: a writer's reader sees its segments
    gain deletions."""
    found = getattr(reader, _LEAVES, None)
    if found is None:
        found = []
        for leaf, offset in segments(reader):
            segment = leaf.segment() if hasattr(leaf, "segment") else None
            found.append((leaf, offset, None if segment is None else segment.segment_id(), segment))
        setattr(reader, _LEAVES, found)
    return [(leaf, offset, segid, 0 if seg is None else seg.deleted_count()) for leaf, offset, segid, seg in found]


def deleted(leaf: IndexReader) -> frozenset[int]:
    """The deleted document numbers of one segment (numbered within it): read from the
    segment's deletion set, so the cost follows the deletions, not the segment's size."""
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    if segment is None:
        return frozenset(d for d in range(leaf.doc_count_all()) if leaf.is_deleted(d))
    return frozenset(segment.deleted_docs())


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
        out[offset : offset + count] = part
    return out


def column_values(fieldname: str, empty: str) -> SegmentValues:
    def segment(leaf: IndexReader, count: int) -> list[Any] | None:
        if not leaf.has_column(fieldname):
            return None
        return [empty if v is None else v for v in leaf.column_reader(fieldname)]

    return segment


def column(reader: IndexReader, fieldname: str, empty: str = "") -> np.ndarray:
    """A sortable field's values per document (as objects), `empty` where a document or a whole
    segment has none."""
    return per_document(reader, column_values(fieldname, empty), empty, object)


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


def live_values(leaf: IndexReader, count: int) -> np.ndarray | None:
    if not leaf.has_deletions():
        return None
    mask = np.ones(count, dtype=bool)
    mask[np.fromiter(deleted(leaf), dtype=np.int64)] = False
    return mask


def live(reader: IndexReader) -> np.ndarray:
    """True for every document number that is not deleted."""
    return per_document(reader, live_values, True, bool)


def doc_frequencies(reader: IndexReader, fieldname: str, terms: list[bytes]) -> np.ndarray:
    """How many documents (deleted ones included, as Whoosh counts) hold each of `terms`: read
    from each segment's term file directly, which for many terms at once costs a fraction of
    Whoosh's `doc_frequency` through a multi-segment reader."""
    out = np.zeros(len(terms), dtype=np.int64)
    order = sorted(range(len(terms)), key=terms.__getitem__)
    ordered = [terms[i] for i in order]
    for leaf, _ in segments(reader):
        table = leaf._terms
        if isinstance(table, TermsReader):
            for i, found in zip(order, table.sorted_entries(fieldname, ordered)):
                if found is not None:
                    out[i] += entry_doc_frequency(found)
        else:
            for i, btext in enumerate(terms):
                out[i] += leaf.doc_frequency(fieldname, btext)
    return out


def term_doc_frequencies(leaf: IndexReader, fieldname: str, texts: Sequence[str]) -> list[int]:
    """`leaf.doc_frequency` of each of `texts` in one segment, asked of its term file directly:
    Whoosh's path checks the field and converts the text again for every term, about half of
    a lookup's time when a speller asks for dozens of spellings of a word at once."""
    table = getattr(leaf, "_terms", None)
    if not isinstance(table, TermsReader) or leaf.is_closed or fieldname not in leaf.schema:
        return [leaf.doc_frequency(fieldname, text) for text in texts]
    to_bytes, entry = leaf.schema[fieldname].to_bytes, table.entry
    found = (entry(fieldname, to_bytes(text)) for text in texts)
    return [0 if value is None else entry_doc_frequency(value) for value in found]


def codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Values as codes into their sorted distinct values, so that ordering by code is ordering
    by value (and counting codes is counting values)."""
    distinct, inverse = np.unique(values.astype(str), return_inverse=True)
    return inverse.astype(np.int64), [str(v) for v in distinct]


def length_values(fieldname: str) -> SegmentValues:
    def segment(leaf: IndexReader, count: int) -> np.ndarray | None:
        column = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        return None if column is None else _LENGTH_TABLE[_length_codes(column, count)]

    return segment


def lengths(reader: IndexReader, fieldname: str) -> np.ndarray:
    """Every document's length in `fieldname` as Whoosh's scorer sees it (one byte, decoded)."""
    return per_document(reader, length_values(fieldname), 0.0, np.float64)


def bm25_b(weighting: Any, fieldname: str) -> float:
    """The `B` a `BM25F` weighting uses for `fieldname` (its per-field values are private)."""
    return weighting._field_B.get(fieldname, weighting.B)


def _length_codes(column: Any, count: int) -> np.ndarray:
    """A segment's one-byte length codes: W3's length column is those bytes, one a document
    (fewer when the last documents have none), so they are read at once rather than one
    `column[d]` call each, which costs noticeably per field on a large index."""
    stored = getattr(column, "_count", None)
    if getattr(column, "_typecode", None) == "B" and getattr(column, "_fixedlen", None) == 1 and stored is not None:
        codes = np.zeros(count, dtype=np.uint8)
        present = min(stored, count)
        if present:
            codes[:present] = np.frombuffer(column._dbfile.get(column._basepos, present), dtype=np.uint8)
        return codes
    return np.fromiter((column[d] for d in range(count)), dtype=np.uint8, count=count)


@overload
def postings(
    reader: IndexReader,
    fieldname: str,
    btext: bytes,
    values: Literal[False],
    within: np.ndarray | None = None,
    only: list[tuple[IndexReader, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray, None]: ...


@overload
def postings(
    reader: IndexReader,
    fieldname: str,
    btext: bytes,
    values: Literal[True],
    within: np.ndarray | None = None,
    only: list[tuple[IndexReader, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def postings(
    reader: IndexReader,
    fieldname: str,
    btext: bytes,
    values: bool,
    within: np.ndarray | None = None,
    only: list[tuple[IndexReader, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Document numbers and weights of one term and, when asked, its positions as one flat
    array of deltas in posting order (a posting has as many as its weight, each the distance
    from the one before it in the posting, the first from 0; `positions` sums them): our codec's
    blocks decoded with numpy, every segment's at once (short lists inlined in the term file
    too); segments another codec wrote go through Whoosh's matcher. With `within` (sorted
    document numbers), blocks holding none of them may be left out: a phrase of common words
    decodes the positions of its few candidates only. With `only` ((segment, first document
    number) pairs of `reader`, in order), those segments alone are read."""
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    fieldobj = reader.schema[fieldname]
    leaves = segments(reader) if only is None else only
    if all(isinstance(leaf._terms, TermsReader) for leaf, _ in leaves):
        parts = _list_parts(leaves, fieldname, btext)
        if parts:
            blocks = PostingList(parts)
            select = None if within is None else blocks.within(within)
            if select is None or select.any():
                list_ids, list_weights = blocks.arrays(select)
                ids.append(list_ids)
                weights.append(list_weights)
                if values:
                    deltas.append(blocks.deltas(list_weights, select))
        leaves = []
    for leaf, offset in leaves:  # some segment of another codec: each segment on its own
        terms = leaf._terms
        if not isinstance(terms, TermsReader):
            if (fieldname, btext) in leaf:
                vals: list[bytes] = []
                _matcher_postings(terms.matcher(fieldname, btext, fieldobj.format), offset, values, ids, weights, vals)
                if values:
                    deltas.append(value_deltas(vals))
            continue
        entry = terms.entry(fieldname, btext)
        if entry is None:
            continue
        one = PostingList([(terms.list_bytes(entry), offset)])
        select = None if within is None else one.within(within)
        if select is not None and not select.any():
            continue
        list_ids, list_weights = one.arrays(select)
        ids.append(list_ids)
        weights.append(list_weights)
        if values:
            deltas.append(one.deltas(list_weights, select))
    if not ids:
        return _NO_IDS, _NO_WEIGHTS, (_NO_IDS if values else None)
    all_ids, all_weights = (ids[0], weights[0]) if len(ids) == 1 else (np.concatenate(ids), np.concatenate(weights))
    if not values:
        return all_ids, all_weights, None
    return all_ids, all_weights, deltas[0] if len(deltas) == 1 else np.concatenate(deltas)


def positions(weights: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """A term's positions, as one flat array in posting order, from its weights and position
    deltas (as `postings(..., values=True)` gives them): running sums of the deltas, restarted
    at each posting."""
    freqs = weights.astype(np.int64)
    sums = np.cumsum(deltas)
    starts = np.cumsum(freqs) - freqs
    nonempty = freqs > 0
    base = np.zeros(len(freqs), dtype=np.int64)
    base[nonempty] = sums[starts[nonempty]] - deltas[starts[nonempty]]
    return sums - np.repeat(base, freqs)


def term_postings(
    reader: IndexReader, fieldname: str, btext: bytes, only: list[tuple[IndexReader, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """As `postings(reader, fieldname, btext, values=False, only=only)[:2]`, the weights in
    one byte each where every block stores them so (`PostingList.arrays(narrow=True)`): for
    the searcher's caches, which keep them in a byte, and cheaper than widening them to
    float64 first."""
    if not all(isinstance(leaf._terms, TermsReader) for leaf, _ in only):
        return postings(reader, fieldname, btext, values=False, only=only)[:2]
    parts = _list_parts(only, fieldname, btext)
    if not parts:
        return _NO_IDS, _NO_WEIGHTS
    return PostingList(parts).arrays(narrow=True)


def _list_parts(leaves: list[tuple[IndexReader, int]], fieldname: str, btext: bytes) -> list[tuple[bytes, int]]:
    """(posting list bytes, first document number) of the segments of our codec that hold the
    term, for a `PostingList`."""
    parts = []
    for leaf, offset in leaves:
        terms = leaf._terms
        entry = terms.entry(fieldname, btext)
        if entry is not None:
            parts.append((terms.list_bytes(entry), offset))
    return parts


def _matcher_postings(
    m: Any, offset: int, values: bool, ids: list[np.ndarray], weights: list[np.ndarray], vals: list[bytes]
) -> None:
    block_ids, block_weights = [], []
    while m.is_active():
        block_ids.append(m.id() + offset)
        block_weights.append(m.weight())
        if values:
            vals.append(m.value())
        m.next()
    ids.append(np.asarray(block_ids, dtype=np.int64))
    weights.append(np.asarray(block_weights, dtype=np.float64))


def newest_searcher(
    ix: FileIndex, current: Searcher | None, weighting: WeightingModel, generation: int | None = None
) -> Searcher:
    """A searcher on the newest commit (or on `generation`, for a shard of a set: the one its
    manifest names), reusing the open readers of segments it left as they were: opening a
    large segment copies its term index, which takes long on a large index.
    Not `Searcher.refresh()`: it reuses a segment's reader even when the segment gained
    deletions (a replaced or deleted article would still be found), and keeps segments a merge
    removed (their articles twice)."""
    toc = TOC.read(ix.storage, ix.indexname, gen=generation)
    old = (
        {}
        if current is None
        else {r.segment().segment_id(): r for r, _ in current.reader().leaf_readers() if r.segment() is not None}
    )
    readers = []
    for segment in toc.segments:
        reader = old.get(segment.segment_id())
        if reader is None or reader.segment().deleted_count() != segment.deleted_count():
            reader = SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation)
        readers.append(reader)
    if not readers:
        if generation is None:
            return ix.searcher(weighting=weighting)
        return Searcher(EmptyReader(toc.schema), weighting=weighting, fromindex=ix)
    if len(readers) == 1 and readers[0].generation() == toc.generation:
        return Searcher(readers[0], weighting=weighting, fromindex=ix)
    return Searcher(MultiReader(readers, generation=toc.generation), weighting=weighting, fromindex=ix)
