"""Paired significance tests of systems against a baseline, corrected for multiple comparisons.

Each system is compared with the baseline on the same queries by a two-sided paired t-test on
the per-query values of a metric; the p-values of one metric's comparisons (every system
against the baseline) are then adjusted with Holm's step-down procedure (Holm, "A Simple
Sequentially Rejective Multiple Test Procedure", Scandinavian Journal of Statistics 1979), which
controls the family-wise error rate like Bonferroni and rejects at least as often.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from winnow.errors import WinnowError


@dataclass(frozen=True)
class PairedTest:
    """One system against the baseline on one metric.

    Attributes:
        metric: the metric's name as requested.
        system, baseline: the two systems' names.
        mean, baseline_mean: their mean values over the same queries.
        statistic: the paired t statistic of ``system - baseline``.
        p_value: the two-sided p-value before correction.
        p_adjusted: the Holm-adjusted p-value.
        significant: ``p_adjusted < alpha``.
    """

    metric: str
    system: str
    baseline: str
    mean: float
    baseline_mean: float
    statistic: float
    p_value: float
    p_adjusted: float
    significant: bool

    @property
    def better(self) -> bool:
        """Whether the system's mean is above the baseline's."""
        return self.mean > self.baseline_mean

    def to_dict(self) -> dict:
        return asdict(self)


def paired_t_test(values: Sequence[float], baseline: Sequence[float]) -> tuple[float, float]:
    """Two-sided paired t-test of ``values`` against ``baseline`` (``scipy.stats.ttest_rel``):
    ``t = mean(d) / (sd(d) / sqrt(n))`` with ``d`` the per-query differences and ``sd`` the
    sample standard deviation, ``n - 1`` degrees of freedom.

    Returns:
        ``(t, p)``; ``(0.0, 1.0)`` when the differences are all zero or there are fewer than two
        queries (no evidence of a difference), ``(+-inf, 0.0)`` when they are all the same
        non-zero value (the limit scipy also reports).
    """
    from scipy.stats import ttest_rel

    a, b = np.asarray(values, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise WinnowError(f"a paired test needs two equally long lists of per-query values, "
                          f"got {a.shape} and {b.shape}")
    diff = a - b
    if len(a) < 2 or not np.any(diff):
        return 0.0, 1.0
    if np.all(diff == diff[0]):
        return math.copysign(math.inf, float(diff[0])), 0.0
    result = ttest_rel(a, b)
    return float(result.statistic), float(result.pvalue)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values, in the order given.

    With ``p_(1) <= ... <= p_(m)`` sorted, ``adjusted p_(i) = max over j <= i of
    min(1, (m - j + 1) * p_(j))``; rejecting where the adjusted value is below ``alpha`` is
    Holm's step-down test at level ``alpha``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    m = len(p)
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled) if m else scaled
    return adjusted


def paired_tests(values: Mapping[str, Mapping[str, np.ndarray]], metrics: Sequence[str], baseline: str,
                 alpha: float = 0.05) -> list[PairedTest]:
    """Every system against ``baseline`` on every metric, Holm-corrected per metric.

    Args:
        values: system name -> metric -> per-query values, the same queries in the same order
            for every system.
        metrics: the metrics to test.
        baseline: the name of the system the others are compared with.
        alpha: the family-wise significance level of each metric's comparisons.

    Returns:
        One test per (metric, system other than the baseline), metric by metric.
    """
    if not 0 < alpha < 1:
        raise WinnowError(f"alpha must be between 0 and 1, got {alpha}")
    if baseline not in values:
        raise WinnowError(f"baseline {baseline!r} is not among the systems {list(values)}")
    others = [name for name in values if name != baseline]
    tests: list[PairedTest] = []
    for metric in metrics:
        base = values[baseline][metric]
        raw = [paired_t_test(values[name][metric], base) for name in others]
        adjusted = holm([p for _, p in raw])
        tests.extend(PairedTest(metric, name, baseline, float(np.mean(values[name][metric])) if len(base) else 0.0,
                                float(np.mean(base)) if len(base) else 0.0, t, p, float(adj), bool(adj < alpha))
                     for name, (t, p), adj in zip(others, raw, adjusted))
    return tests
