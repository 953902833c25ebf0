"""Our codec must give back exactly what Whoosh's own W3 codec gives back, in fewer bytes."""

from __future__ import annotations

import pickle
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import zstandard
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3Codec
from whoosh.columns import VarBytesColumn
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.filedb.structfile import StructFile
from whoosh.index import create_in
from whoosh.reading import ReaderClosed
from whoosh.scoring import BM25F

from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.index.engine import readers
from search.index.engine.codec import Codec, arrays, stored
from search.index.engine.codec.arrays import PostingList
from search.index.engine.codec.blocks import (
    COMPRESSED,
    LAST_BLOCK,
    WEIGHT_MODE,
    block_header,
    decode_body,
    encode_body,
    weights_size,
)
from search.index.engine.codec.entries import short_entry
from search.index.engine.codec.postings import FieldWriter
from search.index.engine.codec.stored import (
    _OPTIONS,
    COMPRESS_BATCH,
    STORED_DICTIONARY,
    STORED_DICTIONARY_CRC,
    DictionaryCompressedColumn,
    StoredDictionaryMismatch,
    zstd,
)
from search.index.engine.codec.terms import TermInfo, TermsReader, inlined_block
from search.index.fields import CompactPositions, PairText, VietnameseText
from search.index.schema import build_schema, to_document
from search.searching.evaluate import Evaluator
from search.text.analysis import exact_analyzer, pair_analyzer

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
WORDS = "bảo hiểm xã hội y tế lao động thuế năm nam người dân tỉnh học bệnh viện".split()
#: Small blocks, so that a few hundred documents give lists of many blocks.
SMALL_BLOCKS = {"blocklimit": 8, "inlinelimit": 3}
#: (`SHORT_LIST`, `FEW_BLOCKS`) sending every list down one of the evaluator's three decodings:
#: all blocks at once by numpy, a block at a time by numpy, a block at a time in Python.
DECODINGS = [(0, 0), (0, 1_000_000), (1_000_000, 0)]


def _schema() -> Schema:
    """Every kind of posting our index writes: positions, counts, existence (ids, numbers),
    and non-integral weights (a boosted field)."""
    return Schema(
        key=ID(stored=True, unique=True),
        text=VietnameseText(analyzer=exact_analyzer(), phrase=True),
        pairs=PairText(analyzer=pair_analyzer()),
        boosted=TEXT(field_boost=1.5),
        number=NUMERIC(),
    )


def _docs(rng: random.Random, count: int, start: int = 0) -> list[dict]:
    docs = []
    for n in range(start, start + count):
        # Common words (in most documents), rare ones, and long documents (positions past 255).
        words = [rng.choice(WORDS) for _ in range(rng.choice([3, 20, 400]))] + [f"hiếm{n % 7}"]
        text = " ".join(words)
        docs.append({"key": f"k{n}", "text": text, "pairs": text, "boosted": " ".join(words[:30]), "number": n % 13})
    return docs


def _build(
    index_dir: Path, codec: Codec | None, commits: list[list[dict]], deletes: list[str] = (), optimize: bool = False
):
    """The same writes with our codec or with Whoosh's (None): a commit per list of documents,
    deletions in the last, and optionally merging everything into one segment."""
    index_dir.mkdir()
    ix = create_in(str(index_dir), _schema())
    for n, docs in enumerate(commits):
        writer = ix.writer(codec=codec) if codec else ix.writer()
        for doc in docs:
            writer.add_document(**doc)
        if n == len(commits) - 1:
            for key in deletes:
                writer.delete_by_term("key", key)
        writer.commit(merge=False)
    if optimize:
        writer = ix.writer(codec=codec) if codec else ix.writer()
        writer.commit(optimize=True)
    return ix


