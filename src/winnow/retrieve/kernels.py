"""Top-k kernels over term-major postings: plain Python that numba compiles (:mod:`winnow.jit`).

The same source runs interpreted under ``NUMBA_DISABLE_JIT=1`` (the test suite does
both), so the reference and the fast path cannot drift. Ranking order everywhere:
higher score first, ties broken by lower document number. A posting contributes
``weight * float32(impact)`` in float32 and a document's score is the float32 sum of its
contributions in query-term order, in every kernel, so all strategies agree bit for bit.
"""

from __future__ import annotations

import numpy as np

from winnow.jit import jit

DENSE_FACTOR = 4  # scan all documents when postings * DENSE_FACTOR >= n_docs (measured, scifact/nfcorpus)


@jit
def better(s1, d1, s2, d2):
    """Whether (score s1, doc d1) ranks before (s2, d2)."""
    return s1 > s2 or (s1 == s2 and d1 < d2)


@jit
def heap_offer(hs, hd, n, k, s, d):
    """Offer a candidate to a size-``k`` heap whose root is the worst kept entry; return the new size.

    Callers test ``n < k or better(s, d, hs[0], hd[0])`` inline first: a call costs far more
    than the test (numba passes arrays with reference counting).
    """
    if n < k:
        i = n
        hs[i], hd[i] = s, d
        while i > 0:  # sift up: a worse entry moves towards the root
            parent = (i - 1) // 2
            if better(hs[parent], hd[parent], hs[i], hd[i]):
                hs[parent], hs[i] = hs[i], hs[parent]
                hd[parent], hd[i] = hd[i], hd[parent]
                i = parent
            else:
                break
        return n + 1
    if not better(s, d, hs[0], hd[0]):
        return n
    hs[0], hd[0] = s, d
    i = 0
    while True:  # sift down: swap with the worse child while it is worse than us
        left = 2 * i + 1
        if left >= n:
            break
        w = left
        if left + 1 < n and better(hs[left], hd[left], hs[left + 1], hd[left + 1]):
            w = left + 1
        if better(hs[i], hd[i], hs[w], hd[w]):
            hs[i], hs[w] = hs[w], hs[i]
            hd[i], hd[w] = hd[w], hd[i]
            i = w
        else:
            break
    return n


@jit
def heap_sorted(hs, hd, n, out_docs, out_scores):
    """Write the heap's ``n`` entries best-first into the output arrays; return ``n``.

    Heapsort: the root is the worst kept entry, so popping it ``n`` times fills the output from the
    back in O(n log n) (ranking order is strict, so the order is exact). The heap is consumed.
    """
    for last in range(n - 1, -1, -1):
        out_scores[last], out_docs[last] = hs[0], hd[0]
        s, d = hs[last], hd[last]
        i = 0
        while True:  # sift the former last entry down from the root of the heap hs[:last]
            left = 2 * i + 1
            if left >= last:
                break
            w = left
            if left + 1 < last and better(hs[left], hd[left], hs[left + 1], hd[left + 1]):
                w = left + 1
            if better(s, d, hs[w], hd[w]):
                hs[i], hd[i] = hs[w], hd[w]
                i = w
            else:
                break
        hs[i], hd[i] = s, d
    return n


@jit
def exact_score(indptr, docids, impacts, q_terms, q_weights, d):
    """One document's score, found by binary search in each query term's postings."""
    s = np.float32(0)
    for i in range(len(q_terms)):
        t = q_terms[i]
        lo, hi = indptr[t], indptr[t + 1]
        end = hi
        while lo < hi:  # inline binary search: np.searchsorted on a slice costs several times more
            mid = (lo + hi) >> 1
            if docids[mid] < d:
                lo = mid + 1
            else:
                hi = mid
        if lo < end and docids[lo] == d:
            s += q_weights[i] * np.float32(impacts[lo])
    return s


@jit
def topk_exhaustive(indptr, docids, impacts, q_terms, q_weights, k, allowed, acc, seen, touched, hs, hd,
                    out_docs, out_scores):
    """Top-``k`` of one query by :func:`offer_exhaustive`; returns the number of results written."""
    n = offer_exhaustive(indptr, docids, impacts, q_terms, q_weights, k, allowed, acc, seen, touched, hs, hd, 0, 0)
    return heap_sorted(hs, hd, n, out_docs, out_scores)


@jit
def offer_exhaustive(indptr, docids, impacts, q_terms, q_weights, k, allowed, acc, seen, touched, hs, hd, n, base):
    """Term-at-a-time accumulation over every posting, offering each scored document to a heap.

    The heap ``hs``/``hd`` holds ``n`` entries on entry (the best of earlier segments, numbered
    globally, all below ``base``); this segment's documents enter it as ``base`` + their number, so
    a later segment starts against the k-th score found so far. Returns the heap's new size.
    ``allowed`` (uint8, one per document, or empty for all) masks documents out of the selection:
    deleted ones, or those a filter rejects. ``acc`` (float32), ``seen`` (uint8) and ``touched``
    (int32) are length-``n_docs`` buffers that
    are all-zero on entry and left all-zero on exit. When the query's postings are a sizeable
    fraction of the collection, documents are marked without branching and the selection scans
    every document (dense); otherwise touched documents are listed as they come (sparse).
    """
    n_docs = len(acc)
    cost = 0
    for i in range(len(q_terms)):
        cost += indptr[q_terms[i] + 1] - indptr[q_terms[i]]
    if DENSE_FACTOR * cost >= n_docs:
        for i in range(len(q_terms)):
            t = q_terms[i]
            w = q_weights[i]
            for p in range(indptr[t], indptr[t + 1]):
                d = docids[p]
                seen[d] = 1
                acc[d] += w * np.float32(impacts[p])
        masked = len(allowed) > 0
        d = 0
        while d < n_docs and n < k:  # fill the heap with the first touched documents
            if seen[d] and (not masked or allowed[d]):
                n = heap_offer(hs, hd, n, k, acc[d], base + d)
            d += 1
        # Documents come in increasing global order, so a tie never displaces a kept document: testing
        # the score first keeps the branch predictable (testing `seen` first mispredicts half the time).
        for d in range(d, n_docs):
            if acc[d] > hs[0] and seen[d] and (not masked or allowed[d]):
                n = heap_offer(hs, hd, n, k, acc[d], base + d)
        acc[:] = 0
        seen[:] = 0
        return n
    n_touched = 0
    for i in range(len(q_terms)):
        t = q_terms[i]
        w = q_weights[i]
        for p in range(indptr[t], indptr[t + 1]):
            d = docids[p]
            if seen[d] == 0:
                seen[d] = 1
                touched[n_touched] = d
                n_touched += 1
            acc[d] += w * np.float32(impacts[p])
    masked = len(allowed) > 0
    for j in range(n_touched):
        d = touched[j]
        s = acc[d]
        if (n < k or s > hs[0] or (s == hs[0] and base + d < hd[0])) and (not masked or allowed[d]):
            n = heap_offer(hs, hd, n, k, s, base + d)
        acc[d] = 0
        seen[d] = 0
    return n
