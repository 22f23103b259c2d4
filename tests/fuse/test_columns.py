"""Fusion of runs built from columns (as retrievers build theirs) returns the run that fusion of
the same runs built from hits does, on document numbers and on ids, whatever the mix of inputs
and the order of their queries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuse.columnar import as_columns
from tests.fuse.test_numbered import CASES, SETTINGS, numbered_runs
from winnow.errors import WinnowError
from winnow.fuse import fuse
from winnow.types import RunColumns, Hits, Run


def same_run(got: Run, want: Run) -> None:
    assert got.name == want.name and got.qids == want.qids
    for q in want:
        assert got[q].ids == want[q].ids, q
        np.testing.assert_allclose(got[q].scores, want[q].scores, rtol=0, atol=1e-12)
        assert got[q].qid == q


@SETTINGS
@given(numbered_runs(), st.sampled_from(CASES), st.none() | st.integers(0, 12), st.data())
def test_columns_give_the_run_hits_give(runs, case, cutoff, data):
    method, params = case
    if method == "convex":
        params = {**params, "weights": data.draw(st.lists(st.floats(0.05, 1), min_size=len(runs),
                                                          max_size=len(runs)))}
    floors = [0.0 if r % 2 else -5.0 for r in range(len(runs))]
    flat = []
    for i, run in enumerate(runs):  # each input from columns or from hits, its queries in any order, some missing
        runs[i] = run = Run({q: run[q] for q in data.draw(st.lists(st.sampled_from(list(run)), unique=True))},
                            run.name)
        flat.append(as_columns(run) if data.draw(st.booleans()) else run)
    if data.draw(st.booleans()):  # or every input from columns, all with the same queries in one order
        qids = sorted(set().union(*runs))
        flat = [as_columns(Run({q: run.get(q, Hits.empty(q)) for q in qids}, run.name)) for run in runs]
        runs = [Run({q: run.get(q, Hits.empty(q)) for q in qids}, run.name) for run in runs]
    want = fuse(runs, method, floors=floors, cutoff=cutoff, **params)
    by_numbers = fuse(flat, method, floors=floors, cutoff=cutoff, shared_docnos=True, **params)
    by_ids = fuse(flat, method, floors=floors, cutoff=cutoff, **params)
    same_run(by_ids, want)
    same_run(by_numbers, want)
    numbers = {i: n for run in runs for h in run.values() for i, n in zip(h.ids, h.docnos.tolist())}
    for q in by_numbers:
        assert by_numbers[q].docnos.tolist() == [numbers[i] for i in by_numbers[q].ids]


def test_a_run_from_columns_is_the_mapping_its_hits_make():
    hits = {"q1": Hits(("a", "b"), np.array([2.0, 1.0], np.float32), np.array([3, 1]), "q1"),
            "q2": Hits((), np.zeros(0, np.float32), np.zeros(0, np.int64), "q2"),
            "q3": Hits(("c",), np.array([0.5], np.float32), np.array([2]), "q3")}
    columns = RunColumns(("q1", "q2", "q3"), np.array([0, 2, 2, 3]), ["a", "b", "c"],
                      np.array([2.0, 1.0, 0.5], np.float32), np.array([3, 1, 2]))
    flat, run = Run.from_columns(columns, "r"), Run(hits, "r")
    assert flat == run and list(flat) == ["q1", "q2", "q3"] and len(flat) == 3 and flat.qids == run.qids
    assert "q2" in flat and "q4" not in flat and flat.get("q4") is None and flat.columns is columns
    assert flat.to_dict() == run.to_dict() and flat.cut(1) == run.cut(1) and flat.renamed("s") == run.renamed("s")
    assert flat.cut(1).columns is not None and flat.renamed("s").columns is columns
    assert flat["q1"].docnos.tolist() == [3, 1] and flat["q3"].qid == "q3" and flat["q1"] is flat["q1"]
    with pytest.raises(KeyError):
        flat["q4"]
    with pytest.raises(WinnowError, match="twice"):
        Run.from_columns(RunColumns(("q", "q"), np.array([0, 0, 0]), [], np.zeros(0)), "r")


def test_a_non_finite_score_in_columns_is_refused():
    good = as_columns(Run({"q": Hits(("x",), np.array([1.0]), np.array([0]), "q")}, "a"))
    bad = as_columns(Run({"q": Hits(("y",), np.array([np.nan]), np.array([1]), "q")}, "b"))
    with pytest.raises(WinnowError, match="'b' holds a score that is NaN"):
        fuse([good, bad], "rrf", shared_docnos=True)
