"""Reproduce Pyserini's BM25 BEIR baselines (nDCG@10) on the shared scifact and nfcorpus copies."""

from __future__ import annotations

import os

import pytest

import winnow

pytestmark = [
    pytest.mark.slow,
    # Thousands of queries through interpreted kernels take minutes; the interpreted kernels
    # are checked against brute force by the property tests in tests/retrieve instead.
    pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="needs compiled kernels (NUMBA_DISABLE_JIT=1)"),
]


@pytest.mark.parametrize("dataset, spec, expected", [
    ("scifact", "bm25", 0.679),
    ("nfcorpus", "bm25", 0.322),
    ("scifact", "bm25:fields=multifield", 0.665),
    ("nfcorpus", "bm25:fields=multifield", 0.325),
])
def test_ndcg_at_10_matches_pyserini(shared_beir, dataset, spec, expected):
    folder = shared_beir / dataset
    if not (folder / "corpus.jsonl").is_file():
        pytest.skip(f"{dataset} not in the shared BEIR data ({folder})")
    result = winnow.run_beir(folder, spec, metrics=["ndcg@10"])
    assert result.metrics["ndcg@10"] == pytest.approx(expected, abs=0.005)
