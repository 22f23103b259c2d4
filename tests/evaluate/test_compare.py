"""compare: means equal evaluate(), tests over every judged query, JSON, the table and the plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console

from winnow.errors import WinnowError
from winnow.evaluate.compare import compare
from winnow.evaluate.metrics import evaluate
from winnow.evaluate.significance import paired_t_test
from winnow.types import Qrels, Run

QRELS = Qrels({f"q{i}": {"rel": 1} for i in range(6)})


def run(name, ranks):
    """A run whose query i has the relevant document at rank ``ranks[i]`` (None: query missing)."""
    out = {}
    for i, rank in enumerate(ranks):
        if rank is not None:
            docs = [f"n{j}" for j in range(5)]
            docs.insert(rank - 1, "rel")
            out[f"q{i}"] = {d: 10.0 - j for j, d in enumerate(docs)}
    return Run.from_dict(out, name)


BASE = run("base", [3, 2, 4, 3, 2, None])  # q5 missing: 0 everywhere
GOOD = run("good", [1, 1, 1, 1, 1, 1])
SAME = run("same", [3, 2, 4, 3, 2, None])


def test_means_and_tests_over_every_judged_query():
    result = compare([BASE, GOOD, SAME], QRELS, ["ndcg@10", "mrr@10"], extras={"good": {"mrt_ms": 2.5}})
    assert result.n_queries == 6 and [r.name for r in result.rows] == ["base", "good", "same"]
    for r, row in zip([BASE, GOOD, SAME], result.rows):
        assert row.means == pytest.approx(evaluate(r, QRELS, ["ndcg@10", "mrr@10"]))
    base_rr = [1 / 3, 1 / 2, 1 / 4, 1 / 3, 1 / 2, 0.0]
    test = result.row("good").tests["mrr@10"]
    assert (test.statistic, test.p_value) == pytest.approx(paired_t_test([1.0] * 6, base_rr))
    assert test.p_adjusted == pytest.approx(min(1.0, 2 * test.p_value))  # Holm over two comparisons
    assert test.significant and test.better
    assert result.row("same").tests["ndcg@10"].p_value == 1.0
    assert result.row("base").tests == {}
    assert result.row("good").extras == {"mrt_ms": 2.5} and result.row("base").extras == {}


def test_json_round_trip():
    result = compare([BASE, GOOD], QRELS, ["ndcg@10"], extras={"base": {"mrt_ms": 0.4}, "good": {"mrt_ms": 3.0}})
    data = json.loads(result.to_json())
    assert data["baseline"] == "base" and data["n_queries"] == 6 and data["metrics"] == ["ndcg@10"]
    good = data["systems"][1]
    assert good["name"] == "good" and good["significant"] == {"ndcg@10": True}
    assert good["metrics"]["ndcg@10"] == pytest.approx(1.0) and good["extras"] == {"mrt_ms": 3.0}
    assert data["systems"][0]["p_values"] == {}


def test_table_marks_significant_rows():
    result = compare([BASE, GOOD, SAME], QRELS, ["ndcg@10"], baseline=0,
                     extras={"base": {"mrt_ms": 0.41}, "good": {"mrt_ms": 3.0}})
    console = Console(width=200, record=True)
    console.print(result.to_table())
    text = console.export_text()
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.startswith("│")}
    assert set(rows) == {"base (baseline)", "good", "same"}
    assert "1.0000▲" in rows["good"] and "0.41" in rows["base (baseline)"]
    assert "▲" not in rows["same"] and "▼" not in rows["same"]
    assert "Holm" in text


def test_a_worse_system_is_marked_down_against_another_baseline():
    result = compare([BASE, GOOD], QRELS, ["ndcg@10"], baseline=1)
    assert result.row("base").tests["ndcg@10"].significant and not result.row("base").tests["ndcg@10"].better


@pytest.mark.parametrize("kwargs, match", [
    ({"runs": [BASE, BASE]}, "distinct names"),
    ({"runs": [BASE, GOOD], "baseline": 2}, "baseline"),
    ({"runs": [BASE, GOOD], "extras": {"nope": {}}}, "unknown systems"),
    ({"runs": []}, "at least one"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(WinnowError, match=match):
        compare(qrels=QRELS, metrics=["ndcg@10"], **kwargs)


def test_quality_latency_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from winnow.evaluate.plot import plot_quality_latency

    result = compare([BASE, GOOD, SAME], QRELS, ["ndcg@10"],
                     extras={"base": {"mrt_ms": 0.4}, "good": {"mrt_ms": 30.0}, "same": {"mrt_ms": 1.0}})
    path = plot_quality_latency(result, "ndcg@10", tmp_path / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(WinnowError, match="latency"):
        plot_quality_latency(compare([BASE, GOOD], QRELS, ["ndcg@10"]), "ndcg@10", tmp_path / "x.png")
    with pytest.raises(WinnowError, match="not in the comparison"):
        plot_quality_latency(result, "map", tmp_path / "x.png")


def test_values_are_numpy_free_in_json():
    result = compare([BASE, GOOD], QRELS, ["ndcg@10"], extras={"good": {"mrt_ms": float(np.float64(1.5))}})
    json.loads(result.to_json())
