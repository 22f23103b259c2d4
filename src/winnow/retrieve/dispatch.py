"""Plan a query (drop unusable terms, pick a strategy), then run one kernel per strategy.

Strategy codes: 0 = auto (MaxScore when the query reads more than ``MAXSCORE_MIN_POSTINGS``
postings and :func:`maxscore_pays`), 1 = exhaustive, 2 = MaxScore, 3 = approximate
(:mod:`winnow.retrieve.approx`). MaxScore and the approximate search need non-negative
contributions; queries that would give negative ones run exhaustively whatever the code says.

Planning and each strategy are separate compiled functions on purpose: compiled into one body,
the three kernels' hot loops ran up to three times slower.

A segment's postings travel as :class:`SegmentArrays` (a named tuple numba compiles as one
argument), ``pruned`` as the same for its pruned postings (the full ones when it has none);
``approx`` is ``(query_cut, prune_factor, candidates)``; ``allowed`` is a uint8 per document
(empty: all allowed). Batch outputs are flat: query ``q`` owns ``out_ptr[q]:out_ptr[q+1]``, sized
by ``min(k, postings the query reads)``, so a huge ``k`` allocates no more than the postings.
"""

from __future__ import annotations

from typing import NamedTuple

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


class SegmentArrays(NamedTuple):
    """One segment's term-major postings and the bounds that dynamic pruning reads."""

    indptr: np.ndarray  # int64 (V + 1,)
    docids: np.ndarray  # int32, ascending per term
    impacts: np.ndarray  # float32 or uint8
    term_max: np.ndarray
    block_ptr: np.ndarray
    block_last: np.ndarray
    block_max: np.ndarray
    block_size: int
    non_negative: bool


@jit
def plan(indptr, term_max, non_negative, n_docs, q_terms, q_weights, strategy, out_terms, out_weights):
    """Copy the usable terms (known, finite non-zero weight) into ``out_*``.

    Returns ``(code, count, postings)``: the strategy, the number of usable terms and the number of
    postings they hold (an upper bound on the results).
    """
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
    if m == 0 or cost == 0:
        return NOTHING, m, cost
    if negative or strategy == EXHAUSTIVE:
        return EXHAUSTIVE, m, cost
    if strategy == AUTO:
        pays = cost > MAXSCORE_MIN_POSTINGS and maxscore_pays(indptr, term_max, out_terms[:m], out_weights[:m],
                                                               cost, n_docs)
        return (MAXSCORE if pays else EXHAUSTIVE), m, cost
    return strategy, m, cost


@jit
def plan_batch(indptr, term_max, non_negative, n_docs, q_ptr, q_terms, q_weights, strategy, out_ptr, out_terms,
               out_weights, codes, costs):
    """:func:`plan` for a CSR batch of queries, writing a CSR batch of cleaned queries."""
    out_ptr[0] = 0
    for q in range(len(q_ptr) - 1):
        lo, hi, start = q_ptr[q], q_ptr[q + 1], out_ptr[q]
        codes[q], m, costs[q] = plan(indptr, term_max, non_negative, n_docs, q_terms[lo:hi], q_weights[lo:hi],
                                     strategy, out_terms[start:], out_weights[start:])
        out_ptr[q + 1] = start + m


@jit
def worker_buffers(n_docs, k):
    """One worker's scratch arrays: accumulator, touched flags and list, heap scores and docs."""
    return (np.zeros(n_docs, dtype=np.float32), np.zeros(n_docs, dtype=np.uint8), np.empty(n_docs, dtype=np.int32),
            np.empty(k, dtype=np.float32), np.empty(k, dtype=np.int32))


