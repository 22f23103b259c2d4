"""Segments searched in order into one heap, each starting from the k-th score of those before it,
rank exactly as one segment holding every document: scores and ties (lower global number first)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.index.conftest import scratch
from tests.retrieve.test_kernels import csc, masks, query
from winnow.encode.vectors import VectorsEncoder
from winnow.index import blocks
from winnow.index.writer import build_index, open_writer
from winnow.retrieve import kernels, maxscore
from winnow.retrieve.searcher import EXACT_STRATEGIES, Searcher
from winnow.types import Document, SparseBatch

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def split_postings(draw):
    """Documents split into consecutive segments; few distinct impacts, so equal scores cross segments."""
    n_docs, n_terms = draw(st.integers(2, 600)), draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    present = rng.random((n_terms, n_docs)) < rng.choice([0.01, 0.1, 0.5, 0.9], n_terms)[:, None]
    values = rng.choice(np.float32([0.5, 1, 2]), present.shape)
    cuts = sorted(set(draw(st.lists(st.integers(1, n_docs - 1), max_size=5))))
    return (present, values, [0, *cuts, n_docs], *query(draw, n_terms, 6), draw(st.integers(1, 12)),
            draw(st.sampled_from([2, 4, 64])), masks(draw, n_docs))


@SETTINGS
@given(case=split_postings(), exhaustive=st.booleans())
def test_segments_offering_to_one_heap_equal_one_segment(case, exhaustive):
    present, values, bounds, q_terms, q_weights, k, block_size, allowed = case
    n_docs = present.shape[1]
    k = min(k, n_docs)
    acc, seen, touched = np.zeros(n_docs, np.float32), np.zeros(n_docs, np.uint8), np.zeros(n_docs, np.int32)
    hs, hd = np.empty(k, np.float32), np.empty(k, np.int32)
    want_docs, want_scores = np.empty(k, np.int32), np.empty(k, np.float32)
    m = kernels.topk_exhaustive(*csc(present, values), q_terms, q_weights, k, allowed, acc, seen, touched, hs, hd,
                                want_docs, want_scores)
    n = 0
    for lo, hi in zip(bounds, bounds[1:]):
        indptr, docids, impacts = csc(present[:, lo:hi], values[:, lo:hi])
        mask = allowed[lo:hi] if len(allowed) else allowed
        if exhaustive:
            n = kernels.offer_exhaustive(indptr, docids, impacts, q_terms, q_weights, k, mask, acc[:hi - lo],
                                         seen[:hi - lo], touched[:hi - lo], hs, hd, n, lo)
        else:
            n = maxscore.offer_maxscore(indptr, docids, impacts, blocks.term_max(indptr, impacts),
                                        *blocks.block_metadata(indptr, docids, impacts, block_size), block_size,
                                        q_terms, q_weights, k, mask, hs, hd, n, lo, 1.0, 64)
    got_docs, got_scores = np.empty(k, np.int32), np.empty(k, np.float32)
    kernels.heap_sorted(hs, hd, n, got_docs, got_scores)
    assert got_docs[:n].tolist() == want_docs[:m].tolist()
    np.testing.assert_array_equal(got_scores[:n], want_scores[:m])
    assert not acc.any() and not seen.any()


POOL = [(np.int32([0, 1]), np.float32([1.0, 2.0])), (np.int32([1]), np.float32([2.0])),
        (np.int32([0, 2]), np.float32([1.0, 1.0])), (np.int32([2, 3]), np.float32([0.5, 3.0]))]  # few distinct rows


def encoder(docs: list[Document]) -> VectorsEncoder:
    rows = [POOL[int(d.text)] for d in docs]
    return VectorsEncoder([([d.id for d in docs], SparseBatch.from_rows(rows))] if docs else [],
                          [f"t{i}" for i in range(4)], source="test")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5), rows=st.data(),
       deleted=st.sets(st.integers(0, 29), max_size=6))
def test_equal_scores_across_segments_rank_as_one_segment(sizes, rows, deleted):
    """Every document repeats rows of a small pool, so each score ties across segments."""
    docs = [Document(f"d{i:02d}", str(rows.draw(st.integers(0, len(POOL) - 1)))) for i in range(sum(sizes))]
    kept = [d for i, d in enumerate(docs) if i not in deleted]
    if not kept:
        return
    with scratch() as tmp:
        seg_path, one_path = Path(tmp) / "segments", Path(tmp) / "one"
        start = 0
        for size in sizes:
            part = docs[start:start + size]
            with open_writer(seg_path, encoder(part), fresh=start == 0) as w:
                w.add(part)
                w.commit()
            start += size
        with open_writer(seg_path) as w:
            w.delete([docs[i].id for i in deleted if i < len(docs)])
            w.commit()
        build_index(kept, encoder(kept), one_path)
        segments, one = Searcher(seg_path), Searcher(one_path)
        queries = [POOL[0], POOL[2], (np.int32([0, 1, 2, 3]), np.float32([1, 1, 1, 1]))]
        for k in (1, 2, 3, len(docs) + 1):
            for strategy in EXACT_STRATEGIES:
                batch = segments.search_vectors(queries, k, strategy=strategy)
                for q, hits in zip(queries, batch):
                    want = one.search_vector(*q, k, strategy="exhaustive")
                    for got in (hits, segments.search_vector(*q, k, strategy=strategy)):
                        assert got.ids == want.ids, (strategy, k)
                        np.testing.assert_array_equal(got.scores, want.scores)
