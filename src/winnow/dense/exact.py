"""Exact top-k by inner product over (memory-mapped) vectors: BLAS in blocks, then a partition.

For a batch of queries ``Q`` (``q x d``) and the document vectors ``V`` (``n x d``, float32 or
float16), each block of ``V`` is scored with one matrix product ``Q @ V_block^T`` (all cores, by
BLAS), reduced to its best ``k`` per query with ``np.argpartition`` and merged into the running
best ``k``. Ties are broken by the lower document number, at every step, so the result is the
same whatever the block size. Documents outside an ``allowed`` mask score ``-inf`` and are never
returned.
"""

from __future__ import annotations

import numpy as np

BLOCK_BYTES = 64 << 20  # float32 bytes of document vectors scored per matrix product


def _best(scores: np.ndarray, docnos: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` columns of each row of ``scores`` (``q x m``, ``docnos`` the same shape or
    ``(m,)``), best first, ties by lower docno; ``-inf`` entries sort last."""
    m = scores.shape[1]
    if m > k:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1)
        # argpartition picks among equal scores at the boundary arbitrarily: redo rows with such ties
        # (a -inf boundary means fewer than k allowed documents, all of them already picked)
        tied = np.flatnonzero(np.isfinite(kth) & ((scores >= kth[:, None]).sum(axis=1) > k))
        for row in tied:
            candidates = np.flatnonzero(scores[row] >= kth[row])
            cand_docnos = docnos[row, candidates] if docnos.ndim == 2 else docnos[candidates]
            part[row] = candidates[np.lexsort((cand_docnos, -scores[row, candidates]))[:k]]
        scores = np.take_along_axis(scores, part, axis=1)
        docnos = np.take_along_axis(docnos, part, axis=1) if docnos.ndim == 2 else docnos[part]
    elif docnos.ndim == 1:
        docnos = np.broadcast_to(docnos, scores.shape)
    order = np.lexsort((docnos, -scores), axis=1)
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(docnos, order, axis=1)


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               block_rows: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` documents by inner product for each query.

    Args:
        vectors: ``(n, d)`` float32 or float16 document vectors (a memory map is read block by block).
        queries: ``(q, d)`` float32 query vectors.
        k: Hits per query.
        allowed: Optional ``(n,)`` bool mask; other documents are never returned.
        block_rows: Documents per matrix product (default: about 64 MB of float32).

    Returns:
        ``(docnos int64 (q, k'), scores float32 (q, k'), counts int64 (q,))`` with ``k' = min(k, n)``;
        row ``i`` holds ``counts[i]`` valid hits (fewer than ``k'`` only when ``allowed`` excludes
        documents), best first.
    """
    n, d = vectors.shape
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = min(k, n)
    q = queries.shape[0]
    if k == 0 or q == 0:
        return np.zeros((q, 0), np.int64), np.zeros((q, 0), np.float32), np.zeros(q, np.int64)
    block_rows = block_rows or max(k, BLOCK_BYTES // (4 * d))
    best_scores = np.full((q, 0), -np.inf, np.float32)
    best_docnos = np.zeros((q, 0), np.int64)
    for lo in range(0, n, block_rows):
        hi = min(lo + block_rows, n)
        block = np.asarray(vectors[lo:hi], dtype=np.float32)
        scores = queries @ block.T
        if allowed is not None:
            scores[:, ~allowed[lo:hi]] = -np.inf
        block_scores, block_docnos = _best(scores, np.arange(lo, hi, dtype=np.int64), k)
        best_scores, best_docnos = _best(np.concatenate([best_scores, block_scores], axis=1),
                                         np.concatenate([best_docnos, block_docnos], axis=1), k)
    counts = np.isfinite(best_scores).sum(axis=1).astype(np.int64)
    return best_docnos, best_scores, counts
