"""Posting lists of our codec read whole with numpy: the searcher's hot path.

The same blocks `search.index.engine.codec.blocks` writes and reads one at a time, decoded a
list at a time: a few numpy operations for all the blocks of a term instead of a few per block
or per posting. Kept beside the block format because both describe the same bytes.
"""

from __future__ import annotations

import zlib

import numpy as np

from search.index.engine.codec.blocks import (
    COMPRESSED,
    ID_WIDTH,
    VALUE_MODE,
    VALUES_COUNTED,
    VALUES_PACKED,
    WEIGHT_MODE,
    WIDTHS,
    decode_body,
    weights_size,
)
from search.index.fields import CompactPositions

#: (flags, count, first id, last id, body) of one block, as `blocks.iter_blocks` gives them.
Block = tuple[int, int, int, int, bytes]


class Unsupported(Exception):
    """Postings (or a query over them) this code does not read: the caller asks Whoosh instead."""


_GAP_DTYPES = tuple(np.dtype(f"<u{w}") for w in WIDTHS)
_WEIGHT_DTYPES = (None, np.dtype("<u1"), None, np.dtype("<f4"))


def list_arrays(blocks: list[Block]) -> tuple[np.ndarray, np.ndarray]:
    """Ids and weights of a posting list of our codec from its blocks (see `encode_body`),
    with a few numpy operations for the whole list rather than a few per block.

    Each block stores its first and last ids and the gaps (less one) between the ids in between.
    The gaps of all blocks become one array of steps, zero at every block's first and last
    posting; its running sum, shifted per block so that the block starts at its first id, gives
    the ids, and each block's last id is set where it belongs."""
    counts = np.fromiter((b[1] for b in blocks), dtype=np.int64, count=len(blocks))
    ends = np.cumsum(counts) - 1
    starts = ends - counts + 1
    gap_parts, weight_parts = [], []
    widths, modes = set(), set()
    for flags, count, _, _, body in blocks:
        inner = max(count - 2, 0) * WIDTHS[flags & ID_WIDTH]
        mode = (flags & WEIGHT_MODE) >> 2
        gap_parts.append(body[:inner])
        weight_parts.append(body[inner:inner + weights_size(mode, count)])
        widths.add(flags & ID_WIDTH)
        modes.add(mode)
    if len(widths) == 1:
        gaps = np.frombuffer(b"".join(gap_parts), dtype=_GAP_DTYPES[widths.pop()])
    else:
        gaps = np.concatenate([np.frombuffer(part, dtype=_GAP_DTYPES[flags & ID_WIDTH]).astype(np.int64)
                               for part, (flags, *_) in zip(gap_parts, blocks)])
    steps = np.ones(int(ends[-1]) + 1, dtype=np.int64)
    steps[starts] = 0
    steps[ends] = 0
    steps[steps.astype(bool)] += gaps
    ids = np.cumsum(steps)
    firsts = np.fromiter((b[2] for b in blocks), dtype=np.int64, count=len(blocks))
    ids += np.repeat(firsts - ids[starts], counts)
    ids[ends] = np.fromiter((b[3] for b in blocks), dtype=np.int64, count=len(blocks))
    if modes == {0}:
        return ids, np.ones(len(ids), dtype=np.float64)
    if modes == {1} or modes == {3}:
        return ids, np.frombuffer(b"".join(weight_parts), dtype=_WEIGHT_DTYPES[modes.pop()]).astype(np.float64)
    if modes == {2}:
        return ids, _halves(b"".join(weight_parts), counts)
    pieces = []
    for n, (part, (flags, count, *_)) in enumerate(zip(weight_parts, blocks)):
        mode = (flags & WEIGHT_MODE) >> 2
        if mode == 0:
            pieces.append(np.ones(count))
        elif mode == 2:
            pieces.append(_halves(part, counts[n:n + 1]))
        else:
            pieces.append(np.frombuffer(part, dtype=_WEIGHT_DTYPES[mode]).astype(np.float64))
    return ids, np.concatenate(pieces)


