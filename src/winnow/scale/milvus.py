"""Serve winnow's vectors from Milvus: export indexes into a collection and search it as a Retriever.

Each sparse field of the collection holds one winnow index's document vectors
(``SPARSE_FLOAT_VECTOR``: term id -> impact), indexed with ``SPARSE_INVERTED_INDEX`` under inner
product, so an exact search (``drop_ratio_search=0``) scores a query vector as winnow does. Dense
fields (``FLOAT_VECTOR``, a ``FLAT`` inner-product index by default) take document embeddings given
as an array. Several fields over the same documents are searched together by Milvus' hybrid search,
fused server-side with ``RRFRanker`` or ``WeightedRanker``. Document ids are the primary key; the
stored metadata of the documents goes into a JSON field that Milvus expressions filter on
(``metadata["year"] >= 2020``).

Queries are encoded here with each index's own query encoder: tokenizer x IDF for an inference-free
index (no model), the model for SPLADE, term counts for BM25. The same code talks to milvus-lite
(``connect("winnow.db")``, in-process) and to a Milvus server or cluster
(``connect("http://host:19530", token="user:password")``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from winnow.errors import WinnowError, require
from winnow.retrieve.retriever import DEFAULT_DEPTH, Retriever
from winnow.types import Hits, Query, Run

ID_FIELD = "id"
METADATA_FIELD = "metadata"
MAX_ID_LENGTH = 65_535  # Milvus' longest VARCHAR
SPARSE_SEARCH = {"metric_type": "IP", "params": {"drop_ratio_search": 0.0}}  # exact: no query term dropped
DENSE_SEARCH = {"metric_type": "IP", "params": {}}


def connect(uri: str, **kwargs):
    """A ``pymilvus.MilvusClient``: a file path opens milvus-lite in-process, ``http://host:19530`` a server."""
    return require("pymilvus", "milvus").MilvusClient(uri, **kwargs)


def document_vectors(index):
    """An index's document vectors as a SciPy CSR matrix (documents x terms, float32 impacts)."""
    from scipy.sparse import csc_matrix

    impacts = np.asarray(index.impacts, dtype=np.float32) * np.float32(index.scale)
    return csc_matrix((impacts, np.asarray(index.docids), np.asarray(index.indptr)),
                      shape=(index.n_docs, index.n_terms)).tocsr()


