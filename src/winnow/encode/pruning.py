"""Document pruning and sparsity statistics of learned sparse vectors.

Pruning follows the OpenSearch v3 inference-free models (drop weights below a fraction of the
document's largest weight) and the usual top-k cut. FLOPS is the expected number of
multiply-adds per query-document pair in an inverted index (Paria et al., ICLR 2020; the SPLADE
paper, Formal et al., SIGIR 2021):

    FLOPS = sum_t p_q(t) * p_d(t)

with ``p(t)`` the fraction of queries (documents) whose vector contains term ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from winnow.types import SparseBatch


def prune_dense(weights: np.ndarray, top_k: int = 0, prune_ratio: float = 0.0) -> np.ndarray:
    """Zero, in place, the weights pruning removes from a ``(docs, vocabulary)`` matrix.

    Args:
        weights: Non-negative float weights, one row per document.
        top_k: Keep the ``top_k`` largest weights of each row (0: keep all). Ties at the cut
            are broken arbitrarily, so exactly ``top_k`` survive.
        prune_ratio: Zero weights below ``prune_ratio * row max`` (0: keep all).

    Returns:
        ``weights``, for chaining.
    """
    if prune_ratio > 0:
        weights[weights < prune_ratio * weights.max(axis=1, keepdims=True)] = 0.0
    if 0 < top_k < weights.shape[1]:
        drop = np.argpartition(-weights, top_k - 1, axis=1)[:, top_k:]
        np.put_along_axis(weights, drop, 0.0, axis=1)
    return weights


def document_frequencies(vectors: SparseBatch, vocab_size: int) -> np.ndarray:
    """Number of vectors in which each term id has a non-zero weight."""
    values = vectors.values if vectors.values.ndim == 1 else vectors.values[:, 0]
    return np.bincount(vectors.indices[values != 0], minlength=vocab_size).astype(np.int64)


@dataclass(frozen=True)
class SparsityStats:
    """Size and expected cost of a set of sparse vectors.

    Attributes:
        n_docs: Documents counted.
        avg_doc_terms: Mean non-zero terms per document.
        n_queries: Queries counted (0 when none were given).
        avg_query_terms: Mean non-zero terms per query (0.0 without queries).
        flops: ``sum_t p_q(t) p_d(t)``; without queries, ``sum_t p_d(t)^2`` (the document-side
            FLOPS regulariser of SPLADE).
    """

    n_docs: int
    avg_doc_terms: float
    n_queries: int
    avg_query_terms: float
    flops: float


def sparsity_stats(doc_df: np.ndarray, n_docs: int, query_df: np.ndarray | None = None, n_queries: int = 0) -> SparsityStats:
    """Summarise sparsity from per-term document (and query) frequencies.

    Args:
        doc_df: Documents containing each term (e.g. ``Postings.document_frequency`` or
            :func:`document_frequencies`).
        n_docs: Number of documents.
        query_df: Queries containing each term, same length as ``doc_df``; optional.
        n_queries: Number of queries behind ``query_df``.

    Example:
        >>> sparsity_stats(np.array([2, 1, 0]), 2, np.array([1, 0, 1]), 2).flops
        0.5
    """
    doc_df = np.asarray(doc_df, dtype=np.float64)
    p_d = doc_df / max(n_docs, 1)
    if query_df is None:
        return SparsityStats(n_docs, float(doc_df.sum() / max(n_docs, 1)), 0, 0.0, float(np.dot(p_d, p_d)))
    query_df = np.asarray(query_df, dtype=np.float64)
    if query_df.shape != doc_df.shape:
        raise ValueError(f"query_df has {query_df.shape[0]} terms, doc_df {doc_df.shape[0]}")
    p_q = query_df / max(n_queries, 1)
    return SparsityStats(
        n_docs, float(doc_df.sum() / max(n_docs, 1)), n_queries, float(query_df.sum() / max(n_queries, 1)), float(np.dot(p_q, p_d))
    )