def _postings(ix) -> dict:
    """Every term's postings and statistics, through Whoosh's reader interface."""
    out = {}
    with ix.reader() as reader:
        for fieldname, text in reader.all_terms():
            m = reader.postings(fieldname, text)
            items = []
            while m.is_active():
                value = m.value()
                items.append((m.id(), m.weight(), value or None))
                m.next()
            info = reader.term_info(fieldname, text)
            out[(fieldname, text)] = (
                items,
                reader.doc_frequency(fieldname, text),
                reader.frequency(fieldname, text),
                info.min_length(),
                info.max_length(),
                info.max_weight(),
                info.min_id(),
                info.max_id(),
            )
    return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(ours, stock): 300 documents over three commits with deletions, unmerged."""
    rng = random.Random(6)
    commits = [_docs(rng, 150), _docs(rng, 100, 150), _docs(rng, 50, 250)]
    deletes = ["k3", "k151", "k152", "k249"]
    root = tmp_path_factory.mktemp("codec")
    return (
        _build(root / "ours", Codec(**SMALL_BLOCKS), commits, deletes),
        _build(root / "stock", None, commits, deletes),
    )


def test_segments_carry_our_codec_and_it_pickles_as_its_parameters(pair):
    ours, stock = pair
    assert {type(s.codec()) for s in ours._segments()} == {Codec}
    assert {type(s.codec()) for s in stock._segments()} == {W3Codec}
    codec = pickle.loads(pickle.dumps(Codec(**SMALL_BLOCKS)))
    assert vars(codec) == {
        "_blocklimit": 8,
        "_compression": 3,
        "_inlinelimit": 3,
        "stored_dictionary": STORED_DICTIONARY_CRC,
    }


def test_every_field_kind_reads_back_as_whoosh_wrote_it(pair):
    ours, stock = pair
    got, expected = _postings(ours), _postings(stock)
    assert got.keys() == expected.keys()
    assert got == expected
    kinds = {fieldname for fieldname, _ in got}
    assert kinds == {"key", "text", "pairs", "boosted", "number"}


def test_short_lists_are_inlined_and_long_ones_span_blocks(pair):
    ours, _ = pair
    inlined = blocks = 0
    with ours.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            assert isinstance(leaf._terms, TermsReader)
            for (_, _), info in leaf._terms.items():
                if info.is_inlined():
                    inlined += 1
                    assert info.doc_frequency() <= SMALL_BLOCKS["inlinelimit"]
                elif info.doc_frequency() > 3 * SMALL_BLOCKS["blocklimit"]:
                    blocks += 1
    assert inlined > 100 and blocks > 10


def test_merging_with_deletions_gives_whooshs_postings(tmp_path):
    rng = random.Random(7)
    commits = [_docs(rng, 60), _docs(rng, 60, 60)]
    deletes = ["k0", "k10", "k59"]  # from the first commit, deleted by the second
    ours = _build(tmp_path / "ours", Codec(**SMALL_BLOCKS), commits, deletes, optimize=True)
    stock = _build(tmp_path / "stock", None, commits, deletes, optimize=True)
    assert len(ours._segments()) == 1 and type(ours._segments()[0].codec()) is Codec
    assert ours.doc_count_all() == stock.doc_count_all() == 117
    assert _postings(ours) == _postings(stock)


def test_the_evaluators_reader_gives_every_terms_postings_across_segments(pair):
    """Every term of an index of three segments (inlined lists, lists of many blocks), read at
    once over all segments, against Whoosh's own reader of the same documents in W3; and with
    `within`, every block holding one of the given documents is read."""
    ours, stock = pair
    with ours.reader() as mine, stock.reader() as theirs:
        assert len(list(mine.leaf_readers())) == 3
        live = readers.live(mine)
        for fieldname in ("text", "pairs"):
            for btext in theirs.lexicon(fieldname):
                m = theirs.postings(fieldname, btext)
                expected = []
                while m.is_active():
                    expected.append((m.id(), m.weight(), m.value()))
                    m.next()
                values = fieldname == "text"
                ids, weights, deltas = readers.postings(mine, fieldname, btext, values=values)
                kept = live[ids]  # Whoosh's reader leaves deleted documents out; the evaluator masks them
                assert list(zip(ids[kept].tolist(), weights[kept].tolist())) == [(i, w) for i, w, _ in expected]
                narrow_ids, narrow = readers.term_postings(mine, fieldname, btext, readers.segments(mine))
                assert narrow_ids.tolist() == ids.tolist() and narrow.tolist() == weights.tolist()
                assert narrow.dtype == (np.float64 if (weights % 1).any() or weights.max() > 255 else np.uint8)
                if values:
                    fmt = mine.schema[fieldname].format
                    assert deltas is not None
                    ours_positions = np.split(readers.positions(weights, deltas), np.cumsum(weights.astype(int))[:-1])
                    got = [p.tolist() for p, keep in zip(ours_positions, kept) if keep]
                    assert got == [fmt.decode_positions(v) for _, _, v in expected]
                    some = ids[::7]
                    got, _, _ = readers.postings(mine, fieldname, btext, values=True, within=some)
                    assert set(some.tolist()) <= set(got.tolist()) <= set(ids.tolist())


def _every_doc(start: int, count: int) -> list[dict]:
    """Short documents, all of them holding one word: a list longer than the default block."""
    rng = random.Random(start)
    docs = []
    for n in range(start, start + count):
        text = " ".join(["tin"] + [rng.choice(WORDS) for _ in range(rng.randint(2, 9))])
        docs.append({"key": f"k{n}", "text": text, "pairs": text, "boosted": text, "number": n % 13})
    return docs


@pytest.mark.parametrize("short_list, few_blocks", DECODINGS)
def test_segments_written_with_any_block_size_read_alike_in_one_index(tmp_path, monkeypatch, short_list, few_blocks):
    """An index grown with one block size and then another (the default, which an index of an
    earlier default meets at its next commit) reads as W3's of the same documents, through
    Whoosh's matchers and the evaluator's reader alike, and again once merged."""
    monkeypatch.setattr(arrays, "SHORT_LIST", short_list)
    monkeypatch.setattr(arrays, "FEW_BLOCKS", few_blocks)
    batches = [
        (Codec(blocklimit=8), _every_doc(0, 150)),
        (Codec(), _every_doc(150, 1100)),
        (Codec(blocklimit=100), _every_doc(1250, 300)),
    ]
    built = []
    for name, ours in (("ours", True), ("stock", False)):
        (tmp_path / name).mkdir()
        ix = create_in(str(tmp_path / name), _schema())
        for codec, docs in batches:
            writer = ix.writer(codec=codec) if ours else ix.writer()
            for doc in docs:
                writer.add_document(**doc)
            writer.commit(merge=False)
        built.append(ix)
    ours, stock = built
    assert [s.codec()._blocklimit for s in ours._segments()] == [8, Codec()._blocklimit, 100]
    with ours.reader() as mine:
        leaf, _ = list(mine.leaf_readers())[1]
        entry = leaf._terms.entry("text", b"tin")
        assert len(PostingList([(leaf._terms.list_bytes(entry), 0)])) == 2  # 1,100 postings: two default blocks
    for merged in (False, True):
        if merged:
            for ix, codec in ((ours, Codec()), (stock, None)):
                (ix.writer(codec=codec) if codec else ix.writer()).commit(optimize=True)
        theirs = _postings(stock)
        assert _postings(ours) == theirs
        with ours.reader() as mine:
            for (fieldname, btext), (items, *_) in theirs.items():
                if fieldname not in ("text", "pairs"):
                    continue
                ids, weights, _ = readers.postings(mine, fieldname, btext, values=False)
                assert list(zip(ids.tolist(), weights.tolist())) == [(i, w) for i, w, _ in items]
                narrow_ids, narrow = readers.term_postings(mine, fieldname, btext, readers.segments(mine))
                assert narrow_ids.tolist() == ids.tolist() and narrow.tolist() == weights.tolist()


def test_skip_to_and_block_statistics_across_blocks(pair):
    ours, _ = pair
    with ours.searcher() as searcher:
        leaf, _ = next(iter(searcher.reader().leaf_readers()))
        btext = "bảo".encode()  # in most documents: many blocks
        scorer = BM25F().scorer(searcher, "text", btext)

        def matcher():
            return leaf._terms.matcher("text", btext, leaf.schema["text"].format, scorer=scorer)

        ids = list(matcher().all_ids())
        assert len(ids) > 5 * SMALL_BLOCKS["blocklimit"] and ids == sorted(set(ids))
        for target in (0, ids[3] + 1, ids[20], ids[40] + 1, ids[-1]):
            m = matcher()
            m.skip_to(target)
            assert m.id() == min(i for i in ids if i >= target)
            assert m.copy().id() == m.id()
        m = matcher()
        m.skip_to(ids[-1] + 1)
        assert not m.is_active()
        m = matcher()
        assert m.supports_block_quality()
        qualities = []
        while m.is_active():
            top, low, high = m.block_max_weight(), m.block_min_length(), m.block_max_length()
            qualities.append(m.block_quality())
            last = m.block_max_id()
            assert m.block_min_id() == m.id()
            while m.is_active() and m.id() <= last:
                assert m.weight() <= top
                assert low <= leaf.doc_field_length(m.id(), "text") <= high
                m.next()
        assert len(set(qualities)) > 1
        for threshold in sorted(set(qualities))[:-1]:
            m = matcher()
            m.skip_to_quality(threshold)  # to the first block that may score better
            better = next(n for n, q in enumerate(qualities) if q > threshold)
            assert m.is_active() and m.block_quality() == qualities[better]


@pytest.mark.parametrize(
    "q",
    [
        wq.Phrase("text", ["bảo", "hiểm"]),
        wq.Phrase("text", ["xã", "hội", "y"]),
        wq.Phrase("text", ["năm", "năm"]),
        wq.Phrase("text", ["người", "dân", "tỉnh", "học"]),
        wq.Phrase("text", ["thuế", "hiếm3"]),
        wq.Or([wq.Term("text", "bảo"), wq.Term("pairs", "bao_hiem"), wq.Term("boosted", "thuế")]),
        wq.And([wq.Term("text", "hiếm3"), wq.Term("text", "năm")]),
        wq.Term("number", 5),
    ],
)
def test_searches_give_whooshs_results_and_the_evaluator_agrees(pair, q):
    ours, stock = pair
    with ours.searcher() as mine, stock.searcher() as theirs:
        q = q.normalize()
        got = dict(mine.search(q, limit=None).items())
        assert got == pytest.approx(dict(theirs.search(q, limit=None).items()))
        assert got
        if q.field() != "number":  # the evaluator scores text fields only (BM25F)
            for searcher in (mine, theirs):  # our blocks, and W3's through Whoosh's matcher
                match = Evaluator(searcher).evaluate(q)
                evaluated = {int(d): float(match.scores[d]) for d in np.flatnonzero(match.mask)}
                assert evaluated == pytest.approx(got)


def test_seed_corpus_reads_back_identically(tmp_path):
    def write(index_dir: Path, codec: Codec | None):
        index_dir.mkdir()
        ix = create_in(str(index_dir), build_schema())
        writer = ix.writer(codec=codec) if codec else ix.writer()
        for article in iter_corpus([CORPUS]):
            writer.add_document(**to_document(article, "2026-01-01T00:00:00+00:00"))
        writer.commit()
        return ix

    def size(index_dir: Path) -> int:
        return sum(p.stat().st_size for p in index_dir.iterdir())

    ours, stock = write(tmp_path / "ours", Codec()), write(tmp_path / "stock", None)
    assert _postings(ours) == _postings(stock)
    assert size(tmp_path / "ours") < size(tmp_path / "stock") / 3


def test_term_dictionary_lookups_and_iteration(pair):
    ours, stock = pair
    with ours.reader() as mine, stock.reader() as theirs:
        assert list(mine.all_terms()) == list(theirs.all_terms())
        assert list(mine.expand_prefix("text", "b")) == list(theirs.expand_prefix("text", "b"))
        assert list(mine.lexicon("pairs"))[:50] == list(theirs.lexicon("pairs"))[:50]
        assert ("text", "bảo") in mine and ("text", "zzz") not in mine and ("nope", "bảo") not in mine
        for leaf, _ in mine.leaf_readers():
            terms = leaf._terms
            with pytest.raises(KeyError):
                terms.doc_frequency("text", b"zzz")
            for _, entry in terms._items_from(b""):  # a list's bytes without a TermInfo: the same
                info = TermInfo.from_bytes(entry)
                inline = getattr(info, "_inlined", None) is not None
                assert terms.list_bytes(entry) == (
                    inlined_block(entry) if inline else terms._postfile.get(*info.extent())
                )
            cursor = terms.cursor("key", leaf.schema["key"])
            keys = []
            while cursor.is_valid():
                keys.append(cursor.text())
                assert cursor.term_info().doc_frequency() == 1
                cursor.next()
            assert keys == sorted(keys) and len(keys) >= 50
            assert cursor.find("k2") and cursor.text() >= "k2"
            assert cursor.find("zzz") is None


def test_many_terms_looked_up_in_one_walk_give_each_terms_entry(pair):
    """`sorted_entries` walks the blocks forward: present, absent, repeated terms, terms before
    the first and after the last, in fields with many blocks and in a missing field."""
    ours, _ = pair
    with ours.reader() as mine:
        for leaf, _ in mine.leaf_readers():
            terms = leaf._terms
            for fieldname in ("text", "pairs", "key", "nope"):
                present = [t for f, t in terms.terms() if f == fieldname] if fieldname != "nope" else []
                wanted = sorted(
                    [*present[::3], *present[:5], b"", b"\x00", b"a", b"bzz", b"k2", b"\xff\xff"]
                    + [t + b"x" for t in present[::7]]
                )
                assert terms.sorted_entries(fieldname, wanted) == [terms.entry(fieldname, t) for t in wanted]
                assert any(terms.sorted_entries(fieldname, wanted)) == bool(present)


@pytest.mark.parametrize(
    "weights", [[1.0] * 5, [1.0, 3.0, 2.0, 300.0, 1.0], [0.5, 1.5, 2.25, 1.0, 7.0], [70.0, 1.0, 2.0, 1.0, 3.0]]
)
@pytest.mark.parametrize("ids", [[7], [7, 9], [0, 1, 300, 70_000, 70_001], [5, 6, 7, 8, 9]])
def test_bodies_round_trip(ids, weights):
    weights = weights[: len(ids)]
    values = [bytes([1, n % 256]) * (n % 3 + 1) for n in ids]
    packed = [b"\x01" + bytes([7]) * int(w) for w in weights]  # positions as VietnameseText's
    for vals in (values, [b""] * len(ids), packed, [b"\x04" + bytes(4 * int(w)) for w in weights]):
        flags, body, top = encode_body(ids, weights, vals)
        got_ids, got_weights, got_values = decode_body(flags, len(ids), ids[0], ids[-1], body)
        assert got_ids == ids
        assert (list(got_weights) if got_weights is not None else [1.0] * len(ids)) == weights
        assert got_values == (vals if any(vals) else None)
        assert top == max(weights)


def test_values_alone_are_compressed_where_it_pays():
    ids = list(range(0, 400, 4))
    weights = [3.0] * len(ids)
    values = [b"\x02" + bytes([0, 1, 7, 1, 9, 1]) for _ in ids]  # positions 256, 263, 272 (2 bytes each)
    flags, body, _ = encode_body(ids, weights, values, level=3)
    assert flags & COMPRESSED
    plain_flags, plain, _ = encode_body(ids, weights, values)
    assert not plain_flags & COMPRESSED and len(body) < len(plain) / 4
    head = len(ids) - 2 + weights_size((flags & WEIGHT_MODE) >> 2, len(ids))
    assert body[:head] == plain[:head]  # ids and weights as they are
    assert decode_body(flags, len(ids), ids[0], ids[-1], body) == decode_body(
        plain_flags, len(ids), ids[0], ids[-1], plain
    )
    got_ids, _, no_values = decode_body(flags, len(ids), ids[0], ids[-1], body, with_values=False)
    assert got_ids == ids and no_values is None


def _list_bytes(chunks: list[tuple[list[int], list[float], list[bytes]]]) -> bytes:
    """A posting list as the field writer lays it out: each chunk a block, header then body."""
    out, prev = bytearray(), 0
    for n, (ids, weights, values) in enumerate(chunks):
        flags, body, top = encode_body(ids, weights, values, level=3)
        flags |= LAST_BLOCK if n == len(chunks) - 1 else 0
        out += block_header(flags, len(ids), ids[0], ids[-1], prev, top, 0, 0, len(body)) + body
        prev = ids[-1]
    return bytes(out)


def _positions(rng: random.Random, freq: int, wide: bool) -> bytes:
    positions = sorted(rng.sample(range(70_000 if wide else 250), freq))
    return CompactPositions().encode(positions)


@pytest.mark.parametrize("short_list, few_blocks", DECODINGS)
def test_the_evaluator_decodes_lists_whose_blocks_differ_in_widths_and_weights(monkeypatch, short_list, few_blocks):
    monkeypatch.setattr(arrays, "SHORT_LIST", short_list)
    monkeypatch.setattr(arrays, "FEW_BLOCKS", few_blocks)
    rng = random.Random(3)
    plain = [
        ([5], [1.0]),
        ([9, 12], [2.0, 1.0]),
        (list(range(20, 60, 3)), [1.0] * 14),
        ([100, 400, 70_000, 70_002, 200_000], [1.0, 300.0, 2.0, 1.0, 4.0]),
        (sorted(rng.sample(range(200_001, 201_000), 50)), [float(rng.randint(1, 9)) for _ in range(50)]),
        ([300_000, 300_001, 300_003], [0.5, 1.5, 2.0]),
        ([300_004, 300_009, 300_010], [16.0, 3.0, 1.0]),
        ([300_011, 300_012], [17.0, 1.0]),
    ]
    chunks = [(ids, weights, [b""] * len(ids)) for ids, weights in plain]
    no_floats = chunks[:3] + chunks[4:5] + chunks[6:]  # weights of none, bytes and nibbles mixed
    for some in (chunks, no_floats, chunks[2:3], chunks[4:5], chunks[:2], chunks[4:5] + chunks[-2:-1], chunks[-1:]):
        blocks = PostingList([(_list_bytes(some), 0)])
        ids, weights = blocks.arrays()
        expected = [(i, w) for block_ids, block_weights, _ in some for i, w in zip(block_ids, block_weights)]
        assert list(zip(ids.tolist(), weights.tolist())) == expected
        ids, weights = blocks.arrays(narrow=True)  # in a byte each unless some block has floats
        assert list(zip(ids.tolist(), weights.tolist())) == expected
        assert weights.dtype == (np.uint8 if all(w % 1 == 0 and w < 256 for _, w in expected) else np.float64)
        select = np.arange(len(some)) % 2 == 0  # every other block
        ids, weights = blocks.arrays(select)
        expected = [(i, w) for n, (bi, bw, _) in enumerate(some) if n % 2 == 0 for i, w in zip(bi, bw)]
        assert list(zip(ids.tolist(), weights.tolist())) == expected


def test_positions_decode_whatever_their_widths_and_compression():
    rng = random.Random(5)
    chunks = []
    start = 0
    for kind in range(12):
        count = rng.choice([1, 2, 3, 40, 128])
        ids = sorted(rng.sample(range(start, start + 10 * count + 10), count))
        start = ids[-1] + 1
        freqs = [rng.choice([1, 2, 5] if kind % 4 else [1, 30, 300]) for _ in ids]
        # narrow and wide deltas, repetitive (compressed) and random values, a frequency over 255
        values = [_positions(rng, min(f, 250) if kind % 3 else f, wide=kind % 3 == 0) for f in freqs]
        weights = [float(CompactPositions().decode_frequency(v)) for v in values]
        chunks.append((ids, weights, values))
    for step in (2, 300):  # repetitive positions, of one byte and of two: compressed blocks
        ids = list(range(start, start + 128))
        start += 128
        values = [CompactPositions().encode(list(range(1, 5 * step, step))) for _ in ids]
        chunks.append((ids, [5.0] * len(ids), values))
    blocks = PostingList([(_list_bytes(chunks), 0)])
    assert len(blocks) == len(chunks)
    assert {int(f) & 0x70 for f in blocks.flags} >= {0x20, 0x30, 0x50, 0x60, 0x70}  # every value layout
    for select in (None, np.arange(len(chunks)) % 3 == 1):
        ids, weights = blocks.arrays(select)
        got = blocks.deltas(weights, select).tolist()
        chosen = [c for n, c in enumerate(chunks) if select is None or select[n]]
        expected = [d for _, _, values in chosen for v in values for d in CompactPositions.deltas(v)]
        assert got == expected
        assert ids.tolist() == [i for block_ids, _, _ in chosen for i in block_ids]


def _stored_index(root: Path, codec: Codec | None, docs: list[dict]):
    root.mkdir()
    ix = create_in(str(root), Schema(key=ID(stored=True), body=STORED()))
    writer = ix.writer(codec=codec) if codec else ix.writer()
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return ix


def test_stored_fields_read_back_and_take_less_room_than_w3s(tmp_path):
    articles = list(iter_corpus([CORPUS]))
    docs = [{"key": a.id, "body": f"{a.title}\n\n{a.body}"} for a in articles]
    docs.append({"key": "empty", "body": ""})
    ours, stock = _stored_index(tmp_path / "ours", Codec(), docs), _stored_index(tmp_path / "stock", None, docs)
    with ours.searcher() as searcher:
        assert [searcher.stored_fields(n) for n in range(len(docs))] == docs
    assert _file_size(ours, "_stored") < 0.9 * _file_size(stock, "_stored")


def test_stored_fields_inflate_as_the_standard_library_does_from_several_threads(tmp_path):
    """Each thread keeps its own decompression context: documents read by several threads at
    once come back whole, in any order, as the standard library's Zstandard inflates them."""
    articles = list(iter_corpus([CORPUS]))
    docs = [{"key": a.id, "body": f"{a.title}\n\n{a.body}" * (1 + n % 40)} for n, a in enumerate(articles)]
    ix = _stored_index(tmp_path / "ix", Codec(), docs)
    compressor = zstd.ZstdCompressor(level=stored.STORED_LEVEL, zstd_dict=stored.STORED_DICTIONARY)
    for doc in docs[:5]:
        frame = compressor.compress(pickle.dumps(doc, 2), zstd.ZstdCompressor.FLUSH_FRAME)
        assert stored._inflate(frame) == zstd.decompress(frame, zstd_dict=stored.STORED_DICTIONARY)
        assert stored._inflate(frame + frame) == pickle.dumps(doc, 2) * 2  # frames one after the other
        with pytest.raises(zstandard.ZstdError):
            stored._inflate(frame[: len(frame) // 2])
    with ix.searcher() as searcher:
        order = [n for _ in range(3) for n in random.Random(15).sample(range(len(docs)), len(docs))]
        with ThreadPoolExecutor(4) as pool:
            read = list(pool.map(searcher.stored_fields, order))
        assert read == [docs[n] for n in order]


def test_stored_fields_read_straight_are_whooshs_over_segments_and_a_removed_field(tmp_path):
    """`stored.stored_fields` gives what the reader gives: over several segments, for an article
    without a stored field, and without a field the schema no longer has (Whoosh leaves it out)."""
    articles = [a for a in iter_corpus([CORPUS]) if isinstance(a, Article)]
    root = tmp_path / "ix"
    root.mkdir()
    ix = create_in(str(root), Schema(key=ID(stored=True), body=STORED(), note=STORED()))
    for part in range(3):
        writer = ix.writer(codec=Codec())
        for n, a in enumerate(articles[part::3]):
            writer.add_document(key=a.id, body=a.body, **({"note": a.title} if n % 2 else {}))
        writer.commit(merge=False)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        assert len(reader.leaf_readers()) == 3
        every = [reader.stored_fields(n) for n in range(reader.doc_count_all())]
        assert [stored.stored_fields(reader, n) for n in range(reader.doc_count_all())] == every
        assert any("note" in fields for fields in every) and not all("note" in fields for fields in every)
    writer = ix.writer(codec=Codec())
    writer.remove_field("note")
    writer.commit(merge=False)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        written = [
            leaf._perdoc.stored_fields(n) for leaf, _ in reader.leaf_readers() for n in range(leaf.doc_count_all())
        ]
        assert any("note" in fields for fields in written)  # still in the segments
        read = [stored.stored_fields(reader, n) for n in range(reader.doc_count_all())]
        assert read == [reader.stored_fields(n) for n in range(reader.doc_count_all())]
        assert read and not any("note" in fields for fields in read)
    leaf = ix.reader()
    leaf.close()
    with pytest.raises(ReaderClosed):
        stored.stored_fields(leaf, 0)


def _file_size(ix, column: str) -> int:
    segment = next(iter(ix._segments()))
    storage = segment.open_compound_file(ix.storage) if segment.is_compound() else ix.storage
    return storage.file_length(W3Codec.column_filename(segment, column))


def test_stored_values_compressed_in_batches_are_the_bytes_of_one_at_a_time():
    # Documents without stored fields leave gaps (Whoosh fills them with empty values), and the
    # last batch is a partial one: the column must be the one a frame per `add` would write.
    rng = random.Random(5)
    articles = [a for a in iter_corpus([CORPUS]) if isinstance(a, Article)]
    rows = []
    for docnum in range(2 * COMPRESS_BATCH + 37):
        if rng.random() < 0.1:
            continue
        a = articles[docnum % len(articles)]
        rows.append((docnum, pickle.dumps({"title": a.title, "body": a.body[: rng.randrange(1, 4000)]}, 2)))
    compressor = zstd.ZstdCompressor(options=_OPTIONS, zstd_dict=STORED_DICTIONARY)
    expected_file, got_file = StructFile(BytesIO()), StructFile(BytesIO())
    expected, got = VarBytesColumn().writer(expected_file), DictionaryCompressedColumn().writer(got_file)
    for docnum, value in rows:
        expected.add(docnum, compressor.compress(value, zstd.ZstdCompressor.FLUSH_FRAME))
        got.add(docnum, value)
    doccount = rows[-1][0] + 3
    expected.finish(doccount)
    got.finish(doccount)
    assert got_file.file.getvalue() == expected_file.file.getvalue()
    reader = DictionaryCompressedColumn().reader(got_file, 0, len(got_file.file.getvalue()), doccount)
    assert [reader[docnum] for docnum, _ in rows] == [value for _, value in rows]


def test_an_index_compressed_with_another_dictionary_is_refused(tmp_path):
    ix = _stored_index(tmp_path / "ix", Codec(), [{"key": "a", "body": "bảo hiểm xã hội"}])
    segment = next(iter(ix._segments()))
    segment.codec().stored_dictionary = STORED_DICTIONARY_CRC ^ 1
    with pytest.raises(StoredDictionaryMismatch, match="--rebuild"):
        segment.codec().per_document_reader(ix.storage, segment)


def test_phrases_over_a_word_more_than_255_times_in_an_article(tmp_path):
    """A frequency over 255 makes a block store its values with their lengths: the evaluator
    must still find phrases there, as Whoosh does."""
    docs = [
        {"key": "long", "text": "năm " * 300 + "bảo hiểm năm", "pairs": "", "boosted": "", "number": 1},
        {"key": "short", "text": "năm bảo hiểm", "pairs": "", "boosted": "", "number": 2},
    ]
    ix = _build(tmp_path / "ix", Codec(**SMALL_BLOCKS), [docs])
    with ix.searcher() as searcher:
        for words in (["năm", "năm"], ["năm", "bảo", "hiểm"], ["hiểm", "năm"]):
            q = wq.Phrase("text", words)
            expected = dict(searcher.search(q, limit=None).items())
            match = Evaluator(searcher).evaluate(q)
            assert {int(d): float(match.scores[d]) for d in np.flatnonzero(match.mask)} == pytest.approx(expected)
            assert expected


class _Entries:
    """Where a field writer's term entries go, kept instead of written."""

    def __init__(self) -> None:
        self.added: list[tuple[bytes, bytes]] = []

    def add(self, key: bytes, value: bytes) -> None:
        self.added.append((key, value))


@pytest.mark.parametrize("count", [1, 2])
def test_short_entries_are_what_the_general_encoder_writes(count):
    """The entries of one- and two-posting terms made in `add_runs` are the general encoder's,
    whatever the weights (small frequencies, 1.0, others), lengths and values (none,
    positions of each width, or values of another shape)."""
    rng = random.Random(count)
    general = FieldWriter.__new__(FieldWriter)
    general._inlinelimit, general._prefix = 4, b""
    fmt = CompactPositions()
    short_weights = (1.0, 2.0, 7.0, 16.0)
    for _ in range(1500):
        ids = sorted(rng.sample(range(1 << rng.choice((6, 14, 22))), count))
        weights = [rng.choice((*short_weights, 17.0, 0.0, 2.5, 300.0)) for _ in ids]
        lens = [rng.randrange(256) for _ in ids]
        kind = rng.choice(("none", "positions", "other"))
        if kind == "positions" and all(w.is_integer() and w >= 1 for w in weights):
            top = rng.choice((200, 60000, 1 << 20))
            values = [fmt.encode(sorted(rng.sample(range(max(top, 400)), int(w)))) for w in weights]
        elif kind == "other":
            values = [bytes(rng.randrange(256) for _ in range(rng.randrange(4))) for _ in ids]
        else:
            values = None
        general._terms = _Entries()
        general._write_term(b"t", ids, weights, values or [b""] * count, lens)
        ((_, expected),) = general._terms.added
        short = short_entry(ids, weights, values, lens, 0, count)
        assert short is None or short == expected
        if all(w in short_weights for w in weights) and kind != "other":
            assert short is not None
