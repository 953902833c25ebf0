"""The pool's weights: four bytes while that loses nothing, eight as soon as it would."""

from __future__ import annotations

import numpy as np

from search.index.weights import appended, as_numpy, extended, joined, new_weights


def test_whole_weights_stay_in_four_bytes():
    store = extended(new_weights(), np.array([1.0, 2.0, 37.0]))
    store = extended(store, [4.0, 255.0])
    assert store.typecode == "f" and store.itemsize == 4
    assert as_numpy(store).tolist() == [1.0, 2.0, 37.0, 4.0, 255.0]


def test_a_weight_a_float32_would_round_widens_them_all_unchanged():
    store = extended(new_weights(), np.array([3.0, 0.5]))
    widened = extended(store, np.array([0.1, 7.0]))
    assert widened.typecode == "d"
    assert as_numpy(widened).tolist() == [3.0, 0.5, 0.1, 7.0]
    assert extended(extended(new_weights(), [2.0]), [1 / 3]).tolist() == [2.0, 1 / 3]


def test_a_widened_array_takes_narrow_ones_and_the_reverse():
    assert joined(extended(new_weights(), [0.1]), extended(new_weights(), [1.0, 2.0])).tolist() == [0.1, 1.0, 2.0]
    assert joined(extended(new_weights(), [5.0]), extended(new_weights(), [0.1])).tolist() == [5.0, 0.1]
    both_whole = joined(extended(new_weights(), [5.0]), extended(new_weights(), [1.0]))
    assert both_whole.typecode == "f" and both_whole.tolist() == [5.0, 1.0]


def test_one_weight_at_a_time_widens_the_same_way():
    store = appended(appended(new_weights(), 2.0), 3.0)
    assert store.typecode == "f"
    store = appended(store, 0.1)
    assert store.typecode == "d" and store.tolist() == [2.0, 3.0, 0.1]
    assert appended(store, 4.0).tolist() == [2.0, 3.0, 0.1, 4.0]
