"""Stored fields: W3's pickled dict per document, compressed by zlib with a preset dictionary
of common Vietnamese phrases (`stored.zdict` beside this module, made by
`bench/make_stored_dictionary.py`): a fifth smaller on news articles than zlib alone.

The dictionary's checksum is recorded in the codec of every segment and checked before any
stored field is read, so an index is never decoded with another dictionary.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from whoosh import columns
from whoosh.codec.whoosh3 import W3PerDocReader, W3PerDocWriter

#: zlib's preset dictionary for stored fields (made by bench/make_stored_dictionary.py).
STORED_DICTIONARY_FILE = Path(__file__).with_name("stored.zdict")
STORED_DICTIONARY = STORED_DICTIONARY_FILE.read_bytes()
#: What a segment's codec records, so an index is never read with another dictionary.
STORED_DICTIONARY_CRC = zlib.crc32(STORED_DICTIONARY)


class DictionaryCompressedColumn(columns.VarBytesColumn):
    """Byte strings each compressed by zlib with `STORED_DICTIONARY` preset."""

    def __init__(self, level: int = 9) -> None:
        self._level = level

    def writer(self, dbfile: Any) -> DictionaryCompressedColumn.Writer:
        return self.Writer(dbfile, self._level)

    def reader(self, dbfile: Any, basepos: int, length: int, doccount: int) -> DictionaryCompressedColumn.Reader:
        return self.Reader(dbfile, basepos, length, doccount)

    class Writer(columns.VarBytesColumn.Writer):
        def __init__(self, dbfile: Any, level: int) -> None:
            super().__init__(dbfile)
            self._level = level

        def add(self, docnum: int, v: bytes) -> None:
            compressor = zlib.compressobj(self._level, zdict=STORED_DICTIONARY)
            super().add(docnum, compressor.compress(v) + compressor.flush())

    class Reader(columns.VarBytesColumn.Reader):
        def __getitem__(self, docnum: int) -> bytes:
            v = super().__getitem__(docnum)
            return _inflate(v) if v else v

        def __iter__(self) -> Iterator[bytes]:
            for v in super().__iter__():
                yield _inflate(v) if v else v


def _inflate(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(zdict=STORED_DICTIONARY)
    return decompressor.decompress(data) + decompressor.flush()


#: Stored fields: W3's pickled dict per document, compressed with the preset dictionary.
STORED_COLUMN = columns.PickleColumn(DictionaryCompressedColumn())


class PerDocWriter(W3PerDocWriter):
    """W3's per-document writer, with stored fields in `STORED_COLUMN`."""

    def _create_column(self, fieldname: str, column: Any) -> None:
        super()._create_column(fieldname, STORED_COLUMN if fieldname == "_stored" else column)


class PerDocReader(W3PerDocReader):
    """W3's per-document reader, with stored fields in `STORED_COLUMN`."""

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        return self._cached_reader("_stored", STORED_COLUMN)[docnum] or {}


class StoredDictionaryMismatch(RuntimeError):
    """The index was written with another stored-fields dictionary than this version has."""
