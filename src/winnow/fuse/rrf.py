"""Reciprocal rank fusion (Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms
Condorcet and individual Rank Learning Methods", SIGIR 2009)."""

from __future__ import annotations

import numpy as np

from winnow.fuse.params import Method, rrf_k
from winnow.fuse.union import Union


def combine(union: Union, *, k: float = 60) -> np.ndarray:
    """``score(d) = sum over runs r that retrieved d of 1 / (k + rank_r(d))``, ranks from 1.

    Scores are ignored, so no normalisation is needed; a run that did not retrieve ``d``
    contributes 0.
    """
    fused = np.zeros(union.n_slots)
    for r in range(union.n_runs):
        fused[union.slots[r]] += 1.0 / (k + union.ranks(r))
    return fused


METHOD = Method(combine, {"k": rrf_k})
