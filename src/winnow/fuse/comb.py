"""CombSUM and CombMNZ (Fox & Shaw, "Combination of Multiple Searches", TREC-2, 1994) over
normalised scores."""

from __future__ import annotations

import numpy as np

from winnow.fuse.params import Method, Terms, norm as norm_param


def combsum(n_runs: int, *, norm: str = "minmax") -> Terms:
    """``score(d) = sum_r phi_r(d)``: the normalised scores (``norm``) summed; a run that did not
    retrieve ``d`` contributes its lower bound for that query."""
    return Terms(norm, np.ones(n_runs))


def combmnz(n_runs: int, *, norm: str = "minmax") -> Terms:
    """``score(d) = |{r : r retrieved d}| * sum_r phi_r(d)``: CombSUM times the number of runs
    that retrieved ``d``."""
    return Terms(norm, np.ones(n_runs), mnz=True)


COMBSUM = Method(combsum, {"norm": norm_param})
COMBMNZ = Method(combmnz, {"norm": norm_param})
