"""Query an index: encode the query with the index's own encoder, then run a top-k kernel."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from winnow.encode.registry import load_query_encoder
from winnow.errors import WinnowError
from winnow.index.reader import SparseIndex
from winnow.retrieve.approx import topk_approx
from winnow.retrieve.dispatch import (APPROX, EXHAUSTIVE, MAXSCORE, STRATEGY_CODES, batch_approx, batch_exhaustive,
                                      batch_maxscore, plan, plan_batch)
from winnow.retrieve.kernels import topk_exhaustive
from winnow.retrieve.maxscore import topk_maxscore
from winnow.retrieve.retriever import Retriever
from winnow.types import Hits, Query, Run, as_queries, check_k, check_query

STRATEGIES = tuple(STRATEGY_CODES)  # auto, exhaustive, maxscore, approx
EXACT_STRATEGIES = ("auto", "exhaustive", "maxscore")


@dataclass(frozen=True)
class Approx:
    """Knobs of the ``approx`` strategy (see :mod:`winnow.retrieve.approx`).

    Attributes:
        query_cut: query terms that find candidates (strongest first; 0 = all).
        prune_factor: skip a document once this times its upper bound cannot beat the k-th score.
        candidates: documents rescored exactly (at least k; 0 = k).
    """

    query_cut: int = 0
    prune_factor: float = 1.0
    candidates: int = 0

    def astuple(self) -> tuple[int, float, int]:
        return int(self.query_cut), float(self.prune_factor), int(self.candidates)

_EMPTY = Hits.empty()


class Searcher(Retriever):
    """Top-k search over a :class:`~winnow.index.SparseIndex`: exact strategies, or ``approx``.

    Example::

        s = Searcher("indexes/scifact")
        for doc_id, score in s.search("cholesterol and heart disease", k=10):
            ...
    """

    def __init__(self, index: SparseIndex | str | Path, verify: bool = True, approx: "Approx | None" = None):
        self.index = index if isinstance(index, SparseIndex) else SparseIndex(index, verify=verify)
        self.query_encoder = load_query_encoder(self.index.encoder_kind, self.index.encoder_config, self.index.path)
        self._local = threading.local()
        ix = self.index
        # Plain ndarray views of the memory maps (numba dispatches on them faster than on np.memmap).
        full = tuple(np.asarray(a) for a in (ix.indptr, ix.docids, ix.impacts, ix.term_max, ix.block_ptr,
                                             ix.block_last, ix.block_max))
        self._index = (*full, ix.block_size, ix.non_negative)
        self._pruned = tuple(np.asarray(a) for a in ix.pruned) if ix.pruned else full
        self.approx = approx or Approx()
        self.name = self.index.manifest.get("spec") or self.index.encoder_kind
        self.score_floor = 0.0 if ix.non_negative else None

    def _buffers(self, k: int):
        """Per-thread scratch arrays, reused across queries (all-zero between calls)."""
        b = getattr(self._local, "buffers", None)
        if b is None or len(b[3]) < k:
            n = self.index.n_docs
            old = b[:3] if b is not None else (np.zeros(n, np.float32), np.zeros(n, np.uint8), np.empty(n, np.int32))
            b = self._local.buffers = (*old, np.empty(k, np.float32), np.empty(k, np.int32))
        return b

    def encode(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """The query's sparse vector: ``(term ids, weights)``."""
        return self.query_encoder.encode_query(query)

    def search(self, query: str, k: int = 10, filter=None, strategy: str = "auto") -> Hits:
        """Top-``k`` documents for one query (fewer if fewer documents match any query term).

        ``strategy``: ``exhaustive`` (term-at-a-time over every posting), ``maxscore`` (block-max
        MaxScore, exact), or ``auto`` (picked per query by its number of postings) all return the
        same hits; ``approx`` trades recall for speed with the knobs in :attr:`approx`.
        """
        _no_filter(filter)
        terms, weights = self.query_encoder.encode_query(check_query(query))
        return self.search_vector(terms, weights, k, strategy)

    def search_vector(self, terms: np.ndarray, weights: np.ndarray, k: int = 10, strategy: str = "auto") -> Hits:
        """Top-``k`` for a query given as a sparse vector over the index vocabulary.

        Term ids outside the vocabulary and zero weights are ignored.
        """
        k = self._check_k(k)
        code = self._strategy(strategy)
        terms, weights = _as_query(terms, weights)
        if k == 0 or len(terms) == 0:
            return _EMPTY
        ix = self._index
        clean_terms, clean_weights = np.empty_like(terms), np.empty_like(weights)
        code, m = plan(ix[0], ix[3], ix[8], self.index.n_docs, terms, weights, code, clean_terms, clean_weights)
        if m == 0:
            return _EMPTY
        terms, weights = clean_terms[:m], clean_weights[:m]
        acc, seen, touched, hs, hd = self._buffers(k)
        out_docs, out_scores = np.empty(k, np.int32), np.empty(k, np.float32)
        if code == MAXSCORE:
            n = topk_maxscore(*ix[:8], terms, weights, k, hs, hd, out_docs, out_scores)
        elif code == APPROX:
            n = topk_approx(*ix[:4], *self._pruned, ix[7], terms, weights, k, *self.approx.astuple(), acc, seen,
                            touched, hs, hd, out_docs, out_scores)
        else:
            n = topk_exhaustive(*ix[:3], terms, weights, k, acc, seen, touched, hs, hd, out_docs, out_scores)
        return self._hits(out_docs[:n], out_scores[:n])

    def search_batch(self, queries, k: int = 10, filter=None, threads: int | None = None,
                     strategy: str = "auto") -> Run:
        """Top-``k`` for many queries (see :meth:`Retriever.search_batch`), spread over ``threads``
        cores (default: all)."""
        return self.retrieve(as_queries(queries), check_k(k), filter, threads, strategy)

    def retrieve(self, queries: list[Query], k: int, filter=None, threads: int | None = None,
                 strategy: str = "auto") -> Run:
        _no_filter(filter)
        texts = [q.text for q in queries]
        encoder = self.query_encoder
        if hasattr(encoder, "encode_queries"):
            hits = self._search_csr(*encoder.encode_queries(texts), k, threads, strategy)
        else:
            hits = self.search_vectors([encoder.encode_query(q) for q in texts], k, threads, strategy)
        return Run({q.id: h for q, h in zip(queries, hits)}, self.name)

    def search_vectors(self, vectors: Sequence[tuple[np.ndarray, np.ndarray]], k: int = 10,
                       threads: int | None = None, strategy: str = "auto") -> list[Hits]:
        """Batch form of :meth:`search_vector`."""
        cleaned = [_as_query(t, w) for t, w in vectors]
        q_ptr = np.zeros(len(cleaned) + 1, np.int64)
        np.cumsum([len(t) for t, _ in cleaned], out=q_ptr[1:])
        q_terms = np.concatenate([t for t, _ in cleaned]) if cleaned else np.zeros(0, np.int32)
        q_weights = np.concatenate([w for _, w in cleaned]) if cleaned else np.zeros(0, np.float32)
        return self._search_csr(q_ptr, q_terms, q_weights, k, threads, strategy)

    def _search_csr(self, q_ptr, q_terms, q_weights, k, threads, strategy) -> list[Hits]:
        n_queries = len(q_ptr) - 1
        k = self._check_k(k)
        code = self._strategy(strategy)
        if k == 0 or n_queries == 0:
            return [_EMPTY] * n_queries
        workers = max(1, min(threads or os.cpu_count() or 1, n_queries))
        ix = self._index
        ptr = np.empty(n_queries + 1, np.int64)
        terms, weights = np.empty_like(q_terms), np.empty_like(q_weights)
        codes = np.empty(n_queries, np.int64)
        plan_batch(ix[0], ix[3], ix[8], self.index.n_docs, q_ptr, q_terms, q_weights, code, ptr, terms, weights, codes)
        out_docs = np.empty((n_queries, k), np.int32)
        out_scores = np.empty((n_queries, k), np.float32)
        out_n = np.zeros(n_queries, np.int64)
        common = (ptr, terms, weights)
        for strategy_code, run in ((EXHAUSTIVE, batch_exhaustive), (MAXSCORE, batch_maxscore), (APPROX, batch_approx)):
            queries = np.flatnonzero(codes == strategy_code)
            if len(queries) == 0:
                continue
            outputs = (queries, k, min(workers, len(queries)), out_docs, out_scores, out_n)
            if strategy_code == EXHAUSTIVE:
                run(*ix[:3], self.index.n_docs, *common, *outputs)
            elif strategy_code == MAXSCORE:
                run(ix, *common, *outputs)
            else:
                run(ix, self._pruned, self.approx.astuple(), self.index.n_docs, *common, *outputs)
        return self._hits_batch(out_docs, out_scores, out_n)

    def _hits_batch(self, out_docs: np.ndarray, out_scores: np.ndarray, out_n: np.ndarray) -> list[Hits]:
        """Split batch results into Hits, decoding every document id in one pass."""
        ix = self.index
        valid = np.arange(out_docs.shape[1]) < out_n[:, None]
        docnos = out_docs[valid].astype(np.int64)
        ids = ix.doc_ids(docnos)
        scores = out_scores[valid] * np.float32(ix.scale) if ix.scale != 1.0 else out_scores[valid]
        bounds = np.concatenate([[0], np.cumsum(out_n)]).tolist()
        return [Hits(tuple(ids[lo:hi]), scores[lo:hi], docnos[lo:hi]) for lo, hi in zip(bounds, bounds[1:])]

    @staticmethod
    def _strategy(name: str) -> int:
        if name not in STRATEGY_CODES:
            raise WinnowError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
        return STRATEGY_CODES[name]

    def _check_k(self, k: int) -> int:
        return min(check_k(k), self.index.n_docs)

    def _hits(self, docs: np.ndarray, scores: np.ndarray) -> Hits:
        ix = self.index
        if ix.scale != 1.0:
            scores = scores * np.float32(ix.scale)
        return Hits(tuple(ix.doc_ids(docs)), scores, docs.astype(np.int64))

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


def _no_filter(filter) -> None:
    if filter is not None:
        raise WinnowError("this index has no metadata fields to filter on")


def _as_query(terms, weights) -> tuple[np.ndarray, np.ndarray]:
    terms = np.asarray(terms, dtype=np.int32)
    weights = np.asarray(weights, dtype=np.float32)
    if terms.shape != weights.shape or terms.ndim != 1:
        raise WinnowError(f"query terms and weights must be 1-d and of equal length ({terms.shape} vs {weights.shape})")
    return terms, weights
