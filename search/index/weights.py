"""Posting weights in the writers' pool: four bytes each while every one of them is exactly a
float32, eight once one is not.

Our fields' weights are term frequencies times boosts of 1, small whole numbers that a float32
holds exactly; in eight bytes they were a fifth of the pool's memory per posting. A weight that
would be rounded (a fractional boost of another schema) turns the field's weights into float64
from then on, converting those kept so far, so that no weight is ever changed.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np

#: The pool's weights of one field: typecode "f" (float32) or "d" (float64).
Weights = array


def new_weights() -> Weights:
    return array("f")


def extended(store: Weights, weights: np.ndarray | Sequence[float]) -> Weights:
    """`store` with `weights` added after its own: the same array, or a float64 copy when one
    of them is not exactly a float32 (keep the returned one)."""
    if store.typecode == "f":
        exact = _as_float32(weights)
        if exact is not None:
            store.frombytes(exact)
            return store
        store = array("d", store)
    store.frombytes(np.asarray(weights, dtype=np.float64).tobytes())
    return store


def appended(store: Weights, weight: float) -> Weights:
    """`extended` by one weight, without building an array for it: a merge adds its postings
    one at a time."""
    store.append(weight)
    if store[-1] != weight:  # rounded by a float32
        store.pop()
        store = array("d", store)
        store.append(weight)
    return store


def _as_float32(weights: np.ndarray | Sequence[float]) -> bytes | None:
    """The weights' float32 bytes, or None when one of them is not exactly a float32. A short
    list of floats is checked by an `array`, cheaper than numpy's per-call cost."""
    if isinstance(weights, np.ndarray):
        narrow = weights.astype(np.float32)
        return narrow.tobytes() if (narrow == weights).all() else None
    packed = array("f", weights)
    return packed.tobytes() if packed.tolist() == list(weights) else None


def joined(store: Weights, other: Weights) -> Weights:
    """`extended` by another pool array of weights."""
    return extended(store, as_numpy(other))


def as_numpy(store: Weights) -> np.ndarray:
    """The weights as a numpy view of the array (float32 or float64)."""
    return np.frombuffer(store, dtype=np.float32 if store.typecode == "f" else np.float64)
