"""Our writer codec must write exactly the files Whoosh's own codec writes, only faster."""

from __future__ import annotations

from pathlib import Path

from whoosh.codec.whoosh3 import W3Codec
from whoosh.index import create_in

from search.codec import Codec, LengthsOnce
from search.corpus import iter_corpus
from search.schema import build_schema, to_document

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _write(index_dir: Path, **kwargs: object) -> dict[str, bytes]:
    """Every segment file's bytes, by its name without the (random) segment id."""
    index_dir.mkdir()
    ix = create_in(str(index_dir), build_schema())
    writer = ix.writer(compound=False, **kwargs)
    for article in iter_corpus([CORPUS]):
        writer.add_document(**to_document(article))
    writer.commit()
    (segment,) = ix._segments()
    assert type(segment.codec()) is W3Codec  # the TOC never names our classes
    segid = segment.segment_id()
    files = {p.name.replace(segid, ""): p.read_bytes() for p in index_dir.iterdir() if segid in p.name}
    assert {".trm", ".pst", "._pairs_len.col"} <= set(files)
    return files


def test_files_are_the_stock_codecs(tmp_path):
    assert _write(tmp_path / "ours", codec=Codec()) == _write(tmp_path / "stock")


def test_lengths_are_read_once_per_document_and_field():
    calls = []

    class Reader:
        def doc_field_length(self, docnum, fieldname, default=0):
            calls.append((docnum, fieldname))
            return docnum * 10 + len(fieldname)

        def doc_count(self):
            return 7

    lengths = LengthsOnce(Reader())
    got = [lengths.doc_field_length(d, f) for f in ("exact", "pairs") for d in (0, 1, 1, 2, 0)]
    assert got == [d * 10 + len(f) for f in ("exact", "pairs") for d in (0, 1, 1, 2, 0)]
    assert calls == [(0, "exact"), (1, "exact"), (2, "exact"), (0, "pairs"), (1, "pairs"), (2, "pairs")]
    assert lengths.doc_count() == 7  # everything else is the reader's
