"""Plan a query (drop unusable terms, pick a strategy), then run one kernel per strategy.

Strategy codes: 0 = auto (MaxScore when the query reads more than ``MAXSCORE_MIN_POSTINGS``
postings and :func:`maxscore_pays`), 1 = exhaustive, 2 = MaxScore, 3 = approximate
(:mod:`winnow.retrieve.approx`). MaxScore and the approximate search need non-negative
contributions; queries that would give negative ones run exhaustively whatever the code says.

Planning and each strategy are separate compiled functions on purpose: compiled into one body,
the three kernels' hot loops ran up to three times slower.

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
NOTHING = -1  # no usable term: empty result
STRATEGY_CODES = {"auto": AUTO, "exhaustive": EXHAUSTIVE, "maxscore": MAXSCORE, "approx": APPROX}
MAXSCORE_MIN_POSTINGS = 20_000  # below this, accumulating every posting is as fast (benchmarks/scale.py)
PROBE_COST = 3  # the best fit of auto's choices to 1M-document BM25 and vector queries (benchmarks/scale.py)


@jit
def maxscore_pays(indptr, term_max, terms, weights, cost, n_docs):
    """Whether MaxScore should beat exhaustive search on this query, by a rough cost model.

    Once the top k settle, θ is at least about the strongest term's bound, so the weakest terms
    whose bounds sum below it become non-essential. MaxScore then reads the essential postings and
    probes each non-essential list per candidate, a probe costing ``PROBE_COST`` postings read in
    order; exhaustive search reads every posting and, when they cover much of the collection,
    scans all documents.
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
    return (cost - skipped) * (1 + PROBE_COST * non_essential) < cost + n_docs / 4


@jit
def plan(indptr, term_max, non_negative, n_docs, q_terms, q_weights, strategy, out_terms, out_weights):
    """Copy the usable terms (known, finite non-zero weight) into ``out_*``; return (code, count)."""
    n_terms = len(indptr) - 1
    m = 0
    cost = 0
    negative = not non_negative
    for i in range(len(q_terms)):
        t, w = q_terms[i], q_weights[i]
        if 0 <= t < n_terms and w != 0 and np.isfinite(w):
            out_terms[m], out_weights[m] = t, w
            m += 1
            cost += indptr[t + 1] - indptr[t]
            negative = negative or w < 0
    if m == 0:
        return NOTHING, 0
    if negative or strategy == EXHAUSTIVE:
        return EXHAUSTIVE, m
    if strategy == AUTO:
        pays = cost > MAXSCORE_MIN_POSTINGS and maxscore_pays(indptr, term_max, out_terms[:m], out_weights[:m],
                                                               cost, n_docs)
        return (MAXSCORE if pays else EXHAUSTIVE), m
    return strategy, m


@jit
def plan_batch(indptr, term_max, non_negative, n_docs, q_ptr, q_terms, q_weights, strategy, out_ptr, out_terms,
               out_weights, codes):
    """:func:`plan` for a CSR batch of queries, writing a CSR batch of cleaned queries."""
    out_ptr[0] = 0
    for q in range(len(q_ptr) - 1):
        lo, hi, start = q_ptr[q], q_ptr[q + 1], out_ptr[q]
        codes[q], m = plan(indptr, term_max, non_negative, n_docs, q_terms[lo:hi], q_weights[lo:hi], strategy,
                           out_terms[start:], out_weights[start:])
        out_ptr[q + 1] = start + m


@jit
def worker_buffers(n_docs, k):
    """One worker's scratch arrays: accumulator, touched flags and list, heap scores and docs."""
    return (np.zeros(n_docs, dtype=np.float32), np.zeros(n_docs, dtype=np.uint8), np.empty(n_docs, dtype=np.int32),
            np.empty(k, dtype=np.float32), np.empty(k, dtype=np.int32))


@numba.njit(cache=True, nogil=True, parallel=True)
def batch_exhaustive(indptr, docids, impacts, n_docs, q_ptr, q_terms, q_weights, queries, k, n_workers, out_docs,
                     out_scores, out_n):
    """Exhaustive top-k of ``queries`` (indices into the CSR batch), spread over workers."""
    for w in numba.prange(n_workers):
        acc, seen, touched, hs, hd = worker_buffers(n_docs, k)
        for j in range(w, len(queries), n_workers):
            q = queries[j]
            lo, hi = q_ptr[q], q_ptr[q + 1]
            out_n[q] = topk_exhaustive(indptr, docids, impacts, q_terms[lo:hi], q_weights[lo:hi], k, acc, seen,
                                       touched, hs, hd, out_docs[q], out_scores[q])


@numba.njit(cache=True, nogil=True, parallel=True)
def batch_maxscore(index, q_ptr, q_terms, q_weights, queries, k, n_workers, out_docs, out_scores, out_n):
    """MaxScore top-k of ``queries``, spread over workers."""
    indptr, docids, impacts, term_max, block_ptr, block_last, block_max, block_size, _ = index
    for w in numba.prange(n_workers):
        hs = np.empty(k, dtype=np.float32)
        hd = np.empty(k, dtype=np.int32)
        for j in range(w, len(queries), n_workers):
            q = queries[j]
            lo, hi = q_ptr[q], q_ptr[q + 1]
            out_n[q] = topk_maxscore(indptr, docids, impacts, term_max, block_ptr, block_last, block_max, block_size,
                                     q_terms[lo:hi], q_weights[lo:hi], k, hs, hd, out_docs[q], out_scores[q])


@numba.njit(cache=True, nogil=True, parallel=True)
def batch_approx(index, pruned, approx, n_docs, q_ptr, q_terms, q_weights, queries, k, n_workers, out_docs,
                 out_scores, out_n):
    """Approximate top-k of ``queries``, spread over workers."""
    indptr, docids, impacts, term_max, _, _, _, block_size, _ = index
    for w in numba.prange(n_workers):
        acc, seen, touched, hs, hd = worker_buffers(n_docs, k)
        for j in range(w, len(queries), n_workers):
            q = queries[j]
            lo, hi = q_ptr[q], q_ptr[q + 1]
            out_n[q] = topk_approx(indptr, docids, impacts, term_max, *pruned, block_size, q_terms[lo:hi],
                                   q_weights[lo:hi], k, *approx, acc, seen, touched, hs, hd, out_docs[q],
                                   out_scores[q])
