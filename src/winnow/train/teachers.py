"""Teacher scores for the candidates of each training example, and their fusion.

Two siamese teachers see the same candidates: a dense bi-encoder (any sentence-transformers
model) and a sparse SPLADE model (any model the ``splade`` encoder loads). Their scores live on
different scales, so each teacher's scores are min-max normalised per query before a weighted
sum, the heterogeneous ensemble of Geng et al. (arXiv:2411.04403).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from winnow.errors import require
from winnow.train.candidates import TrainingSet

QUERY_MAX_LENGTH = 64


def _per_example(train: TrainingSet, query_vectors, doc_vectors, doc_row: dict[str, int]) -> list[np.ndarray]:
    """Dot products of each example's query with its candidates, in candidate order."""
    scores = []
    for i, example in enumerate(train.examples):
        rows = [doc_row[d] for d in example.doc_ids]
        product = doc_vectors[rows] @ query_vectors[i].T
        product = product.toarray() if hasattr(product, "toarray") else product  # scipy sparse
        scores.append(np.asarray(product, dtype=np.float32).ravel())
    return scores


def _doc_order(train: TrainingSet) -> tuple[list[str], dict[str, int]]:
    ids = sorted(train.texts)
    return ids, {d: i for i, d in enumerate(ids)}


def dense_scores(model: str, train: TrainingSet, batch_size: int = 32, max_length: int = 256) -> list[np.ndarray]:
    """Scores of a sentence-transformers bi-encoder (its own pooling and normalisation)."""
    sentence_transformers = require("sentence_transformers", "train")
    encoder = sentence_transformers.SentenceTransformer(model, device="cpu")
    encoder.max_seq_length = max_length
    ids, row = _doc_order(train)
    docs = encoder.encode([train.texts[d] for d in ids], batch_size=batch_size, show_progress_bar=False)
    queries = encoder.encode([e.query for e in train.examples], batch_size=batch_size, show_progress_bar=False)
    return _per_example(train, queries, docs, row)


def sparse_scores(model: str, train: TrainingSet, batch_size: int = 32, max_length: int = 256) -> list[np.ndarray]:
    """Scores of a siamese SPLADE model: both sides encoded, dot product of the sparse vectors."""
    from scipy import sparse

    from winnow.encode.mlm_encoder import MLMSparseModel
    from winnow.encode.options import parse_options

    encoder = MLMSparseModel(model, parse_options({"backend": "torch", "batch_size": batch_size}))
    ids, row = _doc_order(train)

    def matrix(texts: list[str], length: int):
        batch = encoder.encode_texts(texts, length, prune=False)
        return sparse.csr_matrix((batch.values, batch.indices, batch.indptr), shape=(len(texts), encoder.vocab_size))

    docs = matrix([train.texts[d] for d in ids], max_length)
    queries = matrix([e.query for e in train.examples], QUERY_MAX_LENGTH)
    return _per_example(train, queries, docs, row)


def min_max(scores: np.ndarray) -> np.ndarray:
    """Scale one query's scores to [0, 1] (all zeros when they are all equal)."""
    low, high = float(scores.min()), float(scores.max())
    return np.zeros_like(scores) if high == low else (scores - low) / (high - low)


def fuse(teachers: Sequence[list[np.ndarray]], weights: Sequence[float]) -> list[np.ndarray]:
    """Per query, the weighted sum of each teacher's min-max normalised scores."""
    if len(teachers) != len(weights) or not teachers:
        raise ValueError("fuse needs one weight per teacher and at least one teacher")
    return [sum(w * min_max(t[i]) for t, w in zip(teachers, weights)).astype(np.float32)
            for i in range(len(teachers[0]))]
