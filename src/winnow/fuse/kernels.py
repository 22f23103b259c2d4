"""The compiled part of ranking fused scores."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def order_segments(keys: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Positions that sort ``keys`` ascending within each segment ``bounds[i]:bounds[i + 1]``,
    equal keys in their original order (a stable sort per query: ``n log n`` per query, not
    ``N log N`` over all queries as one ``lexsort`` would be)."""
    order = np.empty(len(keys), np.int64)
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        order[lo:hi] = lo + np.argsort(keys[lo:hi], kind="mergesort")
    return order
