"""Block-max MaxScore: exact top-k with dynamic pruning, over windows of documents.

MaxScore (Turtle & Flood 1995) orders query terms by their maximum contribution; once the
k-th best score θ exceeds the summed bounds of the weakest terms, those terms become
non-essential: only documents in the essential terms' postings are candidates, and the
non-essential lists are merely probed. Block maxima (Ding & Suel 2011; Mallia et al. 2019's
block-max MaxScore) tighten each probe's bound, so most probes skip whole blocks.

As in Lucene's MaxScore scorer, candidates are gathered a window of ``WINDOW`` document
numbers at a time, and each window partitions the terms afresh by their largest block maximum
inside the window: a term whose blocks there are weak is only probed, and a window whose summed
bounds cannot beat θ is skipped without reading a posting. The window's essential postings are
accumulated term-at-a-time into a small array and marked in a bit set, whose set bits (found
with a de Bruijn multiply) give the candidates in document order for probing. This keeps long
queries (learned sparse, 20-60 terms) as cheap per posting as exhaustive search, and a window
with few candidates costs ``WINDOW / 64`` word tests rather than ``WINDOW`` byte tests.

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
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_LOW_BIT = np.zeros(64, np.int64)  # _LOW_BIT[(b * _DEBRUIJN) >> 58] = log2(b) for a power of two b
_LOW_BIT[[((1 << i) * int(_DEBRUIJN) % 2**64) >> 58 for i in range(64)]] = np.arange(64)


@jit
def topk_maxscore(indptr, docids, impacts, term_max, block_ptr, block_last, block_max, block_size,
                  q_terms, q_weights, k, allowed, hs, hd, out_docs, out_scores, prune_factor=1.0, window=WINDOW):
    """Top-``k`` of one query (``k >= 1``) by :func:`offer_maxscore`; returns the number of results written."""
    n = offer_maxscore(indptr, docids, impacts, term_max, block_ptr, block_last, block_max, block_size, q_terms,
                       q_weights, k, allowed, hs, hd, 0, 0, prune_factor, window)
    return heap_sorted(hs, hd, n, out_docs, out_scores)


@jit
def offer_maxscore(indptr, docids, impacts, term_max, block_ptr, block_last, block_max, block_size,
                   q_terms, q_weights, k, allowed, hs, hd, n, base, prune_factor=1.0, window=WINDOW):
    """Offer one query's competitive documents (``k >= 1``) to a heap; return its new size.

    The heap ``hs``/``hd`` holds ``n`` entries on entry: the best of earlier segments, numbered
    globally and all below ``base``, this segment's documents entering as ``base`` + their number.
    A full heap's k-th score is θ from the start, so a later segment skips at once the terms,
    windows and documents that cannot beat it (a tie cannot either: it would have a higher number).
    ``allowed`` (uint8 per document, or empty for all) keeps masked documents out of the top k.
    ``prune_factor`` < 1 makes the search approximate: a document is skipped once its upper bound
    times the factor cannot beat the k-th score. ``window`` (a multiple of 64) is the number of
    document numbers gathered at a time.
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
    term_start = np.empty(m, np.int64)
    ub = np.empty(m + 1, np.float64)  # ub[j + 1]: summed bounds of terms 0..j in this order; ub[0] = 0
    ub[0] = 0.0
    for j in range(m):
        i = order[j]
        t = q_terms[i]
        w[j] = q_weights[i]
        pos[j], end[j] = indptr[t], indptr[t + 1]
        blk[j], blk_end[j] = block_ptr[t], block_ptr[t + 1]
        first_block[j], term_start[j] = block_ptr[t], indptr[t]
        ub[j + 1] = ub[j] + bound[i]
    wb = np.empty(m, np.float64)  # each term's bound within the current window
    word = np.empty(m, np.int64)  # terms by window bound, weakest first
    wub = np.empty(m + 1, np.float64)  # wub[i + 1]: summed window bounds of word[0..i]
    wub[0] = 0.0
    slack = (1 + (m + 1) * 2.0 ** -23) * prune_factor
    acc = np.zeros(window, np.float64)
    mark = np.zeros(window // 64, np.uint64)  # bit set: documents of the window with an essential posting
    theta = np.float64(hs[0]) if n == k else -np.inf
    first_ess = 0  # terms [0, first_ess) cannot make a document competitive on their own
    while first_ess < m and ub[first_ess + 1] * slack <= theta:
        first_ess += 1
    big = np.iinfo(np.int32).max
    masked = len(allowed) > 0
    lo = 0  # every document below lo is done
    while first_ess < m:
        start = big
        for j in range(first_ess, m):
            p = _seek(docids, block_last, block_size, pos, end, blk, blk_end, first_block, term_start, j, lo)
            if p < end[j] and docids[p] < start:
                start = docids[p]
        if start == big:
            break
        stop = start + window
        lo = stop
        total = 0.0
        for j in range(m):  # window bounds: the largest block maximum among the window's blocks
            b, bend = blk[j], blk_end[j]
            while b < bend and block_last[b] < start:
                b += 1
            blk[j] = b
            mx = 0.0
            while b < bend:
                bm = np.float64(block_max[b])
                if bm > mx:
                    mx = bm
                if block_last[b] >= stop:
                    break
                b += 1
            wb[j] = w[j] * mx
            total += wb[j]
        if n == k and total * slack <= theta:
            continue  # no document of the window can enter the top k
        for i in range(m):  # insertion sort (m is small)
            x = wb[i]
            h = i
            while h > 0 and wb[word[h - 1]] > x:
                word[h] = word[h - 1]
                h -= 1
            word[h] = i
        for i in range(m):
            wub[i + 1] = wub[i] + wb[word[i]]
        ne = 0  # word[:ne] are only probed in this window
        if n == k:
            while ne < m and wub[ne + 1] * slack <= theta:
                ne += 1
        for i in range(ne, m):
            j = word[i]
            wj, e = w[j], end[j]
            p = _seek(docids, block_last, block_size, pos, end, blk, blk_end, first_block, term_start, j, start)
            while p < e and docids[p] < stop:
                off = docids[p] - start
                mark[off >> 6] |= np.uint64(1) << np.uint64(off & 63)
                acc[off] += wj * np.float32(impacts[p])
                p += 1
            pos[j] = p
        for word_i in range(window // 64):
            bits = mark[word_i]
            mark[word_i] = 0
            while bits:
                low = bits & (~bits + np.uint64(1))
                bits ^= low
                off = word_i * 64 + _LOW_BIT[np.multiply(low, _DEBRUIJN) >> np.uint64(58)]  # wraps, as meant
                score = acc[off]
                acc[off] = 0.0
                d = start + off
                if masked and not allowed[d]:
                    continue
                if n == k and (score + wub[ne]) * slack <= theta:
                    continue
                alive = True
                for i in range(ne - 1, -1, -1):
                    if n == k and (score + wub[i + 1]) * slack <= theta:
                        alive = False
                        break
                    j = word[i]
                    while blk[j] < blk_end[j] and block_last[blk[j]] < d:  # shallow move to d's block
                        blk[j] += 1
                    if blk[j] == blk_end[j]:
                        continue
                    if n == k and (score + w[j] * np.float64(block_max[blk[j]]) + wub[i]) * slack <= theta:
                        alive = False
                        break
                    p = max(pos[j], term_start[j] + (blk[j] - first_block[j]) * block_size)
                    while p < end[j] and docids[p] < d:
                        p += 1
                    pos[j] = p
                    if p < end[j] and docids[p] == d:
                        score += w[j] * np.float32(impacts[p])
                if not alive or (n == k and score * slack <= theta):
                    continue
                s = exact_score(indptr, docids, impacts, q_terms, q_weights, d)
                if n < k or s > hs[0] or (s == hs[0] and base + d < hd[0]):
                    n = heap_offer(hs, hd, n, k, s, base + d)
                    if n == k:
                        theta = hs[0]
                        while first_ess < m and ub[first_ess + 1] * slack <= theta:
                            first_ess += 1
    return n


@jit
def _seek(docids, block_last, block_size, pos, end, blk, blk_end, first_block, term_start, j, target):
    """Move term ``j`` to its first posting at or after document ``target`` (skipping whole blocks)."""
    b = blk[j]
    while b < blk_end[j] and block_last[b] < target:
        b += 1
    blk[j] = b
    p = max(pos[j], term_start[j] + (b - first_block[j]) * block_size)
    while p < end[j] and docids[p] < target:
        p += 1
    pos[j] = p
    return p
