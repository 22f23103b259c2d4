"""Fusion against ranx on random runs, for every method and normalisation both define the same way.

ranx gives a document a run did not retrieve the score 0 after normalisation. That is our lower
bound for min-max (and RRF), so those compare directly; after z-scoring our lower bound is the
run's lowest z-score, so there the missing documents are added to ranx's normalised runs with
that score before ranx combines them.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuse.columnar import as_columns
from winnow.fuse import fuse
from winnow.types import Run

ranx = pytest.importorskip("ranx")
from ranx.normalization import norm_switch  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POOL = [f"d{i}" for i in range(40)]


@st.composite
def golden_runs(draw):
    """2-3 runs over the same 1-4 queries; each query 2-25 documents with distinct scores."""
    n_runs, n_queries = draw(st.integers(2, 3)), draw(st.integers(1, 4))
    runs = []
    for r in range(n_runs):
        run = {}
        for q in range(n_queries):
            docs = draw(st.lists(st.sampled_from(POOL), min_size=2, max_size=25, unique=True))
            values = draw(st.lists(st.floats(-50, 50, allow_nan=False), min_size=len(docs), max_size=len(docs),
                                   unique=True).filter(lambda v: max(v) - min(v) > 1e-3))
            run[f"q{q}"] = dict(zip(docs, values))
        runs.append(run)
    return runs


def ours(runs, method, **params):
    """Our fusion on ids, checked against our fusion of the same runs built from columns on
    document numbers."""
    hits = [Run.from_dict(r, f"r{i}") for i, r in enumerate(runs)]
    got = fuse(hits, method, **params).to_dict()
    numbers = {doc: POOL.index(doc) for doc in POOL}
    same(fuse([as_columns(r, numbers) for r in hits], method, shared_docnos=True, **params).to_dict(), got)
    return got


def theirs(runs, norm, method, params=None, pad_missing=False):
    normalised = [ranx.Run(r, name=f"r{i}") for i, r in enumerate(runs)]
    if norm is not None:
        normalised = [norm_switch(norm)(run) for run in normalised]
    if pad_missing:  # our lower bound: each run's lowest normalised score for the query
        dicts = [run.to_dict() for run in normalised]
        for q in dicts[0]:
            union = set().union(*(d[q] for d in dicts))
            for d in dicts:
                low = min(d[q].values())
                d[q].update({doc: low for doc in union - set(d[q])})
        normalised = [ranx.Run(d, name=f"r{i}") for i, d in enumerate(dicts)]
    return ranx.fuse(normalised, norm=None, method=method, params=params or {}).to_dict()


def same(got, want):
    assert set(got) == set(want)
    for q in want:
        assert set(got[q]) == set(want[q]), q
        for doc, value in want[q].items():
            assert got[q][doc] == pytest.approx(value, rel=1e-9, abs=1e-9), (q, doc)


@SETTINGS
@given(golden_runs(), st.sampled_from([1, 10, 60]))
def test_rrf(runs, k):
    same(ours(runs, "rrf", k=k), theirs(runs, None, "rrf", {"k": k}))


@SETTINGS
@given(golden_runs(), st.data())
def test_convex_min_max_is_ranx_wsum(runs, data):
    weights = data.draw(st.lists(st.floats(0.05, 1), min_size=len(runs), max_size=len(runs)))
    unit = [w / sum(weights) for w in weights]
    same(ours(runs, "convex", weights=weights), theirs(runs, "min-max", "wsum", {"weights": unit}))


@SETTINGS
@given(golden_runs(), st.data())
def test_convex_z_score_is_ranx_wsum_of_zmuv(runs, data):
    weights = data.draw(st.lists(st.floats(0.05, 1), min_size=len(runs), max_size=len(runs)))
    unit = [w / sum(weights) for w in weights]
    same(ours(runs, "convex", weights=weights, norm="zscore"),
         theirs(runs, "zmuv", "wsum", {"weights": unit}, pad_missing=True))


@SETTINGS
@given(golden_runs(), st.data())
def test_convex_max_is_ranx_wsum_of_max(runs, data):
    runs = [{q: {doc: s + 51 for doc, s in hits.items()} for q, hits in run.items()} for run in runs]  # best > 0
    weights = data.draw(st.lists(st.floats(0.05, 1), min_size=len(runs), max_size=len(runs)))
    unit = [w / sum(weights) for w in weights]
    same(ours(runs, "convex", weights=weights, norm="max"), theirs(runs, "max", "wsum", {"weights": unit}))


@SETTINGS
@given(golden_runs(), st.sampled_from(["combsum", "combmnz"]))
def test_comb_min_max(runs, method):
    same(ours(runs, method), theirs(runs, "min-max", {"combsum": "sum", "combmnz": "mnz"}[method]))


@SETTINGS
@given(golden_runs())
def test_combsum_z_score(runs):
    same(ours(runs, "combsum", norm="zscore"), theirs(runs, "zmuv", "sum", pad_missing=True))