def export_collection(client, collection: str, sparse: Mapping[str, str | Path], *,
                      dense: Mapping[str, np.ndarray] | None = None, metadata: bool = True,
                      dense_index: str = "FLAT", batch_size: int = 1000, replace: bool = False) -> int:
    """Create a Milvus collection holding the vectors of indexes over the same documents.

    Args:
        client: a ``MilvusClient`` (:func:`connect`).
        collection: the collection's name.
        sparse: field name -> winnow index folder; every index must hold the same document ids in
            the same order.
        dense: field name -> float32 array of document embeddings, one row per document in the
            indexes' order.
        metadata: copy each document's stored metadata into a JSON field named ``metadata``.
        dense_index: Milvus index type of dense fields (``FLAT`` is exact; ``HNSW`` for scale).
        batch_size: documents per insert request.
        replace: drop a collection of the same name first (otherwise it is an error).

    Returns:
        The number of documents inserted.
    """
    pymilvus = require("pymilvus", "milvus")
    from winnow.index.reader import SparseIndex

    if not sparse:
        raise WinnowError("export needs at least one sparse index (its ids and documents define the collection)")
    indexes = {name: SparseIndex(path, verify=False) for name, path in sparse.items()}
    first = next(iter(indexes.values()))
    n_docs = first.n_docs
    ids = first.doc_ids(np.arange(n_docs))
    for name, index in indexes.items():
        if index.n_docs != n_docs or index.doc_ids(np.arange(n_docs)) != ids:
            raise WinnowError(f"index of field {name!r} holds other documents than {next(iter(sparse))!r}; "
                              "export indexes built over the same corpus")
    dense = {name: np.asarray(v, dtype=np.float32) for name, v in (dense or {}).items()}
    for name, vectors in dense.items():
        if vectors.ndim != 2 or len(vectors) != n_docs:
            raise WinnowError(f"dense field {name!r}: expected {n_docs} rows, got shape {vectors.shape}")
    if client.has_collection(collection):
        if not replace:
            raise WinnowError(f"Milvus collection {collection!r} exists; pass replace=True to drop it")
        client.drop_collection(collection)
    DataType = pymilvus.DataType
    schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field(ID_FIELD, DataType.VARCHAR, is_primary=True, max_length=MAX_ID_LENGTH)
    params = client.prepare_index_params()
    for name in indexes:
        schema.add_field(name, DataType.SPARSE_FLOAT_VECTOR)
        params.add_index(name, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    for name, vectors in dense.items():
        schema.add_field(name, DataType.FLOAT_VECTOR, dim=vectors.shape[1])
        params.add_index(name, index_type=dense_index, metric_type="IP")
    if metadata:
        schema.add_field(METADATA_FIELD, DataType.JSON)
    client.create_collection(collection, schema=schema, index_params=params)
    matrices = {name: document_vectors(index) for name, index in indexes.items()}
    for lo in range(0, n_docs, batch_size):
        hi = min(lo + batch_size, n_docs)
        rows = [{ID_FIELD: doc_id} for doc_id in ids[lo:hi]]
        for name, matrix in matrices.items():
            for row, i in zip(rows, range(lo, hi)):
                a, b = matrix.indptr[i], matrix.indptr[i + 1]
                row[name] = dict(zip(matrix.indices[a:b].tolist(), matrix.data[a:b].tolist()))
        for name, vectors in dense.items():
            for row, vector in zip(rows, vectors[lo:hi]):
                row[name] = vector.tolist()
        if metadata:
            for row, i in zip(rows, range(lo, hi)):
                row[METADATA_FIELD] = first.document(i).get("metadata", {})
        client.insert(collection, rows)
    return n_docs


class MilvusRetriever(Retriever):
    """Search a Milvus collection written by :func:`export_collection`.

    With one field, a plain search; with several, Milvus' hybrid search fuses them: ``rrf``
    (``RRFRanker(rrf_k)``) or ``weighted`` (``WeightedRanker(*weights)``, in field order).

    Example::

        client = connect("http://milvus:19530")
        hybrid = MilvusRetriever(client, "scifact", sparse={"bm25": "indexes/bm25", "splade": "indexes/splade"})
        run = hybrid.search_batch(["statins and heart disease"], k=10)

    Args:
        client: a ``MilvusClient``.
        collection: the collection's name.
        sparse: field name -> the winnow index whose query encoder encodes queries for that field.
        dense: field name -> a function mapping query texts to a float32 array of embeddings.
        ranker: ``rrf`` or ``weighted`` (used with several fields).
        weights: one weight per field for ``weighted``.
        rrf_k: the RRF constant.
        depth: hits each field contributes to the fusion (at least ``k``).
        name: shown in runs.

    ``filter`` in :meth:`retrieve` is a Milvus boolean expression, e.g. ``'metadata["year"] >= 2020'``.
    """

    def __init__(self, client, collection: str, sparse: Mapping[str, str | Path] | None = None,
                 dense: Mapping[str, Callable[[list[str]], np.ndarray]] | None = None, *, ranker: str = "rrf",
                 weights: Sequence[float] | None = None, rrf_k: int = 60, depth: int = DEFAULT_DEPTH,
                 name: str | None = None):
        from winnow.retrieve.searcher import Searcher

        self._milvus = require("pymilvus", "milvus")
        self.client, self.collection = client, collection
        self.sparse = {field: Searcher(path, verify=False) for field, path in (sparse or {}).items()}
        self.dense = dict(dense or {})
        fields = [*self.sparse, *self.dense]
        if not fields:
            raise WinnowError("name at least one sparse or dense field to search")
        if ranker not in ("rrf", "weighted"):
            raise WinnowError(f"ranker must be 'rrf' or 'weighted', not {ranker!r}")
        if ranker == "weighted" and (weights is None or len(weights) != len(fields)):
            raise WinnowError(f"the weighted ranker needs one weight per field ({', '.join(fields)})")
        self.fields, self.ranker, self.weights, self.rrf_k, self.depth = fields, ranker, weights, rrf_k, depth
        self.name = name or f"milvus:{collection}:{'+'.join(fields)}"
        self.score_floor = 0.0 if not self.dense and len(fields) == 1 else None

    def _vectors(self, texts: list[str]) -> dict[str, list]:
        vectors: dict[str, list] = {}
        for field, searcher in self.sparse.items():
            vectors[field] = [dict(zip(t.tolist(), w.tolist())) for t, w in map(searcher.encode, texts)]
        for field, encode in self.dense.items():
            vectors[field] = [v.tolist() for v in np.asarray(encode(texts), dtype=np.float32)]
        return vectors

    def retrieve(self, queries: list[Query], k: int, filter=None) -> Run:
        if filter is not None and not isinstance(filter, str):
            raise WinnowError("Milvus filters are Milvus boolean expressions, e.g. 'metadata[\"year\"] >= 2020'")
        vectors = self._vectors([q.text for q in queries])
        # a query no sparse field can encode (no known term) matches nothing; Milvus refuses empty vectors
        live = [i for i in range(len(queries)) if any(vectors[f][i] for f in self.fields)]
        hits = {q.id: Hits.empty(q.id) for q in queries}
        if live and k > 0:
            for i, found in zip(live, self._search(vectors, live, k, filter or "")):
                hits[queries[i].id] = Hits(tuple(h["id"] for h in found),
                                           np.array([h["distance"] for h in found], dtype=np.float32), None)
        return Run(hits, self.name)

    def _search(self, vectors: dict[str, list], live: list[int], k: int, expr: str):
        def params(field):
            return SPARSE_SEARCH if field in self.sparse else DENSE_SEARCH

        if len(self.fields) == 1:
            field = self.fields[0]
            return self.client.search(self.collection, data=[vectors[field][i] for i in live], anns_field=field,
                                      limit=k, search_params=params(field), filter=expr, output_fields=[ID_FIELD])
        m = self._milvus
        requests = [m.AnnSearchRequest([vectors[f][i] or {0: 0.0} for i in live], f, params(f), max(k, self.depth),
                                       expr=expr or None) for f in self.fields]
        ranker = m.RRFRanker(self.rrf_k) if self.ranker == "rrf" else m.WeightedRanker(*self.weights)
        return self.client.hybrid_search(self.collection, requests, ranker, limit=k, output_fields=[ID_FIELD])

    def close(self) -> None:
        for searcher in self.sparse.values():
            searcher.close()
