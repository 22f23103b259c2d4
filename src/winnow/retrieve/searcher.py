"""Query an index: encode the query with the index's own encoder, then run a top-k kernel."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from winnow.encode.registry import load_query_encoder
from winnow.errors import IndexFormatError, WinnowError
from winnow.filters.cache import MaskCache
from winnow.index.reader import DocIds, SparseIndex
from winnow.retrieve.approx import topk_approx
from winnow.retrieve.dispatch import (APPROX, EXHAUSTIVE, MAXSCORE, NOTHING, STRATEGY_CODES, batch_approx,
                                      batch_exhaustive, batch_maxscore, batch_sorted, offer_all, plan, plan_batch)
from winnow.retrieve.kernels import heap_sorted, offer_exhaustive, topk_exhaustive
from winnow.retrieve.maxscore import offer_maxscore, topk_maxscore
from winnow.retrieve.retriever import Retriever, numbering
from winnow.types import RunColumns, Document, Hits, Query, Run, as_queries, check_k, check_query

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


def _query_encoder(index: SparseIndex):
    """The index's query encoder, read from its commit's query-side files."""
    try:
        return load_query_encoder(index.encoder_kind, index.encoder_config, index.query_dir)
    except WinnowError:
        raise
    except Exception as exc:  # a damaged tokenizer or config: whatever its loader raises
        raise IndexFormatError(f"{index.path}: cannot load the query encoder ({exc}); the index is damaged") \
            from None


class Searcher(Retriever):
    """Top-k search over a :class:`~winnow.index.SparseIndex`: exact strategies, or ``approx``.

    A searcher answers from the commit it opened, whatever writers do meanwhile; :meth:`reopen`
    moves to the newest commit. A query is planned once over all segments (its strategy as for
    one segment holding them all), then each segment, in order, offers its documents to one top-k
    heap (ties: lower global document number first), starting from the k-th score the earlier
    segments found; deleted documents and, with ``filter``, the documents a metadata filter
    rejects are skipped inside the kernels.

    Example::

        s = Searcher("indexes/scifact")
        for doc_id, score in s.search("cholesterol and heart disease", k=10):
            ...
    """

    def __init__(self, index: SparseIndex | str | Path, verify: bool = True, approx: "Approx | None" = None, *,
                 query_encoder=None):
        self.index = index if isinstance(index, SparseIndex) else SparseIndex(index, verify=verify)
        self.query_encoder = query_encoder or _query_encoder(self.index)
        self._local = threading.local()
        self._segments = self.index.segments
        self._live = [s.live for s in self._segments]
        self._masks = MaskCache()
        self._max_docs = max((s.n_docs for s in self._segments), default=0)
        self._n_docs = self.index.n_docs
        self._scale = np.float32(self.index.scale) if self.index.scale != 1.0 else None
        self.approx = approx or Approx()
        self.name = self.index.manifest.get("spec") or self.index.encoder_kind
        self.score_floor = 0.0 if all(s.arrays.non_negative for s in self._segments) else None

    @cached_property
    def id_space(self) -> str | None:
        """A digest of the commit's document-id tables (their recorded xxh3), in segment order,
        with each segment's deletions (see :attr:`Retriever.id_space`)."""
        files = self.index.manifest["files"]

        def digest(name: str | None) -> str | None:
            return (files.get(name) or {}).get("xxh3") if name else None

        return numbering([(digest(f"{s['name']}/doc_ids.bin"), digest(f"{s['name']}/doc_ids.idx.npy"),
                           digest(s.get("live"))) for s in self.index.manifest["segments"]])

    def reopen(self) -> "Searcher":
        """A searcher over the newest commit (``self`` when there is none newer)."""
        if not self.index.newer():
            return self
        index = SparseIndex(self.index.path, verify=self.index.verify)
        same = index.query_dir == self.index.query_dir and index.manifest["encoder"] == self.index.manifest["encoder"]
        return Searcher(index, approx=self.approx, query_encoder=self.query_encoder if same else None)

    def _buffers(self, k: int):
        """Per-thread scratch arrays, reused across queries (all-zero between calls)."""
        b = getattr(self._local, "buffers", None)
        if b is None or len(b[3]) < k:
            n = self._max_docs
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
        ``filter`` (a :class:`~winnow.filters.Filter`, its text or JSON form) keeps only matching
        documents, inside the top-k: whenever k matching documents score, k come back.
        """
        terms, weights = self.query_encoder.encode_query(check_query(query))
        return self.search_vector(terms, weights, k, strategy, filter)

    def _allowed(self, filter) -> list[np.ndarray]:
        """Per segment, the uint8 mask of searchable documents (empty: all of them); a filter's
        masks are kept for the searcher's life (its commit never changes), so a repeated filter
        costs a lookup."""
        if filter is None:
            return self._live
        return self._masks.get(filter, self._filter_masks)

    def _filter_masks(self, f) -> list[np.ndarray]:
        """Per segment, the uint8 mask of the live documents the filter ``f`` keeps."""
        if any(s.columns is None for s in self._segments):
            raise WinnowError("this index has no metadata fields to filter on (rebuild it to store them)")
        fields = self.index.field_types()
        out = []
        for s in self._segments:
            mask = s.columns.mask(f, fields)
            if len(s.live):
                mask &= s.live > 0
            out.append(mask.view(np.uint8))
        return out

    def search_vector(self, terms: np.ndarray, weights: np.ndarray, k: int = 10, strategy: str = "auto",
                      filter=None) -> Hits:
        """Top-``k`` for a query given as a sparse vector over the index vocabulary.

        Term ids outside the vocabulary and zero weights are ignored.
        """
        docs, scores = self._top(terms, weights, k, strategy, filter)
        return self._hits(docs, scores) if len(docs) else _EMPTY

    def _top(self, terms, weights, k, strategy, filter) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search_vector`'s internal document numbers and scores, ids not decoded."""
        k = self._check_k(k)
        code = self._strategy(strategy)
        terms, weights = _as_query(terms, weights)
        if k == 0 or len(terms) == 0:
            return _EMPTY.docnos, _EMPTY.scores
        allowed = self._allowed(filter)
        if len(self._segments) == 1:  # the common case, as fast as an index without segments
            return self._search_segment(self._segments[0], allowed[0], terms, weights, k, code)
        clean_terms, clean_weights = np.empty_like(terms), np.empty_like(weights)
        code, m, cost = plan(*self._whole, terms, weights, code, clean_terms, clean_weights)
        if code == NOTHING:
            return _EMPTY.docnos, _EMPTY.scores
        k = min(k, cost)
        terms, weights = clean_terms[:m], clean_weights[:m]
        buffers = self._buffers(k)
        hs, hd = buffers[3][:k], buffers[4][:k]
        n = 0
        for seg, mask in zip(self._segments, allowed):
            n = self._offer_segment(seg, mask, terms, weights, code, buffers[:3], hs, hd, n)
        docs, scores = np.empty(n, np.int32), np.empty(n, np.float32)
        heap_sorted(hs, hd, n, docs, scores)
        return docs, scores

    @cached_property
    def _whole(self) -> tuple:
        """``(indptr, term_max, non_negative, n_docs)`` of all segments as one, for planning."""
        if len(self._segments) == 1:
            seg = self._segments[0]
            return seg.arrays.indptr, seg.arrays.term_max, seg.arrays.non_negative, seg.n_docs
        n_terms = max(len(s.arrays.indptr) for s in self._segments) - 1
        counts = np.zeros(n_terms, np.int64)
        term_max = np.zeros(n_terms, np.float32)
        for s in self._segments:
            v = len(s.arrays.indptr) - 1
            counts[:v] += np.diff(s.arrays.indptr)
            np.maximum(term_max[:v], s.arrays.term_max, out=term_max[:v])
        indptr = np.zeros(n_terms + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        non_negative = all(s.arrays.non_negative for s in self._segments)
        return indptr, term_max, non_negative, sum(s.n_docs for s in self._segments)

    def _search_segment(self, seg, allowed, terms, weights, k, code):
        ix = seg.arrays
        clean_terms, clean_weights = np.empty(len(terms), np.int32), np.empty(len(terms), np.float32)
        code, m, cost = plan(ix.indptr, ix.term_max, ix.non_negative, seg.n_docs, terms, weights, code, clean_terms,
                             clean_weights)
        if code == NOTHING:
            return _EMPTY.docnos, _EMPTY.scores
        k = min(k, cost)
        terms, weights = clean_terms[:m], clean_weights[:m]
        acc, seen, touched, hs, hd = self._buffers(k)
        if len(acc) != seg.n_docs:
            acc, seen, touched = acc[:seg.n_docs], seen[:seg.n_docs], touched[:seg.n_docs]
        out_docs, out_scores = np.empty(k, np.int32), np.empty(k, np.float32)
        if code == MAXSCORE:
            n = topk_maxscore(*ix[:8], terms, weights, k, allowed, hs, hd, out_docs, out_scores)
        elif code == APPROX:
            n = topk_approx(*ix[:4], *seg.pruned[:7], ix.block_size, terms, weights, k, allowed,
                            *self.approx.astuple(), acc, seen, touched, hs, hd, out_docs, out_scores)
        else:
            n = topk_exhaustive(*ix[:3], terms, weights, k, allowed, acc, seen, touched, hs, hd, out_docs, out_scores)
        return out_docs[:n], out_scores[:n]

    def _offer_segment(self, seg, allowed, terms, weights, code, scratch, hs, hd, n) -> int:
        """Offer one segment's competitive documents to the heap ``hs``/``hd`` of ``n`` entries, which
        holds the best of the segments before it; return the heap's new size."""
        ix = seg.arrays
        clean_terms, clean_weights = np.empty_like(terms), np.empty_like(weights)
        code, m, cost = plan(ix.indptr, ix.term_max, ix.non_negative, seg.n_docs, terms, weights, code, clean_terms,
                             clean_weights)
        if code == NOTHING:
            return n
        terms, weights = clean_terms[:m], clean_weights[:m]
        k = len(hs)
        acc, seen, touched = (a[:seg.n_docs] for a in scratch)
        if code == MAXSCORE:
            return offer_maxscore(*ix[:8], terms, weights, k, allowed, hs, hd, n, seg.base)
        if code == EXHAUSTIVE:
            return offer_exhaustive(*ix[:3], terms, weights, k, allowed, acc, seen, touched, hs, hd, n, seg.base)
        k = min(k, cost)  # as if this segment were the only one
        s_scores, s_docs = np.empty(k, np.float32), np.empty(k, np.int32)
        docs, scores = np.empty(k, np.int32), np.empty(k, np.float32)
        found = topk_approx(*ix[:4], *seg.pruned[:7], ix.block_size, terms, weights, k, allowed,
                            *self.approx.astuple(), acc, seen, touched, s_scores, s_docs, docs, scores)
        return offer_all(hs, hd, n, docs[:found], scores[:found], seg.base)

    def search_batch(self, queries, k: int = 10, filter=None, threads: int | None = None,
                     strategy: str = "auto") -> Run:
        """Top-``k`` for many queries (see :meth:`Retriever.search_batch`), spread over ``threads``
        cores (default: all)."""
        return self.retrieve(as_queries(queries), check_k(k), filter, threads, strategy)

    def retrieve(self, queries: list[Query], k: int, filter=None, threads: int | None = None,
                 strategy: str = "auto") -> Run:
        if len(queries) == 1:  # the one-query kernels: no batch set-up (a server's query, a pipeline's search)
            terms, weights = self.query_encoder.encode_query(check_query(queries[0].text))
            docs, scores = self._top(terms, weights, k, strategy, filter)
            docnos, scores = docs.astype(np.int64), self._scaled(scores)
            return Run.from_columns(RunColumns((queries[0].id,), np.array([0, len(docnos)], np.int64),
                                               DocIds(self.index, docnos), scores, docnos), self.name)
        texts = [q.text for q in queries]
        columns = self._search_csr(*self.query_encoder.encode_queries(texts), k, threads, strategy, filter,
                                   tuple(q.id for q in queries))
        return Run.from_columns(columns, self.name)

    def search_vectors(self, vectors: Sequence[tuple[np.ndarray, np.ndarray]], k: int = 10,
                       threads: int | None = None, strategy: str = "auto", filter=None) -> list[Hits]:
        """Batch form of :meth:`search_vector`."""
        cleaned = [_as_query(t, w) for t, w in vectors]
        q_ptr = np.zeros(len(cleaned) + 1, np.int64)
        np.cumsum([len(t) for t, _ in cleaned], out=q_ptr[1:])
        q_terms = np.concatenate([t for t, _ in cleaned]) if cleaned else np.zeros(0, np.int32)
        q_weights = np.concatenate([w for _, w in cleaned]) if cleaned else np.zeros(0, np.float32)
        columns = self._search_csr(q_ptr, q_terms, q_weights, k, threads, strategy, filter, ("",) * len(cleaned))
        return [columns.hits(i) for i in range(len(cleaned))]

    def _search_csr(self, q_ptr, q_terms, q_weights, k, threads, strategy, filter, qids) -> RunColumns:
        n_queries = len(q_ptr) - 1
        k = self._check_k(k)
        code = self._strategy(strategy)
        if k == 0 or n_queries == 0:
            return RunColumns(qids, np.zeros(n_queries + 1, np.int64), [], _EMPTY.scores, _EMPTY.docnos)
        workers = max(1, min(threads or os.cpu_count() or 1, n_queries))
        ptr = np.empty(n_queries + 1, np.int64)
        terms, weights = np.empty_like(q_terms), np.empty_like(q_weights)
        codes, costs = np.empty(n_queries, np.int64), np.empty(n_queries, np.int64)
        strategies = np.full(n_queries, code, np.int64)
        plan_batch(*self._whole, q_ptr, q_terms, q_weights, strategies, ptr, terms, weights, codes, costs)
        heap_ptr = np.zeros(n_queries + 1, np.int64)
        np.cumsum(np.minimum(k, costs), out=heap_ptr[1:])
        heap_s, heap_d = np.empty(heap_ptr[-1], np.float32), np.empty(heap_ptr[-1], np.int32)
        heap_n = np.zeros(n_queries, np.int64)
        for seg, allowed in zip(self._segments, self._allowed(filter)):
            self._batch_segment(seg, allowed, ptr, terms, weights, codes, k, workers, heap_ptr, heap_s, heap_d,
                                heap_n)
        out_docs, out_scores = np.empty_like(heap_d), np.empty_like(heap_s)
        batch_sorted(heap_ptr, heap_s, heap_d, heap_n, out_docs, out_scores)
        return self._columns(heap_ptr, out_docs, out_scores, heap_n, qids)

    def _batch_segment(self, seg, allowed, q_ptr, q_terms, q_weights, strategies, k, workers, heap_ptr, heap_s,
                       heap_d, heap_n) -> None:
        """Offer one segment's competitive documents for a CSR batch to the queries' heaps."""
        ix = seg.arrays
        n_queries = len(q_ptr) - 1
        ptr = np.empty(n_queries + 1, np.int64)
        terms, weights = np.empty_like(q_terms), np.empty_like(q_weights)
        codes = np.empty(n_queries, np.int64)
        costs = np.empty(n_queries, np.int64)
        plan_batch(ix.indptr, ix.term_max, ix.non_negative, seg.n_docs, q_ptr, q_terms, q_weights, strategies, ptr,
                   terms, weights, codes, costs)
        heaps = (heap_ptr, heap_s, heap_d, heap_n)
        for strategy_code in (EXHAUSTIVE, MAXSCORE, APPROX):
            queries = np.flatnonzero(codes == strategy_code)
            if len(queries) == 0:
                continue
            n_workers = min(workers, len(queries))
            if strategy_code == EXHAUSTIVE:
                batch_exhaustive(ix, allowed, seg.base, seg.n_docs, ptr, terms, weights, queries, n_workers, *heaps)
            elif strategy_code == MAXSCORE:
                batch_maxscore(ix, allowed, seg.base, ptr, terms, weights, queries, n_workers, *heaps)
            else:
                batch_approx(ix, seg.pruned, allowed, self.approx.astuple(), seg.base, seg.n_docs, ptr, terms,
                             weights, costs, queries, k, n_workers, *heaps)

    def _columns(self, out_ptr: np.ndarray, out_docs: np.ndarray, out_scores: np.ndarray, out_n: np.ndarray,
                 qids: tuple[str, ...]) -> RunColumns:
        """Batch results as columns (ids decoded when read)."""
        ix = self.index
        valid = np.zeros(len(out_docs), bool)
        starts = out_ptr[:-1]
        valid[np.repeat(starts, out_n) + _ranks(out_n)] = True
        docnos = out_docs[valid].astype(np.int64)
        offsets = np.zeros(len(out_n) + 1, np.int64)
        np.cumsum(out_n, out=offsets[1:])
        return RunColumns(qids, offsets, DocIds(ix, docnos), self._scaled(out_scores[valid]), docnos)

    @staticmethod
    def _strategy(name: str) -> int:
        if name not in STRATEGY_CODES:
            raise WinnowError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
        return STRATEGY_CODES[name]

    def _check_k(self, k: int) -> int:
        k = check_k(k)
        return k if k < self._n_docs else self._n_docs

    def _hits(self, docs: np.ndarray, scores: np.ndarray) -> Hits:
        docs = docs.astype(np.int64)
        return Hits(tuple(self.index.doc_ids(docs)), self._scaled(scores), docs)

    def _scaled(self, scores: np.ndarray) -> np.ndarray:
        """Kernel scores in the index's units (impacts may be stored scaled)."""
        return scores if self._scale is None else scores * self._scale

    def documents(self, ids: Sequence[str]) -> list[Document | None]:
        """The stored documents of ``ids`` (``None`` for an id this commit does not hold)."""
        if not self.index.manifest.get("stored"):
            raise WinnowError(f"{self.name} keeps no documents; build its index with stored text")
        out: list[Document | None] = []
        for doc_id in ids:
            docno = self.index.locate(doc_id)
            if docno is None:
                out.append(None)
                continue
            record = self.index.document(docno)
            out.append(Document(doc_id, str(record.get("text", "")), str(record.get("title", "")),
                                dict(record.get("metadata") or {})))
        return out

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


def _ranks(lengths: np.ndarray) -> np.ndarray:
    """0..n-1 for each length, concatenated."""
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum())) - starts


def _as_query(terms, weights) -> tuple[np.ndarray, np.ndarray]:
    terms = np.asarray(terms, dtype=np.int32)
    weights = np.asarray(weights, dtype=np.float32)
    if terms.shape != weights.shape or terms.ndim != 1:
        raise WinnowError(f"query terms and weights must be 1-d and of equal length ({terms.shape} vs {weights.shape})")
    return terms, weights
