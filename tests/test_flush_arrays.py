"""The flush's array paths give the bytes and numbers of the general ones: long terms' blocks
and entries made with numpy, a run's values in one buffer, pair postings numbered by a sort."""

from __future__ import annotations

import random
from io import BytesIO

import numpy as np
import pytest
from whoosh.filedb.structfile import StructFile

from search.index.engine.codec.entries import long_entry
from search.index.engine.codec.postings import FieldWriter
from search.index.fields import CompactPositions
from search.index.pair_postings import PairPostings
from search.index.run_values import RunValues


class _Entries:
    def __init__(self) -> None:
        self.added: list[tuple[bytes, bytes]] = []

    def add(self, key: bytes, value: bytes) -> None:
        self.added.append((key, value))


def _weights(rng: random.Random, kind: str, count: int) -> list[float]:
    if kind == "ones":
        return [1.0] * count
    if kind == "small":
        return [float(rng.randint(1, 16)) for _ in range(count)]
    if kind == "bytes":
        return [float(rng.choice((0, 1, 17, 200, 255, rng.randint(0, 255)))) for _ in range(count)]
    return [rng.choice((1.0, 2.0, 2.5, 300.0, 0.125)) for _ in range(count)]


def _values(rng: random.Random, kind: str, weights: list[float]) -> list[bytes] | None:
    fmt = CompactPositions()
    if kind == "none":
        return None
    if kind == "positions" and all(w.is_integer() and w >= 1 for w in weights):
        tops = rng.choice(((200,), (200, 60000), (200, 60000, 1 << 20), (1 << 20,)))
        return [fmt.encode(sorted(rng.sample(range(max(rng.choice(tops), 400)), int(w)))) for w in weights]
    if kind == "some empty":
        return [b"" if rng.random() < 0.5 else bytes((1, 3)) for _ in weights]
    return [bytes(rng.randrange(256) for _ in range(rng.randrange(4))) for _ in weights]


@pytest.mark.parametrize("seed", range(4))
def test_long_entries_and_blocks_are_what_the_general_encoder_writes(seed):
    """For terms of five to hundreds of postings over one or several blocks, whatever the
    weights (1.0, small frequencies, bytes, others), values (none, positions of every width
    mix, other shapes) and lengths, `long_entry` writes the blocks and makes the entry
    `_write_term` does, or declines (weights or values of another layout) writing nothing."""
    rng = random.Random(seed)
    made = declined = 0
    for _ in range(400):
        limit = rng.choice((7, 128))
        level = rng.choice((0, 3))
        count = rng.choice((5, 6, 16, 127, 128, 129, rng.randint(5, 600)))
        ids = sorted(rng.sample(range(1 << rng.choice((10, 17, 24))), count))
        weight_kind = rng.choice(("ones", "small", "small", "bytes", "floats"))
        weights = _weights(rng, weight_kind, count)
        values = _values(rng, rng.choice(("none", "positions", "positions", "other", "some empty")), weights)
        lens = [rng.randrange(256) for _ in ids] if rng.random() < 0.8 else None
        general = FieldWriter.__new__(FieldWriter)
        general._inlinelimit, general._blocklimit, general._level, general._prefix = 4, limit, level, b""
        general._terms, general._postfile, general._lenbytes = _Entries(), StructFile(BytesIO()), None
        general._write_term(b"t", ids, weights, values or [b""] * count, lens or [0] * count)
        ((_, expected),) = general._terms.added
        run_values = RunValues.of(values) if values is not None else None
        postfile = StructFile(BytesIO())
        entry = long_entry(
            postfile,
            np.array(ids, dtype=np.int64),
            np.array(weights),
            np.frombuffer(run_values.data, dtype=np.uint8) if run_values is not None else None,
            run_values.offsets if run_values is not None else None,
            np.array(lens, dtype=np.uint8) if lens is not None else None,
            limit,
            level,
        )
        if entry is None:
            declined += 1
            assert postfile.tell() == 0
            continue
        made += 1
        assert entry == expected
        assert postfile.file.getvalue() == general._postfile.file.getvalue()
    assert made > 150 and declined > 50


def test_a_runs_values_in_one_buffer_read_as_their_bytes():
    rng = random.Random(3)
    buffer = bytes(rng.randrange(256) for _ in range(5000))
    bounds = sorted(rng.sample(range(len(buffer)), 400))
    pieces = list(zip(bounds, bounds[1:]))
    pieces += [(b, b) for b in bounds[:20]]  # empty values
    rng.shuffle(pieces)
    begins, ends = (np.array(side, dtype=np.int64) for side in zip(*pieces))
    values = RunValues.gathered(np.frombuffer(buffer, dtype=np.uint8), begins, ends)
    expected = [buffer[b:e] for b, e in pieces]
    assert len(values) == len(expected) and list(values) == expected
    assert [values[i] for i in range(len(expected))] == expected
    assert values[10:50] == expected[10:50] and values[-5:] == expected[-5:]
    again = RunValues.of(expected)
    assert again.data == values.data and again.offsets.tolist() == values.offsets.tolist()


def test_pair_postings_are_numbered_and_counted_as_a_dict_would():
    """Term numbers are each code's first posting, as `dict.setdefault` gave them, and the
    distinct count is exact whenever asked, however the codes came (the bound never below it)."""
    rng = random.Random(9)
    pairs = PairPostings()
    first: dict[int, int] = {}
    tids: list[int] = []
    for docnum in range(300):
        codes = np.unique(np.array([rng.randrange(1 << rng.choice((6, 40))) for _ in range(rng.randrange(30))]))
        codes = codes.astype(np.int64)
        pairs.extend(codes, docnum, np.ones(len(codes)))
        tids += [first.setdefault(c, len(tids) + i) for i, c in enumerate(codes.tolist())]
        assert pairs.terms_at_most() >= len(first)
        if rng.random() < 0.3:
            assert pairs.terms() == len(first)
    assert pairs.terms() == len(first)
    codes, firsts, numbered = pairs.numbered()
    assert dict(zip(codes.tolist(), firsts.tolist())) == first
    assert numbered.tolist() == tids
