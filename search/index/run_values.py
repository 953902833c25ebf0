"""The value bytes (positions) of a run of postings handed to the field writer, in one buffer.

The flush used to cut a bytes object per posting out of the pool's value buffer, most of them
for terms whose blocks the field writer then joined back together. A run's values are copied
out in the run's order with numpy instead (`RunValues.gathered`), and a posting's bytes are cut
only where the writer asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np


class RunValues(Sequence[bytes]):
    """The value bytes of a run's postings, one after another in the run's order: posting i's
    are `data[offsets[i]:offsets[i + 1]]`. Indexed like a list of them (a slice gives a list),
    without a bytes object per posting until one is asked for; the field writer encodes most
    terms' values from `data` and `offsets` with numpy."""

    __slots__ = ("data", "offsets", "_bounds")

    def __init__(self, data: bytes, offsets: np.ndarray) -> None:
        self.data = data
        self.offsets = offsets
        self._bounds: list[int] = offsets.tolist()

    @classmethod
    def gathered(cls, buffer: np.ndarray, begins: np.ndarray, ends: np.ndarray) -> RunValues:
        """The values `buffer[begins[i]:ends[i]]` (a uint8 array), copied in that order."""
        sizes = ends - begins
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        where = np.repeat(begins - offsets[:-1], sizes) + np.arange(offsets[-1])
        return cls(buffer[where].tobytes(), offsets)

    @classmethod
    def of(cls, values: list[bytes]) -> RunValues:
        offsets = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)), out=offsets[1:])
        return cls(b"".join(values), offsets)

    def __len__(self) -> int:
        return len(self._bounds) - 1

    @overload
    def __getitem__(self, i: int) -> bytes: ...
    @overload
    def __getitem__(self, i: slice) -> list[bytes]: ...
    def __getitem__(self, i: int | slice) -> bytes | list[bytes]:
        bounds, data = self._bounds, self.data
        if isinstance(i, slice):
            lo, hi, _ = i.indices(len(bounds) - 1)
            return list(map(data.__getitem__, map(slice, bounds[lo:hi], bounds[lo + 1 : hi + 1])))
        return data[bounds[i] : bounds[i + 1]]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self[:])
