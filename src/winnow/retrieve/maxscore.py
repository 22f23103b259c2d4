"""Block-max MaxScore: exact top-k with dynamic pruning, over windows of documents.

MaxScore (Turtle & Flood 1995) orders query terms by their maximum contribution; once the
k-th best score θ exceeds the summed bounds of the weakest terms, those terms become
non-essential: only documents in the essential terms' postings are candidates, and the
non-essential lists are merely probed. Block maxima (Ding & Suel 2011; Mallia et al. 2019's
block-max MaxScore) tighten each probe's bound, so most probes skip whole blocks.

As in Lucene's MaxScore scorer, candidates are gathered a window of ``WINDOW`` document
numbers at a time: the essential postings of the window are accumulated term-at-a-time into a
small array, then its candidates are checked against the bounds and probed in document order.
This keeps long queries (learned sparse, 20-60 terms) as cheap per posting as exhaustive search.

Exactness: bounds are summed in float64 with a relative slack of ``(m + 1) * 2**-23`` for float32
rounding; a document that may enter the top k is rescored with
:func:`~winnow.retrieve.kernels.exact_score`, which sums exactly as the exhaustive kernel does,
so both return identical results. Requires non-negative impacts and weights (the searcher falls
back to exhaustive search otherwise).
"""

from __future__ import annotations

import numpy as np

from winnow.retrieve.kernels import exact_score, heap_offer, heap_sorted, jit

WINDOW = 4096


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
    ub = np.empty(m + 1, np.float64)  # ub[j + 1]: summed bounds of terms 0..j in this order; ub[0] = 0
    ub[0] = 0.0
    for j in range(m):
        i = order[j]
        t = q_terms[i]
        w[j] = q_weights[i]
        pos[j], end[j] = indptr[t], indptr[t + 1]
        blk[j], blk_end[j] = block_ptr[t], block_ptr[t + 1]
        first_block[j], base[j] = block_ptr[t], indptr[t]
        ub[j + 1] = ub[j] + bound[i]
    slack = (1 + (m + 1) * 2.0 ** -23) * prune_factor
    acc = np.zeros(WINDOW, np.float64)
    mark = np.zeros(WINDOW, np.uint8)
    n = 0
    theta = -np.inf
    first_ess = 0  # terms [0, first_ess) are non-essential
    big = np.iinfo(np.int32).max
    while first_ess < m:
        start = big
        for j in range(first_ess, m):
            if pos[j] < end[j] and docids[pos[j]] < start:
                start = docids[pos[j]]
        if start == big:
            break
        stop = start + WINDOW
        fe = first_ess  # essential terms of this window, even if θ rises within it
        for j in range(fe, m):
            wj, p, e = w[j], pos[j], end[j]
            while p < e and docids[p] < stop:
                off = docids[p] - start
                mark[off] = 1
                acc[off] += wj * np.float32(impacts[p])
                p += 1
            pos[j] = p
        for off in range(WINDOW):
            if mark[off] == 0:
                continue
            mark[off] = 0
            score = acc[off]
            acc[off] = 0.0
            d = start + off
            if n == k and (score + ub[fe]) * slack <= theta:
                continue
            alive = True
            for j in range(fe - 1, -1, -1):
                if n == k and (score + ub[j + 1]) * slack <= theta:
                    alive = False
                    break
                while blk[j] < blk_end[j] and block_last[blk[j]] < d:  # shallow move to d's block
                    blk[j] += 1
                if blk[j] == blk_end[j]:
                    continue
                if n == k and (score + w[j] * np.float64(block_max[blk[j]]) + ub[j]) * slack <= theta:
                    alive = False
                    break
                p = max(pos[j], base[j] + (blk[j] - first_block[j]) * block_size)
                while p < end[j] and docids[p] < d:
                    p += 1
                pos[j] = p
                if p < end[j] and docids[p] == d:
                    score += w[j] * np.float32(impacts[p])
            if not alive or (n == k and score * slack <= theta):
                continue
            s = exact_score(indptr, docids, impacts, q_terms, q_weights, d)
            if n < k or s > hs[0] or (s == hs[0] and d < hd[0]):
                n = heap_offer(hs, hd, n, k, s, d)
                if n == k:
                    theta = hs[0]
                    while first_ess < m and ub[first_ess + 1] * slack <= theta:
                        first_ess += 1
    return heap_sorted(hs, hd, n, out_docs, out_scores)
