"""A segment's files read in place from the memory map Whoosh keeps of its compound file.

Whoosh opens each file of a compound segment (terms, postings, every column, the stored
fields) as a `BufferFile` over a view of the segment's map, and that class wraps the view in a
`BytesIO` for its stream methods: a `BytesIO` copies any buffer that is not `bytes`, so every
file a reader opened was copied whole into the process's own memory, read once page by page to
do so, and then left unused by the positional reads (`get`) that the codec and the columns
make. A worker held a private copy of the whole index beside the shared page cache, and each
new generation, and each merge of the build, copied the segments it opened. `open_file` gives
the same file over the same view with a stream that reads the view itself.
"""

from __future__ import annotations

import os
from typing import Any

from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filestore import OverlayStorage
from whoosh.filedb.structfile import BufferFile, StructFile


class ViewStream:
    """The stream methods Whoosh's structured files call (`read`, `readline`, `readinto`,
    `seek`, `tell`) over a memory view, copying only what is read."""

    def __init__(self, view: memoryview) -> None:
        self._view, self._pos = view, 0

    def read(self, size: int | None = -1) -> bytes:
        start, end = self._span(size)
        self._pos = end
        return bytes(self._view[start:end])

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        start, end = self._span(len(target))
        target[: end - start] = self._view[start:end]
        self._pos = end
        return end - start

    def readline(self, size: int | None = -1) -> bytes:
        start, end = self._span(size)
        found = bytes(self._view[start:end]).find(b"\n")  # only pickles' text opcodes ask
        if found >= 0:
            end = start + found + 1
        self._pos = end
        return bytes(self._view[start:end])

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: len(self._view)}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        """Nothing to release: the view belongs to the segment's map, which its storage closes."""

    def _span(self, size: int | None) -> tuple[int, int]:
        """Where a read of `size` from here starts and ends: nowhere past the end (a position
        past it stays where it is, as a `BytesIO`'s does)."""
        start, length = self._pos, len(self._view)
        end = length if size is None or size < 0 else min(start + size, length)
        return start, max(start, end)


class MappedFile(BufferFile):
    """Whoosh's `BufferFile` over a view of a segment's map, its stream a `ViewStream`."""

    def __init__(self, view: memoryview, name: str | None = None) -> None:
        StructFile.__init__(self, ViewStream(view), name=name)
        self._buf = view


def open_file(storage: Any, name: str) -> Any:
    """`storage.open_file(name)`, in place when `name` is in a memory-mapped compound file
    (directly, or as the first storage of the overlay a segment reader keeps), as Whoosh's
    own storage opens it otherwise."""
    compound = storage.a if isinstance(storage, OverlayStorage) else storage
    if (
        isinstance(compound, CompoundStorage)
        and not compound.is_closed
        and compound._source is not None
        and compound.file_exists(name)
    ):
        offset, length = compound.range(name)
        return MappedFile(memoryview(compound._source)[offset : offset + length], name=name)
    return storage.open_file(name)
