"""tune: the grid search finds the one weight that ranks every relevant document first."""

from __future__ import annotations

import pytest

from winnow.errors import WinnowError
from winnow.fuse import fuse, simplex, tune
from winnow.fuse.tune import default_grid
from winnow.types import Qrels, Run

# Scores already span [0, 1] per query, so min-max leaves them unchanged. With a = weight of A:
#   q1: x (relevant) beats y iff 0.7a + (1 - a) > a, i.e. a < 1 / 1.3 = 0.769
#   q2: u (relevant) beats v iff a > 0.46a + (1 - a), i.e. a > 1 / 1.54 = 0.649
# so only a = 0.7 on the 0.1 grid puts both relevant documents first.
A = Run.from_dict({"q1": {"y": 1.0, "x": 0.7, "z": 0.0}, "q2": {"u": 1.0, "v": 0.46, "w": 0.0}}, "A")
B = Run.from_dict({"q1": {"x": 1.0, "z": 0.5, "y": 0.0}, "q2": {"v": 1.0, "w": 0.5, "u": 0.0}}, "B")
QRELS = Qrels({"q1": {"x": 1}, "q2": {"u": 1}})


def test_simplex():
    assert simplex(2, 0.5) == [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]
    assert len(simplex(3)) == 66 and len(simplex(4)) == 286
    assert all(sum(w) == pytest.approx(1) for w in simplex(3))
    with pytest.raises(WinnowError, match="divide 1"):
        simplex(2, 0.3)


def test_tune_finds_the_known_best_weight():
    best = tune([A, B], QRELS, "convex", metric="ndcg@10", grid={"norm": ["minmax"]})
    assert best == {"norm": "minmax", "weights": [0.7, 0.3]}
    fused = fuse([A, B], "convex", **best)
    assert fused["q1"].ids[0] == "x" and fused["q2"].ids[0] == "u"


def test_tune_searches_norms_and_rrf_k_deterministically():
    best = tune([A, B], QRELS, "convex")
    assert set(best) == {"norm", "weights"} and best["norm"] in ("minmax", "zscore")
    assert tune([A, B], QRELS, "convex") == best
    k = tune([A, B], QRELS, "rrf")
    assert set(k) == {"k"} and k["k"] in (10, 20, 40, 60, 80, 100)
    assert tune([A, B], QRELS, "combmnz", grid={"norm": ["zscore", "minmax"]})["norm"] in ("zscore", "minmax")


def test_default_grid():
    assert default_grid("convex", 2)["norm"] == ["minmax", "zscore", "max"]  # tm2c2 is min-max without floors
    assert default_grid("convex", 2, floors=[0, None])["norm"] == ["minmax", "zscore", "tm2c2", "max"]
    assert default_grid("rrf", 5) == {"k": [10, 20, 40, 60, 80, 100]}
    with pytest.raises(WinnowError, match="2 to 4 runs"):
        default_grid("convex", 5)
    assert "weights" not in default_grid("convex", 5, given=["weights"])


def test_a_bad_grid_is_refused():
    with pytest.raises(WinnowError, match="takes k"):
        tune([A, B], QRELS, "rrf", grid={"norm": ["minmax"]})
    with pytest.raises(WinnowError, match="no values"):
        tune([A, B], QRELS, "rrf", grid={"k": []})
