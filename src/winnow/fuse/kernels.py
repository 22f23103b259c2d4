"""The compiled part of ranking fused scores."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def order_segments(keys: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions that sort ``keys`` ascending within each segment ``bounds[i]:bounds[i + 1]``,
    equal keys in their original order (a stable sort per query: ``n log n`` per query, not
    ``N log N`` over all queries as one ``lexsort`` would be), and for each sorted position
    whether the next one holds an equal key of the same segment."""
    order = np.empty(len(keys), np.int64)
    tied = np.zeros(max(len(keys) - 1, 0), np.bool_)
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        order[lo:hi] = lo + np.argsort(keys[lo:hi], kind="mergesort")
        for j in range(lo, hi - 1):
            tied[j] = keys[order[j]] == keys[order[j + 1]]
    return order, tied
