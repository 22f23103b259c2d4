"""Batch top-k: queries spread over cores with numba ``prange``; each worker owns its buffers."""

from __future__ import annotations

import numba
import numpy as np

from winnow.retrieve.kernels import topk_exhaustive
from winnow.retrieve.maxscore import topk_maxscore


@numba.njit(cache=True, nogil=True, parallel=True)
def topk_batch(indptr, docids, impacts, term_max, block_ptr, block_last, block_max, block_size, q_ptr, q_terms,
               q_weights, use_maxscore, k, n_docs, n_workers, out_docs, out_scores, out_n):
    """Top-k for a batch of queries (CSR ``q_ptr``); ``use_maxscore[q]`` picks each query's strategy."""
    n_queries = len(q_ptr) - 1
    for w in numba.prange(n_workers):
        acc = np.zeros(n_docs, dtype=np.float32)
        seen = np.zeros(n_docs, dtype=np.uint8)
        touched = np.empty(n_docs, dtype=np.int32)
        hs = np.empty(k, dtype=np.float32)
        hd = np.empty(k, dtype=np.int32)
        for q in range(w, n_queries, n_workers):
            lo, hi = q_ptr[q], q_ptr[q + 1]
            if use_maxscore[q]:
                out_n[q] = topk_maxscore(indptr, docids, impacts, term_max, block_ptr, block_last, block_max,
                                         block_size, q_terms[lo:hi], q_weights[lo:hi], k, hs, hd, out_docs[q],
                                         out_scores[q])
            else:
                out_n[q] = topk_exhaustive(indptr, docids, impacts, q_terms[lo:hi], q_weights[lo:hi], k, acc, seen,
                                           touched, hs, hd, out_docs[q], out_scores[q])