@numba.njit(cache=True, nogil=True, parallel=True)
def batch_exhaustive(seg, allowed, n_docs, q_ptr, q_terms, q_weights, queries, k, n_workers, out_ptr, out_docs,
                     out_scores, out_n):
    """Exhaustive top-k of ``queries`` (indices into the CSR batch), spread over workers."""
    for w in numba.prange(n_workers):
        acc, seen, touched, hs, hd = worker_buffers(n_docs, k)
        for j in range(w, len(queries), n_workers):
            q = queries[j]
            lo, hi, a, b = q_ptr[q], q_ptr[q + 1], out_ptr[q], out_ptr[q + 1]
            out_n[q] = topk_exhaustive(seg.indptr, seg.docids, seg.impacts, q_terms[lo:hi], q_weights[lo:hi],
                                       b - a, allowed, acc, seen, touched, hs, hd, out_docs[a:b], out_scores[a:b])


@numba.njit(cache=True, nogil=True, parallel=True)
def batch_maxscore(seg, allowed, q_ptr, q_terms, q_weights, queries, k, n_workers, out_ptr, out_docs, out_scores,
                   out_n):
    """MaxScore top-k of ``queries``, spread over workers."""
    for w in numba.prange(n_workers):
        hs = np.empty(k, dtype=np.float32)
        hd = np.empty(k, dtype=np.int32)
        for j in range(w, len(queries), n_workers):
            q = queries[j]
            lo, hi, a, b = q_ptr[q], q_ptr[q + 1], out_ptr[q], out_ptr[q + 1]
            out_n[q] = topk_maxscore(seg.indptr, seg.docids, seg.impacts, seg.term_max, seg.block_ptr,
                                     seg.block_last, seg.block_max, seg.block_size, q_terms[lo:hi],
                                     q_weights[lo:hi], b - a, allowed, hs, hd, out_docs[a:b], out_scores[a:b])


@numba.njit(cache=True, nogil=True, parallel=True)
def batch_approx(seg, pruned, allowed, approx, n_docs, q_ptr, q_terms, q_weights, queries, k, n_workers, out_ptr,
                 out_docs, out_scores, out_n):
    """Approximate top-k of ``queries``, spread over workers."""
    query_cut, prune_factor, candidates = approx
    for w in numba.prange(n_workers):
        acc, seen, touched, hs, hd = worker_buffers(n_docs, k)
        for j in range(w, len(queries), n_workers):
            q = queries[j]
            lo, hi, a, b = q_ptr[q], q_ptr[q + 1], out_ptr[q], out_ptr[q + 1]
            out_n[q] = topk_approx(seg.indptr, seg.docids, seg.impacts, seg.term_max, pruned.indptr, pruned.docids,
                                   pruned.impacts, pruned.term_max, pruned.block_ptr, pruned.block_last,
                                   pruned.block_max, seg.block_size, q_terms[lo:hi], q_weights[lo:hi], b - a, allowed,
                                   query_cut, prune_factor, candidates, acc, seen, touched, hs, hd, out_docs[a:b],
                                   out_scores[a:b])


@jit
def merge_sorted(k, a_ptr, a_docs, a_scores, a_n, b_ptr, b_docs, b_scores, b_n, b_base, out_ptr, out_docs,
                 out_scores, out_n):
    """Merge two batches of best-first results into their best ``k`` per query.

    ``a`` holds global document numbers, ``b`` a later segment's local ones (``b_base`` + local is
    global and above every number in ``a``), so ranking ties keep the global document order.
    """
    for q in range(len(a_n)):
        i, j, o = a_ptr[q], b_ptr[q], out_ptr[q]
        i_end, j_end, o_end = i + a_n[q], j + b_n[q], out_ptr[q] + k
        if o_end > out_ptr[q + 1]:
            o_end = out_ptr[q + 1]
        while o < o_end and (i < i_end or j < j_end):
            if j == j_end or (i < i_end and a_scores[i] >= b_scores[j]):
                out_docs[o], out_scores[o] = a_docs[i], a_scores[i]
                i += 1
            else:
                out_docs[o], out_scores[o] = b_base + b_docs[j], b_scores[j]
                j += 1
            o += 1
        out_n[q] = o - out_ptr[q]
