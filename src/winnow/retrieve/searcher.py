"""Query an index: encode the query with the index's own encoder, then run a top-k kernel."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from winnow.encode.registry import load_query_encoder
from winnow.errors import WinnowError
from winnow.index.reader import SparseIndex
from winnow.types import Hits

_EMPTY = Hits((), np.zeros(0, np.float32), np.zeros(0, np.int64))


class Searcher:
    """Exact top-k search over a :class:`~winnow.index.SparseIndex`.

    Example::

        s = Searcher("indexes/scifact")
        for doc_id, score in s.search("cholesterol and heart disease", k=10):
            ...
    """

    def __init__(self, index: SparseIndex | str | Path, verify: bool = True):
        from winnow.retrieve import kernels  # numba loads here, not at `import winnow`

        self._kernels = kernels
        self.index = index if isinstance(index, SparseIndex) else SparseIndex(index, verify=verify)
        self.query_encoder = load_query_encoder(self.index.encoder_kind, self.index.encoder_config, self.index.path)
        self._local = threading.local()

    def _buffers(self, k: int):
        """Per-thread scratch arrays, reused across queries (all-zero between calls)."""
        b = getattr(self._local, "buffers", None)
        n = self.index.n_docs
        if b is None:
            b = self._local.buffers = {
                "acc": np.zeros(n, np.float32), "seen": np.zeros(n, np.uint8), "touched": np.empty(n, np.int32)}
        if len(b.get("hs", ())) < k:
            b["hs"], b["hd"] = np.empty(k, np.float32), np.empty(k, np.int32)
        return b

    def encode(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """The query's sparse vector: ``(term ids, weights)``."""
        return self.query_encoder.encode_query(query)

    def search(self, query: str, k: int = 10) -> Hits:
        """Top-``k`` documents for one query (fewer if fewer documents match any query term)."""
        terms, weights = self.encode(query)
        return self.search_vector(terms, weights, k)

    def search_vector(self, terms: np.ndarray, weights: np.ndarray, k: int = 10) -> Hits:
        """Top-``k`` for a query given as a sparse vector over the index vocabulary."""
        k = self._check_k(k)
        terms, weights = self._clean(terms, weights)
        if k == 0 or len(terms) == 0:
            return _EMPTY
        b = self._buffers(k)
        out_docs, out_scores = np.empty(k, np.int32), np.empty(k, np.float32)
        ix = self.index
        n = self._kernels.topk_exhaustive(ix.indptr, ix.docids, ix.impacts, terms, weights, k, b["acc"],
                                          b["seen"], b["touched"], b["hs"], b["hd"], out_docs, out_scores)
        return self._hits(out_docs[:n], out_scores[:n])

    def search_batch(self, queries: Sequence[str], k: int = 10, threads: int | None = None) -> list[Hits]:
        """Top-``k`` for many queries, spread over ``threads`` cores (default: all)."""
        return self.search_vectors([self.encode(q) for q in queries], k, threads)

    def search_vectors(self, vectors: Sequence[tuple[np.ndarray, np.ndarray]], k: int = 10,
                       threads: int | None = None) -> list[Hits]:
        k = self._check_k(k)
        if k == 0 or not vectors:
            return [_EMPTY] * len(vectors)
        cleaned = [self._clean(t, w) for t, w in vectors]
        q_ptr = np.zeros(len(cleaned) + 1, np.int64)
        np.cumsum([len(t) for t, _ in cleaned], out=q_ptr[1:])
        q_terms = np.concatenate([t for t, _ in cleaned]).astype(np.int32)
        q_weights = np.concatenate([w for _, w in cleaned]).astype(np.float32)
        workers = max(1, min(threads or os.cpu_count() or 1, len(cleaned)))
        out_docs = np.empty((len(cleaned), k), np.int32)
        out_scores = np.empty((len(cleaned), k), np.float32)
        out_n = np.zeros(len(cleaned), np.int64)
        ix = self.index
        self._kernels.topk_batch(ix.indptr, ix.docids, ix.impacts, q_ptr, q_terms, q_weights, k, ix.n_docs,
                                 workers, out_docs, out_scores, out_n)
        return [self._hits(out_docs[i, : out_n[i]], out_scores[i, : out_n[i]]) for i in range(len(cleaned))]

    def _check_k(self, k: int) -> int:
        if k < 0:
            raise WinnowError(f"k must be >= 0, got {k}")
        return min(int(k), self.index.n_docs)

    def _clean(self, terms, weights) -> tuple[np.ndarray, np.ndarray]:
        terms = np.asarray(terms, dtype=np.int32)
        weights = np.asarray(weights, dtype=np.float32)
        if terms.shape != weights.shape or terms.ndim != 1:
            raise WinnowError(f"query terms and weights must be 1-d and of equal length ({terms.shape} vs {weights.shape})")
        keep = (terms >= 0) & (terms < self.index.n_terms) & (weights != 0)
        return (terms, weights) if keep.all() else (terms[keep], weights[keep])

    def _hits(self, docs: np.ndarray, scores: np.ndarray) -> Hits:
        ix = self.index
        return Hits(tuple(ix.doc_ids(docs)), scores * np.float32(ix.scale), docs.astype(np.int64))

    def explain(self, query: str, docno: int, top: int = 5) -> list[tuple[str, float]]:
        """The query terms that contribute most to one document's score: ``[(term, contribution)]``."""
        terms, weights = self.encode(query)
        ix, vocab = self.index, self.index.vocabulary
        parts = []
        for t, w in zip(terms, weights):
            docs, imps = ix.postings(int(t))
            i = np.searchsorted(docs, docno)
            if i < len(docs) and docs[i] == docno:
                parts.append((vocab[t], float(w * imps[i])))
        return sorted(parts, key=lambda p: -p[1])[:top]
