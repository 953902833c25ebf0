"""Posting lists of our codec read whole with numpy: the searcher's hot path.

The same blocks `search.index.engine.codec.blocks` writes and reads one at a time, decoded a
list at a time. Only the block headers are walked in Python (their varints chain each block to
the next); every body is then addressed inside the list's one buffer and decoded for all blocks
at once, whatever mix of id widths and weight encodings the blocks use: a few numpy operations
per list instead of a few per block, which made a frequent word's list several times faster to
read. Those few dozen numpy calls cost more than a list of few blocks (most lists: a block per
segment), whose ids and weights are read a block at a time (`FEW_BLOCKS`, `per_block`), and a
list of few postings (a rare word's, a pair's) is read by the block reader itself in Python
(`SHORT_LIST`). Kept beside the block format because both describe the same bytes.
"""

from __future__ import annotations

import zlib

import numpy as np

from search.index.engine.codec.blocks import (
    COMPRESSED,
    LAST_BLOCK,
    VALUE_MODE,
    VALUES_COUNTED,
    VALUES_PACKED,
    WEIGHT_MODE,
    decode_body,
    get_varint,
)
from search.index.engine.codec.per_block import BYTE_WEIGHTS, block_arrays
from search.index.fields import CompactPositions


class Unsupported(Exception):
    """Postings (or a query over them) this code does not read: the caller asks Whoosh instead."""


#: Lists of at most this many postings are decoded block by block in Python: below it, even
#: `per_block`'s few numpy calls a block cost more than the postings.
SHORT_LIST = 64
#: Lists of at most this many blocks are decoded a block at a time by `per_block`: a few numpy
#: calls a block cost less than the general decoding's few dozen.
FEW_BLOCKS = 8

_WIDTHS = np.array([1, 2, 4, 0], dtype=np.int64)
#: A zlib stream (`zlib.compress`, no preset dictionary) around its raw deflate data.
_ZLIB_HEADER, _ZLIB_CHECKSUM = 2, 4
_NO_INTS = np.zeros(0, np.int64)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of `arange(s, s + n)` for each start and length."""
    total = int(lengths.sum())
    if not total:
        return _NO_INTS
    return np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)


def _local(counts: np.ndarray) -> np.ndarray:
    """Each item's place within its group, for groups of `counts` items laid end to end."""
    return _ranges(np.zeros(len(counts), dtype=np.int64), counts)


