"""Fusion: several runs of the same queries combined into one ranking.

Methods (:data:`METHODS`), each in its own module:

- ``rrf``: reciprocal rank fusion, ``sum 1 / (k + rank)`` (Cormack et al. 2009); parameter ``k`` (60).
- ``convex``: ``sum w_r * phi_r`` of normalised scores (Bruch, Gai & Ingber, TOIS 2023);
  parameters ``weights`` (equal) and ``norm`` (``minmax``).
- ``combsum`` / ``combmnz``: the sum of normalised scores, times the number of runs that retrieved
  the document for CombMNZ (Fox & Shaw 1994); parameter ``norm`` (``minmax``).

Normalisations (:mod:`winnow.fuse.normalize`): ``minmax``, ``zscore``, ``tm2c2`` (theoretical
min-max: the retriever's lowest possible score as the lower end) and ``max`` (``s / max``). A
document one run did not retrieve scores that run's lower bound (0 after min-max, TM2C2 and max,
the lowest z-score after z-scoring; 0 in RRF).

Example::

    from winnow.fuse import fuse, tune

    hybrid = fuse([bm25_run, splade_run], "convex", weights=[0.3, 0.7], norm="tm2c2", floors=[0, 0])
    best = tune([bm25_train, splade_train], train_qrels, "convex")   # {"weights": [...], "norm": ...}
"""

from __future__ import annotations

import logging
from typing import Sequence

from winnow.errors import WinnowError
from winnow.fuse.numbered import fuse_numbered, numbered
from winnow.fuse.params import Method, check
from winnow.fuse.registry import METHODS
from winnow.fuse.tune import simplex, tune
from winnow.fuse.union import align, check_floors, rank
from winnow.types import Run, check_k

logger = logging.getLogger(__name__)

def check_params(method: str, params: dict, n_runs: int) -> dict:
    """Check ``method``'s parameters for a fusion of ``n_runs`` runs and convert them.

    Strings from the pipeline grammar are accepted (``{"k": "60"}``, ``{"weights": "0.3/0.7"}``).
    Only the given parameters are returned (defaults stay implicit).

    Raises:
        WinnowError: an unknown method or parameter, or a bad value (for example the wrong
            number of weights).
    """
    return check(METHODS, method, params, n_runs)


def fuse(runs: Sequence[Run], method: str = "rrf", *, floors: Sequence[float | None] | None = None,
         cutoff: int | None = None, shared_docnos: bool = False, **params) -> Run:
    """Fuse ``runs`` (at least two) into one run over the union of their queries and documents.

    Args:
        runs: the rankings to combine; a query missing from a run is an empty ranking there.
        method: ``rrf``, ``convex``, ``combsum`` or ``combmnz``.
        floors: per run, the lowest score its retriever can give (``Retriever.score_floor``);
            only ``tm2c2`` uses them, and a run without one (``None``) falls back to its
            per-query minimum, that is to min-max (logged).
        cutoff: keep only the best ``cutoff`` documents per query (all when ``None``); only
            those are ranked and their ids gathered.
        shared_docnos: the runs' ``docnos`` come from one document numbering (their retrievers
            share one :attr:`~winnow.retrieve.retriever.Retriever.id_space`): documents are then
            matched by number, several times faster, with the same result. Ignored when a hits
            lacks ``docnos``.
        **params: the method's parameters (see :func:`check_params`).

    Returns:
        A run named ``method(a + b)``: per query every document any run retrieved (at most
        ``cutoff``), best first (ties by lower id), float64 scores; with ``shared_docnos`` the
        hits keep the document numbers.
    """
    params = check_params(method, params, len(runs))
    runs = list(runs)
    if len(runs) < 2 or not all(isinstance(r, Run) for r in runs):
        raise WinnowError(f"fusion needs at least two Runs, got {[type(r).__name__ for r in runs]}")
    if cutoff is not None:
        cutoff = check_k(cutoff, "the fusion cutoff")
    floors = check_floors(floors, len(runs))
    if params.get("norm") == "tm2c2" and None in floors:
        missing = [run.name for run, floor in zip(runs, floors) if floor is None]
        logger.warning("tm2c2: no score floor for %s; using each query's lowest score (min-max) instead",
                       ", ".join(missing))
    name = f"{method}({' + '.join(run.name for run in runs)})"
    if shared_docnos and numbered(runs):
        return fuse_numbered(runs, method, params, floors, cutoff, name)
    union = align(runs, floors)
    return rank(union, union.total(METHODS[method].terms(len(runs), **params)), name, cutoff)


__all__ = ["METHODS", "Method", "check_params", "fuse", "simplex", "tune"]
