"""Ids and weights of a posting list of few blocks, decoded one block at a time with numpy.

Most lists a query reads span one block per segment once blocks are large: a block's gaps
and weights are then one contiguous run of bytes each, viewed in place by `np.frombuffer` and
summed, a handful of numpy calls a block. The general decoding of
`search.index.engine.codec.arrays` gathers the bodies of any number of blocks, of any mix of
widths and weight modes, at once; it costs a few dozen numpy calls whatever the list's size,
which is most of the time of a list of one or two blocks.
"""

from __future__ import annotations

import numpy as np

from search.index.engine.codec.blocks import WEIGHT_MODE, WIDTHS

#: What a weight byte holds in each mode (none stored, a byte, two nibbles), as two bytes:
#: the first weight in the low byte, the second (a nibble block's) in the high one. One gather
#: from this flat table gives every byte's weights side by side.
_BYTES = np.arange(256, dtype=np.uint16)
BYTE_WEIGHTS = np.concatenate((np.ones(256), _BYTES, (_BYTES >> 4) + 1 | ((_BYTES & 0x0F) + 1) << 8)).astype("<u2")
#: The nibble mode's part of that table: a block's weight bytes index it directly.
_NIBBLE_PAIRS = BYTE_WEIGHTS[2 * 256 :]
_DTYPES = tuple(np.dtype(f"<u{width}") for width in WIDTHS)


def block_arrays(
    data: bytes, heads: list[tuple[int, int, int, int, int, int]], narrow: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Ids and weights of the blocks of `heads` (flags, count, first and last id, body's start
    in `data`, body's size), as `PostingList.arrays` gives them."""
    ids_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    floats = False
    for flag, count, first, last, start, _ in heads:
        ids = np.empty(count, dtype=np.int64)
        ids[0] = first
        at = start
        if count > 2:
            inner = count - 2
            dtype = _DTYPES[flag & 3]
            steps = ids[1:-1]
            np.cumsum(np.frombuffer(data, dtype, inner, at), dtype=np.int64, out=steps)
            steps += np.arange(first + 1, first + 1 + inner)
            at += inner * dtype.itemsize
        if count > 1:
            ids[-1] = last
        ids_parts.append(ids)
        mode = (flag & WEIGHT_MODE) >> 2
        if mode == 0:
            weight_parts.append(np.ones(count, dtype=np.uint8))
        elif mode == 1:
            weight_parts.append(np.frombuffer(data, np.uint8, count, at))
        elif mode == 2:
            packed = np.frombuffer(data, np.uint8, (count + 1) >> 1, at)
            weight_parts.append(_NIBBLE_PAIRS.take(packed).view(np.uint8)[:count])
        else:
            floats = True
            weight_parts.append(np.frombuffer(data, "<f4", count, at).astype(np.float64))
    ids = ids_parts[0] if len(ids_parts) == 1 else np.concatenate(ids_parts)
    if floats or not narrow:
        weights = np.concatenate([w.astype(np.float64, copy=False) for w in weight_parts])
    else:
        weights = weight_parts[0].copy() if len(weight_parts) == 1 else np.concatenate(weight_parts)
    return ids, weights