def _halves(packed: bytes, counts: np.ndarray) -> np.ndarray:
    """Weights stored two to a byte (weight - 1 in each 4 bits), for blocks of `counts`
    postings: a block of an odd count ends in an unused half."""
    raw = np.frombuffer(packed, dtype=np.uint8)
    out = np.empty(2 * len(raw), dtype=np.float64)
    out[0::2] = raw >> 4
    out[1::2] = raw & 0x0F
    odd = counts & 1
    if odd.any():
        keep = np.ones(len(out), dtype=bool)
        keep[(np.cumsum(counts + odd) - 1)[odd.astype(bool)]] = False
        out = out[keep]
    return out + 1.0




def value_deltas(values: list[bytes]) -> np.ndarray:
    """The position deltas of postings given one `CompactPositions` value each, in order."""
    out: list[int] = []
    for value in values:
        out.extend(CompactPositions.deltas(value))
    return np.asarray(out, dtype=np.int64)


def blocks_within(blocks: list[Block], docs: np.ndarray) -> list[Block]:
    """The blocks whose id range holds one of the sorted `docs`."""
    firsts = np.fromiter((b[2] for b in blocks), dtype=np.int64, count=len(blocks))
    lasts = np.fromiter((b[3] for b in blocks), dtype=np.int64, count=len(blocks))
    hit = np.searchsorted(docs, firsts, side="left") < np.searchsorted(docs, lasts, side="right")
    return [block for block, keep in zip(blocks, hit) if keep]


def block_deltas(blocks: list[Block], weights: np.ndarray) -> np.ndarray:
    """The position deltas of a posting list's blocks, in posting order, with a few numpy
    operations for the whole list. Every posting's deltas have one width (1, 2 or 4 bytes,
    little-endian): a block whose deltas all fit a byte stores them as they are
    (`VALUES_PACKED`), others store each posting's width first (`VALUES_COUNTED`), and a block
    with a frequency over 255 stores each posting's value with its length (decoded in Python:
    only the commonest words in the longest articles)."""
    freqs = weights.astype(np.int64)
    widths: list[np.ndarray] = []
    data: list[bytes] = []
    start = 0
    for flags, count, first, last, body in blocks:
        vmode = flags & VALUE_MODE
        packed = body[max(count - 2, 0) * WIDTHS[flags & ID_WIDTH] + weights_size((flags & WEIGHT_MODE) >> 2, count):]
        if vmode in (VALUES_PACKED, VALUES_COUNTED) and flags & COMPRESSED:
            packed = zlib.decompress(packed)
        if vmode == VALUES_PACKED:
            widths.append(np.ones(count, dtype=np.int64))
        elif vmode == VALUES_COUNTED:
            widths.append(np.frombuffer(packed, dtype=np.uint8, count=count).astype(np.int64))
            packed = packed[count:]
        elif vmode:  # values with their own lengths (a weight the block could not store as an int)
            values = decode_body(flags, count, first, last, body)[2] or []
            widths.append(np.fromiter((v[0] for v in values), dtype=np.int64, count=count))
            packed = b"".join([v[1:] for v in values])
        elif freqs[start:start + count].any():
            raise Unsupported("a posting list without positions")
        else:
            widths.append(np.zeros(count, dtype=np.int64))
        data.append(packed)
        start += count
    if not widths:
        return np.zeros(0, np.int64)
    width = np.concatenate(widths)
    raw = np.frombuffer(b"".join(data), dtype=np.uint8)
    total = int(freqs.sum())
    # Where each delta starts in `raw`: its posting's start plus its place times the width.
    posting_start = np.cumsum(width * freqs) - width * freqs
    first_delta = np.cumsum(freqs) - freqs
    place = np.arange(total, dtype=np.int64) - np.repeat(first_delta, freqs)
    delta_width = np.repeat(width, freqs)
    at = np.repeat(posting_start, freqs) + place * delta_width
    deltas = raw[at].astype(np.int64)
    for extra in (1, 2, 3):  # the higher bytes of wider deltas
        wide = np.flatnonzero(delta_width > extra)
        if not len(wide):
            break
        deltas[wide] |= raw[at[wide] + extra].astype(np.int64) << (8 * extra)
    return deltas

