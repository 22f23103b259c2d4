"""Top-k kernels called directly: heap selection, exhaustive scoring, and MaxScore over many windows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow.index import blocks
from winnow.jit import interpreting
from winnow.retrieve import kernels, maxscore

SETTINGS = settings(max_examples=80, deadline=None)

# Scores from a small set so that exact ties (broken by doc number) are common.
candidates = st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.5, -1.0]) | st.floats(-5, 5, width=32),
                                st.integers(0, 60)), max_size=80, unique_by=lambda c: c[1])


def best_first(pairs):
    return sorted(pairs, key=lambda c: (-np.float32(c[0]), c[1]))


@SETTINGS
@given(pairs=candidates, k=st.integers(1, 20))
def test_heap_keeps_the_k_best_in_ranking_order(pairs, k):
    hs, hd = np.empty(k, np.float32), np.empty(k, np.int32)
    n = 0
    for s, d in pairs:
        n = kernels.heap_offer(hs, hd, n, k, np.float32(s), np.int32(d))
    out_docs, out_scores = np.empty(k, np.int32), np.empty(k, np.float32)
    m = kernels.heap_sorted(hs, hd, n, out_docs, out_scores)
    expected = best_first(pairs)[:k]
    assert m == n == len(expected)
    assert out_docs[:m].tolist() == [d for _, d in expected]
    np.testing.assert_array_equal(out_scores[:m], np.float32([s for s, _ in expected]))


@SETTINGS
@given(s1=st.floats(-3, 3, width=32), d1=st.integers(0, 9), s2=st.floats(-3, 3, width=32), d2=st.integers(0, 9))
def test_better_is_a_strict_order(s1, d1, s2, d2):
    a, b = kernels.better(s1, d1, s2, d2), kernels.better(s2, d2, s1, d1)
    assert a == ((s1, -d1) > (s2, -d2))
    assert not (a and b)
    assert (a or b) == ((s1, d1) != (s2, d2))


def csc(present, values):
    """Term-major postings ``(indptr, docids, impacts)`` of a (terms x docs) presence mask and values."""
    indptr = np.concatenate([[0], np.cumsum(present.sum(1))]).astype(np.int64)
    docids = np.concatenate([np.flatnonzero(r) for r in present]).astype(np.int32)
    impacts = np.concatenate([values[t][present[t]] for t in range(len(present))]).astype(np.float32)
    return indptr, docids, impacts


def query(draw, n_terms, max_size):
    """Known term ids (repeats allowed) and their weights."""
    q_terms = np.array(draw(st.lists(st.integers(0, n_terms - 1), max_size=max_size)), np.int32)
    q_weights = np.array(draw(st.lists(st.sampled_from([0.5, 1.0, 3.0]), min_size=len(q_terms),
                                       max_size=len(q_terms))), np.float32)
    return q_terms, q_weights


@st.composite
def term_major(draw):
    """CSC postings (ascending doc numbers per term) and a query over known terms."""
    n_docs, n_terms = draw(st.integers(1, 120)), draw(st.integers(1, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    present = rng.random((n_terms, n_docs)) < draw(st.sampled_from([0.05, 0.3, 0.8]))
    values = rng.choice(np.float32([0.5, 1, 2]), present.shape) if draw(st.booleans()) \
        else rng.uniform(0.01, 5, present.shape).astype(np.float32)
    dense = np.where(present, values, np.float32(0)).T  # (n_docs, n_terms)
    return (*csc(present, values), *query(draw, n_terms, 6), dense, present.T, draw(st.integers(1, n_docs + 3)),
            masks(draw, n_docs))


def masks(draw, n_docs: int) -> np.ndarray:
    """An ``allowed`` mask: empty (every document) or a random uint8 per document."""
    if draw(st.booleans()):
        return np.zeros(0, np.uint8)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.random(n_docs) < draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))).astype(np.uint8)


@SETTINGS
@given(case=term_major())
def test_topk_exhaustive_equals_dense_scoring_and_leaves_buffers_clean(case):
    indptr, docids, impacts, q_terms, q_weights, dense, has, k, allowed = case
    n_docs = dense.shape[0]
    acc, seen, touched = np.zeros(n_docs, np.float32), np.zeros(n_docs, np.uint8), np.zeros(n_docs, np.int32)
    hs, hd = np.empty(k, np.float32), np.empty(k, np.int32)
    out_docs, out_scores = np.empty(k, np.int32), np.empty(k, np.float32)
    n = kernels.topk_exhaustive(indptr, docids, impacts, q_terms, q_weights, k, allowed, acc, seen, touched, hs, hd,
                                out_docs, out_scores)

    scores = np.zeros(n_docs, np.float32)
    for t, w in zip(q_terms, q_weights):
        scores += w * dense[:, t]
    touched_docs = has[:, q_terms].any(1) if len(q_terms) else np.zeros(n_docs, bool)
    if len(allowed):
        touched_docs &= allowed > 0  # filtered inside the top k: k results whenever k allowed ones match
    candidates = np.flatnonzero(touched_docs)
    expected = sorted(candidates.tolist(), key=lambda d: (-scores[d], d))[:k]
    assert out_docs[:n].tolist() == expected
    np.testing.assert_array_equal(out_scores[:n], scores[expected])
    assert not acc.any() and not seen.any()  # the contract: scratch buffers all-zero on exit


@st.composite
def many_windows(draw):
    """Postings over up to 1,500 documents with small blocks: many 64-document windows and blocks per term."""
    n_docs, n_terms = draw(st.integers(1, 1500)), draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    present = rng.random((n_terms, n_docs)) < rng.choice([0.002, 0.02, 0.2, 0.7], n_terms)[:, None]
    values = rng.choice(np.float32([0.5, 1, 2]), present.shape) if draw(st.booleans()) \
        else rng.pareto(2.0, present.shape).astype(np.float32) + np.float32(0.01)
    return (n_docs, *csc(present, values), *query(draw, n_terms, 8), draw(st.integers(1, 30)),
            draw(st.sampled_from([2, 4, 64])), masks(draw, n_docs))


@SETTINGS
@given(case=many_windows())
def test_maxscore_over_many_windows_equals_exhaustive(case):
    """Window bounds, skipped windows and block probes never change the exact top k."""
    n_docs, indptr, docids, impacts, q_terms, q_weights, k, block_size, allowed = case
    k = min(k, n_docs)
    term_max = blocks.term_max(indptr, impacts)
    block_meta = blocks.block_metadata(indptr, docids, impacts, block_size)
    hs, hd = np.empty(k, np.float32), np.empty(k, np.int32)
    got_docs, got_scores = np.empty(k, np.int32), np.empty(k, np.float32)
    n = maxscore.topk_maxscore(indptr, docids, impacts, term_max, *block_meta, block_size, q_terms, q_weights, k,
                               allowed, hs, hd, got_docs, got_scores, 1.0, 64)
    acc, seen, touched = np.zeros(n_docs, np.float32), np.zeros(n_docs, np.uint8), np.zeros(n_docs, np.int32)
    want_docs, want_scores = np.empty(k, np.int32), np.empty(k, np.float32)
    m = kernels.topk_exhaustive(indptr, docids, impacts, q_terms, q_weights, k, allowed, acc, seen, touched, hs, hd,
                                want_docs, want_scores)
    assert got_docs[:n].tolist() == want_docs[:m].tolist()
    np.testing.assert_array_equal(got_scores[:n], want_scores[:m])


def test_heap_sorted_is_n_log_n_at_huge_k():
    """Regression: the final ordering was an insertion sort, 3.45 s at k = 100,000."""
    import time

    k = 100_000
    rng = np.random.default_rng(0)
    scores = rng.choice(np.float32([0.5, 1.0, 2.0]), k * 2)  # many exact ties
    hs, hd = np.empty(k, np.float32), np.empty(k, np.int32)
    n = 0
    for d, s in enumerate(scores):
        if n < k or kernels.better(s, d, hs[0], hd[0]):
            n = kernels.heap_offer(hs, hd, n, k, s, np.int32(d))
    out_docs, out_scores = np.empty(k, np.int32), np.empty(k, np.float32)
    kernels.heap_sorted(hs.copy(), hd.copy(), n, out_docs, out_scores)  # compile
    start = time.perf_counter()
    kernels.heap_sorted(hs, hd, n, out_docs, out_scores)
    elapsed = time.perf_counter() - start
    expected = sorted(range(len(scores)), key=lambda d: (-scores[d], d))[:k]
    assert out_docs.tolist() == expected
    if not interpreting():
        assert elapsed < 0.2
