"""Exact dense top-k against brute force: every block size, ties by lower document number, masks."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow.dense.exact import exact_topk


def brute_force(vectors, queries, k, allowed=None):
    """Each query's documents sorted by (-score, docno), the disallowed ones dropped."""
    scores = queries.astype(np.float64) @ vectors.astype(np.float64).T
    out = []
    for row in scores:
        docs = [d for d in range(len(row)) if allowed is None or allowed[d]]
        out.append(sorted(docs, key=lambda d: (-row[d], d))[:k])
    return out


@st.composite
def problems(draw):
    n = draw(st.integers(1, 60))
    d = draw(st.integers(1, 6))
    q = draw(st.integers(1, 5))
    # small integers make exact float32 dot products and many ties
    values = st.integers(-2, 2)
    vectors = np.array(draw(st.lists(st.lists(values, min_size=d, max_size=d), min_size=n, max_size=n)), np.float32)
    queries = np.array(draw(st.lists(st.lists(values, min_size=d, max_size=d), min_size=q, max_size=q)), np.float32)
    k = draw(st.integers(1, n + 3))
    block = draw(st.integers(1, n + 2))
    allowed = draw(st.none() | st.lists(st.booleans(), min_size=n, max_size=n).map(np.array))
    return vectors, queries, k, block, allowed


@settings(max_examples=150, deadline=None)
@given(problems())
def test_exact_topk_equals_brute_force(problem):
    vectors, queries, k, block, allowed = problem
    docnos, scores, counts = exact_topk(vectors, queries, k, allowed, block_rows=block)
    want = brute_force(vectors, queries, k, allowed)
    for row, expected in enumerate(want):
        got = docnos[row, :counts[row]].tolist()
        assert got == expected
        np.testing.assert_array_equal(scores[row, :counts[row]], (queries[row] @ vectors[expected].T).astype(np.float32))


def test_float16_vectors_score_as_float32():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 16)).astype(np.float16)
    queries = rng.normal(size=(3, 16)).astype(np.float32)
    docnos, scores, _ = exact_topk(vectors, queries, 10, block_rows=64)
    assert docnos.tolist() == [r[:10] for r in brute_force(vectors.astype(np.float32), queries, 10)]
    np.testing.assert_allclose(scores, np.sort(queries @ vectors.astype(np.float32).T, axis=1)[:, ::-1][:, :10],
                               rtol=1e-6)


def test_no_queries_or_k_zero():
    vectors = np.ones((4, 2), np.float32)
    assert exact_topk(vectors, np.ones((0, 2), np.float32), 3)[0].shape == (0, 0)
    assert exact_topk(vectors, np.ones((2, 2), np.float32), 0)[2].tolist() == [0, 0]
