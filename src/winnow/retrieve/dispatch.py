"""One query, start to finish in compiled code: drop unusable terms, pick a strategy, run it.

Strategy codes: 0 = auto (MaxScore when the query's postings exceed ``MAXSCORE_MIN_POSTINGS`` and
its bounds promise to skip enough of them, see :func:`maxscore_pays`),
1 = exhaustive, 2 = MaxScore, 3 = approximate (:mod:`winnow.retrieve.approx`). MaxScore and the
approximate search need non-negative contributions; queries that would give negative ones run
exhaustively whatever the code says.

``index`` is the tuple ``(indptr, docids, impacts, term_max, block_ptr, block_last, block_max,
block_size, non_negative)`` and ``pruned`` the pruned postings ``(indptr, docids, impacts, term_max,
block_ptr, block_last, block_max)`` (the full ones when the index has none); ``approx`` is
``(query_cut, prune_factor, candidates)``.
"""

from __future__ import annotations

import numba
import numpy as np

from winnow.retrieve.approx import topk_approx
from winnow.retrieve.kernels import jit, topk_exhaustive
from winnow.retrieve.maxscore import topk_maxscore

AUTO, EXHAUSTIVE, MAXSCORE, APPROX = 0, 1, 2, 3
STRATEGY_CODES = {"auto": AUTO, "exhaustive": EXHAUSTIVE, "maxscore": MAXSCORE, "approx": APPROX}
MAXSCORE_MIN_POSTINGS = 20_000  # below this, accumulating every posting is as fast (benchmarks/scale.py)


@jit
def maxscore_pays(indptr, term_max, terms, weights, cost, n_docs):
    """Whether MaxScore should beat exhaustive search on this query, by a rough cost model.

    Once the top k settle, θ is at least about the strongest term's bound, so the weakest terms
    whose bounds sum below it become non-essential. MaxScore then reads the essential postings and
    probes each non-essential list per candidate; exhaustive search reads every posting and, when
    they cover much of the collection, scans all documents.
    """
    m = len(terms)
    bound = np.empty(m, np.float64)
    for i in range(m):
        bound[i] = weights[i] * np.float64(term_max[terms[i]])
    order = np.argsort(bound)
    theta = bound[order[m - 1]]
    total = 0.0
    skipped = 0
    non_essential = 0
    for j in range(m):
        total += bound[order[j]]
        if total > theta:
            break
        t = terms[order[j]]
        skipped += indptr[t + 1] - indptr[t]
        non_essential += 1
    return (cost - skipped) * (1 + non_essential) < cost + n_docs / 4


@jit
def topk_query(index, pruned, approx, q_terms, q_weights, k, strategy, acc, seen, touched, hs, hd, out_docs,
               out_scores):
    """Top-``k`` of one query; terms outside the vocabulary and zero or non-finite weights are ignored."""
    indptr, docids, impacts, term_max, block_ptr, block_last, block_max, block_size, non_negative = index
    n_terms = len(indptr) - 1
    m = 0
    cost = 0
    negative = not non_negative
    for i in range(len(q_terms)):
        t, w = q_terms[i], q_weights[i]
        if 0 <= t < n_terms and w != 0 and np.isfinite(w):
            m += 1
            cost += indptr[t + 1] - indptr[t]
            negative = negative or w < 0
    if m == 0 or k == 0:
        return 0
    terms, weights = q_terms, q_weights
    if m < len(q_terms):
        terms = np.empty(m, q_terms.dtype)
        weights = np.empty(m, q_weights.dtype)
        j = 0
        for i in range(len(q_terms)):
            t, w = q_terms[i], q_weights[i]
            if 0 <= t < n_terms and w != 0 and np.isfinite(w):
                terms[j], weights[j] = t, w
                j += 1
    if not negative and strategy == APPROX:
        return topk_approx(indptr, docids, impacts, term_max, *pruned, block_size, terms, weights, k, *approx, acc,
                           seen, touched, hs, hd, out_docs, out_scores)
    use_maxscore = not negative and (strategy == MAXSCORE or (
        strategy == AUTO and cost > MAXSCORE_MIN_POSTINGS
        and maxscore_pays(indptr, term_max, terms, weights, cost, len(acc))))
    if use_maxscore:
        return topk_maxscore(indptr, docids, impacts, term_max, block_ptr, block_last, block_max, block_size,
                             terms, weights, k, hs, hd, out_docs, out_scores)
    return topk_exhaustive(indptr, docids, impacts, terms, weights, k, acc, seen, touched, hs, hd, out_docs,
                           out_scores)


@numba.njit(cache=True, nogil=True, parallel=True)
def topk_batch(index, pruned, approx, n_docs, q_ptr, q_terms, q_weights, k, strategy, n_workers, out_docs, out_scores,
               out_n):
    """:func:`topk_query` for a batch of queries (CSR ``q_ptr``), spread over workers with ``prange``.

    Each worker owns its buffers and takes every ``n_workers``-th query.
    """
    n_queries = len(q_ptr) - 1
    for w in numba.prange(n_workers):
        acc = np.zeros(n_docs, dtype=np.float32)
        seen = np.zeros(n_docs, dtype=np.uint8)
        touched = np.empty(n_docs, dtype=np.int32)
        hs = np.empty(max(k, 1), dtype=np.float32)
        hd = np.empty(max(k, 1), dtype=np.int32)
        for q in range(w, n_queries, n_workers):
            lo, hi = q_ptr[q], q_ptr[q + 1]
            out_n[q] = topk_query(index, pruned, approx, q_terms[lo:hi], q_weights[lo:hi], k, strategy, acc, seen,
                                  touched, hs, hd, out_docs[q], out_scores[q])
