"""Reciprocal rank fusion (Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms
Condorcet and individual Rank Learning Methods", SIGIR 2009)."""

from __future__ import annotations

import numpy as np

from winnow.fuse.params import Method, Terms, rrf_k


def terms(n_runs: int, *, k: float = 60) -> Terms:
    """``score(d) = sum over runs r that retrieved d of 1 / (k + rank_r(d))``, ranks from 1.

    Scores are ignored, so no normalisation is needed; a run that did not retrieve ``d``
    contributes 0.
    """
    return Terms("reciprocal", np.ones(n_runs), k=k)


METHOD = Method(terms, {"k": rrf_k})
