"""Several systems on the same judged queries: metric means, extra columns (such as the mean
response time) and paired significance tests against a baseline, as JSON or a Rich table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from winnow.errors import WinnowError
from winnow.evaluate.metrics import DEFAULT_METRICS, per_query
from winnow.evaluate.significance import PairedTest, paired_tests
from winnow.types import Qrels, Run

BETTER, WORSE = "▲", "▼"


@dataclass(frozen=True)
class SystemRow:
    """One system's line of a comparison.

    Attributes:
        name: the system (its run's name).
        means: metric -> mean over the judged queries.
        tests: metric -> its test against the baseline (empty for the baseline).
        extras: further columns, e.g. ``{"mrt_ms": 1.3}``.
    """

    name: str
    means: dict[str, float]
    tests: dict[str, PairedTest] = field(default_factory=dict)
    extras: dict[str, float | str | None] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "metrics": dict(self.means),
                "p_values": {m: t.p_value for m, t in self.tests.items()},
                "p_adjusted": {m: t.p_adjusted for m, t in self.tests.items()},
                "significant": {m: t.significant for m, t in self.tests.items()},
                "extras": dict(self.extras)}


@dataclass(frozen=True)
class Comparison:
    """The systems' rows (the baseline's among them) and how they were tested.

    Attributes:
        metrics: the metrics, as requested.
        rows: one per system, in the order given.
        baseline: the index of the baseline row.
        alpha: the family-wise significance level per metric.
        n_queries: the judged queries every mean and test is over.
    """

    metrics: tuple[str, ...]
    rows: tuple[SystemRow, ...]
    baseline: int
    alpha: float
    n_queries: int
    test: str = "paired two-sided t-test"
    correction: str = "Holm-Bonferroni per metric"

    @property
    def extra_columns(self) -> list[str]:
        return list(dict.fromkeys(col for row in self.rows for col in row.extras))

    def row(self, name: str) -> SystemRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise WinnowError(f"no system named {name!r}; the systems are {[r.name for r in self.rows]}")

    def to_dict(self) -> dict:
        return {"metrics": list(self.metrics), "baseline": self.rows[self.baseline].name, "alpha": self.alpha,
                "n_queries": self.n_queries, "test": self.test, "correction": self.correction,
                "systems": [row.to_dict() for row in self.rows]}

    def to_json(self, indent: int | None = 2) -> str:
        """The comparison as JSON (non-finite numbers as ``null``)."""
        return json.dumps(_finite(self.to_dict()), indent=indent)

    def to_table(self, digits: int = 4):
        """A :class:`rich.table.Table`: one row per system, a column per metric (the mean, marked
        ▲ or ▼ where it differs significantly from the baseline's), the adjusted p-values, then
        the extra columns."""
        from rich.table import Table

        base = self.rows[self.baseline].name
        table = Table(caption=f"{BETTER}/{WORSE}: significantly better/worse than {base} ({self.test}, "
                              f"{self.correction}, alpha {self.alpha:g}; {self.n_queries} queries)")
        table.add_column("system")
        for metric in self.metrics:
            table.add_column(metric, justify="right")
        for metric in self.metrics:
            table.add_column(f"p {metric}", justify="right", style="dim")
        for col in self.extra_columns:
            table.add_column(col, justify="right")
        for row in self.rows:
            cells = [row.name + (" (baseline)" if row.name == base else "")]
            for metric in self.metrics:
                test = row.tests.get(metric)
                mark = (BETTER if test.better else WORSE) if test and test.significant else ""
                cells.append(f"{row.means[metric]:.{digits}f}{mark}")
            cells += [f"{row.tests[m].p_adjusted:.3g}" if m in row.tests else "-" for m in self.metrics]
            cells += [_cell(row.extras.get(col)) for col in self.extra_columns]
            table.add_row(*cells)
        return table


def compare(runs: Sequence[Run], qrels: Qrels, metrics: Sequence[str] = DEFAULT_METRICS, baseline: int = 0,
            alpha: float = 0.05, extras: Mapping[str, Mapping[str, float | str | None]] | None = None) -> Comparison:
    """Score ``runs`` on ``qrels`` and test each against ``runs[baseline]``.

    Every system is scored on every judged query (a query a run lacks scores 0), so the means
    and the paired tests are over the same queries.

    Args:
        runs: one run per system, named distinctly (``Run.renamed``).
        qrels: the judgements.
        metrics: metric names as :func:`winnow.evaluate.metrics.evaluate` takes them.
        baseline: the index of the run the others are tested against.
        alpha: the family-wise significance level of each metric's comparisons.
        extras: run name -> column -> value, e.g. ``{"bm25": {"mrt_ms": 0.4}}``.

    Example::

        table = compare([bm25, hybrid], qrels, ["ndcg@10", "recall@100"],
                        extras={"bm25": {"mrt_ms": 0.4}, "hybrid": {"mrt_ms": 1.9}})
        rich.print(table.to_table())
    """
    names = [run.name for run in runs]
    if not runs:
        raise WinnowError("compare needs at least one run")
    if len(set(names)) != len(names):
        raise WinnowError(f"systems need distinct names to be compared, got {names}; rename with Run.renamed")
    if isinstance(baseline, bool) or not isinstance(baseline, int) or not 0 <= baseline < len(runs):
        raise WinnowError(f"baseline must be the index of one of the {len(runs)} runs, got {baseline!r}")
    unknown = sorted(set(extras or {}) - set(names))
    if unknown:
        raise WinnowError(f"extras for unknown systems {unknown}; the systems are {names}")
    metrics, qids = tuple(metrics), qrels.qids
    values = {run.name: _per_query_vectors(run, qrels, metrics, qids) for run in runs}
    tests = paired_tests(values, metrics, names[baseline], alpha)
    by_system: dict[str, dict[str, PairedTest]] = {}
    for test in tests:
        by_system.setdefault(test.system, {})[test.metric] = test
    rows = tuple(SystemRow(name, {m: float(np.mean(values[name][m])) if qids else 0.0 for m in metrics},
                           by_system.get(name, {}), dict((extras or {}).get(name, {}))) for name in names)
    return Comparison(metrics, rows, baseline, alpha, len(qids))


def _per_query_vectors(run: Run, qrels: Qrels, metrics: Sequence[str], qids: list[str]) -> dict[str, np.ndarray]:
    scored = per_query(run, qrels, metrics)
    return {m: np.array([scored.get(q, {}).get(m, 0.0) for q in qids], dtype=np.float64) for m in metrics}


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _finite(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
