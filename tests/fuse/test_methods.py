"""Every fusion method and normalisation against its formula written out on a tiny example."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from winnow.errors import WinnowError
from winnow.fuse import METHODS, fuse
from winnow.types import Hits, Run

# q1: A ranks a b c, B ranks b d; q2 is only in A; q3 only in B
A = Run.from_dict({"q1": {"a": 3.0, "b": 2.0, "c": 1.0}, "q2": {"x": 4.0, "y": 1.0}}, "A")
B = Run.from_dict({"q1": {"b": 5.0, "d": 4.0}, "q3": {"z": 2.0, "w": 1.0}}, "B")


def scores(run: Run, qid: str = "q1") -> dict[str, float]:
    return run[qid].to_dict()


def ranking(run: Run, qid: str = "q1") -> list[str]:
    return list(run[qid].ids)


def close(got: dict[str, float], want: dict[str, float]) -> None:
    assert set(got) == set(want)
    for doc, value in want.items():
        assert got[doc] == pytest.approx(value, abs=1e-12), doc


def test_rrf_is_the_sum_of_reciprocal_ranks():
    fused = fuse([A, B], "rrf", k=60)
    close(scores(fused), {"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 63, "d": 1 / 62})
    assert ranking(fused) == ["b", "a", "d", "c"]
    close(scores(fused, "q2"), {"x": 1 / 61, "y": 1 / 62})  # a query one run lacks: empty there
    close(scores(fused, "q3"), {"z": 1 / 61, "w": 1 / 62})
    close(scores(fuse([A, B], "rrf", k=0)), {"a": 1, "b": 1 / 2 + 1, "c": 1 / 3, "d": 1 / 2})


def test_convex_min_max():
    fused = fuse([A, B], "convex", weights=[0.3, 0.7])
    # min-max: A a=1 b=.5 c=0; B b=1 d=0; missing documents score 0
    close(scores(fused), {"a": 0.3 * 1, "b": 0.3 * 0.5 + 0.7 * 1, "c": 0.0, "d": 0.0})
    assert ranking(fused) == ["b", "a", "c", "d"]  # c and d tie: lower id first
    close(scores(fuse([A, B], "convex")), {"a": 0.5, "b": 0.75, "c": 0.0, "d": 0.0})  # equal weights


def test_weights_are_divided_by_their_sum():
    got, want = fuse([A, B], "convex", weights=[3, 7]), fuse([A, B], "convex", weights=[0.3, 0.7])
    for qid in want:
        close(scores(got, qid), scores(want, qid))


def test_convex_z_score_with_the_lowest_z_for_missing_documents():
    fused = fuse([A, B], "convex", norm="zscore", weights=[0.4, 0.6])
    sd_a = math.sqrt(((3 - 2) ** 2 + 0 + (1 - 2) ** 2) / 3)
    za = {"a": (3 - 2) / sd_a, "b": 0.0, "c": (1 - 2) / sd_a}
    zb = {"b": (5 - 4.5) / 0.5, "d": (4 - 4.5) / 0.5}
    low_a, low_b = min(za.values()), min(zb.values())
    close(scores(fused), {"a": 0.4 * za["a"] + 0.6 * low_b, "b": 0.4 * za["b"] + 0.6 * zb["b"],
                          "c": 0.4 * za["c"] + 0.6 * low_b, "d": 0.4 * low_a + 0.6 * zb["d"]})


def test_tm2c2_by_hand():
    fused = fuse([A, B], "convex", norm="tm2c2", floors=[0.0, -1.0], weights=[0.5, 0.5])
    # (s - floor) / (max - floor): A floor 0, max 3; B floor -1, max 5; missing documents score 0
    close(scores(fused), {"a": 0.5 * 3 / 3, "b": 0.5 * 2 / 3 + 0.5 * 6 / 6,
                          "c": 0.5 * 1 / 3, "d": 0.5 * 5 / 6})


def test_tm2c2_without_a_floor_is_min_max_and_says_so(caplog):
    with caplog.at_level(logging.WARNING, logger="winnow.fuse"):
        fused = fuse([A, B], "convex", norm="tm2c2", floors=[None, 0.0])
    assert "no score floor for A" in caplog.text
    close(scores(fused), {"a": 0.5 * 1, "b": 0.5 * 0.5 + 0.5 * 1, "c": 0.0, "d": 0.5 * 4 / 5})
    assert fuse([A, B], "convex", norm="tm2c2").to_dict() == fuse([A, B], "convex").to_dict()


def test_max_by_hand_whatever_the_floors():
    negative = Run.from_dict({"q1": {"a": -1.0, "e": -3.0}}, "negative")
    for floors in ([None, None, None], [0.0, -1.0, -5.0]):
        fused = fuse([A, B, negative], "convex", norm="max", floors=floors, weights=[0.5, 0.25, 0.25])
        # s / max; a query whose best score is not above 0 maps to 0; missing documents score 0
        close(scores(fused), {"a": 0.5 * 3 / 3, "b": 0.5 * 2 / 3 + 0.25 * 5 / 5,
                              "c": 0.5 * 1 / 3, "d": 0.25 * 4 / 5, "e": 0.0})


@pytest.mark.parametrize("norm", ["minmax", "zscore", "tm2c2", "max"])
def test_combsum_and_combmnz(norm):
    floors = [0.0, 0.0]
    total = {d: 2 * s for d, s in scores(fuse([A, B], "convex", norm=norm, floors=floors)).items()}
    close(scores(fuse([A, B], "combsum", norm=norm, floors=floors)), total)
    runs_holding = {"a": 1, "b": 2, "c": 1, "d": 1}
    close(scores(fuse([A, B], "combmnz", norm=norm, floors=floors)),
          {d: s * runs_holding[d] for d, s in total.items()})


def test_combmnz_min_max_by_hand():
    close(scores(fuse([A, B], "combmnz")), {"a": 1.0, "b": (0.5 + 1) * 2, "c": 0.0, "d": 0.0})


def test_a_run_with_equal_scores():
    one = Run.from_dict({"q1": {"e": 7.0}}, "one")
    # min-max of a single score is 1 (the run's best), z-score 0, tm2c2 (7 - 0) / (7 - 0)
    close(scores(fuse([A, one], "combsum")), {"a": 1, "b": 0.5, "c": 0, "e": 1})
    close(scores(fuse([A, one], "combsum", norm="tm2c2", floors=[0, 0])), {"a": 1, "b": 2 / 3, "c": 1 / 3, "e": 1})
    flat = Run.from_dict({"q1": {"e": 0.0, "f": 0.0}}, "flat")
    close(scores(fuse([A, flat], "combsum", norm="tm2c2", floors=[0, 0])),
          {"a": 1, "b": 2 / 3, "c": 1 / 3, "e": 0, "f": 0})


def test_the_result_is_a_run_of_float64_hits():
    fused = fuse([A, B], "rrf")
    assert fused.name == "rrf(A + B)" and fused.qids == ["q1", "q2", "q3"]
    hits = fused["q1"]
    assert hits.qid == "q1" and hits.docnos is None and hits.scores.dtype == np.float64
    assert isinstance(hits.ids, tuple)


def test_float32_index_hits_are_accepted():
    a = Run({"q": Hits(("d1", "d2"), np.array([2.0, 1.0], np.float32), np.array([0, 1]), "q")}, "a")
    b = Run({"q": Hits(("d2", "d3"), np.array([0.9, 0.1], np.float32), np.array([5, 3]), "q")}, "b")
    assert ranking(fuse([a, b], "convex", weights=[0.4, 0.6]), "q") == ["d2", "d1", "d3"]


def test_ties_go_to_the_lower_id_in_groups_of_every_size():
    a = Run.from_dict({"q": {"m": 3, "c": 2, "x": 1}}, "a")
    b = Run.from_dict({"q": {"b": 3, "z": 2, "y": 1}}, "b")
    c = Run.from_dict({"q": {"k": 3, "a": 2}}, "c")
    assert ranking(fuse([a, b, c], "rrf"), "q") == ["b", "k", "m", "a", "c", "z", "x", "y"]


def test_three_runs_and_empty_rankings():
    empty = Run({"q1": Hits.empty("q1")}, "E")
    fused = fuse([A, B, empty], "convex", weights=[1, 1, 1])
    close(scores(fused), {d: s * 2 / 3 for d, s in scores(fuse([A, B], "convex")).items()})
    assert len(fuse([empty, Run({"q1": Hits.empty("q1")}, "F")], "rrf")["q1"]) == 0


@pytest.mark.parametrize("bad, match", [
    (lambda: fuse([A], "rrf"), "at least two"),
    (lambda: fuse([A, B], "borda"), "unknown fusion method"),
    (lambda: fuse([A, B], "rrf", weights=[1, 2]), "takes k"),
    (lambda: fuse([A, B], "convex", weights=[1]), "needs 2 weights"),
    (lambda: fuse([A, B], "convex", norm="l2"), "normalisation"),
    (lambda: fuse([A, B], "convex", norm="tm2c2", floors=[0]), "floors"),
    (lambda: fuse([A, Run.from_dict({"q1": {"a": float("nan")}}, "N")], "rrf"), "NaN"),
    (lambda: fuse([A, Run({"q1": Hits(("a", "a"), np.ones(2), None, "q1")}, "D")], "rrf"), "twice"),
    (lambda: fuse([Run({"q1": Hits(("e", "f", "e"), np.ones(3), None, "q1")}, "D"), B], "rrf"), "twice"),
    (lambda: fuse([A, Run({"q1": Hits(("e", "b", "e"), np.ones(3), None, "q1")}, "D"), B], "rrf"), "twice"),
])
def test_bad_input_is_refused(bad, match):
    with pytest.raises(WinnowError, match=match):
        bad()


def test_every_method_is_registered():
    assert set(METHODS) == {"rrf", "convex", "combsum", "combmnz"}
