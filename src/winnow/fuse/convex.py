"""Convex combination of normalised scores (Bruch, Gai & Ingber, "An Analysis of Fusion Functions
for Hybrid Retrieval", ACM TOIS 2023)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from winnow.fuse.params import Method, Terms, norm as norm_param, weights as weights_param


def terms(n_runs: int, *, weights: Sequence[float] | None = None, norm: str = "minmax") -> Terms:
    """``score(d) = sum_r w_r * phi_r(d)`` with ``w`` the weights divided by their sum (equal by
    default) and ``phi_r`` run ``r``'s normalised score (``norm``: ``minmax``, ``zscore``,
    ``tm2c2``, ``max``); a document ``r`` did not retrieve gets ``r``'s lower bound for that query.
    """
    w = np.full(n_runs, 1.0) if weights is None else np.asarray(weights, dtype=np.float64)
    return Terms(norm, w / w.sum())


METHOD = Method(terms, {"weights": weights_param, "norm": norm_param})
