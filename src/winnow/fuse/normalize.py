"""Score normalisations applied per query before scores from different retrievers are combined.

Each takes one run's scores for all queries, concatenated (``values``, float64) with the start of
each query's scores in ``offsets`` (``n_queries + 1`` entries), and returns the normalised values
and, per query, the run's lower bound: the score a document the run did not retrieve gets, as
Bruch, Gai & Ingber prescribe ("An Analysis of Fusion Functions for Hybrid Retrieval", ACM TOIS
2023). A query the run has no hits for gets the lower bound 0: every document of that query
then receives the same constant from this run, so the run cannot change the ranking there.
"""

from __future__ import annotations

import numpy as np


def _per_query(ufunc: np.ufunc, values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``ufunc`` reduced over each query's values (0 for a query without values)."""
    lengths = np.diff(offsets)
    out = np.zeros(len(lengths))
    filled = lengths > 0
    if filled.any():
        out[filled] = ufunc.reduceat(values, offsets[:-1][filled])
    return out


def _spread(per_query: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """A per-query value repeated for each of the query's values."""
    return np.repeat(per_query, np.diff(offsets))


def min_max(values: np.ndarray, offsets: np.ndarray, floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(s - min) / (max - min)`` over each query's scores; missing documents score 0.

    A query whose scores are all equal maps them to 1 (each is the run's best for that query).
    ``floor`` is ignored.
    """
    low, high = _per_query(np.minimum, values, offsets), _per_query(np.maximum, values, offsets)
    span = _spread(high - low, offsets)
    out = np.ones(len(values))
    np.divide(values - _spread(low, offsets), span, out=out, where=span > 0)
    return out, np.zeros(len(offsets) - 1)


def z_score(values: np.ndarray, offsets: np.ndarray, floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(s - mean) / std`` over each query's scores (population standard deviation); missing
    documents score the run's lowest z-score for that query, ``(min - mean) / std``.

    A query whose scores are all equal maps them (and its lower bound) to 0. ``floor`` is ignored.
    """
    lengths = np.diff(offsets)
    mean = _per_query(np.add, values, offsets) / np.maximum(lengths, 1)
    centred = values - _spread(mean, offsets)
    std = np.sqrt(_per_query(np.add, centred * centred, offsets) / np.maximum(lengths, 1))
    z = np.zeros(len(values))
    np.divide(centred, _spread(std, offsets), out=z, where=_spread(std, offsets) > 0)
    lowest = np.zeros(len(lengths))
    np.divide(_per_query(np.minimum, values, offsets) - mean, std, out=lowest, where=std > 0)
    return z, lowest


def tm2c2(values: np.ndarray, offsets: np.ndarray, floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Theoretical min-max: ``(s - floor) / (max - floor)`` with ``floor`` the lowest score the
    retriever can give (0 for BM25 and learned sparse, -1 for cosine similarity) and ``max`` the
    query's best score; missing documents score 0, the floor's image.

    Without a floor (``None``) the query's observed minimum stands in, which is :func:`min_max`.
    A query whose best score is the floor maps its scores to 0.
    """
    if floor is None:
        return min_max(values, offsets)
    span = _spread(_per_query(np.maximum, values, offsets) - floor, offsets)
    out = np.zeros(len(values))
    np.divide(values - floor, span, out=out, where=span > 0)
    return out, np.zeros(len(offsets) - 1)


NORMS = {"minmax": min_max, "zscore": z_score, "tm2c2": tm2c2}


def normalised(scores, offsets, floors, norm: str) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Every run's scores normalised with ``norm``: per run, the normalised values and the lower
    bound of each query."""
    parts = [NORMS[norm](s, o, f) for s, o, f in zip(scores, offsets, floors)]
    return tuple(v for v, _ in parts), tuple(low for _, low in parts)
