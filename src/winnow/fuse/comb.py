"""CombSUM and CombMNZ (Fox & Shaw, "Combination of Multiple Searches", TREC-2, 1994) over
normalised scores."""

from __future__ import annotations

import numpy as np

from winnow.fuse.params import Method, norm as norm_param
from winnow.fuse.union import Union


def combsum(union: Union, *, norm: str = "minmax") -> np.ndarray:
    """``score(d) = sum_r phi_r(d)``: the normalised scores (``norm``) summed; a run that did not
    retrieve ``d`` contributes its lower bound for that query."""
    fused = np.zeros(union.n_slots)
    for r in range(union.n_runs):
        fused += union.contribution(r, norm)
    return fused


def combmnz(union: Union, *, norm: str = "minmax") -> np.ndarray:
    """``score(d) = |{r : r retrieved d}| * sum_r phi_r(d)``: CombSUM times the number of runs
    that retrieved ``d``."""
    return combsum(union, norm=norm) * union.retrieved()


COMBSUM = Method(combsum, {"norm": norm_param})
COMBMNZ = Method(combmnz, {"norm": norm_param})
