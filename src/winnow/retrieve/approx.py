"""Approximate top-k: candidates from pruned postings, then exact rescoring on the full postings.

Knobs (each trades recall for speed; ``benchmarks/engine_peers.py`` measures the recall):

- ``max_postings`` (index side, :func:`winnow.index.pruned.add_pruned_postings`): postings kept per term.
- ``query_cut``: only the query's ``query_cut`` strongest terms (weight x term max) find candidates.
- ``prune_factor``: below 1, candidates come from MaxScore, which skips a document once
  ``prune_factor`` x its upper bound cannot beat the k-th candidate score; at 1 (the default)
  they come from accumulating every pruned posting of the kept terms, which is faster when the
  pruned lists are short.
- ``candidates``: how many candidates are rescored (at least ``k``).

Every returned score is the exact score over all query terms and full postings.
"""

from __future__ import annotations

import numpy as np

from winnow.retrieve.kernels import exact_score, heap_offer, heap_sorted, jit, topk_exhaustive
from winnow.retrieve.maxscore import topk_maxscore


@jit
def topk_approx(indptr, docids, impacts, term_max, p_indptr, p_docids, p_impacts, p_term_max, p_block_ptr,
                p_block_last, p_block_max, block_size, q_terms, q_weights, k, allowed, query_cut, prune_factor,
                candidates, acc, seen, touched, hs, hd, out_docs, out_scores):
    """Approximate top-``k`` of one query with non-negative weights; returns the number of results.

    Candidates come from allowed documents only (``allowed``: uint8 per document, or empty for all).
    """
    m = len(q_terms)
    cut = min(m, query_cut) if query_cut > 0 else m
    strength = np.empty(m, np.float64)
    for i in range(m):
        strength[i] = -q_weights[i] * np.float64(term_max[q_terms[i]])
    keep = np.sort(np.argsort(strength, kind="mergesort")[:cut])
    c = max(candidates, k)
    cand_docs = np.empty(c, np.int32)
    cand_scores = np.empty(c, np.float32)
    chs = np.empty(c, np.float32)
    chd = np.empty(c, np.int32)
    if prune_factor < 1:
        n_cand = topk_maxscore(p_indptr, p_docids, p_impacts, p_term_max, p_block_ptr, p_block_last, p_block_max,
                               block_size, q_terms[keep], q_weights[keep], c, allowed, chs, chd, cand_docs,
                               cand_scores, prune_factor)
    else:
        n_cand = topk_exhaustive(p_indptr, p_docids, p_impacts, q_terms[keep], q_weights[keep], c, allowed, acc, seen,
                                 touched, chs, chd, cand_docs, cand_scores)
    n = 0
    for j in range(n_cand):
        d = cand_docs[j]
        s = exact_score(indptr, docids, impacts, q_terms, q_weights, d)
        if n < k or s > hs[0] or (s == hs[0] and d < hd[0]):
            n = heap_offer(hs, hd, n, k, s, d)
    return heap_sorted(hs, hd, n, out_docs, out_scores)
