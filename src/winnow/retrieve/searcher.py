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

STRATEGIES = ("auto", "exhaustive", "maxscore")
MAXSCORE_MIN_POSTINGS = 20_000  # below this, accumulating every posting is as fast (benchmarks/engine_peers.py)

_EMPTY = Hits((), np.zeros(0, np.float32), np.zeros(0, np.int64))


class Searcher:
    """Exact top-k search over a :class:`~winnow.index.SparseIndex`.

    Example::

        s = Searcher("indexes/scifact")
        for doc_id, score in s.search("cholesterol and heart disease", k=10):
            ...
    """

    def __init__(self, index: SparseIndex | str | Path, verify: bool = True):
        self.index = index if isinstance(index, SparseIndex) else SparseIndex(index, verify=verify)
        self.query_encoder = load_query_encoder(self.index.encoder_kind, self.index.encoder_config, self.index.path)
        self._local = threading.local()
        ix = self.index
        # plain ndarray views of the memory maps: numba dispatches on them faster than on np.memmap
        self._postings = tuple(np.asarray(a) for a in (ix.indptr, ix.docids, ix.impacts))
        self._blocks = (np.asarray(ix.term_max), *(np.asarray(a) for a in (ix.block_ptr, ix.block_last, ix.block_max)),
                        ix.block_size)

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

    def search(self, query: str, k: int = 10, strategy: str = "auto") -> Hits:
        """Top-``k`` documents for one query (fewer if fewer documents match any query term).

        ``strategy``: ``exhaustive`` (term-at-a-time over every posting), ``maxscore`` (block-max
        MaxScore, exact), or ``auto`` (picked per query by a cost estimate). All return the same hits.
        """
        terms, weights = self.encode(query)
        return self.search_vector(terms, weights, k, strategy)

    def search_vector(self, terms: np.ndarray, weights: np.ndarray, k: int = 10, strategy: str = "auto") -> Hits:
        """Top-``k`` for a query given as a sparse vector over the index vocabulary."""
        k = self._check_k(k)
        terms, weights = self._clean(terms, weights)
        if k == 0 or len(terms) == 0:
            return _EMPTY
        b = self._buffers(k)
        out_docs, out_scores = np.empty(k, np.int32), np.empty(k, np.float32)
        if self._use_maxscore(terms, weights, k, strategy):
            from winnow.retrieve.maxscore import topk_maxscore

            n = topk_maxscore(*self._postings, *self._blocks, terms, weights, k, b["hs"], b["hd"], out_docs,
                              out_scores)
        else:
            from winnow.retrieve.kernels import topk_exhaustive

            n = topk_exhaustive(*self._postings, terms, weights, k, b["acc"], b["seen"], b["touched"], b["hs"],
                                b["hd"], out_docs, out_scores)
        return self._hits(out_docs[:n], out_scores[:n])

    def search_batch(self, queries: Sequence[str], k: int = 10, threads: int | None = None,
                     strategy: str = "auto") -> list[Hits]:
        """Top-``k`` for many queries, spread over ``threads`` cores (default: all)."""
        return self.search_vectors([self.encode(q) for q in queries], k, threads, strategy)

    def search_vectors(self, vectors: Sequence[tuple[np.ndarray, np.ndarray]], k: int = 10,
                       threads: int | None = None, strategy: str = "auto") -> list[Hits]:
        """Batch form of :meth:`search_vector`."""
        from winnow.retrieve.batch import topk_batch

        k = self._check_k(k)
        if k == 0 or not vectors:
            return [_EMPTY] * len(vectors)
        cleaned = [self._clean(t, w) for t, w in vectors]
        q_ptr = np.zeros(len(cleaned) + 1, np.int64)
        np.cumsum([len(t) for t, _ in cleaned], out=q_ptr[1:])
        q_terms = np.concatenate([t for t, _ in cleaned]).astype(np.int32)
        q_weights = np.concatenate([w for _, w in cleaned]).astype(np.float32)
        use_maxscore = np.array([self._use_maxscore(t, w, k, strategy) for t, w in cleaned], dtype=np.bool_)
        workers = max(1, min(threads or os.cpu_count() or 1, len(cleaned)))
        out_docs = np.empty((len(cleaned), k), np.int32)
        out_scores = np.empty((len(cleaned), k), np.float32)
        out_n = np.zeros(len(cleaned), np.int64)
        topk_batch(*self._postings, *self._blocks, q_ptr, q_terms, q_weights, use_maxscore, k, self.index.n_docs,
                   workers, out_docs, out_scores, out_n)
        return [self._hits(out_docs[i, : out_n[i]], out_scores[i, : out_n[i]]) for i in range(len(cleaned))]

    def _use_maxscore(self, terms: np.ndarray, weights: np.ndarray, k: int, strategy: str) -> bool:
        if strategy not in STRATEGIES:
            raise WinnowError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if strategy == "exhaustive" or not self.index.non_negative or (weights < 0).any():
            return False  # MaxScore's bounds need non-negative contributions
        if strategy == "maxscore":
            return True
        indptr = self._postings[0]
        cost = int((indptr[terms + 1] - indptr[terms]).sum())
        return cost > MAXSCORE_MIN_POSTINGS

    def _check_k(self, k: int) -> int:
        if k < 0:
            raise WinnowError(f"k must be >= 0, got {k}")
        return min(int(k), self.index.n_docs)

    def _clean(self, terms, weights) -> tuple[np.ndarray, np.ndarray]:
        terms = np.asarray(terms, dtype=np.int32)
        weights = np.asarray(weights, dtype=np.float32)
        if terms.shape != weights.shape or terms.ndim != 1:
            raise WinnowError(f"query terms and weights must be 1-d and of equal length ({terms.shape} vs {weights.shape})")
        keep = (terms >= 0) & (terms < self.index.n_terms) & (weights != 0) & np.isfinite(weights)
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
