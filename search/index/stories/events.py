"""The same-event pairs of a whole set of articles at once, as sparse matrices: the pairs
`pool.event_edge` passes, found without a Python step per candidate pair.

An archive whose articles all have dates has hundreds of articles a day, so each article meets
thousands within the window and tens of thousands of pairs share a top term: testing them one
by one costs more than everything else grouping does. Here the top terms meet as a product of
two sparse indicator matrices (one day's articles against the window before it), and the
candidates' cosines are the row sums of the element-wise products of their rows, in chunks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from search.index.stories.text import StoryParams, Vector

#: Candidate pairs whose cosines are worked out together: their rows' copies stay a few tens of MB.
_CHUNK = 4096
#: Far above how much two orders of summing a cosine's products can differ.
_SLACK = 1e-9


def event_pairs(
    days: Sequence[int], vectors: Sequence[Vector], params: StoryParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first, second, cosine) of every pair of the dated articles given, first < second by
    position, within the window, whose top terms meet and whose cosine passes the same-event
    threshold."""
    m = len(vectors)
    empty = np.zeros(0, dtype=np.int64)
    if m < 2:
        return empty, empty, np.zeros(0)
    width = 1 + max((int(v.terms.max()) for v in vectors if len(v.terms)), default=0)
    width = max(width, 1 + max((max(v.top) for v in vectors if v.top), default=0))
    weights = _rows(m, width, [v.terms for v in vectors], [v.weights for v in vectors])
    tops = [np.fromiter(v.top, dtype=np.int64, count=len(v.top)) for v in vectors]
    top = _rows(m, width, tops, [np.ones(len(t)) for t in tops])
    first, second = _candidates(np.asarray(days, dtype=np.int64), top.tocsr(), params.window_days)
    scores = np.zeros(len(first))
    for start in range(0, len(first), _CHUNK):
        a, b = first[start : start + _CHUNK], second[start : start + _CHUNK]
        scores[start : start + _CHUNK] = np.asarray(weights[a].multiply(weights[b]).sum(axis=1)).ravel()
    # The sums above run in another order than `Vector.cosine`, so a pair near the threshold
    # is scored again as `pool.event_edge` scores it: an edge and its weight must not depend on
    # whether a whole build or one article at a time found it.
    near = scores >= params.same_event - _SLACK
    first, second = first[near], second[near]
    exact = np.fromiter(
        (vectors[a].cosine(vectors[b]) for a, b in zip(first.tolist(), second.tolist())),
        dtype=np.float64,
        count=len(first),
    )
    kept = exact >= params.same_event
    return first[kept], second[kept], exact[kept]


def _rows(m: int, width: int, columns: Sequence[np.ndarray], values: Sequence[np.ndarray]) -> sparse.csr_matrix:
    lengths = np.fromiter((len(c) for c in columns), dtype=np.int64, count=m)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate(columns) if m else np.zeros(0, dtype=np.int64)
    data = np.concatenate(values) if m else np.zeros(0)
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(m, width))
    matrix.sort_indices()
    return matrix


def _candidates(days: np.ndarray, top: sparse.csr_matrix, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (first < second) within `window` days that share a top term: each day's articles
    against themselves and the days before it within the window, so each pair is met once."""
    order = np.argsort(days, kind="stable")
    ordered = days[order]
    distinct, starts = np.unique(ordered, return_index=True)
    found_first: list[np.ndarray] = []
    found_second: list[np.ndarray] = []
    for day, start in zip(distinct.tolist(), starts.tolist()):
        end = int(np.searchsorted(ordered, day, side="right"))
        low = int(np.searchsorted(ordered, day - window, side="left"))
        today, window_rows = order[start:end], order[low:end]
        met = (top[today] @ top[window_rows].T).tocoo()
        a, b = today[met.row], window_rows[met.col]
        # A pair of the same day is met both ways; one with an earlier day once.
        keep = (days[b] < day) | (a < b)
        a, b = a[keep], b[keep]
        found_first.append(np.minimum(a, b))
        found_second.append(np.maximum(a, b))
    if not found_first:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    first, second = np.concatenate(found_first), np.concatenate(found_second)
    order = np.lexsort((second, first))
    return first[order].astype(np.int64), second[order].astype(np.int64)
