"""Search a dense index: encode queries with the index's own encoder, then exact or HNSW top-k.

Example::

    dense = DenseRetriever("indexes/scifact-dense")                  # exact
    run = dense.search_batch({"q1": "statins and heart disease"}, k=10)
    fast = DenseRetriever("indexes/scifact-dense", strategy="hnsw")   # the graph saved with the index
    hybrid = bm25 + dense                                              # a Retriever like any other
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from winnow.dense.ann import DEFAULT_LIBRARY, HnswGraph
from winnow.dense.exact import exact_topk
from winnow.dense.index import DenseIndex
from winnow.errors import WinnowError
from winnow.filters.cache import MaskCache
from winnow.retrieve.retriever import Retriever, numbering
from winnow.types import Document, Hits, Query, Run

log = logging.getLogger("winnow.dense")

STRATEGIES = ("exact", "hnsw")
QUERY_BLOCK = 256  # queries per matrix product (bounds the score matrix to 256 x block rows)
SUBSET_FRACTION = 0.25  # a filter keeping fewer documents than this is searched over the kept rows only


class DenseRetriever(Retriever):
    """Top-k by cosine (normalised models) or inner product over a dense index.

    Args:
        path: The index folder.
        verify: Check every file's checksum on open.
        strategy: ``exact`` (BLAS over every vector; the default) or ``hnsw`` (a graph built with
            the index; see :mod:`winnow.dense.ann`).
        library: The graph to use with ``hnsw`` (``usearch`` or ``faiss``; default: faiss when
            the index has it, else the one it has).
        ef_search: Graph candidates per query (default: saved with the graph), at least ``k``.
        encoder_options: Runtime overrides for the query encoder (``backend="onnx"``...).

    Attributes:
        score_floor: -1 for cosine, ``None`` for an unbounded inner product.
    """

    def __init__(self, path: str | Path, verify: bool = True, strategy: str = "exact", library: str | None = None,
                 ef_search: int | None = None, **encoder_options):
        if strategy not in STRATEGIES:
            raise WinnowError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        self.index = DenseIndex(path, verify=verify)
        self._masks = MaskCache()
        self.strategy = strategy
        self.ef_search = ef_search
        self.name = self.index.manifest.get("spec") or "dense"
        self.score_floor = -1.0 if self.index.normalized else None
        self._encoder_options = encoder_options
        self._encoder = None
        self._docnos: dict[str, int] | None = None
        self.graph = None
        if strategy == "hnsw":
            graphs = self.index.manifest.get("ann") or {}
            if not graphs:
                raise WinnowError(f"{path}: the index has no HNSW graph; rebuild it with ann=['faiss'] "
                                  "(or search with strategy='exact')")
            library = library or (DEFAULT_LIBRARY if DEFAULT_LIBRARY in graphs else next(iter(graphs)))
            if library not in graphs:
                raise WinnowError(f"{path}: no {library} graph in the index (it has {', '.join(graphs)})")
            self.graph = HnswGraph(self.index.path, library, graphs[library])

    @cached_property
    def id_space(self) -> str | None:
        """A digest of the index's document-id table (its recorded xxh3), the same as a sparse
        index's of the same corpus in one segment (see :attr:`Retriever.id_space`)."""
        files = self.index.manifest["files"]
        return numbering([((files.get("doc_ids.bin") or {}).get("xxh3"),
                           (files.get("doc_ids.idx.npy") or {}).get("xxh3"), None)])

    @property
    def encoder(self):
        """The query encoder, rebuilt from the manifest on first use."""
        if self._encoder is None:
            from winnow.dense.encoder import DenseEncoder

            self._encoder = DenseEncoder.from_config(self.index.encoder_config, **self._encoder_options)
        return self._encoder

    def retrieve(self, queries: list[Query], k: int, filter=None) -> Run:
        vectors = self.encoder.encode_queries([q.text for q in queries]) if queries else np.zeros((0, 1), np.float32)
        return Run({q.id: h for q, h in zip(queries, self.search_vectors(vectors, k, filter))}, self.name)

    def search_vectors(self, vectors: np.ndarray, k: int, filter=None) -> list[Hits]:
        """Top-``k`` for query vectors ``(q, dim)`` (already encoded), best first, ties by lower docno."""
        k = min(k, self.index.n_docs)
        if len(vectors) == 0 or k == 0:
            return [Hits.empty() for _ in range(len(vectors))]
        allowed = None if filter is None else self._masks.get(filter, self.index.columns.mask)
        if self.graph is not None and (allowed is None or self.graph.filters_exactly):
            docnos, scores, counts = self.graph.search(vectors, k, self.ef_search, allowed)
        else:
            if self.graph is not None:
                log.info("%s graphs cannot filter; searching the allowed documents exactly", self.graph.library)
            docnos, scores, counts = self._exact(vectors, k, allowed)
        ids = self.index.doc_ids(np.concatenate([d[:c] for d, c in zip(docnos, counts)]))
        hits, lo = [], 0
        for row, count in enumerate(counts.tolist()):
            hits.append(Hits(tuple(ids[lo:lo + count]), scores[row, :count].copy(), docnos[row, :count].copy()))
            lo += count
        return hits

    def _exact(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None):
        matrix, rows = self.index.vectors, None
        if allowed is not None and allowed.sum() < SUBSET_FRACTION * len(allowed):
            rows = np.flatnonzero(allowed)  # ascending, so ties still fall to the lower docno
            matrix, allowed = matrix[rows], None
        parts = [exact_topk(matrix, vectors[lo:lo + QUERY_BLOCK], k, allowed)
                 for lo in range(0, len(vectors), QUERY_BLOCK)]
        docnos, scores, counts = (np.concatenate(p) for p in zip(*parts))
        if rows is not None and docnos.size:
            docnos = rows[docnos]
        return docnos, scores, counts

    def documents(self, ids: Sequence[str]) -> list[Document | None]:
        if self.index.manifest.get("stored") is not True:
            return super().documents(ids)
        if self._docnos is None:
            self._docnos = self.index.docno_map()
        return [self.index.document(self._docnos[i]) if i in self._docnos else None for i in ids]
