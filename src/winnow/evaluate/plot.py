"""Quality against latency: one point per system of a :class:`~winnow.evaluate.compare.Comparison`."""

from __future__ import annotations

from pathlib import Path

from winnow.errors import WinnowError, require
from winnow.evaluate.compare import Comparison


def plot_quality_latency(comparison: Comparison, metric: str, path: str | Path, latency: str = "mrt_ms") -> Path:
    """Write a PNG scatter of each system's mean ``metric`` against its ``latency`` extra column.

    Systems significantly better than the baseline are filled green, significantly worse red, the
    rest grey; the baseline is a star. The latency axis is logarithmic when the systems' latencies
    span more than a factor of 20. Needs the ``plot`` extra (matplotlib).

    Args:
        comparison: from :func:`winnow.evaluate.compare.compare`, with ``latency`` among the
            extras of every row.
        metric: one of the comparison's metrics.
        path: the PNG file to write.
        latency: the extra column holding milliseconds per query.

    Returns:
        ``path``.
    """
    require("matplotlib", "plot")
    from matplotlib.figure import Figure

    if metric not in comparison.metrics:
        raise WinnowError(f"metric {metric!r} is not in the comparison; it has {list(comparison.metrics)}")
    missing = [row.name for row in comparison.rows if not isinstance(row.extras.get(latency), (int, float))]
    if missing:
        raise WinnowError(f"no {latency!r} latency for {missing}; pass it in compare(extras=...)")
    xs = [float(row.extras[latency]) for row in comparison.rows]
    fig = Figure(figsize=(6.4, 4.4), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    for i, (row, x) in enumerate(zip(comparison.rows, xs)):
        test = row.tests.get(metric)
        color = "grey" if not (test and test.significant) else ("tab:green" if test.better else "tab:red")
        ax.scatter([x], [row.means[metric]], s=90 if i == comparison.baseline else 45, color=color,
                   marker="*" if i == comparison.baseline else "o", zorder=3)
        ax.annotate(row.name, (x, row.means[metric]), textcoords="offset points", xytext=(5, 4), fontsize=7)
    if min(xs) > 0 and max(xs) / min(xs) > 20:
        ax.set_xscale("log")
    ax.set_xlabel(f"{latency} (mean per query)")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against latency ({comparison.n_queries} queries)")
    ax.grid(True, alpha=0.3)
    path = Path(path)
    fig.savefig(path, format="png")
    return path
