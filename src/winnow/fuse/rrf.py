"""Reciprocal rank fusion (Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms
Condorcet and individual Rank Learning Methods", SIGIR 2009)."""

from __future__ import annotations

import numpy as np

from winnow.fuse.params import Method, Terms, rrf_k


def terms(scores, offsets, floors, *, k: float = 60) -> Terms:
    """``score(d) = sum over runs r that retrieved d of 1 / (k + rank_r(d))``, ranks from 1.

    Scores are ignored, so no normalisation is needed; a run that did not retrieve ``d``
    contributes 0.
    """
    values = []
    for offset in offsets:
        starts = np.repeat(offset[:-1], np.diff(offset))
        values.append(1.0 / (k + (np.arange(1, int(offset[-1]) + 1) - starts)))
    return Terms(tuple(values), tuple(np.zeros(len(o) - 1) for o in offsets), np.ones(len(offsets)))


METHOD = Method(terms, {"k": rrf_k})
