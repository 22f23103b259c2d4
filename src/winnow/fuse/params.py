"""Fusion parameters: what each method accepts, checked and converted from Python values or from
the strings of the pipeline grammar (``k=60``, ``weights=0.3/0.7``, ``norm=zscore``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from winnow.errors import WinnowError
from winnow.fuse.normalize import FIXED_FLOORS, KINDS, NORMS, RECIPROCAL


@dataclass(frozen=True)
class Terms:
    """What a fusion adds up: ``score(d) = sum_r weights[r] * term_r(d)``, times the number of
    runs that retrieved ``d`` when ``mnz``.

    Attributes:
        kind: ``term_r``: a normalised score (``minmax``, ``zscore``, ``tm2c2``, ``max``; a document the
            run did not retrieve gets the run's lower bound for the query) or ``reciprocal``,
            ``1 / (k + rank)`` (0 for a document the run did not retrieve); see
            :mod:`winnow.fuse.normalize`.
        weights: one per run (float64).
        mnz: whether the sum is multiplied by the number of runs that retrieved the document.
        k: the ``k`` of ``reciprocal``.
    """

    kind: str
    weights: np.ndarray
    mnz: bool = False
    k: float = 0.0

    def codes(self, floors: Sequence[float | None]) -> tuple[int, np.ndarray]:
        """The kind's code and, per run, its parameter for the kernels: ``k``, or the score floor
        for ``tm2c2`` (NaN: none) or the one floor of ``max``."""
        if self.kind == "reciprocal":
            return RECIPROCAL, np.full(len(floors), float(self.k))
        if self.kind in FIXED_FLOORS:
            return KINDS[self.kind], np.full(len(floors), FIXED_FLOORS[self.kind])
        return KINDS[self.kind], np.array([np.nan if f is None else f for f in floors], np.float64)


@dataclass(frozen=True)
class Method:
    """A fusion method: its terms and the parsers of its parameters.

    Attributes:
        terms: ``(n_runs, **params) -> Terms``.
        params: parameter name -> ``(value, n_runs) -> checked value``.
    """

    terms: Callable[..., Terms]
    params: Mapping[str, Callable[[object, int], object]]


def _number(value: object, what: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise WinnowError(f"{what} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise WinnowError(f"{what} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise WinnowError(f"{what} must be a finite number >= 0, got {value}")
    return value


def rrf_k(value: object, n_runs: int) -> int | float:
    """RRF's ``k``: a number >= 0 (an ``int`` when whole)."""
    k = _number(value, "RRF's k")
    return int(k) if k.is_integer() else k


def weights(value: object, n_runs: int) -> list[float]:
    """One weight >= 0 per run, not all 0: a sequence of numbers or a string ``"0.3/0.7"``."""
    if isinstance(value, str):
        value = [part for part in value.split("/")]
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise WinnowError(f"weights must be a list of numbers or a string like 0.3/0.7, got {value!r}")
    out = [_number(v, "a fusion weight") for v in value]
    if len(out) != n_runs:
        raise WinnowError(f"fusion of {n_runs} runs needs {n_runs} weights, got {len(out)}: {value!r}")
    if not any(out):
        raise WinnowError("fusion weights are all 0; give at least one a positive weight")
    return out


def norm(value: object, n_runs: int) -> str:
    """A normalisation name: ``minmax``, ``zscore``, ``tm2c2`` or ``max`` (``min-max``, ``z-score`` too)."""
    name = value.strip().lower().replace("-", "").replace("_", "") if isinstance(value, str) else value
    if name not in NORMS:
        raise WinnowError(f"unknown score normalisation {value!r}; choose one of {', '.join(NORMS)}")
    return name


def check(methods: Mapping[str, Method], method: str, params: Mapping, n_runs: int) -> dict:
    """The explicitly given ``params`` of ``method``, checked and converted."""
    if method not in methods:
        raise WinnowError(f"unknown fusion method {method!r}; choose one of {', '.join(methods)}")
    known = methods[method].params
    unknown = sorted(set(params) - set(known))
    if unknown:
        takes = ", ".join(known) or "no parameters"
        raise WinnowError(f"fusion method {method!r} takes {takes}; got {', '.join(map(repr, unknown))}")
    return {name: known[name](value, n_runs) for name, value in params.items()}