class PostingList:
    """One term's posting lists (one per segment: `parts` of (list bytes, the segment's first
    document number), in segment order), located once: their headers parsed, their bodies
    addressed in one buffer, so that ids (over the whole index), weights and positions can be
    decoded for all the blocks of every segment at once, or for any subset (`select`, a boolean
    mask over the blocks), without walking the lists again."""

    __slots__ = ("data", "heads", "_total", "_columns", "_buf")

    def __init__(self, parts: list[tuple[bytes, int]]) -> None:
        self.data = data = parts[0][0] if len(parts) == 1 else b"".join([part for part, _ in parts])
        # One tuple a block, made into numpy columns only when the blocks are decoded with
        # numpy: a short list, or one of few blocks, is read from the tuples alone.
        heads: list[tuple[int, int, int, int, int, int]] = []
        append = heads.append
        total = base = 0
        for part, offset in parts:
            pos, prev = base, offset
            while True:  # `blocks.read_block_header`, inlined: one pass of Python per block
                flag = data[pos]
                # The varints of a header are mostly one or two bytes (a full block's count is
                # two): those are read here, longer ones by `get_varint`.
                b = data[pos + 1]
                if b < 0x80:
                    count, pos = b, pos + 2
                elif data[pos + 2] < 0x80:
                    count, pos = (b & 0x7F) | (data[pos + 2] << 7), pos + 3
                else:
                    count, pos = get_varint(data, pos + 1)
                b = data[pos]
                if b < 0x80:
                    first, pos = b + prev, pos + 1
                elif data[pos + 1] < 0x80:
                    first, pos = ((b & 0x7F) | (data[pos + 1] << 7)) + prev, pos + 2
                else:
                    first, pos = get_varint(data, pos)
                    first += prev
                b = data[pos]
                if b < 0x80:
                    prev, pos = first + b, pos + 1
                elif data[pos + 1] < 0x80:
                    prev, pos = first + ((b & 0x7F) | (data[pos + 1] << 7)), pos + 2
                else:
                    prev, pos = get_varint(data, pos)
                    prev += first
                mode = flag & 0x0C  # the weight mode, unshifted: its highest weight's bytes
                if mode == 0x0C:
                    pos += 6  # a float32, then the two length bytes
                elif mode:
                    while data[pos] & 0x80:
                        pos += 1
                    pos += 3
                else:
                    pos += 2
                b = data[pos]
                if b < 0x80:
                    size, pos = b, pos + 1
                elif data[pos + 1] < 0x80:
                    size, pos = (b & 0x7F) | (data[pos + 1] << 7), pos + 2
                else:
                    size, pos = get_varint(data, pos)
                append((flag, count, first, prev, pos, size))
                total += count
                if flag & LAST_BLOCK:
                    break
                pos += size
            base += len(part)
        self.heads, self._total = heads, total
        self._columns: np.ndarray | None = None
        self._buf: np.ndarray | None = None

    @property
    def buf(self) -> np.ndarray:
        """The lists' bytes as a numpy array."""
        if self._buf is None:
            self._buf = np.frombuffer(self.data, dtype=np.uint8)
        return self._buf

    def _column(self, n: int) -> np.ndarray:
        columns = self._columns
        if columns is None:
            columns = self._columns = np.array(self.heads, dtype=np.int64).T.copy()
        return columns[n]

    # Per block: its flags, postings, first and last ids, body's start in `buf` and size.
    flags = property(lambda self: self._column(0))
    counts = property(lambda self: self._column(1))
    firsts = property(lambda self: self._column(2))
    lasts = property(lambda self: self._column(3))
    starts = property(lambda self: self._column(4))
    sizes = property(lambda self: self._column(5))

    def __len__(self) -> int:
        return len(self.heads)

    def within(self, docs: np.ndarray) -> np.ndarray:
        """Which blocks' id ranges hold one of the sorted `docs`."""
        return np.searchsorted(docs, self.firsts, side="left") < np.searchsorted(docs, self.lasts, side="right")

    def arrays(self, select: np.ndarray | None = None, narrow: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Ids and weights of the (selected) blocks, in order (see `blocks.encode_body`).
        `narrow`: weights in one byte each (uint8) when every block stores them as bytes or
        nibbles (or not at all: all 1.0), as the searcher's caches keep them, rather than
        widened to float64 and narrowed back; float64 otherwise.

        Each block stores its first and last ids and the gaps (less one) between the ids in
        between. The gaps of all blocks become one array of steps, zero at every block's first
        and last posting; its running sum, shifted per block so that the block starts at its
        first id, gives the ids, and each block's last id is set where it belongs. A short
        list, or a list of few blocks, is decoded block by block instead (`SHORT_LIST`, `FEW_BLOCKS`)."""
        if select is None:
            if self._total <= SHORT_LIST:
                return self._short_arrays(narrow)
            if len(self.heads) <= FEW_BLOCKS:
                return block_arrays(self.data, self.heads, narrow)
        flags, counts, firsts, lasts, starts = self.flags, self.counts, self.firsts, self.lasts, self.starts
        if select is not None:
            flags, counts, firsts, lasts, starts = (a[select] for a in (flags, counts, firsts, lasts, starts))
        if not len(counts):
            return _NO_INTS, np.zeros(0, np.uint8 if narrow else np.float64)
        buf = self.buf
        inner = np.maximum(counts - 2, 0)
        widths = _WIDTHS[flags & 3]
        gaps = self._gaps(buf, starts, inner, widths)
        ends = np.cumsum(counts) - 1
        begins = ends - counts + 1
        steps = np.ones(int(ends[-1]) + 1, dtype=np.int64)
        steps[begins] = 0
        steps[ends] = 0
        steps[steps.astype(bool)] += gaps
        ids = np.cumsum(steps)
        ids += np.repeat(firsts - ids[begins], counts)
        ids[ends] = lasts
        return ids, self._weights(buf, starts + inner * widths, counts, (flags >> 2) & 3, narrow)

    def _short_arrays(self, narrow: bool) -> tuple[np.ndarray, np.ndarray]:
        """`arrays()` of a list of few postings: each block by `blocks.decode_body`, which
        reads the same bytes with Python's arrays, and the whole as two numpy arrays."""
        data = self.data
        ids: list[int] = []
        weights: list[float] = []
        floats = False
        for flag, count, first, last, start, size in self.heads:
            block_ids, block_weights, _ = decode_body(flag, count, first, last, data[start : start + size], False)
            ids += block_ids
            weights += [1.0] * count if block_weights is None else block_weights
            floats = floats or flag & WEIGHT_MODE == WEIGHT_MODE
        return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.uint8 if narrow and not floats else np.float64)

    @staticmethod
    def _gaps(buf: np.ndarray, starts: np.ndarray, inner: np.ndarray, widths: np.ndarray) -> np.ndarray:
        """The inner gaps of every block, each block's in its own width (little-endian)."""
        width = int(widths[0])
        if (widths == width).all():
            raw = buf[_ranges(starts, inner * width)]
            return raw.view(f"<u{width}").astype(np.int64) if width > 1 else raw.astype(np.int64)
        each = np.repeat(widths, inner)
        at = np.repeat(starts, inner) + _local(inner) * each
        gaps = buf[at].astype(np.int64)
        for extra in (1, 2, 3):  # the higher bytes of the wider gaps
            wide = np.flatnonzero(each > extra)
            if not len(wide):
                break
            gaps[wide] |= buf[at[wide] + extra].astype(np.int64) << (8 * extra)
        return gaps

    @staticmethod
    def _weights(
        buf: np.ndarray, at: np.ndarray, counts: np.ndarray, modes: np.ndarray, narrow: bool = False
    ) -> np.ndarray:
        """Weights of blocks whose weights start at `at`: none stored (all 1.0), a byte each,
        two to a byte (weight - 1 in each 4 bits, an odd count ending in an unused half) or
        float32, each block in its own mode. `narrow`: as `arrays` gives them."""
        if not (modes == 3).any():
            out = _byte_weights(buf, at, counts, modes)
            return out if narrow else out.astype(np.float64)
        place = _local(counts)
        mode = np.repeat(modes, counts)
        start = np.repeat(at, counts)
        out = np.ones(len(place), dtype=np.float64)
        for kind in (1, 2, 3):
            mine = np.flatnonzero(mode == kind)
            if not len(mine):
                continue
            if kind == 3:
                at4 = (start[mine] + 4 * place[mine])[:, None] + np.arange(4)
                out[mine] = np.ascontiguousarray(buf[at4]).view("<f4").ravel()
                continue
            k = place[mine] >> (kind - 1)
            packed = buf[start[mine] + k].astype(np.float64)
            out[mine] = packed if kind == 1 else _nibble(packed, place[mine])
        return out

    def deltas(self, weights: np.ndarray, select: np.ndarray | None = None) -> np.ndarray:
        """The position deltas of the (selected) blocks, in posting order, given their weights
        (the frequencies: a posting has as many positions). Every posting's deltas have one
        width (1, 2 or 4 bytes, little-endian): a block whose deltas all fit a byte stores them
        as they are (`VALUES_PACKED`), others store each posting's width first
        (`VALUES_COUNTED`); compressed blocks, and blocks with a frequency over 255 (each
        value with its length) are read one by one in Python first: only the commonest words
        in the longest articles."""
        flags, counts, starts, sizes = self.flags, self.counts, self.starts, self.sizes
        firsts, lasts = self.firsts, self.lasts
        if select is not None:
            flags, counts, starts, sizes, firsts, lasts = (
                a[select] for a in (flags, counts, starts, sizes, firsts, lasts)
            )
        if not len(counts):
            return _NO_INTS
        freqs = weights.astype(np.int64)
        inner = np.maximum(counts - 2, 0)
        modes = (flags >> 2) & 3
        head = inner * _WIDTHS[flags & 3] + _weight_bytes(modes, counts)
        vmodes = flags & VALUE_MODE
        plain = ((vmodes == VALUES_PACKED) | (vmodes == VALUES_COUNTED)) & ~(flags & COMPRESSED).astype(bool)
        if freqs.any() and (vmodes == 0).any():
            block_freqs = np.add.reduceat(freqs, np.cumsum(counts) - counts)
            if (block_freqs[vmodes == 0] > 0).any():
                raise Unsupported("a posting list without positions")
        if plain.all():
            return _plain_deltas(self.buf, starts + head, counts, vmodes, freqs)
        # Some blocks are compressed or store each value with its length: their values are
        # brought to the plain layout (decompressed; widths first, then deltas) in a buffer
        # after the list's own bytes, where the plain blocks' values are read, and the whole is
        # then decoded at once. A compressed block's values are one zlib stream, inflated as raw
        # deflate without its two header bytes and its checksum: the block's own length frames
        # it, and checking the sum cost about a quarter of the inflating.
        data = self.data
        at = starts + head
        vmodes = vmodes.copy()
        pieces: list[bytes] = [data]
        size = len(data)
        for n in np.flatnonzero(~plain & (vmodes != 0)).tolist():
            start, skip, end, flag = int(starts[n]), int(head[n]), int(starts[n] + sizes[n]), int(flags[n])
            if flag & VALUE_MODE in (VALUES_PACKED, VALUES_COUNTED):  # compressed
                piece = zlib.decompress(data[start + skip + _ZLIB_HEADER : end - _ZLIB_CHECKSUM], -zlib.MAX_WBITS)
            else:
                values = decode_body(flag, int(counts[n]), int(firsts[n]), int(lasts[n]), data[start:end])[2] or []
                piece = bytes(v[0] for v in values) + b"".join([v[1:] for v in values])
                vmodes[n] = VALUES_COUNTED
            at[n] = size
            size += len(piece)
            pieces.append(piece)
        return _plain_deltas(np.frombuffer(b"".join(pieces), dtype=np.uint8), at, counts, vmodes, freqs)


