"""HNSW graphs (usearch and faiss) against exact search on random vectors."""

from __future__ import annotations

import numpy as np
import pytest

from winnow.dense.ann import HnswGraph, HnswParams, build_graph
from winnow.dense.exact import exact_topk

N, DIM, QUERIES, K = 4000, 32, 100, 10
RECALL_BOUND = 0.95  # measured: usearch 0.985, faiss 0.993 with these parameters and seed


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N + QUERIES, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x[:N], x[N:]


def recall(found, exact):
    return np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found.tolist(), exact.tolist())])


@pytest.mark.parametrize("library", ["usearch", "faiss"])
def test_hnsw_recall_at_10_above_bound(vectors, tmp_path, library):
    pytest.importorskip(library if library == "faiss" else "usearch")
    docs, queries = vectors
    entry = build_graph(library, docs, HnswParams(m=16, ef_construction=100, ef_search=64), tmp_path)
    graph = HnswGraph(tmp_path, library, entry)
    docnos, scores, counts = graph.search(queries, K)
    exact, exact_scores, _ = exact_topk(docs, queries, K)
    assert counts.tolist() == [K] * QUERIES
    assert recall(docnos, exact) >= RECALL_BOUND
    # the scores are the inner products of the documents found
    np.testing.assert_allclose(scores, np.einsum("qd,qkd->qk", queries, docs[docnos]), atol=1e-5)


def test_faiss_filtered_search_returns_only_allowed(vectors, tmp_path):
    pytest.importorskip("faiss")
    docs, queries = vectors
    graph = HnswGraph(tmp_path, "faiss", build_graph("faiss", docs, HnswParams(m=16, ef_construction=100), tmp_path))
    allowed = np.arange(N) % 3 == 0
    docnos, _, counts = graph.search(queries, K, allowed=allowed)
    assert all(allowed[d] for row, c in zip(docnos, counts) for d in row[:c])
    exact, _, _ = exact_topk(docs, queries, K, allowed)
    assert recall(docnos, exact) >= RECALL_BOUND
