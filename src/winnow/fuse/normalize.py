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

MINMAX, ZSCORE, TM2C2, RECIPROCAL = 0, 1, 2, 3  # the kernels' codes of what a run contributes
KINDS = {"minmax": MINMAX, "zscore": ZSCORE, "tm2c2": TM2C2, "max": TM2C2, "reciprocal": RECIPROCAL}
FIXED_FLOORS = {"max": 0.0}  # normalisations that put the same floor under every run


def _apply(kind: int, values: np.ndarray, offsets: np.ndarray, floor: float | None) -> tuple[np.ndarray, np.ndarray]:
    from winnow.fuse.kernels import run_terms

    return run_terms(kind, np.nan if floor is None else float(floor), np.asarray(values, np.float64),
                     np.asarray(offsets, np.int64))


def min_max(values: np.ndarray, offsets: np.ndarray, floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(s - min) / (max - min)`` over each query's scores; missing documents score 0.

    A query whose scores are all equal maps them to 1 (each is the run's best for that query).
    ``floor`` is ignored.
    """
    return _apply(MINMAX, values, offsets, None)


def z_score(values: np.ndarray, offsets: np.ndarray, floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(s - mean) / std`` over each query's scores (population standard deviation); missing
    documents score the run's lowest z-score for that query, ``(min - mean) / std``.

    A query whose scores are all equal maps them (and its lower bound) to 0. ``floor`` is ignored.
    """
    return _apply(ZSCORE, values, offsets, None)


def tm2c2(values: np.ndarray, offsets: np.ndarray, floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Theoretical min-max: ``(s - floor) / (max - floor)`` with ``floor`` the lowest score the
    retriever can give (0 for BM25 and learned sparse, -1 for cosine similarity) and ``max`` the
    query's best score; missing documents score 0, the floor's image.

    Without a floor (``None``) the query's observed minimum stands in, which is :func:`min_max`.
    A query whose best score is the floor maps its scores to 0.
    """
    return _apply(TM2C2, values, offsets, floor)


def max_norm(values: np.ndarray, offsets: np.ndarray, floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``s / max`` over each query's scores (ranx's ``max``): :func:`tm2c2` with the floor 0 for
    every run, whatever its retriever; missing documents score 0. A query whose best score is not
    above 0 maps its scores to 0. ``floor`` is ignored.
    """
    return _apply(TM2C2, values, offsets, FIXED_FLOORS["max"])


NORMS = {"minmax": min_max, "zscore": z_score, "tm2c2": tm2c2, "max": max_norm}
