"""Metrics: names as people write them, values equal to the formulas on a hand-made run."""

from __future__ import annotations

import math

import pytest

from winnow.errors import WinnowError
from winnow.evaluate.metrics import evaluate, per_query, to_measure
from winnow.types import Qrels, Run

QRELS = Qrels({
    "q1": {"a": 2, "b": 1, "c": 0, "z": 1},  # z is never retrieved
    "q2": {"e": 1},
    "q3": {"f": 2},  # judged but absent from the run: counts as 0
})
RUN = Run.from_dict({
    "q1": {"x": 9.0, "b": 8.0, "a": 7.0, "c": 6.0, "y": 5.0},  # ranks: x b a c y
    "q2": {"d": 3.0, "e": 2.0},
    "q9": {"a": 1.0},  # not judged: ignored
})


def dcg(gains):
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg(ranked, judged, k):
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    return dcg([judged.get(d, 0) for d in ranked[:k]]) / dcg(ideal)


def recall(ranked, judged, k):
    relevant = {d for d, g in judged.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant)


RANKED = {"q1": ["x", "b", "a", "c", "y"], "q2": ["d", "e"], "q3": []}


@pytest.mark.parametrize("name, expected", [
    ("ndcg@10", "nDCG@10"), ("NDCG@10", "nDCG@10"), ("nDCG@10", "nDCG@10"), ("ndcg_cut@5", "nDCG@5"),
    ("recall@100", "R@100"), ("mrr@10", "RR@10"), ("map", "AP"), ("p@5", "P@5"), (" MAP ", "AP"),
])
def test_metric_names(name, expected):
    assert str(to_measure(name)) == expected


@pytest.mark.parametrize("name", ["foo@10", "ndcg@ten", "ndcg@10@5", "", "@10"])
def test_unknown_metrics_are_errors(name):
    with pytest.raises(WinnowError, match="metric"):
        to_measure(name)


def test_evaluate_equals_the_formulas():
    got = evaluate(RUN, QRELS, ["ndcg@10", "NDCG@3", "recall@2", "recall@100", "mrr@10", "p@5", "map"])
    assert list(got) == ["ndcg@10", "NDCG@3", "recall@2", "recall@100", "mrr@10", "p@5", "map"]
    q1, q2 = QRELS.judgements["q1"], QRELS.judgements["q2"]
    mean = lambda values: sum(values) / 3  # q3 is judged but has no results: a zero in every mean
    assert got["ndcg@10"] == pytest.approx(mean([ndcg(RANKED["q1"], q1, 10), ndcg(RANKED["q2"], q2, 10)]))
    assert got["NDCG@3"] == pytest.approx(mean([ndcg(RANKED["q1"], q1, 3), ndcg(RANKED["q2"], q2, 3)]))
    assert got["recall@2"] == pytest.approx(mean([recall(RANKED["q1"], q1, 2), recall(RANKED["q2"], q2, 2)]))
    assert got["recall@100"] == pytest.approx(mean([2 / 3, 1]))
    assert got["mrr@10"] == pytest.approx(mean([1 / 2, 1 / 2]))
    assert got["p@5"] == pytest.approx(mean([2 / 5, 1 / 5]))
    assert got["map"] == pytest.approx(mean([(1 / 2 + 2 / 3) / 3, 1 / 2]))


def test_judged_queries_missing_from_the_run_count_as_zero():
    full = evaluate(RUN, Qrels({"q1": QRELS.judgements["q1"]}), ["ndcg@10"])["ndcg@10"]
    with_missing = evaluate(RUN, Qrels({"q1": QRELS.judgements["q1"], "q3": {"f": 2}}), ["ndcg@10"])["ndcg@10"]
    assert with_missing == pytest.approx(full / 2)
    assert evaluate(Run(), QRELS, ["ndcg@10", "recall@100"]) == {"ndcg@10": 0.0, "recall@100": 0.0}


def test_per_query():
    got = per_query(RUN, QRELS, ["ndcg@10", "mrr@10"])
    assert got["q1"]["ndcg@10"] == pytest.approx(ndcg(RANKED["q1"], QRELS.judgements["q1"], 10))
    assert got["q2"]["mrr@10"] == pytest.approx(1 / 2)
    assert "q9" not in got
