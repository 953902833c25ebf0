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
    if isinstance(weights, np.ndarray):
        if store.typecode == "f":
            narrow = weights.astype(np.float32)
            if (narrow == weights).all():
                store.frombytes(narrow.tobytes())
                return store
            store = array("d", store)
        store.frombytes(weights.astype(np.float64).tobytes())
        return store
    if store.typecode == "f":
        packed = array("f", weights)
        if packed.tolist() == list(weights):
            store.extend(packed)
            return store
        store = array("d", store)
    store.extend(weights)
    return store


def joined(store: Weights, other: Weights) -> Weights:
    """`extended` by another pool array of weights."""
    return extended(store, as_numpy(other))


def as_numpy(store: Weights) -> np.ndarray:
    """The weights as a numpy view of the array (float32 or float64)."""
    return np.frombuffer(store, dtype=np.float32 if store.typecode == "f" else np.float64)
