"""The compiled parts of fusion: ranking fused scores, and fusing runs on document numbers."""

from __future__ import annotations

import numpy as np

from winnow.fuse.normalize import RECIPROCAL, TM2C2, ZSCORE
from winnow.jit import jit


@jit
def _stats(kind: int, param: float, scores: np.ndarray, lo: int, hi: int, out: np.ndarray) -> bool:
    """What one run contributes for one query's hits ``scores[lo:hi]`` (best first), in one pass:
    ``out[:]`` = ``(a, b, c, lower, descending, smallest)``, with each hit's term
    ``(s - a) / b`` (``c`` when ``b <= 0``; :func:`_term`), the term of a document the run did
    not retrieve (its lower bound), whether the terms never rise down the run, and the smallest
    term. Returns whether every score is finite.

    ``kind``: ``MINMAX`` ``(s - min) / (max - min)`` (1 when all equal), lower 0; ``TM2C2``
    ``(s - param) / (max - param)`` with ``param`` the score floor (0 when the best is the floor;
    min-max when ``param`` is NaN), lower 0; ``ZSCORE`` ``(s - mean) / std`` (population; 0 when
    all equal), lower ``(min - mean) / std``; ``RECIPROCAL`` ``1 / (param + rank)``, ranks from 1,
    lower 0.
    """
    n = hi - lo
    low = high = total = 0.0
    descending = finite = True
    for j in range(lo, hi):
        v = scores[j]
        finite = finite and np.isfinite(v)
        if j == lo:
            low = high = v
        else:
            low = min(low, v)
            high = max(high, v)
            descending = descending and v <= scores[j - 1]
        total += v
    a, b, c, lower = 0.0, 0.0, 0.0, 0.0
    if kind == RECIPROCAL:
        descending = True
    elif kind == TM2C2 and not np.isnan(param):
        a, b = param, high - param
    elif kind != ZSCORE:
        a, b, c = low, high - low, 1.0
    elif n > 0:
        mean = total / n
        total = 0.0
        for j in range(lo, hi):
            total += (scores[j] - mean) * (scores[j] - mean)
        a, b = mean, np.sqrt(total / n)
        lower = (low - mean) / b if b > 0 else 0.0
    out[0], out[1], out[2], out[3], out[4] = a, b, c, lower, 1.0 if descending else 0.0
    out[5] = (1.0 / (param + n) if kind == RECIPROCAL else (low - a) / b if b > 0 else c) if n else 0.0
    return finite


@jit
def _term(kind: int, param: float, a: float, b: float, c: float, scores: np.ndarray, j: int, lo: int) -> float:
    """The term of hit ``j`` of a run whose hits for the query start at ``lo`` (see :func:`_stats`)."""
    if kind == RECIPROCAL:
        return 1.0 / (param + (j - lo + 1))
    return (scores[j] - a) / b if b > 0 else c


@jit
def _terms(kind: int, param: float, scores: np.ndarray, lo: int, hi: int, out: np.ndarray) -> float:
    """One run's terms for one query's hits ``scores[lo:hi]`` (best first), written to
    ``out[lo:hi]`` (see :func:`_stats`); returns the term of a document the run did not retrieve."""
    st = np.empty(6, np.float64)
    _stats(kind, param, scores, lo, hi, st)
    for j in range(lo, hi):
        out[j] = _term(kind, param, st[0], st[1], st[2], scores, j, lo)
    return st[3]