def _nibble(packed: np.ndarray, place: np.ndarray) -> np.ndarray:
    """Weights stored two to a byte (weight - 1 in each 4 bits, the first in the high bits)."""
    return np.where(place & 1, packed % 16, packed // 16) + 1.0


def _byte_weights(buf: np.ndarray, at: np.ndarray, counts: np.ndarray, modes: np.ndarray) -> np.ndarray:
    """Weights (uint8) of blocks whose weights start at `at`, none stored (all 1), a byte each
    or two to a byte (weight - 1 in each 4 bits, the first in the high bits, an odd count
    ending in an unused half), each block in its own mode: every block's weight bytes read at
    once, each turned into its weights by `BYTE_WEIGHTS`, and the halves that hold none (a
    byte block's second, a nibble block's unused last) left out. A block without weights
    reads a byte a posting too, any byte: the table gives 1 for all."""
    if not modes.any():
        return np.ones(int(counts.sum()), dtype=np.uint8)
    halved = modes == 2
    nbytes = np.where(halved, (counts + 1) >> 1, counts)
    unweighted = modes == 0
    if unweighted.any():
        at = np.where(unweighted, 0, at)  # from the buffer's start: any bytes will do
        longest = int(counts[unweighted].max())
        if longest > len(buf):
            buf = np.concatenate((buf, np.zeros(longest, dtype=np.uint8)))
    kind = np.repeat(modes << 8, nbytes)
    kind |= buf[_ranges(at, nbytes)]
    pairs = BYTE_WEIGHTS.take(kind).view(np.uint8)
    if not halved.any():
        return pairs[::2].copy()
    keep = np.ones(len(pairs), dtype=bool)
    keep[1::2] = kind >= 0x200
    odd = halved & (counts & 1).astype(bool)
    if odd.any():
        keep[2 * np.cumsum(nbytes)[odd] - 1] = False
    return pairs[keep]


def _weight_bytes(modes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`blocks.weights_size` for arrays of modes and counts."""
    return np.select([modes == 1, modes == 2, modes == 3], [counts, (counts + 1) // 2, 4 * counts], 0)


def _plain_deltas(
    buf: np.ndarray, at: np.ndarray, counts: np.ndarray, vmodes: np.ndarray, freqs: np.ndarray
) -> np.ndarray:
    """Deltas of uncompressed `VALUES_PACKED` and `VALUES_COUNTED` blocks whose values start at
    `at` in `buf`."""
    counted = vmodes == VALUES_COUNTED
    if counted.all():
        width = buf[_ranges(at, counts)].astype(np.int64)
    else:
        width = np.ones(int(counts.sum()), dtype=np.int64)
        if counted.any():
            posting_block = np.repeat(np.arange(len(counts)), counts)
            mine = np.flatnonzero(counted[posting_block])
            width[mine] = buf[np.repeat(at, counts)[mine] + _local(counts)[mine]]
    # A counted block's deltas start after its postings' width bytes.
    data_at = at + np.where(counted, counts, 0)
    spans = width * freqs
    block_span = np.add.reduceat(spans, np.cumsum(counts) - counts) if len(spans) else spans
    within = np.cumsum(spans) - spans - np.repeat(np.cumsum(block_span) - block_span, counts)
    posting_start = np.repeat(data_at, counts) + within
    total = int(freqs.sum())
    if not total:
        return _NO_INTS
    # The k-th delta of a posting is at its start plus k times its width. With `first`, the
    # place of the posting's first delta among all deltas, that is the delta's place plus
    # `start - first` where the width is 1 (most postings), plus `k * (width - 1)` more for
    # the wider postings, whose deltas alone are visited again.
    first = np.cumsum(freqs) - freqs
    at_delta = np.arange(total, dtype=np.int64) + np.repeat(posting_start - first, freqs)
    wide = np.flatnonzero(width > 1)
    if len(wide):
        places = _ranges(first[wide], freqs[wide])
        at_delta[places] += _local(freqs[wide]) * np.repeat(width[wide] - 1, freqs[wide])
    deltas = buf[at_delta].astype(np.int64)
    for extra in (1, 2, 3):  # the higher bytes of wider deltas
        if extra > 1:
            wide = np.flatnonzero(width > extra)
            places = _ranges(first[wide], freqs[wide])
        if not len(wide):
            break
        deltas[places] |= buf[at_delta[places] + extra].astype(np.int64) << (8 * extra)
    return deltas


def value_deltas(values: list[bytes]) -> np.ndarray:
    """The position deltas of postings given one `CompactPositions` value each, in order."""
    out: list[int] = []
    for value in values:
        out.extend(CompactPositions.deltas(value))
    return np.asarray(out, dtype=np.int64)
