"""Our index codec: Whoosh's W3 layout of segments with compact postings and a compact term file.

Whoosh's W3 codec spent most of the index on overhead around the postings themselves: every
block a pickled tuple (ids, weights as floats, values as separate bytes objects) behind a
pickled header and a four-byte tag, most pair terms a block of their own (its inlining of short
lists is never taken), and every term 39 bytes of term info plus about 40 bytes of hash table,
lengths and index in the term file. The codec is several formats, one module each:

- `blocks`: the posting format, a block at a time (written by the writer, read by matchers);
- `arrays`: the same blocks read a whole list at a time with numpy (for the evaluator);
- `per_block`: a list of few blocks read a block at a time with numpy (the evaluator's usual case);
- `terms`: the term file, sorted and prefix-compressed, short lists inlined;
- `postings`: the field writer and Whoosh's matcher over our blocks;
- `stored`: stored fields compressed with a trained Zstandard dictionary;
- `mapped`: a compound segment's files read in place from its memory map, never copied.

Segments written with this codec carry it in the table of contents Whoosh pickles, so readers
use it: `Codec` must stay importable as `search.index.engine.codec.Codec` (a test freezes the
path), and its state is only its three parameters and the checksum of the stored fields'
dictionary. The per-document files (lengths, columns) are W3's.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec.whoosh3 import W3Codec, W3Segment
from whoosh.matching import ListMatcher

from search.index.engine.codec import mapped
from search.index.engine.codec.postings import FieldWriter, LeafMatcher
from search.index.engine.codec.stored import (
    STORED_DICTIONARY_CRC,
    STORED_DICTIONARY_FILE,
    PerDocReader,
    PerDocWriter,
    StoredDictionaryMismatch,
)
from search.index.engine.codec.terms import TermInfo, TermsReader

__all__ = ["Codec", "StoredDictionaryMismatch"]

#: Postings a block holds at most, by default. W3's 128 cut the list of a word in a few thousand
#: articles into dozens of blocks, and the evaluator's cost of a first read went mostly to
#: walking their headers and to numpy's cost per call of gathering them; at this size most
#: lists a query reads are a block per segment, viewed in place (`per_block`). Larger blocks
#: gained nothing more and widened the id gaps stored (`bench/results` has both). Each segment
#: keeps the value it was written with, so segments of other sizes read as before.
BLOCK_LIMIT = 1024


class Codec(W3Codec):
    """The codec our writers use; see the module's docstring. Pickled into the table of
    contents of every segment it writes: its state is its three parameters and the checksum of
    the stored fields' dictionary, checked before any stored field is read."""

    def __init__(self, blocklimit: int = BLOCK_LIMIT, compression: int = 3, inlinelimit: int = 4) -> None:
        if not 1 <= blocklimit <= 0x10000:
            raise ValueError(f"blocklimit {blocklimit} is not within 1..65536")
        super().__init__(blocklimit, compression, inlinelimit)
        self.stored_dictionary = STORED_DICTIONARY_CRC

    def per_document_writer(self, storage: Any, segment: W3Segment) -> PerDocWriter:
        return PerDocWriter(self, storage, segment)

    def per_document_reader(self, storage: Any, segment: W3Segment) -> PerDocReader:
        if getattr(self, "stored_dictionary", None) != STORED_DICTIONARY_CRC:
            raise StoredDictionaryMismatch(
                "this index's stored fields were compressed with another dictionary than "
                f"{STORED_DICTIONARY_FILE.name}: run `vnsearch index --rebuild`"
            )
        return PerDocReader(storage, segment)

    def field_writer(self, storage: Any, segment: W3Segment) -> FieldWriter:
        return FieldWriter(self, storage, segment)

    def postings_reader(
        self, dbfile: Any, terminfo: TermInfo, format_: Any, term: Any = None, scorer: Any = None
    ) -> Any:
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            if values is None:  # as `LeafMatcher` gives them; ListMatcher would give ""
                values = [None if format_.fixed_value_size() == 0 else b""] * len(ids)
            return ListMatcher(ids, weights, values, format_, scorer=scorer, term=term, terminfo=terminfo)
        offset, length = terminfo.extent()
        return LeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

    def terms_reader(self, storage: Any, segment: W3Segment) -> TermsReader:
        name = segment.make_filename(self.TERMS_EXT)
        postings = mapped.open_file(storage, segment.make_filename(self.POSTS_EXT))
        return TermsReader(self, mapped.open_file(storage, name), storage.file_length(name), postings)

    def new_segment(self, storage: Any, indexname: str) -> W3Segment:
        return W3Segment(self, indexname)
