"""Fusion on document numbers returns the run that fusion on ids does, for every method and
normalisation, with and without a cutoff, ties included (ids are ordered unlike their numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from winnow.errors import WinnowError
from winnow.fuse import fuse
from winnow.types import Hits, Run

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CASES = [("rrf", {}), ("rrf", {"k": 0}), ("combsum", {"norm": "minmax"}), ("combmnz", {"norm": "zscore"})] + [
    (method, {"norm": norm}) for method in ("convex", "combsum", "combmnz") for norm in ("minmax", "zscore", "tm2c2", "max")]


@st.composite
def numbered_runs(draw):
    """2-3 runs over 1-4 queries of one numbering of up to 30 documents whose ids sort in another
    order; scores from a few values, so that ties are common."""
    n_docs = draw(st.integers(1, 30))
    ids = draw(st.permutations([f"d{i:02d}" for i in range(n_docs)]))
    runs = []
    for r in range(draw(st.integers(2, 3))):
        hits = {}
        for q in range(draw(st.integers(1, 4))):
            docnos = draw(st.lists(st.integers(0, n_docs - 1), max_size=n_docs, unique=True))
            values = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25, 7.0]) | st.floats(-5, 5, width=32),
                                   min_size=len(docnos), max_size=len(docnos)))
            order = np.argsort(-np.array(values, np.float32), kind="stable")
            hits[f"q{q}"] = Hits(tuple(ids[docnos[i]] for i in order), np.array(values, np.float32)[order],
                                 np.array(docnos, np.int64)[order], f"q{q}")
        runs.append(Run(hits, f"r{r}"))
    return runs


@SETTINGS
@given(numbered_runs(), st.sampled_from(CASES), st.none() | st.integers(0, 12), st.data())
def test_numbers_give_the_run_ids_give(runs, case, cutoff, data):
    method, params = case
    if method == "convex":
        params = {**params, "weights": data.draw(st.lists(st.floats(0.05, 1), min_size=len(runs),
                                                          max_size=len(runs)))}
    floors = [0.0 if r % 2 else -5.0 for r in range(len(runs))]
    want = fuse(runs, method, floors=floors, cutoff=cutoff, **params)
    got = fuse(runs, method, floors=floors, cutoff=cutoff, shared_docnos=True, **params)
    full = fuse(runs, method, floors=floors, **params)
    assert got.name == want.name and got.qids == want.qids == full.qids
    numbers = {i: n for run in runs for h in run.values() for i, n in zip(h.ids, h.docnos.tolist())}
    for q in want:
        assert got[q].ids == want[q].ids == full[q].ids[:cutoff], q
        np.testing.assert_allclose(got[q].scores, want[q].scores, rtol=0, atol=1e-12)
        assert got[q].docnos.tolist() == [numbers[i] for i in got[q].ids]
        assert want[q].docnos is None


@st.composite
def deep_runs(draw):
    """2-3 runs of up to 300 hits over 400 documents, best first (one possibly not), sharing part
    of their documents: fusion reads only the top of such runs when it keeps a few."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ids = [f"d{i:03d}" for i in rng.permutation(400)]
    pool = rng.choice(400, int(rng.integers(1, 400)), replace=False)
    few = draw(st.booleans())  # scores from a few values: ties everywhere
    runs = []
    for r in range(draw(st.integers(2, 3))):
        docnos = rng.permutation(pool)[:int(rng.integers(0, min(300, len(pool)) + 1))]
        scores = (rng.integers(0, 5, len(docnos)) if few else rng.normal(0, 3, len(docnos))).astype(np.float32)
        if not (r == 0 and draw(st.booleans()) and draw(st.booleans())):  # now and then one unsorted run
            scores = -np.sort(-scores)
        runs.append(Run({"q": Hits(tuple(ids[d] for d in docnos), scores, docnos.astype(np.int64), "q")}, f"r{r}"))
    return runs


@SETTINGS
@given(deep_runs(), st.sampled_from(CASES), st.integers(1, 20), st.data())
def test_reading_the_top_of_deep_runs_gives_the_run_reading_all_does(runs, case, cutoff, data):
    method, params = case
    if method == "convex":
        params = {**params, "weights": data.draw(st.lists(st.sampled_from([0.0, 0.2, 0.5, 1.0]),
                                                          min_size=len(runs), max_size=len(runs)))}
        if not any(params["weights"]):
            params["weights"][0] = 1.0
    floors = [data.draw(st.sampled_from([-20.0, 0.0, 1.0])) for _ in runs]
    want = fuse(runs, method, floors=floors, cutoff=cutoff, **params)["q"]
    got = fuse(runs, method, floors=floors, cutoff=cutoff, shared_docnos=True, **params)["q"]
    assert got.ids == want.ids
    np.testing.assert_allclose(got.scores, want.scores, rtol=0, atol=1e-12)


def test_hits_without_numbers_are_fused_on_ids():
    a = Run({"q": Hits(("x", "y"), np.array([2.0, 1.0]), None, "q")}, "a")
    b = Run({"q": Hits(("y", "z"), np.array([2.0, 1.0]), np.array([1, 2]), "q")}, "b")
    got = fuse([a, b], "rrf", shared_docnos=True)
    assert got["q"].ids == ("y", "x", "z") and got["q"].docnos is None


def test_a_number_listed_twice_is_refused():
    a = Run({"q": Hits(("x", "y"), np.array([2.0, 1.0]), np.array([0, 0]), "q")}, "a")
    b = Run({"q": Hits(("y",), np.array([2.0]), np.array([1]), "q")}, "b")
    with pytest.raises(WinnowError, match="'a' lists a document twice"):
        fuse([a, b], "rrf", shared_docnos=True)


def test_deep_runs_give_the_same_run():
    rng = np.random.default_rng(7)
    ids = [f"doc{i}" for i in rng.permutation(500)]
    runs = []
    for name in ("a", "b"):
        docnos = rng.choice(500, 300, replace=False)
        scores = np.sort(rng.integers(0, 40, 300).astype(np.float32))[::-1]
        runs.append(Run({"q": Hits(tuple(ids[d] for d in docnos), scores, docnos, "q")}, name))
    for cutoff in (None, 10, 200):
        for method, params in CASES:
            want = fuse(runs, method, cutoff=cutoff, **params)["q"]
            got = fuse(runs, method, cutoff=cutoff, shared_docnos=True, **params)["q"]
            assert got.ids == want.ids and np.array_equal(got.scores, want.scores)
