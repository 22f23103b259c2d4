"""Fusion parameters tuned on judged queries by grid search."""

from __future__ import annotations

import itertools
from typing import Mapping, Sequence

from winnow.errors import WinnowError
from winnow.fuse.normalize import NORMS
from winnow.fuse.params import check
from winnow.fuse.registry import METHODS
from winnow.fuse.union import align, rank
from winnow.types import Qrels, Run

RRF_KS = (10, 20, 40, 60, 80, 100)


def simplex(n: int, step: float = 0.1) -> list[list[float]]:
    """Every weight vector of ``n`` non-negative multiples of ``step`` summing to 1, in
    lexicographic order (``simplex(2)`` is ``[[0, 1], [0.1, 0.9], ..., [1, 0]]``)."""
    units = round(1 / step)
    if units < 1 or abs(units * step - 1) > 1e-9:
        raise WinnowError(f"the weight step must divide 1 (0.1, 0.05, 0.25, ...), got {step}")
    return [[round(c / units, 10) for c in combo]
            for combo in itertools.product(range(units + 1), repeat=n) if sum(combo) == units]


def default_grid(method: str, n_runs: int, floors: Sequence[float | None] | None = None,
                 given: Sequence[str] = ()) -> dict[str, list]:
    """The grid :func:`tune` searches for the parameters not ``given``: RRF's ``k`` in
    :data:`RRF_KS`; weights on the simplex in steps of 0.1 (2 to 4 runs); every normalisation
    (``tm2c2`` only when a run has a floor, as it is min-max otherwise)."""
    norms = [n for n in NORMS if n != "tm2c2" or any(f is not None for f in floors or ())]
    params = [name for name in METHODS[method].params if name not in given]
    grid: dict[str, list] = {}
    if "k" in params:
        grid["k"] = list(RRF_KS)
    if "weights" in params:
        if not 2 <= n_runs <= 4:
            raise WinnowError(f"the default weight grid covers 2 to 4 runs, got {n_runs}; "
                              f"pass grid={{'weights': [...]}}")
        grid["weights"] = simplex(n_runs)
    if "norm" in params:
        grid["norm"] = norms
    return grid


def tune(runs: Sequence[Run], qrels: Qrels, method: str, metric: str = "ndcg@10",
         floors: Sequence[float | None] | None = None, grid: Mapping[str, Sequence] | None = None) -> dict:
    """The parameters of ``method`` that maximise the mean ``metric`` of the fused runs on ``qrels``.

    Only the judged queries are fused. Candidates are tried in grid order (``norm``, then
    ``weights`` or ``k``, each in the order listed) and the first of the best wins, so the result
    is deterministic.

    Args:
        runs: the runs to fuse (deep enough for the method: fusion sees only what they hold).
        qrels: the judgements to tune on (a train or dev split, not the test queries).
        method: a name in :data:`winnow.fuse.METHODS`.
        metric: what to maximise, e.g. ``ndcg@10``.
        floors: per run, the retriever's lowest score (for ``tm2c2``).
        grid: parameter name -> values to try, replacing that parameter's default values (see
            :func:`default_grid`); ``{"norm": ["zscore"]}`` fixes the normalisation.

    Returns:
        Every tuned parameter, e.g. ``{"norm": "zscore", "weights": [0.3, 0.7]}``, ready for
        ``Fusion(..., params=...)`` or :func:`winnow.fuse.fuse`.
    """
    from winnow.evaluate.metrics import evaluate, to_measure

    if method not in METHODS:
        raise WinnowError(f"unknown fusion method {method!r}; choose one of {', '.join(METHODS)}")
    space = default_grid(method, len(runs), floors, given=list(grid or ()))
    space.update({name: list(values) for name, values in (grid or {}).items()})
    names = sorted(space, key=lambda n: n != "norm")  # normalisation outermost
    if any(not space[n] for n in names):
        raise WinnowError(f"the tuning grid has no values for {[n for n in names if not space[n]]}")
    judged = [Run({q: h for q, h in run.items() if q in qrels}, run.name) for run in runs]
    union = align(judged, floors)
    cutoff = getattr(to_measure(metric), "params", {}).get("cutoff")
    best, best_value = None, float("-inf")
    for values in itertools.product(*(space[n] for n in names)):
        params = check(METHODS, method, dict(zip(names, values)), len(runs))
        fused = rank(union, union.total(METHODS[method].terms(len(runs), **params)),
                     method, cutoff)
        value = evaluate(fused.cut(cutoff) if cutoff else fused, qrels, [metric])[metric]
        if value > best_value:
            best, best_value = params, value
    return best
