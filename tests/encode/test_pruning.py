import numpy as np

from winnow.encode.pruning import document_frequencies, prune_dense, sparsity_stats
from winnow.types import SparseBatch


def test_prune_ratio_drops_weights_below_a_fraction_of_the_row_max():
    weights = np.array([[4.0, 1.0, 0.5, 2.0], [1.0, 0.0, 0.2, 0.3]], dtype=np.float32)
    prune_dense(weights, prune_ratio=0.25)
    np.testing.assert_array_equal(weights, np.array([[4.0, 1.0, 0.0, 2.0], [1.0, 0.0, 0.0, 0.3]], dtype=np.float32))


def test_top_k_keeps_exactly_the_k_largest():
    rng = np.random.default_rng(1)
    weights = rng.random((5, 50)).astype(np.float32)
    expected = [set(np.argsort(-row)[:7]) for row in weights]
    prune_dense(weights, top_k=7)
    assert [set(np.flatnonzero(row)) for row in weights] == expected


def test_no_pruning_leaves_weights_unchanged():
    weights = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(prune_dense(weights.copy()), weights)


def test_sparsity_stats_follow_the_flops_definition():
    docs = SparseBatch.from_rows([(np.array([0, 2]), np.array([1.0, 2.0])), (np.array([2]), np.array([0.5]))])
    queries = SparseBatch.from_rows([(np.array([2]), np.array([1.0])), (np.array([0, 1]), np.array([1.0, 1.0]))])
    doc_df, query_df = document_frequencies(docs, 3), document_frequencies(queries, 3)
    np.testing.assert_array_equal(doc_df, [1, 0, 2])
    stats = sparsity_stats(doc_df, 2, query_df, 2)
    p_d, p_q = np.array([1, 0, 2]) / 2, np.array([1, 1, 1]) / 2
    assert stats.avg_doc_terms == 1.5 and stats.avg_query_terms == 1.5
    assert stats.flops == np.dot(p_q, p_d)
    assert sparsity_stats(doc_df, 2).flops == np.dot(p_d, p_d)
