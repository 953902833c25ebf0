"""A compound segment's files are read in place from its memory map: nothing of them is copied
into the process, and what is read is what Whoosh's own `BufferFile` gives."""

from __future__ import annotations

import io
import random
import tracemalloc
from array import array
from pathlib import Path

import pytest
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile, StructFile

from search.corpus.article import Article
from search.index.engine import readers
from search.index.engine.codec import mapped
from search.index.engine.codec.stored import stored_fields
from search.index.indexer import build
from search.query.acronyms import load_synonyms
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex

WORDS = "bảo hiểm xã hội quốc hội ngân sách giáo dục đường sắt cao tốc thủ tướng chính phủ".split()


def _articles(count: int, seed: int) -> list[Article]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        body = " ".join(f"{rng.choice(WORDS)} {rng.randrange(10_000)}" for _ in range(600))
        dated = {"date": f"2013-10-{1 + n % 28:02d}", "source": "vov.vn"} if n % 3 else {}
        out.append(Article(id=f"a{seed}-{n}", title=f"Tin {n} {rng.choice(WORDS)}", body=body, **dated))
    return out


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two commits, so two compound segments; a third of the articles without a date or outlet."""
    folder = tmp_path_factory.mktemp("mapped")
    build(folder, _articles(40, 1))
    build(folder, _articles(40, 2))
    return folder


def test_the_stream_reads_as_bytesio_does() -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(5000)).replace(b"\x00", b"\n")
    view = memoryview(bytearray(b"head" + data + b"tail"))[4:-4]
    ours, theirs = mapped.ViewStream(view), io.BytesIO(data)
    for _ in range(400):
        op = rng.randrange(5)
        if op == 0:
            size = rng.choice([-1, None, 0, 1, 7, 300, 6000])
            assert ours.read(size) == theirs.read(size)
        elif op == 1:
            size = rng.choice([-1, 0, 3, 100])
            assert ours.readline(size) == theirs.readline(size)
        elif op == 2:
            a = bytearray(rng.randrange(50))
            b = bytearray(len(a))
            assert ours.readinto(a) == theirs.readinto(b) and a == b
        elif op == 3:
            whence = rng.randrange(3)
            offset = rng.randrange(-100, 6000) if whence else rng.randrange(6000)
            if whence == 2:
                offset = -rng.randrange(len(data))
            assert ours.seek(offset, whence) == theirs.seek(offset, whence)
        assert ours.tell() == theirs.tell()
    with pytest.raises(ValueError):
        ours.seek(-1)


def test_structured_reads_match_whooshs_buffer_file() -> None:
    """The stream methods the columns call (`read_pickle`, `read_array`, varints) through a
    `MappedFile` give what a `BufferFile` over the same bytes gives."""
    out = io.BytesIO()
    writer = StructFile(out)
    writer.write_varint(300)
    writer.write_pickle({"values": ["bảo", "hiểm", 3]})
    writer.write_array(array("i", range(50)))
    writer.write_int(-7)
    data = out.getvalue()
    ours, theirs = mapped.MappedFile(memoryview(data), "x"), BufferFile(memoryview(data), "x")
    for f in (ours, theirs):
        f.seek(0)
    assert ours.read_varint() == theirs.read_varint() == 300
    assert ours.read_pickle() == theirs.read_pickle() == {"values": ["bảo", "hiểm", 3]}
    assert ours.read_array("i", 50) == theirs.read_array("i", 50)
    assert ours.read_int() == theirs.read_int() == -7
    assert ours.get(1, 5) == theirs.get(1, 5) and ours.get_int(len(data) - 4) == -7


def test_every_file_a_searcher_reads_is_a_view_of_its_segments_map(index_dir: Path) -> None:
    index = SearchIndex(index_dir, load_synonyms())
    result = index.search(SearchRequest(q="bao hiem"))
    reader = index.reader()
    leaves = readers.leaves(reader)
    assert len(leaves) == 2
    for leaf, offset, _, _ in leaves:
        assert isinstance(leaf._storage.a, CompoundStorage) and leaf._storage.a._source is not None
        for docnum in range(leaf.doc_count_all()):
            assert stored_fields(reader, offset + docnum)["id"].startswith("a")
        files = [f for f, _, _ in leaf._perdoc._colfiles.values()]
        files += [leaf._terms._dbfile, leaf._terms._postfile]
        assert files and all(type(f) is mapped.MappedFile for f in files)
        assert all(f._buf.obj is leaf._storage.a._source for f in files)
    assert result.total and result.hits[0].snippet_html


def test_reading_stored_fields_copies_none_of_the_column(index_dir: Path) -> None:
    """Whoosh's `BufferFile` copied a column whole when it was opened (its `BytesIO` copies a
    memory view): the first stored fields read took the column's size in new memory."""
    index = SearchIndex(index_dir, load_synonyms())
    reader = index.reader()
    (leaf, offset, _, _), (_, other, _, _) = readers.leaves(reader)
    stored_fields(reader, other)  # what reading anything stored makes once (a context) made
    column_bytes = leaf._storage.file_length(W3Codec.column_filename(leaf._segment, "_stored"))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fields = stored_fields(reader, offset)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(fields["body"]) > 1000
    assert column_bytes > 50_000
    assert grown < column_bytes // 4


def test_other_storages_open_their_own_way(tmp_path: Path) -> None:
    storage = FileStorage(str(tmp_path)).create()
    with storage.create_file("plain") as f:
        f.write(b"abc")
    opened = mapped.open_file(storage, "plain")
    assert type(opened) is not mapped.MappedFile and opened.read(3) == b"abc"
    opened.close()
