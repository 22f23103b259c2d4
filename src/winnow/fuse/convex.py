"""Convex combination of normalised scores (Bruch, Gai & Ingber, "An Analysis of Fusion Functions
for Hybrid Retrieval", ACM TOIS 2023)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from winnow.fuse.params import Method, norm as norm_param, weights as weights_param
from winnow.fuse.union import Union


def combine(union: Union, *, weights: Sequence[float] | None = None, norm: str = "minmax") -> np.ndarray:
    """``score(d) = sum_r w_r * phi_r(d)`` with ``w`` the weights divided by their sum (equal by
    default) and ``phi_r`` run ``r``'s normalised score (``norm``: ``minmax``, ``zscore``,
    ``tm2c2``); a document ``r`` did not retrieve gets ``r``'s lower bound for that query.
    """
    w = np.full(union.n_runs, 1.0) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    fused = np.zeros(union.n_slots)
    for r in range(union.n_runs):
        fused += w[r] * union.contribution(r, norm)
    return fused


METHOD = Method(combine, {"weights": weights_param, "norm": norm_param})
