"""Approximate search: whatever it misses, every score it returns is the exact score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.index.conftest import scratch
from tests.retrieve.test_searcher import SETTINGS, brute_force, corpora, queries, split
from winnow.index.pruned import add_pruned_postings, prune_postings
from winnow.retrieve.searcher import Approx, Searcher


@SETTINGS
@given(data=st.data(), corpus=corpora(), max_postings=st.integers(1, 40),
       approx=st.builds(Approx, st.integers(0, 4), st.sampled_from([0.5, 0.8, 1.0]), st.integers(0, 30)))
def test_approx_scores_are_exact_and_unpruned_knobs_are_exact(write_vector_index, data, corpus, max_postings,
                                                              approx):
    rows, n_terms = corpus
    with scratch() as tmp:
        path = write_vector_index(rows, n_terms, Path(tmp) / "ix")
        exact_searcher = Searcher(path, approx=Approx(candidates=data.draw(st.integers(0, 5))))
        add_pruned_postings(path, max_postings)
        searcher = Searcher(path, approx=approx)
        for query in data.draw(st.lists(queries(n_terms, len(rows)), min_size=1, max_size=4)):
            terms, weights, k = split(query)
            full_docs, full_scores = brute_force(rows, n_terms, terms, weights, len(rows))
            exact = dict(zip(full_docs.tolist(), full_scores.tolist()))
            hits = searcher.search_vector(terms, weights, k, strategy="approx")
            assert len(hits) <= k and len(set(hits.ids)) == len(hits)
            for docno, score in zip(hits.docnos.tolist(), hits.scores.tolist()):
                assert score == exact[docno]  # bit-identical to the exact kernels' float32 sum
            order = sorted(zip(hits.docnos.tolist(), hits.scores.tolist()), key=lambda p: (-p[1], p[0]))
            assert [d for d, _ in order] == hits.docnos.tolist()
            # no pruned postings, all terms, no extra pruning: the approximate strategy is exact
            np.testing.assert_array_equal(exact_searcher.search_vector(terms, weights, k, strategy="approx").docnos,
                                          brute_force(rows, n_terms, terms, weights, k)[0])


@given(st.lists(st.lists(st.floats(0.125, 5, width=32), max_size=30), min_size=1, max_size=8), st.integers(1, 10))
def test_prune_postings_keeps_each_terms_largest_impacts_in_doc_order(lists, max_postings):
    indptr = np.cumsum([0] + [len(x) for x in lists]).astype(np.int64)
    docids = np.concatenate([np.arange(len(x)) * 3 for x in lists]).astype(np.int32)
    impacts = np.concatenate([np.array(x, np.float32) for x in lists]) if indptr[-1] else np.zeros(0, np.float32)
    ptr, docs, imps = prune_postings(indptr, docids, impacts, max_postings)
    for t, values in enumerate(lists):
        got_docs, got = docs[ptr[t]:ptr[t + 1]], imps[ptr[t]:ptr[t + 1]]
        assert len(got) == min(len(values), max_postings)
        assert np.all(np.diff(got_docs) > 0)
        ranked = sorted(range(len(values)), key=lambda i: (-np.float32(values[i]), i))[:max_postings]
        np.testing.assert_array_equal(got_docs, np.sort(np.array(ranked, dtype=np.int64) * 3))
