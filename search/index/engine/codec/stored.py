"""Stored fields: W3's pickled dict per document, compressed by Zstandard with a dictionary
trained on the stored fields of Vietnamese news (`stored.zstdict` beside this module, made by
`bench/make_stored_dictionary.py`).

Each document is still compressed on its own, so a page's hits, related coverage and story
grouping read and inflate only the documents they show. An article is too short for a
compressor to learn the language first; zlib with a preset dictionary of common phrases took a
fifth off; a trained Zstandard dictionary (which also holds the pickle's structure and the
field names) takes a tenth more off that, and Zstandard both compresses (at `STORED_LEVEL`) and
inflates faster than zlib did. The frames leave out what the codec already knows: no checksum,
content size or dictionary id. They are written by the standard library's Zstandard and read by
`zstandard`'s (the same format): only that one keeps a decompression context from one document
to the next, and making one was about half of inflating a page's hits.

The dictionary's checksum is recorded in the codec of every segment and checked before any
stored field is read, so an index is never decoded with another dictionary.
"""

from __future__ import annotations

import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import zstandard
from whoosh import columns
from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader, W3PerDocWriter
from whoosh.reading import IndexReader, MultiReader, SegmentReader

from search.index.engine.codec import mapped

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

#: The trained dictionary for stored fields (made by bench/make_stored_dictionary.py).
STORED_DICTIONARY_FILE = Path(__file__).with_name("stored.zstdict")
_DICTIONARY_BYTES = STORED_DICTIONARY_FILE.read_bytes()
#: What a segment's codec records, so an index is never read with another dictionary.
STORED_DICTIONARY_CRC = zlib.crc32(_DICTIONARY_BYTES)
STORED_DICTIONARY = zstd.ZstdDict(_DICTIONARY_BYTES)

#: Zstandard's level 12: the smallest stored fields that still compress faster than zlib's
#: level 9 did with its preset dictionary.
STORED_LEVEL = 12
_OPTIONS: dict[int, int] = {
    zstd.CompressionParameter.compression_level: STORED_LEVEL,
    zstd.CompressionParameter.checksum_flag: 0,
    zstd.CompressionParameter.content_size_flag: 0,
    zstd.CompressionParameter.dict_id_flag: 0,
}


#: Stored values a column writer holds before compressing them together (see `Writer.add`):
#: about a megabyte of pickled articles.
COMPRESS_BATCH = 256


class DictionaryCompressedColumn(columns.VarBytesColumn):
    """Byte strings each compressed on its own by Zstandard with `STORED_DICTIONARY`."""

    def writer(self, dbfile: Any) -> DictionaryCompressedColumn.Writer:
        return self.Writer(dbfile)

    def reader(self, dbfile: Any, basepos: int, length: int, doccount: int) -> DictionaryCompressedColumn.Reader:
        return self.Reader(dbfile, basepos, length, doccount)

    class Writer(columns.VarBytesColumn.Writer):
        def __init__(self, dbfile: Any) -> None:
            super().__init__(dbfile)
            # One compressor for the column: the dictionary is digested once, each frame ended.
            self._compressor = zstd.ZstdCompressor(options=_OPTIONS, zstd_dict=STORED_DICTIONARY)
            self._pending: list[tuple[int, bytes]] = []

        def add(self, docnum: int, v: bytes) -> None:
            # Compressed a batch at a time: between two documents a writer's analysis pushes the
            # compressor's tables out of the CPU caches. Each value is still a frame of its own,
            # written in the order given, so the column's bytes are the same.
            pending = self._pending
            pending.append((docnum, v))
            if len(pending) >= COMPRESS_BATCH:
                self._compress_pending()

        def _compress_pending(self) -> None:
            compress = self._compressor.compress
            frames = [(docnum, compress(v, zstd.ZstdCompressor.FLUSH_FRAME)) for docnum, v in self._pending]
            self._pending = []
            add = super().add
            for docnum, frame in frames:
                add(docnum, frame)

        def finish(self, doccount: int) -> None:
            self._compress_pending()
            super().finish(doccount)

    class Reader(columns.VarBytesColumn.Reader):
        def __getitem__(self, docnum: int) -> bytes:
            v = super().__getitem__(docnum)
            return _inflate(v) if v else v

        def __iter__(self) -> Iterator[bytes]:
            for v in super().__iter__():
                yield _inflate(v) if v else v


#: The same dictionary for reading, through `zstandard`, whose decompression context can be
#: kept: the standard library's makes one per frame, most of what inflating a hit cost.
_READ_DICTIONARY = zstandard.ZstdCompressionDict(_DICTIONARY_BYTES)
#: One context per thread: a context is not to be shared between threads.
_READING = threading.local()


def _inflate(data: bytes) -> bytes:
    """One document's stored fields, inflated by this thread's kept context. A frame cut short
    is an error, as `zstd.decompress` made it; frames one after the other are all inflated."""
    decompressor = getattr(_READING, "decompressor", None)
    if decompressor is None:
        decompressor = _READING.decompressor = zstandard.ZstdDecompressor(dict_data=_READ_DICTIONARY)
    pieces = []
    while True:
        stream = decompressor.decompressobj()
        pieces.append(stream.decompress(data))
        if not stream.eof:
            raise zstandard.ZstdError("stored fields: a Zstandard frame ends before its end")
        data = stream.unused_data
        if not data:
            return pieces[0] if len(pieces) == 1 else b"".join(pieces)


#: Stored fields: W3's pickled dict per document, compressed with the trained dictionary.
STORED_COLUMN = columns.PickleColumn(DictionaryCompressedColumn())


class PerDocWriter(W3PerDocWriter):
    """W3's per-document writer, with stored fields in `STORED_COLUMN`."""

    def _create_column(self, fieldname: str, column: Any) -> None:
        super()._create_column(fieldname, STORED_COLUMN if fieldname == "_stored" else column)


class PerDocReader(W3PerDocReader):
    """W3's per-document reader, with stored fields in `STORED_COLUMN` and every column's file
    read in place (`mapped`)."""

    def _get_column_file(self, fieldname: str) -> tuple[Any, int, int]:
        filename = W3Codec.column_filename(self._segment, fieldname)
        return mapped.open_file(self._storage, filename), 0, self._storage.file_length(filename)

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        return self._cached_reader("_stored", STORED_COLUMN)[docnum] or {}


def stored_fields(reader: IndexReader, docnum: int) -> dict[str, Any]:
    """`reader.stored_fields(docnum)`, the same dict, read straight from the segment's
    per-document reader of this codec. Whoosh copies it keeping the fields its schema has
    (a field may have been removed since it was written), a check of each field by a method
    of the schema: here the dict is kept as it is when the schema has every field it holds, the
    usual case, which leaves a page's stored fields their reading and unpickling."""
    if isinstance(reader, MultiReader):
        number, docnum = reader._segment_and_docnum(docnum)
        reader = reader.readers[number]
    perdoc = getattr(reader, "_perdoc", None)
    if type(reader) is not SegmentReader or not isinstance(perdoc, PerDocReader) or reader.is_closed or docnum < 0:
        return reader.stored_fields(docnum)  # Whoosh's own way, and its errors
    fields = perdoc.stored_fields(docnum)
    return fields if reader.schema._fields.keys() >= fields.keys() else reader.stored_fields(docnum)


class StoredDictionaryMismatch(RuntimeError):
    """The index was written with another stored-fields dictionary than this version has."""