@jit
def run_terms(kind: int, param: float, scores: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_terms` of one run for every query (``offsets``: where each starts): the terms of
    its hits and each query's lower bound."""
    out = np.empty(len(scores), np.float64)
    lower = np.zeros(len(offsets) - 1, np.float64)
    for q in range(len(offsets) - 1):
        lower[q] = _terms(kind, param, scores, offsets[q], offsets[q + 1], out)
    return out, lower


@jit
def _best(keys: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest ``keys`` and of every key equal to the ``k``-th, sorted
    ascending by key, equal keys in their original order (all positions when ``k`` covers them)."""
    n = len(keys)
    if k <= 0:
        return np.arange(0)
    if n > k:
        bound = np.partition(keys, k - 1)[k - 1]
        chosen = np.flatnonzero(keys <= bound)
    else:
        chosen = np.arange(n)
    return chosen[np.argsort(keys[chosen], kind="mergesort")]


@jit
def order_segments(keys: np.ndarray, bounds: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Within each segment ``bounds[i]:bounds[i + 1]``, the positions of its ``k`` smallest keys
    (and of any key equal to the ``k``-th), sorted ascending, equal keys in their original order:
    a partition and a stable sort per query (``n + k log k``), not one sort over all queries.

    Returns:
        ``(order, new_bounds, tied)``: the chosen positions segment by segment, where each
        segment's start in ``order``, and for each position of ``order`` whether the next one
        holds an equal key of the same segment.
    """
    order = np.empty(len(keys), np.int64)
    new_bounds = np.zeros(len(bounds), np.int64)
    tied = np.zeros(max(len(keys) - 1, 0), np.bool_)
    m = 0
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        chosen = lo + _best(keys[lo:hi], k)
        order[m:m + len(chosen)] = chosen
        for j in range(m, m + len(chosen) - 1):
            tied[j] = keys[order[j]] == keys[order[j + 1]]
        m += len(chosen)
        new_bounds[i + 1] = m
    return order[:m], new_bounds, tied[:max(m - 1, 0)]


@jit
def _kth(fused: np.ndarray, n: int, k: int, best: np.ndarray) -> float:
    """The ``k``-th largest of ``fused[:n]`` (``-inf`` when ``n < k``), by keeping the ``k``
    largest in ``best`` (descending) in one pass."""
    size = 0
    for u in range(n):
        v = fused[u]
        if size == k and v <= best[k - 1]:
            continue
        i = size if size < k else k - 1
        while i > 0 and best[i - 1] < v:
            best[i] = best[i - 1]
            i -= 1
        best[i] = v
        size = min(size + 1, k)
    return best[k - 1] if size == k else -np.inf


@jit
def _top(fused: np.ndarray, n: int, k: int, best: np.ndarray, chosen: np.ndarray) -> int:
    """:func:`_best` of ``-fused[:n]`` for a small ``k`` in one pass without sorting ``n``: every
    entry at least the :func:`_kth` is gathered into ``chosen`` and insertion-sorted (descending,
    equal values in index order). Returns how many were chosen."""
    if k <= 0:
        return 0
    bound = _kth(fused, n, k, best)
    m = 0
    for u in range(n):
        if fused[u] >= bound:
            chosen[m] = u
            m += 1
    for i in range(1, m):
        u = chosen[i]
        v = fused[u]
        j = i - 1
        while j >= 0 and fused[chosen[j]] < v:
            chosen[j + 1] = chosen[j]
            j -= 1
        chosen[j + 1] = u
    return m


_SMALL_K = 64  # up to this many kept per query, :func:`_top`; more, :func:`_best`
_FIRST_DEPTH = 16  # hits read from each run before the first stopping test
_MASK = 4095  # candidate filter: document numbers modulo 4096


@jit
def _slot(table: np.ndarray, u_docno: np.ndarray, d: int) -> int:
    """Where document number ``d`` is, or would go, in the open-addressing ``table``."""
    cap = len(table)
    h = (((d & 0x7FFFFFFF) * 2654435769) >> 16) & (cap - 1)  # Fibonacci hashing, no overflow
    while table[h] != -1 and u_docno[table[h]] != d:
        h = (h + 1) & (cap - 1)
    return h


@jit
def fuse_numbered(docnos, scores, first, last, kind: int, params: np.ndarray, weights: np.ndarray, mnz: bool,
                  k: int):
    """Fuse runs whose hits are document numbers of one numbering, query by query.

    For a small ``k``, the runs are read together, deeper and deeper, until no document yet
    unread can reach the ``k``-th fused score (Fagin's no-random-access algorithm, with each
    run's lower bound for a document it lacks; for CombMNZ when no term is negative, times the
    number of runs); the rest of each run is then only scanned for the unknown terms of
    documents that still can. Every term is non-increasing down a run (checked), so the kept
    documents and their scores are those of reading everything.

    Args:
        docnos: per run (a tuple of arrays of one type), its document numbers.
        scores: per run (a tuple of arrays of one type), its scores, aligned with ``docnos``.
        first, last: per run (tuples of int64 arrays of ``n_queries``): run ``r``'s hits of
            query ``q``, best first, are positions ``first[r][q]:last[r][q]`` of its arrays.
        kind, params: what each run contributes (see :func:`_terms`; one ``param`` per run).
        weights: one per run, each ``>= 0``.
        mnz: multiply each sum by the number of runs that retrieved the document.
        k: documents kept per query (with every document tied with the ``k``-th).

    Returns:
        ``(source, numbers, fused, bounds, tied, bad, twice)``: per kept document, best first
        (equal scores in the order the documents were met), the position where it was first met
        in the runs laid end to end, its number and fused score; where each query starts; for
        each kept document whether the next one of its query has an equal score (empty when
        none does); the index of a run with a score that is NaN or infinite (-1: none), checked
        first; and the index of a run that lists a number twice for one query (-1: none; a
        document not read is not checked).
    """
    n_runs, n_queries = len(docnos), len(first[0])
    total = 0
    for r in range(n_runs):
        total += len(docnos[r])
    all_docnos = np.empty(total, np.int64)
    all_scores = np.empty(total, np.float64)
    lo, hi = np.empty((n_runs, n_queries), np.int64), np.empty((n_runs, n_queries), np.int64)
    start = 0
    for r in range(n_runs):
        run_docnos, run_scores, run_first, run_last = docnos[r], scores[r], first[r], last[r]
        all_docnos[start:start + len(run_docnos)] = run_docnos
        all_scores[start:start + len(run_docnos)] = run_scores
        for q in range(n_queries):
            lo[r, q], hi[r, q] = start + run_first[q], start + run_last[q]
        start += len(run_docnos)
    return _fuse(all_docnos, all_scores, lo, hi, kind, params, weights, mnz, k)


@jit
def _fuse(docnos: np.ndarray, scores: np.ndarray, lo: np.ndarray, hi: np.ndarray, kind: int, params: np.ndarray,
          weights: np.ndarray, mnz: bool, k: int):
    """:func:`fuse_numbered` over the runs laid end to end: run ``r``'s hits of query ``q`` are
    positions ``lo[r, q]:hi[r, q]`` of ``docnos`` and ``scores``."""
    n_runs, n_queries = lo.shape
    stats = np.empty((n_runs, n_queries, 6), np.float64)  # see _stats
    for r in range(n_runs):
        for q in range(n_queries):
            if not _stats(kind, params[r], scores, lo[r, q], hi[r, q], stats[r, q]):
                return docnos[:0], docnos[:0], scores[:0], np.zeros(1, np.int64), np.zeros(0, np.bool_), r, -1
    widest = 0
    for q in range(n_queries):
        n = 0
        for r in range(n_runs):
            n += hi[r, q] - lo[r, q]
        widest = max(widest, n)
    kept = min(widest, k) * n_queries
    source = np.empty(kept if k <= _SMALL_K else len(docnos), np.int64)
    numbers = np.empty(len(source), np.int64)
    out = np.empty(len(source), np.float64)
    bounds = np.zeros(n_queries + 1, np.int64)
    tied = np.zeros(len(source), np.bool_)
    a, b, c = np.empty(n_runs, np.float64), np.empty(n_runs, np.float64), np.empty(n_runs, np.float64)
    lower = np.empty(n_runs, np.float64)
    ahead = np.empty(n_runs, np.float64)  # the best term a document not yet read in a run can have
    least = np.empty(n_runs, np.float64)  # the worst term a document read elsewhere can have there
    cap = 2
    while cap < 2 * widest:
        cap *= 2
    table = np.full(cap, -1, np.int64)  # open addressing: document number -> union entry
    u_docno = np.empty(widest, np.int64)
    u_first = np.empty(widest, np.int64)
    u_slot = np.empty(widest, np.int64)
    u_terms = np.empty((widest, n_runs), np.float64)
    u_has = np.zeros((widest, n_runs), np.bool_)
    u_open = np.zeros(widest, np.bool_)
    fused = np.empty(widest, np.float64)
    best = np.empty(max(k, 0) if k <= _SMALL_K else 0, np.float64)
    chosen = np.empty(widest, np.int64)
    wanted = np.zeros(_MASK + 1, np.bool_)
    m = 0
    for q in range(n_queries):
        longest = 0
        descending, negative = True, False
        for r in range(n_runs):
            a[r], b[r], c[r], lower[r] = stats[r, q, 0], stats[r, q, 1], stats[r, q, 2], stats[r, q, 3]
            descending = descending and stats[r, q, 4] > 0
            negative = negative or min(stats[r, q, 3], stats[r, q, 5]) < 0
            longest = max(longest, hi[r, q] - lo[r, q])
        early = 0 < k <= _SMALL_K and descending and not (mnz and negative)
        most = n_runs if mnz else 1  # the largest factor a sum can be multiplied by
        n_union = 0
        depth = 0
        cut = -np.inf
        while depth < longest:
            reach = min(max(2 * depth, _FIRST_DEPTH, 2 * k), longest) if early else longest
            for r in range(n_runs):
                for j in range(lo[r, q] + depth, min(lo[r, q] + reach, hi[r, q])):
                    d = docnos[j]
                    h = _slot(table, u_docno, d)
                    u = table[h]
                    if u == -1:
                        u = n_union
                        n_union += 1
                        table[h] = u
                        u_slot[u] = h
                        u_docno[u] = d
                        u_first[u] = j
                        for s in range(n_runs):
                            u_terms[u, s] = lower[s]
                            u_has[u, s] = False
                    elif u_has[u, r]:
                        return source[:0], numbers[:0], out[:0], bounds, tied[:0], -1, r
                    u_has[u, r] = True
                    u_terms[u, r] = _term(kind, params[r], a[r], b[r], c[r], scores, j, lo[r, q])
            depth = reach
            if depth >= longest or n_union < k:
                continue
            unread = 0.0
            for r in range(n_runs):
                at = lo[r, q] + depth
                if at < hi[r, q]:
                    ahead[r] = max(_term(kind, params[r], a[r], b[r], c[r], scores, at, lo[r, q]), lower[r])
                    least[r] = min(_term(kind, params[r], a[r], b[r], c[r], scores, hi[r, q] - 1, lo[r, q]), lower[r])
                else:
                    ahead[r] = least[r] = lower[r]
                unread += weights[r] * ahead[r]
            for u in range(n_union):
                f = 0.0
                count = 0
                for r in range(n_runs):
                    f += weights[r] * (u_terms[u, r] if u_has[u, r] else least[r])
                    count += u_has[u, r]
                fused[u] = f * count if mnz else f
            kth = _kth(fused, n_union, k, best)
            if unread * most < kth:
                cut = kth
                break
        if cut > -np.inf:  # stopped early: only documents that can still reach the cut count
            n_open = 0
            for u in range(n_union):
                f = 0.0
                missing = False
                for r in range(n_runs):
                    f += weights[r] * (u_terms[u, r] if u_has[u, r] else ahead[r])
                    missing = missing or not u_has[u, r]
                u_open[u] = f * most >= cut
                if u_open[u] and missing:
                    wanted[u_docno[u] & _MASK] = True
                    n_open += 1
            for r in range(n_runs):
                for j in range(lo[r, q] + depth, hi[r, q] if n_open else 0):
                    d = docnos[j]
                    if wanted[d & _MASK]:
                        u = table[_slot(table, u_docno, d)]
                        if u != -1 and u_open[u]:
                            if u_has[u, r]:
                                return source[:0], numbers[:0], out[:0], bounds, tied[:0], -1, r
                            u_has[u, r] = True
                            u_terms[u, r] = _term(kind, params[r], a[r], b[r], c[r], scores, j, lo[r, q])
            for u in range(n_union):
                wanted[u_docno[u] & _MASK] = False
        for u in range(n_union):
            table[u_slot[u]] = -1
            f = 0.0
            count = 0
            for r in range(n_runs):
                f += weights[r] * u_terms[u, r]
                count += u_has[u, r]
            fused[u] = -np.inf if cut > -np.inf and not u_open[u] else f * count if mnz else f
        if k <= _SMALL_K:
            n_chosen = _top(fused, n_union, k, best, chosen)
        else:
            picked = _best(-fused[:n_union], k)
            n_chosen = len(picked)
            chosen[:n_chosen] = picked
        if m + n_chosen > len(source):  # ties with the k-th beyond the room reserved
            grown = max(2 * len(source), m + n_chosen)
            source, numbers, out, tied = (_grow(source, grown), _grow(numbers, grown), _grow(out, grown),
                                          _grow(tied, grown))
        for i in range(n_chosen):
            u = chosen[i]
            source[m + i] = u_first[u]
            numbers[m + i] = u_docno[u]
            out[m + i] = fused[u]
            if i > 0:
                tied[m + i - 1] = fused[chosen[i - 1]] == fused[u]
        m += n_chosen
        bounds[q + 1] = m
    n_tied = max(m - 1, 0) if tied[:max(m - 1, 0)].any() else 0
    return source[:m], numbers[:m], out[:m], bounds, tied[:n_tied], -1, -1


@jit
def _grow(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, a.dtype)
    out[:len(a)] = a
    return out
