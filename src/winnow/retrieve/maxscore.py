"""Block-max MaxScore: exact document-at-a-time top-k with dynamic pruning.

MaxScore (Turtle & Flood 1995) orders query terms by their maximum contribution; once the
k-th best score θ exceeds the summed bounds of the weakest terms, those terms become
non-essential: only documents in the essential terms' postings are candidates, and the
non-essential lists are merely probed. Block maxima (Ding & Suel 2011; Mallia et al. 2019's
block-max MaxScore) tighten each probe's bound, so most probes skip whole blocks.

Exactness: a document's final score is summed in float32 in query-term order, exactly as
:func:`winnow.retrieve.kernels.topk_exhaustive` sums it, so both return identical results.
Bounds carry a slack of ``(m + 1) * 2**-23`` relative to cover float32 rounding. Requires
non-negative impacts and weights (the searcher falls back to exhaustive search otherwise).
"""

from __future__ import annotations

import numpy as np

from winnow.retrieve.kernels import heap_offer, heap_sorted, jit


@jit
def topk_maxscore(indptr, docids, impacts, term_max, block_ptr, block_last, block_max, block_size,
                  q_terms, q_weights, k, hs, hd, out_docs, out_scores, prune_factor=1.0):
    """Top-``k`` of one query (``k >= 1``); returns the number of results written.

    ``prune_factor`` < 1 makes the search approximate: a document is skipped once its upper bound
    times the factor cannot beat the k-th score.
    """
    m = len(q_terms)
    bound = np.empty(m, np.float64)
    for i in range(m):
        bound[i] = q_weights[i] * np.float64(term_max[q_terms[i]])
    order = np.argsort(bound)  # weakest term first
    w = np.empty(m, np.float32)
    pos = np.empty(m, np.int64)
    end = np.empty(m, np.int64)
    blk = np.empty(m, np.int64)
    blk_end = np.empty(m, np.int64)
    first_block = np.empty(m, np.int64)
    base = np.empty(m, np.int64)
    ub = np.empty(m, np.float64)  # ub[j]: summed bounds of terms 0..j in this order
    total = 0.0
    for j in range(m):
        i = order[j]
        t = q_terms[i]
        w[j] = q_weights[i]
        pos[j], end[j] = indptr[t], indptr[t + 1]
        blk[j], blk_end[j] = block_ptr[t], block_ptr[t + 1]
        first_block[j], base[j] = block_ptr[t], indptr[t]
        total += bound[i]
        ub[j] = total
    slack = (1 + (m + 1) * 2.0 ** -23) * prune_factor
    contrib = np.zeros(m, np.float32)  # per original term index, for the canonical sum
    n = 0
    theta = -np.inf
    first_ess = 0  # terms [0, first_ess) are non-essential
    big = np.iinfo(np.int32).max
    while first_ess < m:
        d = big
        for j in range(first_ess, m):
            if pos[j] < end[j] and docids[pos[j]] < d:
                d = docids[pos[j]]
        if d == big:
            break
        score = 0.0
        for j in range(first_ess, m):
            if pos[j] < end[j] and docids[pos[j]] == d:
                c = w[j] * np.float32(impacts[pos[j]])
                contrib[order[j]] = c
                score += c
                pos[j] += 1
        alive = True
        for j in range(first_ess - 1, -1, -1):
            rest = ub[j - 1] if j > 0 else 0.0
            if n == k and (score + ub[j]) * slack <= theta:
                alive = False
                break
            while blk[j] < blk_end[j] and block_last[blk[j]] < d:  # shallow move to d's block
                blk[j] += 1
            if blk[j] == blk_end[j]:
                continue
            if n == k and (score + w[j] * np.float64(block_max[blk[j]]) + rest) * slack <= theta:
                alive = False
                break
            p = max(pos[j], base[j] + (blk[j] - first_block[j]) * block_size)
            while p < end[j] and docids[p] < d:
                p += 1
            pos[j] = p
            if p < end[j] and docids[p] == d:
                c = w[j] * np.float32(impacts[p])
                contrib[order[j]] = c
                score += c
        if alive:
            s = np.float32(0)
            for i in range(m):
                s += contrib[i]
            if n < k or s > hs[0] or (s == hs[0] and d < hd[0]):
                n = heap_offer(hs, hd, n, k, s, d)
                if n == k:
                    theta = hs[0]
                    while first_ess < m and ub[first_ess] * slack <= theta:
                        first_ess += 1
        for i in range(m):
            contrib[i] = 0
    return heap_sorted(hs, hd, n, out_docs, out_scores)
