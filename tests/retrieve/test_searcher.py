"""Searcher: exact top-k equals brute-force scoring on random indexes, single and batch alike,
whichever strategy (exhaustive, MaxScore, auto) answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.index.conftest import scratch
from winnow.errors import WinnowError
from winnow.retrieve.searcher import STRATEGIES, Searcher
from winnow.types import Query

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def corpora(draw):
    """Random postings: n_docs 1..300, vocabulary 1..50, exact ties and duplicated documents."""
    n_docs = draw(st.integers(1, 300))
    n_terms = draw(st.integers(1, 50))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([0.03, 0.2, 0.7]))
    tied = draw(st.booleans())  # impacts from a tiny set of values: many exact score ties
    rows: list[dict[int, float]] = []
    for i in range(n_docs):
        if i and rng.random() < 0.15:
            rows.append(dict(rows[int(rng.integers(i))]))  # a duplicate of an earlier document
            continue
        terms = np.flatnonzero(rng.random(n_terms) < density)
        values = rng.choice([0.5, 1.0, 2.0], len(terms)) if tied else rng.uniform(0.01, 10, len(terms))
        rows.append({int(t): float(np.float32(v)) for t, v in zip(terms, values)})
    return rows, n_terms


def queries(n_terms: int, n_docs: int):
    """A query: possibly repeated or unknown term ids (negative, beyond the vocabulary), positive weights."""
    term = st.integers(-2, n_terms + 2)
    weight = st.one_of(st.sampled_from([1.0, 2.0, 0.5]), st.floats(0.125, 10, width=32))
    return st.tuples(st.lists(st.tuples(term, weight), max_size=8), st.integers(0, n_docs + 5))


def brute_force(rows, n_terms, terms, weights, k):
    """Dense float32 scoring in query-term order; rank by score desc, then doc number asc.

    Candidates are the documents with a posting for some known query term (the engine scores
    only documents it touches); unknown terms are dropped.
    """
    n_docs = len(rows)
    dense = np.zeros((n_docs, n_terms), np.float32)
    has = np.zeros((n_docs, n_terms), bool)
    for d, row in enumerate(rows):
        for t, v in row.items():
            dense[d, t], has[d, t] = v, True
    acc = np.zeros(n_docs, np.float32)
    touched = np.zeros(n_docs, bool)
    for t, w in zip(terms, weights):
        if 0 <= t < n_terms:
            acc += np.float32(w) * dense[:, t]
            touched |= has[:, t]
    ranked = sorted(np.flatnonzero(touched).tolist(), key=lambda d: (-acc[d], d))[:k]
    return np.array(ranked, dtype=np.int64), acc[ranked]


def split(query):
    pairs, k = query
    terms = np.array([t for t, _ in pairs], dtype=np.int32)
    weights = np.array([w for _, w in pairs], dtype=np.float32)
    return terms, weights, k


def assert_hits_equal(hits, docnos, scores):
    np.testing.assert_array_equal(hits.docnos, docnos)
    np.testing.assert_allclose(hits.scores, scores, rtol=1e-6, atol=0)
    assert hits.ids == tuple(str(d) for d in docnos)  # vector_encoder ids are the doc numbers


@SETTINGS
@given(data=st.data(), corpus=corpora())
def test_search_vector_equals_brute_force(write_vector_index, data, corpus):
    rows, n_terms = corpus
    with scratch() as tmp:
        searcher = Searcher(write_vector_index(rows, n_terms, Path(tmp) / "ix"))
        for query in data.draw(st.lists(queries(n_terms, len(rows)), min_size=1, max_size=4)):
            terms, weights, k = split(query)
            expected = brute_force(rows, n_terms, terms, weights, k)
            for strategy in STRATEGIES:
                assert_hits_equal(searcher.search_vector(terms, weights, k, strategy=strategy), *expected)


@SETTINGS
@given(data=st.data(), corpus=corpora(), threads=st.sampled_from([1, 2]))
def test_search_vectors_batch_equals_single_and_brute_force(write_vector_index, data, corpus, threads):
    rows, n_terms = corpus
    batch = data.draw(st.lists(queries(n_terms, len(rows)), min_size=1, max_size=6))
    k = data.draw(st.integers(0, len(rows) + 5))  # one k for the whole batch
    vectors = [split(q)[:2] for q in batch]
    with scratch() as tmp:
        searcher = Searcher(write_vector_index(rows, n_terms, Path(tmp) / "ix"))
        strategy = data.draw(st.sampled_from(STRATEGIES))
        results = searcher.search_vectors(vectors, k, threads=threads, strategy=strategy)
        assert len(results) == len(vectors)
        for (terms, weights), hits in zip(vectors, results):
            assert_hits_equal(hits, *brute_force(rows, n_terms, terms, weights, k))
            single = searcher.search_vector(terms, weights, k, strategy=strategy)
            np.testing.assert_array_equal(hits.docnos, single.docnos)
            np.testing.assert_array_equal(hits.scores, single.scores)  # exactly, not just close
            assert hits.ids == single.ids


@pytest.fixture(scope="module")
def small(write_vector_index, tmp_path_factory) -> Searcher:
    rows = [{0: 1.0, 1: 2.0}, {1: 3.0}, {0: 0.5, 2: 1.5}, {0: 1.0, 1: 2.0}]
    return Searcher(write_vector_index(rows, 4, tmp_path_factory.mktemp("small") / "ix"))


@pytest.mark.parametrize("terms, weights, k", [
    ([0, 1], [1.0, 1.0], 0),  # k = 0
    ([], [], 5),  # empty query
    ([-1, 7, 99], [1.0, 1.0, 1.0], 5),  # no term known to the index
    ([3], [1.0], 5),  # a known term without postings
])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_degenerate_queries_give_empty_hits(small, terms, weights, k, strategy):
    single = small.search_vector(terms, weights, k, strategy=strategy)
    for hits in [single, *small.search_vectors([(terms, weights)] * 2, k, strategy=strategy)]:
        assert len(hits) == 0 and hits.ids == () and len(hits.scores) == 0 and len(hits.docnos) == 0


def test_k_beyond_n_docs_returns_every_touched_document(small):
    hits = small.search_vector(np.array([0, 1]), np.array([1.0, 1.0]), k=100)
    # docs 0, 1 and 3 tie at 3.0: lower doc numbers first
    assert hits.ids == ("0", "1", "3", "2")
    np.testing.assert_array_equal(hits.scores, np.float32([1.0 + 2.0, 3.0, 1.0 + 2.0, 0.5]))


def test_negative_k_is_an_error(small):
    with pytest.raises(WinnowError, match="k must be a non-negative integer"):
        small.search_vector(np.array([0]), np.array([1.0]), k=-1)
    with pytest.raises(WinnowError, match="k must be a non-negative integer"):
        small.search_vectors([(np.array([0]), np.array([1.0]))], k=-1)


def test_unknown_strategy_is_an_error(small):
    with pytest.raises(WinnowError, match="unknown strategy"):
        small.search_vector(np.array([0]), np.array([1.0]), k=3, strategy="wand")


def test_mismatched_query_shapes_are_an_error(small):
    with pytest.raises(WinnowError, match="equal length"):
        small.search_vector(np.array([0, 1]), np.array([1.0]), k=3)


def test_text_query_weighs_terms_by_count(small):
    """The bm25 query side: each known term counts its occurrences; unknown words are dropped."""
    terms, weights = small.encode("t1 t0 t1 nosuchword")
    assert dict(zip(terms.tolist(), weights.tolist())) == {0: 1.0, 1: 2.0}
    hits = small.search("t1 t0 t1 nosuchword", k=2)
    np.testing.assert_array_equal(hits.scores, np.float32([3.0 * 2, 1.0 * 1 + 2.0 * 2]))
    assert hits.ids == ("1", "0")  # doc 3 ties doc 0 and loses on doc number


def test_search_batch_matches_search_on_tiny(tiny_index, tiny_beir):
    from winnow.corpus import read_queries

    searcher = Searcher(tiny_index)
    texts = [q.text for q in read_queries(tiny_beir / "queries.jsonl")]
    for text, hits in zip(texts, searcher.search_batch(texts, k=5, threads=2).values()):
        single = searcher.search(text, k=5)
        assert hits.ids == single.ids
        np.testing.assert_array_equal(hits.scores, single.scores)
    assert len(searcher.search("zzzz qqqq", k=5)) == 0  # no known term: empty, no exception


def test_explain_contributions_sum_to_the_score(tiny_index):
    searcher = Searcher(tiny_index)
    query = "how does bm25 normalise document length"
    hits = searcher.search(query, k=3)
    for docno, score in zip(hits.docnos, hits.scores):
        parts = searcher.explain(query, int(docno), top=100)
        assert parts == sorted(parts, key=lambda p: -p[1])
        assert sum(c for _, c in parts) == pytest.approx(float(score), rel=1e-5)


def test_batch_with_huge_k_allocates_by_postings_not_documents(write_vector_index):
    """Regression: a batch allocated (queries x min(k, documents)) outputs whatever matched."""
    import tracemalloc

    n_docs = 20_000
    rows = [{i % 50: 1.0 + i % 7} for i in range(n_docs)]
    with scratch() as tmp:
        searcher = Searcher(write_vector_index(rows, 100, Path(tmp) / "ix"))
        vectors = [(np.array([60 + q % 40]), np.array([1.0])) for q in range(2000)]  # terms without postings
        vectors += [(np.array([3]), np.array([1.0]))]  # 400 matches
        searcher.search_vectors(vectors[:2], n_docs)  # compile
        tracemalloc.start()
        hits = searcher.search_vectors(vectors, k=n_docs)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert [len(h) for h in hits[-2:]] == [0, 400]
    assert peak < 20 * 2**20  # (2,001 x 20,000) int32 + float32 outputs would be 320 MB


def test_run_ids_decode_on_demand_and_pickle_as_a_list(tiny_index, tiny_beir):
    import pickle

    from winnow.index.reader import DocIds

    searcher = Searcher(tiny_index)
    queries = [Query("a", "retrieval of documents"), Query("b", "sparse index")]
    for run in (searcher.retrieve(queries[:1], 5), searcher.retrieve(queries, 5)):
        ids, docnos = run.columns.ids, run.columns.docnos
        assert isinstance(ids, DocIds) and len(ids) == len(docnos) > 1
        decoded = [searcher.index.doc_id(int(d)) for d in docnos]
        assert list(ids) == decoded and ids[1:] == decoded[1:] and ids[-1] == decoded[-1] and ids[0] == decoded[0]
        assert ids.of(docnos[::-1]) == decoded[::-1]
        with pytest.raises(IndexError):
            ids[len(ids)]
        assert pickle.loads(pickle.dumps(ids)) == decoded
        back = pickle.loads(pickle.dumps(run))
        assert back == run and [list(back[q].ids) for q in back] == [list(run[q].ids) for q in run]
