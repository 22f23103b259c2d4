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
(empty: all allowed). Batch heaps and outputs are flat: query ``q`` owns ``heap_ptr[q]:heap_ptr[q+1]``,
sized by ``min(k, postings the query reads)``, so a huge ``k`` allocates no more than the postings.

Segments are searched in order into one heap per query, holding global document numbers: a later
segment starts from the k-th score θ of the earlier ones (MaxScore skips what cannot beat it
from its first window), and its documents, numbered above every kept one, lose ties to them, so
the heap ends as the top k of one merged segment would.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from winnow.jit import jit, prange
from winnow.retrieve.approx import topk_approx
from winnow.retrieve.kernels import better, heap_offer, heap_sorted, offer_exhaustive
from winnow.retrieve.maxscore import offer_maxscore

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
def plan_batch(indptr, term_max, non_negative, n_docs, q_ptr, q_terms, q_weights, strategies, out_ptr, out_terms,
               out_weights, codes, costs):
    """:func:`plan` for a CSR batch of queries (query ``q`` asking for ``strategies[q]``), writing a CSR
    batch of cleaned queries."""
    out_ptr[0] = 0
    for q in range(len(q_ptr) - 1):
        lo, hi, start = q_ptr[q], q_ptr[q + 1], out_ptr[q]
        codes[q], m, costs[q] = plan(indptr, term_max, non_negative, n_docs, q_terms[lo:hi], q_weights[lo:hi],
                                     strategies[q], out_terms[start:], out_weights[start:])
        out_ptr[q + 1] = start + m


@jit
def worker_buffers(n_docs):
    """One worker's scratch arrays: accumulator, touched flags and list."""
    return np.zeros(n_docs, dtype=np.float32), np.zeros(n_docs, dtype=np.uint8), np.empty(n_docs, dtype=np.int32)


@jit(parallel=True)
def batch_exhaustive(seg, allowed, base, n_docs, q_ptr, q_terms, q_weights, queries, n_workers, heap_ptr, heap_s,
                     heap_d, heap_n):
    """Exhaustive search of ``queries`` (indices into the CSR batch) in one segment, spread over
    workers, offering documents (numbered ``base`` + local) to each query's heap (see module doc)."""
    for w in prange(n_workers):
        acc, seen, touched = worker_buffers(n_docs)
        for j in range(w, len(queries), n_workers):
            q = queries[j]
            lo, hi, a, b = q_ptr[q], q_ptr[q + 1], heap_ptr[q], heap_ptr[q + 1]
            heap_n[q] = offer_exhaustive(seg.indptr, seg.docids, seg.impacts, q_terms[lo:hi], q_weights[lo:hi],
                                         b - a, allowed, acc, seen, touched, heap_s[a:b], heap_d[a:b], heap_n[q],
                                         base)


@jit(parallel=True)
def batch_maxscore(seg, allowed, base, q_ptr, q_terms, q_weights, queries, n_workers, heap_ptr, heap_s, heap_d,
                   heap_n):
    """MaxScore search of ``queries`` in one segment, spread over workers, offering to each query's heap."""
    for w in prange(n_workers):
        for j in range(w, len(queries), n_workers):
            q = queries[j]
            lo, hi, a, b = q_ptr[q], q_ptr[q + 1], heap_ptr[q], heap_ptr[q + 1]
            heap_n[q] = offer_maxscore(seg.indptr, seg.docids, seg.impacts, seg.term_max, seg.block_ptr,
                                       seg.block_last, seg.block_max, seg.block_size, q_terms[lo:hi],
                                       q_weights[lo:hi], b - a, allowed, heap_s[a:b], heap_d[a:b], heap_n[q], base)


@jit(parallel=True)
def batch_approx(seg, pruned, allowed, approx, base, n_docs, q_ptr, q_terms, q_weights, costs, queries, k,
                 n_workers, heap_ptr, heap_s, heap_d, heap_n):
    """Approximate top-k of ``queries`` in one segment (``min(k, costs[q])`` each, as if it were the
    only one), spread over workers, offered to each query's heap."""
    query_cut, prune_factor, candidates = approx
    for w in prange(n_workers):
        acc, seen, touched = worker_buffers(n_docs)
        hs, hd = np.empty(k, dtype=np.float32), np.empty(k, dtype=np.int32)
        docs, scores = np.empty(k, dtype=np.int32), np.empty(k, dtype=np.float32)
        for j in range(w, len(queries), n_workers):
            q = queries[j]
            lo, hi, a, b = q_ptr[q], q_ptr[q + 1], heap_ptr[q], heap_ptr[q + 1]
            found = topk_approx(seg.indptr, seg.docids, seg.impacts, seg.term_max, pruned.indptr, pruned.docids,
                                pruned.impacts, pruned.term_max, pruned.block_ptr, pruned.block_last,
                                pruned.block_max, seg.block_size, q_terms[lo:hi], q_weights[lo:hi],
                                min(b - a, costs[q]), allowed, query_cut, prune_factor, candidates, acc, seen,
                                touched, hs, hd, docs, scores)
            heap_n[q] = offer_all(heap_s[a:b], heap_d[a:b], heap_n[q], docs[:found], scores[:found], base)


@jit
def offer_all(hs, hd, n, docs, scores, base):
    """Offer ``(scores[i], base + docs[i])`` to a heap of ``n`` entries (capacity ``len(hs)``); return its size."""
    k = len(hs)
    for i in range(len(docs)):
        s, d = scores[i], base + docs[i]
        if n < k or better(s, d, hs[0], hd[0]):
            n = heap_offer(hs, hd, n, k, s, d)
    return n


@jit
def batch_sorted(heap_ptr, heap_s, heap_d, heap_n, out_docs, out_scores):
    """Each query's heap, best first, into the same slice of the outputs (the heaps are consumed)."""
    for q in range(len(heap_n)):
        a, b = heap_ptr[q], heap_ptr[q + 1]
        heap_sorted(heap_s[a:b], heap_d[a:b], heap_n[q], out_docs[a:b], out_scores[a:b])
